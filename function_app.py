"""Durable Assistants: the composition root. It checks the settings, builds the app, registers blueprints."""

import azure.durable_functions as df
import azure.functions as func

from activities import model, tools, turns
from core.settings import load_settings
from orchestrations import conversation
from triggers import conversations, health

# Fail at start-up, with one line naming the setting, rather than on the first request.
load_settings()

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
for blueprint in (health.bp, conversations.bp, conversation.bp, model.bp, tools.bp, turns.bp):
    app.register_functions(blueprint)
