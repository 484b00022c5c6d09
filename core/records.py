"""Typed records that cross a boundary: HTTP bodies, queue messages, activity inputs and outputs.

Orchestrations exchange these as plain JSON (`to_json` / `from_json`): the Durable SDK serialises
activity inputs and outputs with `json`, and replay must see exactly what was recorded.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field

from core.settings import Backend

TurnStatus = Literal[
    "queued", "running", "requires_action", "completed", "failed", "cancelled", "expired", "incomplete"
]
FINAL_TURN_STATUSES: frozenset[str] = frozenset({"completed", "failed", "cancelled", "expired", "incomplete"})

ToolCallStatus = Literal["succeeded", "failed", "rejected"]

# A run (Assistants) or background response (Responses), normalised to the Assistants vocabulary.
RunStatus = Literal[
    "queued", "in_progress", "requires_action", "cancelling",
    "cancelled", "failed", "completed", "incomplete", "expired",
]
TERMINAL_RUN_STATUSES: frozenset[str] = frozenset({"cancelled", "failed", "completed", "incomplete", "expired"})


class Record(BaseModel):
    """A frozen record with JSON in and out; unknown fields are an error, not silently kept."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-able dict."""
        return self.model_dump(mode="json")

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """Validate a dict (or JSON string) into the record."""
        if isinstance(data, str | bytes):
            return cls.model_validate_json(data)
        return cls.model_validate(data)


class ErrorInfo(Record):
    """What went wrong, in the model service's words (`code`, `message`)."""

    code: str
    message: str


# --- the turn, as callers see it ------------------------------------------------------------------


class TextContent(Record):
    """Text with its annotations (file citations, links to generated files)."""

    type: Literal["text"] = "text"
    text: str
    annotations: list[dict[str, Any]] = Field(default_factory=list)


class ImageContent(Record):
    """An image the model produced; `url` downloads it from this service."""

    type: Literal["image"] = "image"
    file_id: str
    url: str


Content = Annotated[TextContent | ImageContent, Field(discriminator="type")]


class Message(Record):
    """One message of the transcript."""

    id: str
    role: Literal["user", "assistant"]
    created_at: int
    content: list[Content]


class ToolCall(Record):
    """A function call the model asked for; `arguments` is the raw JSON text the model wrote."""

    id: str
    name: str
    arguments: str


class ToolOutcome(Record):
    """A tool call with what the model was told: `succeeded`, `failed` or `rejected`."""

    id: str
    name: str
    arguments: str
    status: ToolCallStatus
    output: str

    @classmethod
    def of(cls, call: ToolCall, status: ToolCallStatus, error: str, message: str) -> ToolOutcome:
        """An outcome carrying a structured error for the model."""
        output = json.dumps({"error": error, "message": message})
        return cls(id=call.id, name=call.name, arguments=call.arguments, status=status, output=output)


class Turn(Record):
    """One user message and everything the assistant did about it."""

    conversation_id: str
    turn: int
    status: TurnStatus
    messages: list[Message] = Field(default_factory=list)
    tool_calls: list[ToolOutcome] = Field(default_factory=list)
    error: ErrorInfo | None = None
    usage: dict[str, Any] | None = None
    backend: Backend


# --- between the orchestration and the model activities -----------------------------------------


class FileRef(Record):
    """A file uploaded to, or produced by, the model service (`container` for Responses outputs)."""

    file_id: str
    filename: str = ""
    container: str | None = None


class PreparedAssistant(Record):
    """An assistant synced to the backend: ids the turn needs, and the function tools it may call."""

    name: str
    backend: Backend
    assistant_id: str | None = None
    file_ids: list[str] = Field(default_factory=list)
    vector_store_ids: list[str] = Field(default_factory=list)
    # Function tool name → the activity that runs it.
    tool_activities: dict[str, str] = Field(default_factory=dict)
    # Per-run instructions template; the orchestration fills `{now}` from its own clock.
    run_instructions: str = ""
    # Knowledge documents (file_search) and whether the service is still indexing them.
    knowledge_files: list[FileRef] = Field(default_factory=list)
    ingesting: bool = False


class RunRef(Record):
    """Where a run lives: thread + run (Assistants) or conversation + response (Responses)."""

    backend: Backend
    conversation: str
    run_id: str


