"""Bodies of the HTTP API and the queue: the models that validate requests and generate /api/openapi.json."""

from __future__ import annotations

import base64
import binascii
import ipaddress
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from core import limits
from core.records import AttachmentTool, Message, TurnStatus
from core.settings import Backend

ConversationId = Annotated[str, StringConstraints(pattern=limits.CONVERSATION_ID_PATTERN)]
AssistantName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
MessageText = Annotated[str, StringConstraints(min_length=1, max_length=limits.MAX_MESSAGE_CHARS)]


class Body(BaseModel):
    """A request body: unknown fields are rejected so typos surface as errors; types are taken exactly as the
    published schema states them (no `"wait": true` read as 1)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class AttachmentIn(Body):
    """A file sent with a message, base64-encoded; uploaded under its own name."""

    filename: Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=r"^[^/\\\x00-\x1f]+$")]
    content_base64: str = Field(description="The file's bytes, base64-encoded")
    tools: list[AttachmentTool] = Field(default_factory=lambda: list[AttachmentTool](["code_interpreter"]),
                                        min_length=1)

    @field_validator("content_base64")
    @classmethod
    def _decodes(cls, value: str) -> str:
        try:
            data = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("is not valid base64") from None
        if len(data) > limits.MAX_ATTACHMENT_BYTES:
            raise ValueError(f"decodes to {len(data)} bytes; the limit is {limits.MAX_ATTACHMENT_BYTES}")
        return value

    def data(self) -> bytes:
        """The decoded bytes."""
        return base64.b64decode(self.content_base64)


def _check_metadata(value: dict[str, str]) -> dict[str, str]:
    if len(value) > limits.MAX_METADATA_KEYS:
        raise ValueError(f"has {len(value)} keys; at most {limits.MAX_METADATA_KEYS} are allowed")
    for key, item in value.items():
        if not key or len(key) > limits.MAX_METADATA_KEY_CHARS:
            raise ValueError(f"key {key[:80]!r} must be 1-{limits.MAX_METADATA_KEY_CHARS} characters")
        if len(item) > limits.MAX_METADATA_VALUE_CHARS:
            raise ValueError(f"value of {key!r} is longer than {limits.MAX_METADATA_VALUE_CHARS} characters")
    return value


def _is_loopback_ip(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_callback(value: str | None) -> str | None:
    # HTTPS, or HTTP to this machine only (local development): never a plain-HTTP hop elsewhere.
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError("must be an absolute http(s) URL")
    if parts.scheme == "http":
        host = parts.hostname
        if host != "localhost" and not _is_loopback_ip(host):
            raise ValueError("must use https (http is accepted only for localhost)")
    return value


class MessageIn(Body):
    """What every way of sending a message shares."""

    message: MessageText
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=limits.MAX_ATTACHMENTS)
    wait: float = Field(default=0, ge=0, le=limits.MAX_WAIT_SECONDS,
                        description="Seconds to wait for the turn before answering 202")
    callback_url: str | None = Field(default=None, description="The finished turn is POSTed here, signed")

    _callback = field_validator("callback_url")(_check_callback)


class StartConversation(MessageIn):
    """POST /api/conversations."""

    assistant: AssistantName | None = None
    conversation_id: ConversationId | None = None
    metadata: dict[str, str] = Field(default_factory=dict)

    _metadata = field_validator("metadata")(_check_metadata)


class PostMessage(MessageIn):
    """POST /api/conversations/{id}/messages."""


class QueueRequest(Body):
    """A message on REQUESTS_QUEUE."""

    message: MessageText
    conversation_id: ConversationId | None = None
    assistant: AssistantName | None = None
    correlation_id: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    reply_queue: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")] | None = None
    callback_url: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)

    _callback = field_validator("callback_url")(_check_callback)
    _metadata = field_validator("metadata")(_check_metadata)

    @field_validator("reply_queue")
    @classmethod
    def _queue_name(cls, value: str | None) -> str | None:
        # Azure also refuses consecutive hyphens; caught here, the reply is not lost at delivery time.
        if value is not None and "--" in value:
            raise ValueError("must not contain consecutive hyphens (not a valid Azure queue name)")
        return value


# --- answers ---------------------------------------------------------------------------------------


class TurnSummary(BaseModel):
    """A turn in a conversation's listing."""

    turn: int
    status: TurnStatus


class ConversationView(BaseModel):
    """GET /api/conversations/{id}."""

    conversation_id: str
    assistant: str
    backend: Backend
    status: Literal["idle", "running"]
    turns: list[TurnSummary]


class Transcript(BaseModel):
    """GET /api/conversations/{id}/messages."""

    conversation_id: str
    messages: list[Message]


class Health(BaseModel):
    """GET /api/health."""

    status: Literal["ok"]
    backend: Backend
    version: str


class Problem(BaseModel):
    """An RFC 9457 problem: what was wrong, and with which field."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    field: str | None = None
    instance: str | None = None
