"""The emulator's in-memory state: configuration, clock, ids, stores, scripts, faults and counters."""

from __future__ import annotations

import secrets
import string
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .control_models import Fault, Script

if TYPE_CHECKING:
    from .assistants import AssistantsStore
    from .responses import ResponsesStore
    from .vectors import VectorStoresStore

Clock = Callable[[], float]
_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True)
class EmulatorConfig:
    """Settings of one emulator instance."""

    api_key: str = "emulator-key"
    # Retrieves a run/response needs before it reaches its next stable state (requires_action or terminal).
    polls_before_done: int = 1
    # Value of the `openai-poll-after-ms` header on run and response retrieves.
    poll_after_ms: int = 100
    # A run expires this long after it was created, like the real service's 10 minutes.
    run_expires_seconds: float = 600.0
    # Validate every object the server sends against the API description and the SDK's models.
    strict: bool = False
    # Reads a file attached to a vector store spends `in_progress` before it settles (like runs' polls).
    ingestion_polls: int = 1


@dataclass
class StoredFile:
    """An uploaded or generated file (Files API)."""

    id: str
    filename: str
    purpose: str
    data: bytes
    created_at: int

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "file",
            "bytes": len(self.data),
            "created_at": self.created_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
        }


@dataclass
class InboxEntry:
    """What a Logic App stand-in received."""

    body: Any
    headers: dict[str, str]
    received_at: float

    def to_json(self) -> dict[str, Any]:
        return {"body": self.body, "headers": self.headers, "received_at": self.received_at}


@dataclass
class Stats:
    """Counters served by `GET /_emulator/stats`."""

    requests: Counter[str] = field(default_factory=Counter)
    runs_started: int = 0
    tool_outputs_received: int = 0
    messages_created: int = 0
    files_uploaded: int = 0
    vector_stores_created: int = 0
    vector_store_files_added: int = 0
    faults_injected: int = 0

    def to_json(self, scripts_pending: int) -> dict[str, Any]:
        return {
            "requests": dict(sorted(self.requests.items())),
            "runs_started": self.runs_started,
            "tool_outputs_received": self.tool_outputs_received,
            "messages_created": self.messages_created,
            "files_uploaded": self.files_uploaded,
            "vector_stores_created": self.vector_stores_created,
            "vector_store_files_added": self.vector_store_files_added,
            "faults_injected": self.faults_injected,
            "scripts_pending": scripts_pending,
        }


class EmulatorState:
    """Everything the emulator remembers; touched only from its event loop."""

    def __init__(self, config: EmulatorConfig, clock: Clock | None = None) -> None:
        self.config = config
        self.clock: Clock = clock or time.time
        self.reset()

    def reset(self) -> None:
        """Forget every object, script, fault, inbox entry and counter."""
        from .assistants import AssistantsStore
        from .responses import ResponsesStore
        from .vectors import VectorStoresStore

        self.files: dict[str, StoredFile] = {}
        self.vector_stores: VectorStoresStore = VectorStoresStore()
        self.assistants: AssistantsStore = AssistantsStore()
        self.responses: ResponsesStore = ResponsesStore()
        self.scripts: deque[Script] = deque()
        self.faults: list[Fault] = []
        self.inbox: dict[str, list[InboxEntry]] = {}
        self.stats = Stats()

    def now(self) -> int:
        """The clock in whole seconds, as the API's timestamps are."""
        return int(self.clock())

    @staticmethod
    def new_id(prefix: str, length: int = 24, alphabet: str = _ALPHABET) -> str:
        return prefix + "".join(secrets.choice(alphabet) for _ in range(length))

    def add_file(self, filename: str, purpose: str, data: bytes) -> StoredFile:
        stored = StoredFile(self.new_id("file-", 22), filename, purpose, data, self.now())
        self.files[stored.id] = stored
        return stored

    def take_script(self, text: str) -> Script | None:
        """The first queued script that matches the turn's user message; it is consumed."""
        for script in self.scripts:
            if script.matches(text):
                self.scripts.remove(script)
                return script
        return None

    def take_fault(self, method: str, path: str) -> Fault | None:
        """The first fault matching the request, its `times` counted down."""
        for fault in self.faults:
            if fault.matches(method, path):
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                self.stats.faults_injected += 1
                return fault
        return None
