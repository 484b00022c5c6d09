"""The backend a setting or a conversation names."""

from __future__ import annotations

from backends.base import ModelBackend
from core.settings import Backend, Settings


def get_backend(settings: Settings, name: Backend | None = None) -> ModelBackend:
    """`name`, else ASSISTANTS_BACKEND: `responses` (default) or `assistants`."""
    if (name or settings.backend) == "assistants":
        from backends.assistants import AssistantsBackend

        return AssistantsBackend(settings)
    from backends.responses import ResponsesBackend

    return ResponsesBackend(settings)
