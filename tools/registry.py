"""The tool registry: one declaration gives the model's function schema and the activity that runs it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator

from core.errors import ToolFailed, ToolRejected
from core.records import ToolCall, ToolOutcome
from core.settings import Settings

# What the model may receive as one tool output; longer outputs are cut with a marker.
MAX_OUTPUT_CHARS = 16_000


@dataclass(frozen=True)
class ToolContext:
    """What a handler may know besides its arguments: who calls, the settings, and its time budget."""

    instance_id: str
    tool_call_id: str
    settings: Settings
    timeout_seconds: float = 30.0

    @property
    def idempotency_key(self) -> str:
        """Stable across activity retries: the same call of the same orchestration."""
        return f"{self.instance_id}:{self.tool_call_id}"


Handler = Callable[[dict[str, Any], ToolContext], Any]


@dataclass(frozen=True)
class Tool:
    """A function tool: its schema for the model and its handler."""

    name: str
    description: str
    parameters: dict[str, Any]
    handler: Handler = field(repr=False, compare=False)

    def schema(self) -> dict[str, Any]:
        """The `function` tool definition sent to the model (Assistants shape)."""
        return {"type": "function",
                "function": {"name": self.name, "description": self.description, "parameters": self.parameters}}

    def run(self, call: ToolCall, ctx: ToolContext) -> ToolOutcome:
        """Validate the arguments, run the handler, and turn every way it can end into an outcome."""
        try:
            args = parse_arguments(call.arguments, self.parameters)
            result = self.handler(args, ctx)
        except ToolRejected as exc:
            return ToolOutcome.of(call, "rejected", "rejected", str(exc))
        except ToolFailed as exc:
            return ToolOutcome.of(call, "failed", "failed", str(exc))
        except Exception as exc:  # the model gets a structured error instead of a crashed turn
            return ToolOutcome.of(call, "failed", "failed", f"{type(exc).__name__}: {exc}")
        return outcome(call, "succeeded", result)


def parse_arguments(raw: str, schema: dict[str, Any]) -> dict[str, Any]:
    """The model's JSON arguments, checked against the tool's schema; ToolRejected says what is wrong."""
    try:
        args = json.loads(raw or "{}")
    except json.JSONDecodeError as exc:
        raise ToolRejected(f"arguments are not valid JSON: {exc.msg} at position {exc.pos}") from None
    errors = sorted(Draft202012Validator(schema).iter_errors(args), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path) or "(arguments)"
        raise ToolRejected(f"invalid arguments at {where}: {first.message}")
    if not isinstance(args, dict):
        raise ToolRejected("arguments must be a JSON object")
    return args


def outcome(call: ToolCall, status: str, result: Any) -> ToolOutcome:
    """A ToolOutcome whose output is the result as text (JSON unless it already is a string)."""
    text = result if isinstance(result, str) else json.dumps(result, ensure_ascii=False, default=str)
    if len(text) > MAX_OUTPUT_CHARS:
        text = text[: MAX_OUTPUT_CHARS - 40] + f"... [truncated {len(text)} chars]"
    return ToolOutcome(id=call.id, name=call.name, arguments=call.arguments, status=status,  # type: ignore[arg-type]
                       output=text)


class ToolRegistry:
    """Tools by name. Declare with the `tool` decorator."""

    def __init__(self) -> None:
        self._tools: dict[str, Tool] = {}

    def tool(self, name: str, description: str, parameters: dict[str, Any]) -> Callable[[Handler], Handler]:
        """Register a handler as a tool; its schema is checked to be a valid JSON Schema."""
        Draft202012Validator.check_schema(parameters)

        def register(handler: Handler) -> Handler:
            if name in self._tools:
                raise ValueError(f"tool {name!r} is declared twice")
            self._tools[name] = Tool(name, description, parameters, handler)
            return handler

        return register

    def add(self, tool: Tool) -> None:
        """Register a tool built elsewhere (e.g. a declarative HTTP tool)."""
        Draft202012Validator.check_schema(tool.parameters)
        self._tools[tool.name] = tool

    def get(self, name: str) -> Tool | None:
        """The tool called `name`, if any."""
        return self._tools.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __iter__(self) -> Iterator[Tool]:
        return iter(self._tools.values())

    def names(self) -> list[str]:
        """Every registered tool name."""
        return list(self._tools)


REGISTRY = ToolRegistry()
