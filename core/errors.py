"""The error taxonomy: request errors carry their HTTP status; model errors say if a retry can help."""

from __future__ import annotations

from typing import Any


class RequestError(Exception):
    """A caller's mistake or a state conflict, answered as RFC 9457 problem+json."""

    status = 400
    title = "Bad Request"

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field

    def problem(self, instance: str | None = None) -> dict[str, Any]:
        """The problem+json body."""
        body: dict[str, Any] = {"type": "about:blank", "title": self.title, "status": self.status,
                                "detail": self.detail}
        if self.field is not None:
            body["field"] = self.field
        if instance is not None:
            body["instance"] = instance
        return body


class InvalidRequest(RequestError):
    """The body, a parameter or an id is malformed or out of bounds."""


class NotFound(RequestError):
    """The conversation, turn or file does not exist (or is not this caller's to see)."""

    status = 404
    title = "Not Found"


class Conflict(RequestError):
    """The request clashes with the current state (an id that exists, a cancel with nothing running)."""

    status = 409
    title = "Conflict"


class ServiceUnavailable(RequestError):
    """Not now: the request is fine and can be sent again after `Retry-After`."""

    status = 503
    title = "Service Unavailable"
    retry_after = 5


class BackendError(Exception):
    """The model service refused or failed; `retryable` says whether trying again can help."""

    def __init__(self, code: str, message: str, *, retryable: bool, status: int | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.retryable = retryable
        self.status = status
        self.retry_after = retry_after


class ToolRejected(Exception):
    """A tool call refused before any side effect: unknown tool, bad arguments, or a policy said no."""


class ToolFailed(Exception):
    """A tool ran and failed (its endpoint erred or timed out)."""
