"""Errors in the shape the real service sends: `{"error": {"code", "message", "param", "type"}}`."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

INVALID_REQUEST = "invalid_request_error"


class ApiError(Exception):
    """A request the service refuses; rendered as the service's JSON error with `status`."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        type_: str = INVALID_REQUEST,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code
        self.type = type_
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "param": self.param, "type": self.type}}

    def response(self) -> web.Response:
        return web.Response(
            status=self.status,
            text=json.dumps(self.body()),
            content_type="application/json",
            headers=self.headers,
        )


def bad_request(message: str, *, param: str | None = None, code: str | None = None) -> ApiError:
    return ApiError(400, message, param=param, code=code)


def not_found(message: str, *, param: str | None = None) -> ApiError:
    return ApiError(404, message, param=param)


# Azure answers a route it does not serve with this body (code is the status as a string).
def azure_resource_not_found() -> ApiError:
    return ApiError(404, "Resource not found", code="404")


ACCESS_DENIED_KEY = (
    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key "
    "for an active subscription and use a correct regional API endpoint for your resource."
)
ACCESS_DENIED_BEARER = (
    "Unauthorized. Access token is missing, invalid, audience is incorrect "
    "(https://cognitiveservices.azure.com), or have expired."
)


def unauthorized(message: str = ACCESS_DENIED_KEY) -> ApiError:
    return ApiError(401, message, code="401")


# Messages the real service uses for injected faults, by status.
FAULT_MESSAGES: dict[int, tuple[str, str | None, str]] = {
    400: ("Bad request.", None, INVALID_REQUEST),
    401: (ACCESS_DENIED_KEY, "401", INVALID_REQUEST),
    403: (
        "The principal does not have permission to perform this action.",
        "PermissionDenied",
        INVALID_REQUEST,
    ),
    404: ("Resource not found", "404", INVALID_REQUEST),
    408: ("The request timed out.", "timeout", "server_error"),
    409: ("The resource is locked; retry the request.", "conflict", INVALID_REQUEST),
    429: (
        "Requests to the OpenAI API have exceeded the call rate limit of your current pricing tier. "
        "Please retry after the time the retry-after header says.",
        "429",
        "rate_limit_exceeded",
    ),
    500: (
        "The server had an error while processing your request. Sorry about that!",
        "server_error",
        "server_error",
    ),
    502: ("Bad gateway.", "bad_gateway", "server_error"),
    503: (
        "The service is temporarily unable to process your request. Please try again later.",
        "503",
        "server_error",
    ),
    504: ("The gateway timed out.", "gateway_timeout", "server_error"),
}


def fault_error(status: int, message: str | None) -> ApiError:
    default_message, code, type_ = FAULT_MESSAGES.get(
        status, (f"Injected fault {status}.", str(status), "server_error")
    )
    return ApiError(status, message or default_message, code=code, type_=type_)
