"""The Durable HTTP API (`/runtime/webhooks/durabletask/...` and the SDK's RPC base) on top of the engine."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any
from urllib.parse import quote

from aiohttp import web

from devhost.durable import history as h
from devhost.durable.engine import DurableError, Engine

WEBHOOK_BASE = "/runtime/webhooks/durabletask"
RPC_BASE = "/durabletask"
_TRUE_FALSE = {"true": True, "false": False}
# Operations the extension has that devhost does not implement: a loud 501, never a silent no-op.
_UNSUPPORTED_OPS = {"rewind": "rewind", "restart": "restart", "suspend": "suspend", "resume": "resume"}


class BadRequest(Exception):
    """A malformed Durable API call (400 with the message)."""


def error_response(status: int, message: str, exception: str | None = None) -> web.Response:
    """The ASP.NET HttpError shape the extension answers errors with (the SDK reads ExceptionMessage)."""
    body: dict[str, Any] = {"Message": message}
    if exception is not None:
        body.update({"ExceptionMessage": exception, "ExceptionType": "System.ArgumentException"})
    return web.json_response(body, status=status)


def _bool(query: Any, name: str, default: bool) -> bool:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    value = _TRUE_FALSE.get(raw.lower())
    if value is None:
        raise BadRequest(f"query parameter {name!r} must be true or false, got {raw!r}")
    return value


def _time(query: Any, name: str) -> datetime | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    try:
        return h.parse_time(raw)
    except (ValueError, OverflowError):
        raise BadRequest(f"query parameter {name!r} must be an ISO 8601 date-time, got {raw!r}") from None


def _statuses(query: Any) -> set[str] | None:
    values = [v for raw in query.getall("runtimeStatus", []) for v in raw.split(",") if v.strip()]
    if not values:
        return None
    by_lower = {s.lower(): s for s in h.RUNTIME_STATUSES}
    out: set[str] = set()
    for v in values:
        status = by_lower.get(v.strip().lower())
        if status is None:
            raise BadRequest(f"runtimeStatus {v.strip()!r} is not one of {', '.join(h.RUNTIME_STATUSES)}")
        out.add(status)
    return out


class DurableApi:
    """Handlers for one base path; `links` builds the management URLs the extension hands out."""

    def __init__(self, engine: Engine, hub_name: str, system_key: str | None) -> None:
        self.engine = engine
        self.hub_name = hub_name
        self.system_key = system_key

    # ----- URLs -----

    def query_suffix(self) -> str:
        """taskHub/connection (and the system key, when keys are enforced) for every management URL."""
        suffix = f"taskHub={quote(self.hub_name)}&connection=Storage"
        if self.system_key:
            suffix += f"&code={quote(self.system_key)}"
        return suffix

    def links(self, origin: str, instance_id: str) -> dict[str, str]:
        """The check-status payload for an instance (statusQueryGetUri and friends)."""
        base = f"{origin}{WEBHOOK_BASE}/instances/{quote(instance_id, safe='')}"
        q = self.query_suffix()
        return {
            "id": instance_id,
            "statusQueryGetUri": f"{base}?{q}",
            "sendEventPostUri": f"{base}/raiseEvent/{{eventName}}?{q}",
            "terminatePostUri": f"{base}/terminate?reason={{text}}&{q}",
            "rewindPostUri": f"{base}/rewind?reason={{text}}&{q}",
            "purgeHistoryDeleteUri": f"{base}?{q}",
            "restartPostUri": f"{base}/restart?{q}",
            "suspendPostUri": f"{base}/suspend?reason={{text}}&{q}",
            "resumePostUri": f"{base}/resume?reason={{text}}&{q}",
        }

    def client_binding(self, origin: str, rpc_origin: str) -> str:
        """The durableClient binding JSON the extension passes to the worker."""
        base = f"{origin}{WEBHOOK_BASE}"
        q = self.query_suffix()
        management = self.links(origin, "INSTANCEID")
        return json.dumps(
            {
                "taskHubName": self.hub_name,
                "creationUrls": {
                    "createNewInstancePostUri": f"{base}/orchestrators/{{functionName}}[/{{instanceId}}]?{q}",
                    "createAndWaitOnNewInstancePostUri": (
                        f"{base}/orchestrators/{{functionName}}[/{{instanceId}}]"
                        f"?timeout={{timeoutInSeconds}}"
                        f"&pollingInterval={{intervalInSeconds}}&{q}"
                    ),
                },
                "managementUrls": management,
                "baseUrl": base,
                "requiredQueryStringParameters": f"code={quote(self.system_key)}" if self.system_key else "",
                "rpcBaseUrl": f"{rpc_origin}{RPC_BASE}/",
                "httpBaseUrl": "",
                "maxGrpcMessageSizeInBytes": 0,
                "grpcHttpClientTimeout": "00:01:40",
            }
        )

    # ----- dispatch -----

    async def handle(self, request: web.Request, tail: str) -> web.StreamResponse:
        """Route one call under the base path."""
        parts = [p for p in tail.split("/") if p]
        try:
            if parts and parts[0].lower() == "orchestrators" and 2 <= len(parts) <= 3:
                if request.method != "POST":
                    return web.Response(status=404)
                return await self._start(request, parts[1], parts[2] if len(parts) == 3 else None)
            if parts and parts[0].lower() == "entities":
                return error_response(501, "devhost does not support durable entities (HTTP API /entities)")
            if parts and parts[0].lower() == "instances":
                return await self._instances(request, parts[1:])
            return web.Response(status=404)
        except BadRequest as exc:
            return error_response(400, str(exc))
        except DurableError as exc:
            return error_response(exc.status, str(exc))

    async def _instances(self, request: web.Request, parts: list[str]) -> web.StreamResponse:
        if not parts:
            if request.method == "GET":
                return self._query(request)
            if request.method == "DELETE":
                return self._purge_where(request)
            return web.Response(status=404)
        instance_id = parts[0]
        if len(parts) == 1:
            if request.method == "GET":
                return await self._status(request, instance_id)
            if request.method == "DELETE":
                deleted = self.engine.purge(instance_id)
                return web.json_response({"instancesDeleted": deleted})
            return web.Response(status=404)
        op = parts[1].lower()
        if request.method != "POST":
            return web.Response(status=404)
        if op == "raiseevent" and len(parts) == 3:
            return await self._raise(request, instance_id, parts[2])
        if op == "terminate" and len(parts) == 2:
            self.engine.terminate(instance_id, request.query.get("reason"))
            return web.Response(status=202)
        if op in _UNSUPPORTED_OPS and len(parts) == 2:
            return error_response(
                501, f"devhost does not support {_UNSUPPORTED_OPS[op]} of orchestration instances"
            )
        return web.Response(status=404)

    async def _start(self, request: web.Request, name: str, instance_id: str | None) -> web.StreamResponse:
        raw = (await request.read()).decode("utf-8-sig") if request.can_read_body else ""
        input_text: str | None = None
        if raw.strip():
            try:
                json.loads(raw)
            except ValueError as exc:
                raise BadRequest(f"Invalid JSON content: {exc}") from None
            input_text = raw
        if instance_id is not None and (not instance_id.strip() or any(c in instance_id for c in "/\\#?")):
            raise BadRequest(f"instance id {instance_id!r} is not valid")
        try:
            iid = self.engine.start_instance(
                name, instance_id, input_text, request.query.get("version") or ""
            )
        except DurableError as exc:
            if exc.status == 400:
                return error_response(400, "One or more of the arguments submitted is incorrect", str(exc))
            raise
        origin = f"{request.scheme}://{request.host}"
        timeout, interval = request.query.get("timeout"), request.query.get("pollingInterval")
        if timeout and interval:
            try:
                wait_s, step_s = float(timeout), float(interval)
            except ValueError:
                raise BadRequest("timeout and pollingInterval must be numbers of seconds") from None
            loop = asyncio.get_running_loop()
            deadline = loop.time() + wait_s
            while loop.time() < deadline:
                inst = self.engine.instances.get(iid)
                if inst is not None and inst.status in h.TERMINAL:
                    if inst.status == "Completed":
                        return web.json_response(h.loads_or_none(inst.output))
                    return web.json_response(self.engine.status_payload(inst))
                await asyncio.sleep(min(step_s, max(0.0, deadline - loop.time())))
        return self.check_status_response(origin, iid)

    def check_status_response(self, origin: str, instance_id: str) -> web.Response:
        """202 + Location with the management payload, as CreateCheckStatusResponse builds it."""
        payload = self.links(origin, instance_id)
        return web.json_response(
            payload, status=202, headers={"Location": payload["statusQueryGetUri"], "Retry-After": "10"}
        )

    async def _status(self, request: web.Request, instance_id: str) -> web.StreamResponse:
        q = request.query
        show_history = _bool(q, "showHistory", False)
        show_output = _bool(q, "showHistoryOutput", False)
        show_input = _bool(q, "showInput", True)
        fail_500 = _bool(q, "returnInternalServerErrorOnFailure", False)
        inst = self.engine.instances.get(instance_id)
        if inst is None:
            return web.Response(status=404)
        body = self.engine.status_payload(
            inst, show_history=show_history, show_history_output=show_output, show_input=show_input
        )
        if inst.status in ("Pending", "Running", "ContinuedAsNew"):
            return web.json_response(
                body, status=202, headers={"Location": str(request.url), "Retry-After": "5"}
            )
        status = 500 if inst.status == "Failed" and fail_500 else 200
        return web.json_response(body, status=status)

    async def _raise(self, request: web.Request, instance_id: str, event_name: str) -> web.StreamResponse:
        if instance_id not in self.engine.instances:
            return web.Response(status=404)
        self.engine._get_active(
            instance_id
        )  # 410 when finished, before looking at the body (as the extension)
        if request.content_type.lower() != "application/json":
            return error_response(400, "Only application/json request content is supported")
        raw = (await request.read()).decode("utf-8-sig")
        try:
            token = json.loads(raw) if raw.strip() else None
        except ValueError as exc:
            raise BadRequest(f"Invalid JSON content: {exc}") from None
        # The extension parses the body into a JToken and stores that token's JSON: a Python SDK client
        # (which JSON-encodes its data before posting it as JSON) therefore delivers a JSON *string*.
        self.engine.raise_event(instance_id, event_name, json.dumps(token))
        return web.Response(status=202)

    def _query(self, request: web.Request) -> web.StreamResponse:
        q = request.query
        top_raw = q.get("top")
        top: int | None = None
        if top_raw not in (None, ""):
            try:
                top = int(top_raw)
            except ValueError:
                raise BadRequest(
                    f"query parameter 'top' must be a positive integer, got {top_raw!r}"
                ) from None
            if top < 1:
                raise BadRequest("query parameter 'top' must be a positive integer")
        show_input = _bool(q, "showInput", True)
        rows, token = self.engine.query(
            statuses=_statuses(q),
            created_from=_time(q, "createdTimeFrom"),
            created_to=_time(q, "createdTimeTo"),
            prefix=q.get("instanceIdPrefix") or None,
            top=top,
            token=request.headers.get("x-ms-continuation-token"),
        )
        body = [self.engine.status_payload(i, show_input=show_input) for i in rows]
        return web.json_response(body, headers={"x-ms-continuation-token": token or ""})

    def _purge_where(self, request: web.Request) -> web.StreamResponse:
        q = request.query
        created_from = _time(q, "createdTimeFrom")
        if created_from is None:
            raise BadRequest("Please provide value for 'createdTimeFrom' parameter.")
        created_to = _time(q, "createdTimeTo") or self.engine.clock.now()
        deleted = self.engine.purge_where(created_from, created_to, _statuses(q))
        if deleted == 0:
            return web.Response(status=404)
        return web.json_response({"instancesDeleted": deleted})
