"""Durable Assistants: the composition root. It checks the settings, builds the app, registers blueprints."""

import azure.durable_functions as df
import azure.functions as func

from activities import delivery, model, tools, turns
from core import redaction
from core.settings import load_settings
from orchestrations import conversation
from triggers import conversations, health, openapi, queue, retention

# Fail at start-up, with one line naming the setting, rather than on the first request.
load_settings()
# SDKs log request URLs; a Logic App URL carries its sig.
redaction.install()

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(health.bp)
app.register_functions(openapi.bp)
app.register_functions(conversations.bp)
app.register_functions(queue.bp)
app.register_functions(retention.bp)
app.register_functions(conversation.bp)
app.register_functions(model.bp)
app.register_functions(tools.bp)
app.register_functions(turns.bp)
app.register_functions(delivery.bp)
