"""GET /api/health: liveness and which backend answers, without auth."""

from __future__ import annotations

import json

import azure.durable_functions as df
import azure.functions as func

from core import VERSION
from core.settings import read

bp = df.Blueprint()


@bp.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def health(req: func.HttpRequest) -> func.HttpResponse:
    """Report the service as up, with its backend and version."""
    body = {"status": "ok", "backend": read("ASSISTANTS_BACKEND"), "version": VERSION}
    return func.HttpResponse(json.dumps(body), status_code=200, mimetype="application/json")
