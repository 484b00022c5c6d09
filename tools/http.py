"""Outbound HTTP for tools and webhooks: bounded retries on transient failures, no URL in any error."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.errors import ToolFailed

if TYPE_CHECKING:  # imported where a request is made: the app's cold start does not pay for them
    import httpx2
    from tenacity import RetryCallState

RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})


class TransientHTTPError(ToolFailed):
    """A failure worth another try (connection, timeout, 429, 5xx)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Reply:
    """What the endpoint answered."""

    status: int
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        """The body as JSON."""
        import json

        return json.loads(self.body)


def _retry_after(headers: httpx2.Headers) -> float | None:
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value:
            try:
                return max(0.0, float(value) * scale)
            except ValueError:
                return None
    return None


def _wait(state: RetryCallState) -> float:
    # Honour the server's Retry-After; otherwise back off 0.5 s, 1 s, 2 s...
    exc = state.outcome.exception() if state.outcome else None
    hinted = exc.retry_after if isinstance(exc, TransientHTTPError) else None
    return hinted if hinted is not None else min(8.0, 0.5 * 2 ** (state.attempt_number - 1))


def request(method: str, url: str, *, what: str, json_body: Any = None, content: bytes | None = None,
            headers: dict[str, str] | None = None, timeout: float = 30.0, attempts: int = 3) -> Reply:
    """Send one request, retrying transient failures within `timeout` seconds in all.

    Errors name `what` (e.g. "email endpoint") and the status, never the URL: it may carry a `sig`.
    """
    import httpx2
    from tenacity import Retrying, retry_if_exception, stop_after_attempt, stop_after_delay

    deadline = time.monotonic() + timeout

    def once() -> Reply:
        remaining = max(0.5, deadline - time.monotonic())
        try:
            with httpx2.Client(timeout=remaining) as client:
                resp = client.request(method, url, json=json_body, content=content, headers=headers)
        except httpx2.TimeoutException:
            raise TransientHTTPError(f"{what} did not answer within {remaining:.1f} s") from None
        except httpx2.TransportError as exc:
            raise TransientHTTPError(f"{what} could not be reached ({type(exc).__name__})") from None
        if resp.status_code in RETRYABLE_STATUS:
            raise TransientHTTPError(f"{what} answered HTTP {resp.status_code}", _retry_after(resp.headers))
        if resp.status_code >= 400:
            raise ToolFailed(f"{what} answered HTTP {resp.status_code}: {resp.text[:300]}")
        return Reply(resp.status_code, resp.content, dict(resp.headers))

    retrying = Retrying(
        stop=stop_after_attempt(attempts) | stop_after_delay(timeout),
        wait=_wait,
        retry=retry_if_exception(lambda e: isinstance(e, TransientHTTPError)),
        reraise=True,
    )
    return retrying(once)
