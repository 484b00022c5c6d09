"""What every activity needs: settings, the conversation's backend, and the error policy."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from backends.base import ModelBackend
from backends.factory import get_backend
from core.errors import BackendError
from core.records import ErrorInfo
from core.settings import Backend, Settings, load_settings

log = logging.getLogger("durable_assistants")
T = TypeVar("T")


def settings() -> Settings:
    """The app settings, read when the activity runs (never at import)."""
    return load_settings()


def backend(name: Backend) -> ModelBackend:
    """The backend a conversation was started on (it keeps it even if the setting changes later)."""
    return get_backend(settings(), name)


def model_call(call: Callable[[], T], on_refusal: Callable[[ErrorInfo], T]) -> T:
    """Run a backend call: transient errors raise (the orchestration retries the activity), refusals are data."""
    try:
        return call()
    except BackendError as exc:
        if exc.retryable:
            log.warning("model call failed, will retry: %s", exc.code)
            raise
        log.warning("model call refused: %s: %s", exc.code, exc.message)
        return on_refusal(ErrorInfo(code=exc.code, message=exc.message))
