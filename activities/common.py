"""What every activity needs: settings, the conversation's backend, and the error policy."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from backends.base import ModelBackend
from backends.factory import get_backend
from core.errors import BackendError
from core.records import ErrorInfo, RetryLater
from core.settings import Backend, Settings, load_settings

log = logging.getLogger("durable_assistants")
T = TypeVar("T")


def settings() -> Settings:
    """The app settings, read when the activity runs (never at import)."""
    return load_settings()


def backend(name: Backend) -> ModelBackend:
    """The backend a conversation was started on (it keeps it even if the setting changes later)."""
    return get_backend(settings(), name)


def model_call(call: Callable[[], T], on_refusal: Callable[[ErrorInfo], T]) -> T | dict[str, Any]:
    """Run a backend call: refusals are data; transient trouble is a RetryLater for the orchestration to wait out."""
    try:
        return call()
    except BackendError as exc:
        error = ErrorInfo(code=exc.code, message=exc.message)
        if exc.retryable:
            log.warning("model call failed for now (%s), the orchestration will retry", exc.code)
            return RetryLater(retry_after_seconds=exc.retry_after, error=error).to_json()
        log.warning("model call refused: %s: %s", exc.code, exc.message)
        return on_refusal(error)