class RunState(Record):
    """A run as one poll saw it."""

    ref: RunRef
    status: RunStatus
    tool_calls: list[ToolCall] = Field(default_factory=list)
    poll_after_ms: int | None = None
    # Relative, measured by the activity against the service's own clock, so the orchestration
    # (whose clock may be virtual) can bound tool work without comparing two clocks.
    expires_in_seconds: float | None = None
    error: ErrorInfo | None = None
    incomplete_reason: str | None = None


AttachmentTool = Literal["code_interpreter", "file_search"]


class Attachment(Record):
    """A file attached to a user message, already uploaded to the model service."""

    file_id: str
    filename: str
    tools: list[AttachmentTool] = Field(default_factory=lambda: list[AttachmentTool](["code_interpreter"]))


class StartTurn(Record):
    """Start the model's work on one user message; `key` makes retries adopt the first run."""

    key: str
    conversation: str
    assistant: PreparedAssistant
    message: str
    attachments: list[Attachment] = Field(default_factory=list)
    instructions: str = ""
    metadata: dict[str, str] = Field(default_factory=dict)
    # False when a retryable failure made us start another run: the message is already in the thread.
    first_attempt: bool = True


class ToolOutput(Record):
    """The answer to one tool call."""

    call_id: str
    output: str


class SubmitToolOutputs(Record):
    """All outputs of one round, in one call; `key` makes a retried submit harmless."""

    key: str
    ref: RunRef
    assistant: PreparedAssistant
    outputs: list[ToolOutput]
    # The turn's per-run instructions, rendered (Responses sends them with every response).
    instructions: str = ""


class TurnOutput(Record):
    """The final messages and usage of a finished run."""

    messages: list[Message] = Field(default_factory=list)
    files: list[FileRef] = Field(default_factory=list)
    usage: dict[str, Any] | None = None


class Refusal(Record):
    """A model activity's answer when the service refused for good (a 4xx): the turn fails with it."""

    refused: ErrorInfo

    @classmethod
    def parse(cls, data: Any) -> Refusal | None:
        """The Refusal in an activity result, if that is what it is."""
        if isinstance(data, dict) and set(data) == {"refused"}:
            return cls.from_json(data)
        return None

    @property
    def error(self) -> ErrorInfo:
        """What the service said."""
        return self.refused


class RetryLater(Record):
    """A model activity's answer when the service is throttling or failing for now: wait, then call again.

    The orchestration waits with a durable timer (free, and instant under a virtual clock) instead of
    an activity sleeping through a long Retry-After.
    """

    retry_after_seconds: float | None = None
    error: ErrorInfo

    @classmethod
    def parse(cls, data: Any) -> RetryLater | None:
        """The RetryLater in an activity result, if that is what it is."""
        if isinstance(data, dict) and "retry_after_seconds" in data and "error" in data:
            return cls.from_json(data)
        return None


# --- the conversation orchestration's own state --------------------------------------------------


class TurnConfig(Record):
    """Limits a turn runs under (from settings, fixed when the conversation starts or continues)."""

    poll_min_seconds: float = 1.0
    poll_max_seconds: float = 15.0
    turn_timeout_seconds: float = 600.0
    max_run_attempts: int = 3
    tool_timeout_seconds: float = 120.0


class ConversationState(Record):
    """The orchestration's input: who it is and the last turn it finished (`continue_as_new` carries it)."""

    conversation_id: str
    assistant: str
    backend: Backend
    backend_conversation: str | None = None
    cursor: int = 0
    config: TurnConfig = Field(default_factory=TurnConfig)


class TurnRequest(Record):
    """A queued user message as the orchestration sees it (reply routing stays in the store)."""

    conversation_id: str
    turn: int
    status: TurnStatus
    message: str
    attachments: list[Attachment] = Field(default_factory=list)
    metadata: dict[str, str] = Field(default_factory=dict)
    # True when the finished turn goes somewhere (a reply queue, a callback URL kept in the store).
    deliver: bool = False


class ToolTask(Record):
    """Input of a tool activity."""

    call: ToolCall
    instance_id: str
    assistant: str
    timeout_seconds: float


class CompleteTurn(Record):
    """Input of the activity that stores the finished turn."""

    conversation_id: str
    turn: int
    status: TurnStatus
    output: TurnOutput = Field(default_factory=TurnOutput)
    tool_calls: list[ToolOutcome] = Field(default_factory=list)
    error: ErrorInfo | None = None
    backend: Backend
