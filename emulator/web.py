"""Small aiohttp helpers shared by the route modules: the state key and JSON answers."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from .state import EmulatorState

STATE = web.AppKey("state", EmulatorState)


def json_response(body: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status,
        text=json.dumps(body, ensure_ascii=False),
        content_type="application/json",
        headers=headers,
    )


def poll_headers(state: EmulatorState) -> dict[str, str]:
    """The hint the real service gives pollers of runs and background responses."""
    return {"openai-poll-after-ms": str(state.config.poll_after_ms)}
