"""Rows of the conversation store."""

from __future__ import annotations

from pydantic import Field

from core.records import Attachment, Record, Turn, TurnStatus
from core.settings import Backend


class ConversationRecord(Record):
    """A conversation: which assistant and backend, and how far it got."""

    conversation_id: str
    assistant: str
    backend: Backend
    backend_conversation: str | None = None
    created_at: str
    updated_at: str
    turns: int = 0
    metadata: dict[str, str] = Field(default_factory=dict)


class TurnRecord(Record):
    """A user message waiting for, or answered by, one turn. Reply routing stays here, out of Durable state."""

    conversation_id: str
    turn: int = 0
    status: TurnStatus = "queued"
    message: str
    attachments: list[Attachment] = Field(default_factory=list)
    metadata: dict[str, str] = Field(default_factory=dict)
    correlation_id: str | None = None
    reply_queue: str | None = None
    # May carry a secret (a Logic App callback URL holds a sig): never copied into orchestration data.
    callback_url: str | None = None
    created_at: str
    updated_at: str | None = None
    result: Turn | None = None
    # When the finished turn went onto reply_queue: a delivery retried for its webhook does not send it twice.
    replied_at: str | None = None
