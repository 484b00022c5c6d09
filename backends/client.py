"""Building the `openai` clients (api key or Entra ID) and classifying their errors."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from core.errors import BackendError
from core.settings import Settings

if TYPE_CHECKING:
    from openai import AzureOpenAI, OpenAI

COGNITIVE_SERVICES_SCOPE = "https://cognitiveservices.azure.com/.default"
# One SDK call's budget. The SDK does not retry: a 429's Retry-After (up to a minute) is waited out by the
# orchestration with a durable timer, not by an activity sleeping (which bills and holds a worker).
# Test hook: a test may lower it (monkeypatch) to make "slower than the timeout" cheap; clients are cached
# per timeout, so the next client built uses the new value.
REQUEST_TIMEOUT_SECONDS = 30.0
SDK_MAX_RETRIES = 0

_clients: dict[tuple[Any, ...], Any] = {}
_lock = threading.Lock()


def token_provider(client_id: str | None) -> Callable[[], str]:
    """Entra ID bearer tokens from the managed identity (user-assigned when AZURE_CLIENT_ID is set)."""
    from azure.identity import DefaultAzureCredential, ManagedIdentityCredential, get_bearer_token_provider

    credential = ManagedIdentityCredential(client_id=client_id) if client_id else DefaultAzureCredential()
    return get_bearer_token_provider(credential, COGNITIVE_SERVICES_SCOPE)


def _cached(key: tuple[Any, ...], build: Callable[[], Any]) -> Any:
    # Clients hold connection pools: one per configuration per process, not one per activity.
    with _lock:
        if key not in _clients:
            _clients[key] = build()
        return _clients[key]


def assistants_client(settings: Settings) -> AzureOpenAI:
    """`AzureOpenAI` on `/openai/...?api-version=` for the Assistants API."""

    def build() -> AzureOpenAI:
        from openai import AzureOpenAI

        auth: dict[str, Any] = (
            {"api_key": settings.openai_api_key} if settings.openai_api_key
            else {"azure_ad_token_provider": token_provider(settings.azure_client_id)}
        )
        return AzureOpenAI(azure_endpoint=settings.openai_endpoint, api_version=settings.openai_api_version,
                           timeout=REQUEST_TIMEOUT_SECONDS, max_retries=SDK_MAX_RETRIES, **auth)

    key = ("assistants", settings.openai_endpoint, settings.openai_api_version, settings.openai_api_key,
           settings.azure_client_id, REQUEST_TIMEOUT_SECONDS)
    return _cached(key, build)


def responses_client(settings: Settings) -> OpenAI:
    """`OpenAI` on Azure's `/openai/v1/` surface (Responses, Conversations, Files, Containers)."""

    def build() -> OpenAI:
        from openai import OpenAI

        api_key: str | Callable[[], str] = settings.openai_api_key or token_provider(settings.azure_client_id)
        return OpenAI(base_url=settings.openai_endpoint.rstrip("/") + "/openai/v1/", api_key=api_key,
                      timeout=REQUEST_TIMEOUT_SECONDS, max_retries=SDK_MAX_RETRIES)

    key = ("responses", settings.openai_endpoint, settings.openai_api_key, settings.azure_client_id,
           REQUEST_TIMEOUT_SECONDS)
    return _cached(key, build)


def _retry_after(exc: Any) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or {}
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        with contextlib.suppress(TypeError, ValueError):
            if headers.get(name) is not None:
                return float(headers[name]) * scale
    return None


def _body_error(exc: Any) -> tuple[str | None, str | None]:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict):
            return (str(err["code"]) if err.get("code") is not None else None,
                    str(err["message"]) if err.get("message") else None)
    return None, None


def classify(exc: Exception) -> BackendError:
    """Map an `openai` exception to our taxonomy: 429, 5xx, timeouts and lost connections are retryable."""
    import openai

    code, message = _body_error(exc)
    if isinstance(exc, openai.APITimeoutError):
        return BackendError("timeout", "the model service did not answer in time", retryable=True)
    if isinstance(exc, openai.APIConnectionError):
        return BackendError("connection_error", "the model service could not be reached", retryable=True)
    if isinstance(exc, openai.RateLimitError):
        # Azure answers code "429" (or "RateLimitReached"); our taxonomy says rate_limit_exceeded.
        return BackendError("rate_limit_exceeded", message or "rate limited", retryable=True,
                            status=429, retry_after=_retry_after(exc))
    if isinstance(exc, openai.InternalServerError):
        return BackendError(code or "server_error", message or "the model service failed", retryable=True,
                            status=exc.status_code)
    if isinstance(exc, openai.APIStatusError):
        text = message or str(exc)
        # A previous run still finishing on this thread: waiting and trying again resolves it.
        busy = exc.status_code in (400, 409) and "active" in text.lower() and "run" in text.lower()
        return BackendError(code or _status_code(exc.status_code), text, retryable=busy, status=exc.status_code)
    return BackendError("unexpected_error", f"{type(exc).__name__}: {exc}", retryable=False)


def _status_code(status: int) -> str:
    return {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
            409: "conflict", 413: "payload_too_large", 422: "unprocessable"}.get(status, f"http_{status}")


@contextlib.contextmanager
def translated_errors() -> Iterator[None]:
    """Raise BackendError instead of the SDK's exceptions."""
    import openai

    try:
        yield
    except openai.OpenAIError as exc:
        raise classify(exc) from None


def header_int(value: str | None) -> int | None:
    """An integer header such as `openai-poll-after-ms`, or None."""
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def delete_quietly(delete: Callable[[], Any]) -> None:
    """Run a delete call; something already gone (404) is fine, other errors are not."""
    try:
        with translated_errors():
            delete()
    except BackendError as exc:
        if exc.status != 404:
            raise
