"""The interface every model backend implements, and the sync ledger it may keep ids in."""

from __future__ import annotations

from typing import Any, Protocol

from assistants.catalog import AssistantSpec
from core.records import FileRef, PreparedAssistant, RunRef, RunState, StartTurn, SubmitToolOutputs, TurnOutput
from core.settings import Backend

# Metadata keys this service writes on objects it creates, so a later sync or retry can find them.
META_NAME = "da_name"
META_HASH = "da_hash"
META_TURN_KEY = "da_turn_key"
META_LAST_KEY = "da_last_key"
META_LAST_RESPONSE = "da_last_response"
META_VECTOR_STORE = "da_vector_store"
META_PENDING_KEY = "da_pending_key"
META_PENDING_AFTER = "da_pending_after"
META_CREATED_BY = "da_created_by"
CREATED_BY = "durable-assistants"


class SyncLedger(Protocol):
    """Durable key → record store where a backend remembers what it uploaded or created."""

    def get(self, key: str) -> dict[str, Any] | None:
        """The record stored under `key`, if any."""
        ...

    def put(self, key: str, value: dict[str, Any]) -> None:
        """Store `value` under `key`, replacing what was there."""
        ...

    def keys(self, prefix: str) -> list[str]:
        """Every key that starts with `prefix`."""
        ...

    def delete(self, key: str) -> None:
        """Forget `key` (a missing key is fine)."""
        ...


class ModelBackend(Protocol):
    """One model API. Each method is one activity's worth of work and safe to retry."""

    name: Backend

    def prepare(self, spec: AssistantSpec, ledger: SyncLedger) -> PreparedAssistant:
        """Sync the assistant and its files; finds what it created before instead of duplicating."""
        ...

    def create_conversation(self, metadata: dict[str, str]) -> str:
        """A new thread (Assistants) or conversation (Responses); its id."""
        ...

    def upload(self, filename: str, data: bytes) -> FileRef:
        """Upload a user's attachment."""
        ...

    def start_turn(self, request: StartTurn) -> RunState:
        """Add the user message and start the model; a retry with the same key adopts the first run."""
        ...

    def poll(self, ref: RunRef) -> RunState:
        """The run's current state."""
        ...

    def submit_tool_outputs(self, request: SubmitToolOutputs) -> RunState:
        """Answer every tool call of the round in one call."""
        ...

    def cancel(self, ref: RunRef) -> RunState:
        """Ask the service to cancel the run."""
        ...

    def collect(self, refs: list[RunRef]) -> TurnOutput:
        """The assistant messages (text, annotations, images) produced by these runs, in order."""
        ...

    def download(self, file: FileRef) -> tuple[bytes, str]:
        """A file's bytes and content type."""
        ...

    def delete_conversation(self, conversation: str | None, files: list[FileRef]) -> None:
        """Remove the thread/conversation and the files this service created for it."""
        ...

    def forget_assistant(self, name: str, ledger: SyncLedger) -> list[str]:
        """Delete what the service holds for an assistant (per the ledger: nothing else); the ids deleted."""
        ...
