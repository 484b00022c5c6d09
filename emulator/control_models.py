"""The control API's records: scripts that play a turn exactly, and injected HTTP faults."""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

FinalStatus = Literal["completed", "failed", "expired", "incomplete"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScriptMatch(_Strict):
    """Which turn a script plays: the first whose user message contains `contains` (case-insensitive)."""

    contains: str = Field(min_length=1)


class ScriptToolCall(_Strict):
    """A function call the scripted model makes; `arguments` is an object or raw JSON text (kept verbatim)."""

    name: str = Field(min_length=1)
    arguments: dict[str, Any] | str = Field(default_factory=dict)

    def arguments_text(self) -> str:
        return self.arguments if isinstance(self.arguments, str) else json.dumps(self.arguments)


class ToolCallsStep(_Strict):
    """One requires_action round: every call in it is answered in one submit."""

    tool_calls: list[ScriptToolCall] = Field(min_length=1)


class MessageStep(_Strict):
    """The final message of the turn, with `images` code interpreter charts."""

    message: str
    images: int = Field(default=0, ge=0, le=8)


class ScriptError(_Strict):
    code: str = Field(min_length=1)
    message: str = Field(min_length=1)


class Script(_Strict):
    """How the next matching run/response plays, step by step (see DESIGN's control API)."""

    match: ScriptMatch | None = None
    steps: list[ToolCallsStep | MessageStep] = Field(default_factory=list)
    polls_before_done: int | None = Field(default=None, ge=0, le=1000)
    final_status: FinalStatus = "completed"
    error: ScriptError | None = None
    # Extensions: the turn turns terminal only once this much clock time passed since it started,
    # and the run expires this long after it was created (instead of 10 minutes).
    duration_seconds: float | None = Field(default=None, ge=0)
    expires_in_seconds: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _message_ends_the_turn(self) -> Script:
        for index, step in enumerate(self.steps):
            if isinstance(step, MessageStep) and index != len(self.steps) - 1:
                raise ValueError("a message step ends the turn: it must be the last step")
        return self

    def matches(self, text: str) -> bool:
        return self.match is None or self.match.contains.lower() in text.lower()


class Fault(_Strict):
    """The next `times` requests matching `method` and `path_regex` fail (or are delayed) like this.

    `status` 0 drops the connection without an answer; `status` omitted with `delay_seconds`
    delays the real answer. `retry_after` (seconds) adds `retry-after` and `retry-after-ms`.
    """

    method: str | None = None
    path_regex: str = Field(min_length=1)
    status: int | None = None
    retry_after: float | None = Field(default=None, ge=0)
    times: int = Field(default=1, ge=1)
    delay_seconds: float | None = Field(default=None, ge=0, le=600)
    message: str | None = None

    @field_validator("path_regex")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as error:
            raise ValueError(f"not a regular expression: {error}") from None
        return value

    @field_validator("status")
    @classmethod
    def _status(cls, value: int | None) -> int | None:
        if value is not None and value != 0 and not 400 <= value <= 599:
            raise ValueError("must be 0 (drop the connection) or an HTTP error status 400-599")
        return value

    @model_validator(mode="after")
    def _does_something(self) -> Fault:
        if self.status is None and not self.delay_seconds:
            raise ValueError("give a status, or delay_seconds for a delayed answer")
        return self

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return re.search(self.path_regex, path) is not None
