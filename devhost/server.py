"""devhost's HTTP front: /api routes, the Durable HTTP API, the admin endpoint, the /_devhost control API."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import traceback
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from devhost.durable.api import RPC_BASE, WEBHOOK_BASE, error_response
from devhost.faults import FAULT_MODES, Fault
from devhost.invoke import invoke
from devhost.loader import DURABLE_TRIGGERS, FunctionSpec
from devhost.redact import redact

if TYPE_CHECKING:
    from devhost.host import DevHost

log = logging.getLogger("devhost.http")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _key_ok(request: web.Request, key: str | None) -> bool:
    """With a key configured, `?code=` or `x-functions-key` must carry it (compared in constant time)."""
    if not key:
        return True
    given = request.query.get("code") or request.headers.get("x-functions-key") or ""
    return hmac.compare_digest(given.encode(), key.encode())


def _http_datum(request: web.Request, body: bytes, route_params: dict[str, str]) -> Any:
    from azure.functions import meta

    def s(value: str) -> Any:
        return meta.Datum(type="string", value=value)

    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return meta.Datum(
        type="http",
        value={
            "method": s(request.method),
            "url": s(str(request.url)),
            "headers": {k: s(v) for k, v in headers.items()},
            "query": {k: s(v) for k, v in request.query.items()},
            "params": {k: s(v) for k, v in route_params.items()},
            "body": meta.Datum(type="bytes", value=body),
        },
    )


def _to_response(datum: Any) -> web.Response:
    if datum is None:
        return web.Response(status=204)
    if datum.type == "string":
        return web.Response(text=datum.value, content_type="text/plain", charset="utf-8")
    if datum.type == "http":
        value = datum.value
        status = int(value["status_code"].value)
        headers = {k: v.value for k, v in value["headers"].items() if k.lower() != "content-length"}
        body = value["body"].value if value.get("body") is not None else b""
        return web.Response(status=status, body=body, headers=headers)
    return web.Response(text=str(datum.value))


class HostServer:
    """Builds the aiohttp applications for a DevHost."""

    def __init__(self, host: DevHost) -> None:
        self.host = host

    # ----- applications -----

    def main_app(self) -> web.Application:
        """The app on the public port."""
        app = web.Application(middlewares=[self._track], client_max_size=100 * 1024 * 1024)
        app.router.add_route("*", "/_devhost/{tail:.*}", self._control)
        app.router.add_route("POST", "/admin/functions/{name}", self._admin)
        app.router.add_route("*", WEBHOOK_BASE + "{tail:.*}", self._webhook)
        app.router.add_route("*", "/{tail:.*}", self._functions)
        return app

    def rpc_app(self) -> web.Application:
        """The extension's local RPC endpoint the SDK client talks to (loopback only, no key, as on Azure)."""
        app = web.Application(middlewares=[self._track])
        app.router.add_route("*", RPC_BASE + "/{tail:.*}", self._rpc)
        return app

    @web.middleware
    async def _track(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        # App routes do not hold the virtual clock: a handler may wait for an orchestration (a long poll),
        # which needs timers to fire. The Durable API calls a handler makes are counted on their own.
        prefix = "/" + self.host.host_config.route_prefix.strip("/") + "/"
        counted = not request.path.startswith("/_devhost/") and not request.path.startswith(prefix)
        if counted:
            self.host.busy_begin()
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            response = exc
        except Exception:
            log.error(
                "%s %s failed in devhost: %s",
                request.method,
                redact(str(request.rel_url)),
                redact(traceback.format_exc()),
            )
            response = web.Response(status=500)
        finally:
            if counted:
                self.host.busy_end()
        log.info("%s %s -> %s", request.method, redact(str(request.rel_url)), response.status)
        return response

    # ----- function routes -----

    async def _functions(self, request: web.Request) -> web.StreamResponse:
        prefix = self.host.host_config.route_prefix
        path = request.path.strip("/")
        if prefix:
            if path.lower() != prefix.lower() and not path.lower().startswith(prefix.lower() + "/"):
                return web.Response(status=404)
            path = path[len(prefix) :].strip("/")
        matched: tuple[FunctionSpec, dict[str, str]] | None = None
        for spec in self.host.http_functions:
            assert spec.route is not None
            params = spec.route.match(path)
            if params is None:
                continue
            if spec.methods is not None and request.method.upper() not in spec.methods:
                continue
            matched = (spec, params)
            break
        if matched is None:
            # The Functions host answers 404 (not 405) for a known route with another method.
            return web.Response(status=404)
        spec, params = matched
        if spec.auth_level != "ANONYMOUS" and not _key_ok(request, self.host.function_key):
            return web.Response(status=401)
        body = await request.read()
        inputs = {
            b.name: self.host.client_binding_datum(request)
            for b in spec.bindings
            if b.type == "durableClient" and b.direction == "IN"
        }
        try:
            result = await invoke(
                spec, _http_datum(request, body, params), inputs=inputs, app_dir=str(self.host.app_dir)
            )
        except Exception:
            self.host.functions_failed += 1
            log.error("function %s failed: %s", spec.name, redact(traceback.format_exc()))
            return web.Response(status=500)
        finally:
            self.host.functions_run += 1
        http_out = next((b for b in spec.bindings if b.type == "http" and b.direction == "OUT"), None)
        if http_out is not None and http_out.name != "$return":
            return _to_response(result.outputs.get(http_out.name))
        return _to_response(result.return_datum)

    # ----- durable HTTP API -----

    async def _webhook(self, request: web.Request) -> web.StreamResponse:
        if not _key_ok(request, self.host.function_key):
            return web.Response(status=401)
        return await self.host.durable_api.handle(request, request.match_info["tail"])

    async def _rpc(self, request: web.Request) -> web.StreamResponse:
        return await self.host.durable_api.handle(request, request.match_info["tail"])

    # ----- admin: run a non-HTTP function on demand -----

    async def _admin(self, request: web.Request) -> web.StreamResponse:
        if not _key_ok(request, self.host.function_key):
            return web.Response(status=401)
        name = request.match_info["name"]
        spec = next((f for f in self.host.loaded.functions.values() if f.name.lower() == name.lower()), None)
        if spec is None:
            return web.Response(status=404)
        if spec.trigger_type == "httpTrigger" or spec.trigger_type in DURABLE_TRIGGERS:
            return error_response(
                400,
                f"function '{spec.name}' ({spec.trigger_type}) cannot be run through "
                "the admin API; call its route or the Durable API instead",
            )
        raw = await request.read()
        try:
            body = json.loads(raw) if raw.strip() else {}
        except ValueError:
            return error_response(400, 'admin request body must be JSON like {"input": "..."}')
        if not isinstance(body, dict) or not isinstance(body.get("input", ""), str):
            return error_response(400, 'admin request body must be JSON like {"input": "..."} (a string)')
        self.host.run_in_background(self.host.run_admin(spec, body.get("input", "")))
        return web.Response(status=202)

    # ----- /_devhost control API -----

    async def _control(self, request: web.Request) -> web.StreamResponse:
        tail = request.match_info["tail"].strip("/")
        host = self.host
        if tail == "health" and request.method == "GET":
            return web.json_response({"status": "ok"})
        if tail == "stats" and request.method == "GET":
            return web.json_response(host.stats())
        if tail == "faults":
            if request.method == "GET":
                return web.json_response([f.__dict__ for f in host.faults.armed()])
            if request.method == "DELETE":
                host.faults.clear()
                return web.Response(status=204)
            if request.method == "POST":
                try:
                    data = await request.json()
                    fault = Fault(
                        activity=str(data["activity"]), mode=data["mode"], times=int(data.get("times", 1))
                    )
                    if fault.mode not in FAULT_MODES:
                        raise ValueError(f"mode must be one of {', '.join(FAULT_MODES)}")
                    host.faults.arm(fault)
                except (ValueError, KeyError, TypeError) as exc:
                    return error_response(
                        400, f'fault must be {{"activity", "mode": crash_after|fail, "times"}}: {exc}'
                    )
                return web.json_response([f.__dict__ for f in host.faults.armed()], status=201)
        if tail.startswith("instances/") and tail.endswith("/executions") and request.method == "GET":
            instance_id = tail[len("instances/"):-len("/executions")]
            with_history = request.query.get("history", "false").lower() == "true"
            return web.json_response([e.as_dict(with_history) for e in host.engine.executions(instance_id)])
        if tail == "clock" and request.method == "GET":
            return web.json_response(host.clock_info())
        if tail == "clock/advance" and request.method == "POST":
            from devhost.clock import VirtualClock
            from devhost.durable.history import parse_time

            if not isinstance(host.clock, VirtualClock):
                return error_response(409, "the clock is real: only a virtual clock can be advanced")
            try:
                data = await request.json()
                if "to" in data:
                    host.clock.advance_to(parse_time(str(data["to"])))
                else:
                    host.clock.advance(float(data["seconds"]))
            except (ValueError, KeyError, TypeError) as exc:
                return error_response(400, f'body must be {{"seconds": n}} or {{"to": ISO time}}: {exc}')
            return web.json_response(host.clock_info())
        return web.Response(status=404)


def new_invocation_id() -> str:
    """An invocation id like the host's."""
    return str(uuid.uuid4())


async def cancel_quietly(task: asyncio.Task[Any]) -> None:
    """Cancel a task and wait for it, swallowing its cancellation."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
