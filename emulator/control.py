"""The control API (`/_emulator/...`, no auth) and the stand-ins for other outside services."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError

from .control_models import Fault, Script
from .errors import ApiError, bad_request
from .state import EmulatorState, InboxEntry
from .web import STATE, json_response

CONTROL_PREFIX = "/_emulator"
_SYMBOL = re.compile(r"^[A-Za-z][A-Za-z0-9.\-]{0,9}$")


def parse_model(model: type[BaseModel], data: Any) -> Any:
    """`data` as `model`, or a 400 that says which field is wrong."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise bad_request(f"Invalid '{where}': {first['msg']}.", param=where) from None


async def _json(request: web.Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        raise bad_request("The body is not valid JSON.") from None


def add_script(state: EmulatorState, data: Any) -> Script:
    script = parse_model(Script, data)
    state.scripts.append(script)
    return script


def add_fault(state: EmulatorState, data: Any) -> Fault:
    fault = parse_model(Fault, data)
    state.faults.append(fault)
    return fault


async def post_script(request: web.Request) -> web.Response:
    state = request.app[STATE]
    add_script(state, await _json(request))
    return json_response({"queued": len(state.scripts)}, status=201)


async def post_fault(request: web.Request) -> web.Response:
    state = request.app[STATE]
    add_fault(state, await _json(request))
    return json_response({"active": len(state.faults)}, status=201)


async def get_stats(request: web.Request) -> web.Response:
    state = request.app[STATE]
    return json_response(state.stats.to_json(len(state.scripts)))


async def post_reset(request: web.Request) -> web.Response:
    request.app[STATE].reset()
    return json_response({"reset": True})


async def post_inbox(request: web.Request) -> web.Response:
    """What a Logic App Request trigger would receive; it answers 202 Accepted, as the trigger does."""
    state = request.app[STATE]
    raw = await request.read()
    text = raw.decode("utf-8", errors="replace")
    body: Any = text
    if text.strip():
        try:
            body = json.loads(text)
        except ValueError:
            body = text
    entry = InboxEntry(body=body, headers=dict(request.headers), received_at=state.clock())
    state.inbox.setdefault(request.match_info["name"], []).append(entry)
    return web.Response(status=202)


async def get_inbox(request: web.Request) -> web.Response:
    entries = request.app[STATE].inbox.get(request.match_info["name"], [])
    return json_response([entry.to_json() for entry in entries])


def quote_price(symbol: str) -> float:
    """A deterministic price in [20, 1000) derived from the symbol."""
    digest = hashlib.sha256(symbol.upper().encode()).digest()
    return round(20 + int.from_bytes(digest[:4], "big") % 98000 / 100, 2)


async def get_quote(request: web.Request) -> web.Response:
    symbol = request.match_info["symbol"]
    if not _SYMBOL.match(symbol):
        raise ApiError(404, f"Unknown symbol '{symbol[:20]}'.", code="symbol_not_found")
    return json_response({"symbol": symbol.upper(), "price": quote_price(symbol), "currency": "USD"})


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_post(f"{CONTROL_PREFIX}/script", post_script)
    router.add_post(f"{CONTROL_PREFIX}/faults", post_fault)
    router.add_get(f"{CONTROL_PREFIX}/stats", get_stats)
    router.add_post(f"{CONTROL_PREFIX}/reset", post_reset)
    router.add_post(f"{CONTROL_PREFIX}/inbox/{{name}}", post_inbox)
    router.add_get(f"{CONTROL_PREFIX}/inbox/{{name}}", get_inbox)
    router.add_get(f"{CONTROL_PREFIX}/quotes/{{symbol}}", get_quote)


# Routes that manage the emulator itself: never counted, faulted or authenticated.
CONTROL_ROUTES = frozenset(f"{CONTROL_PREFIX}/{name}" for name in ("script", "faults", "stats", "reset"))
