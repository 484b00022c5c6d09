"""HTTP plumbing for the triggers: JSON and problem+json answers, body parsing, one error boundary."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import azure.functions as func
from pydantic import BaseModel, ValidationError

from core import limits
from core.errors import BackendError, InvalidRequest, RequestError, ServiceUnavailable

log = logging.getLogger("durable_assistants")
M = TypeVar("M", bound=BaseModel)
Handler = Callable[..., Awaitable[func.HttpResponse]]


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> func.HttpResponse:
    """A JSON answer (pydantic models are dumped as JSON)."""
    text = body.model_dump_json() if isinstance(body, BaseModel) else json.dumps(body)
    return func.HttpResponse(text, status_code=status, headers=headers, mimetype="application/json")


def problem_response(error: RequestError, instance: str | None = None) -> func.HttpResponse:
    """RFC 9457 problem+json for a request error."""
    headers = {"Content-Type": "application/problem+json"}
    if isinstance(error, ServiceUnavailable):
        headers["Retry-After"] = str(error.retry_after)
    return func.HttpResponse(json.dumps(error.problem(instance)), status_code=error.status, headers=headers)


def _field(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "body"


def parse_body(req: func.HttpRequest, model: type[M]) -> M:
    """The request body validated by `model`; InvalidRequest names the first bad field."""
    raw = req.get_body() or b""
    if len(raw) > limits.MAX_BODY_BYTES:
        raise InvalidRequest(f"the body is {len(raw)} bytes; the limit is {limits.MAX_BODY_BYTES}", field="body")
    try:
        data = json.loads(raw or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidRequest(f"the body is not valid JSON: {exc}", field="body") from None
    if not isinstance(data, dict):
        raise InvalidRequest("the body must be a JSON object", field="body")
    return validate(model, data)


def validate(model: type[M], data: Any) -> M:
    """`data` validated by `model`, with errors as InvalidRequest naming the field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = _field(first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            message = "is not a known field"
        elif first["type"] == "missing":
            message = "is required"
        raise InvalidRequest(f"{field} {message}", field=field) from None


def handle_errors(handler: Handler) -> Handler:
    """Answer request errors as problem+json; anything else is a logged 500 with no detail leaked."""

    @functools.wraps(handler)
    async def wrapper(req: func.HttpRequest, *args: Any, **kwargs: Any) -> func.HttpResponse:
        try:
            return await handler(req, *args, **kwargs)
        except RequestError as exc:
            return problem_response(exc, instance=_path(req))
        except BackendError as exc:
            return _upstream_problem(exc, _path(req))
        except Exception:
            log.exception("unhandled error in %s %s", req.method, _path(req))
            body = {"type": "about:blank", "title": "Internal Server Error", "status": 500,
                    "detail": "the service failed to handle this request; it has been logged"}
            return func.HttpResponse(json.dumps(body), status_code=500,
                                     headers={"Content-Type": "application/problem+json"})

    return wrapper


def _upstream_problem(exc: BackendError, instance: str) -> func.HttpResponse:
    """The model service failed: 503 + Retry-After when a retry can help, else 502. Its words stay in the log."""
    log.warning("model service error in %s: %s", instance, exc.code)
    status, title = (503, "Service Unavailable") if exc.retryable else (502, "Bad Gateway")
    body = {"type": "about:blank", "title": title, "status": status, "instance": instance,
            "detail": "the model service is unavailable; try again later" if exc.retryable
            else "the model service refused the request; it has been logged"}
    headers = {"Content-Type": "application/problem+json"}
    if exc.retryable:
        headers["Retry-After"] = str(max(1, round(exc.retry_after or limits.RETRY_AFTER_SECONDS)))
    return func.HttpResponse(json.dumps(body), status_code=status, headers=headers)


def _path(req: func.HttpRequest) -> str:
    # The path only: the query may hold a function key.
    from urllib.parse import urlsplit

    return urlsplit(req.url).path
