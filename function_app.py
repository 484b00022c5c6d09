"""Durable Assistants: the composition root. It checks the settings, builds the app, registers blueprints."""

import azure.durable_functions as df
import azure.functions as func

from core.settings import load_settings
from triggers import health

# Fail at start-up, with one line naming the setting, rather than on the first request.
load_settings()

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(health.bp)
