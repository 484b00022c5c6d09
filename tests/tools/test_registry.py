"""The tool registry: schema validation before the handler, and every failure as a structured outcome."""

from __future__ import annotations

import json

import pytest

from core.errors import ToolFailed, ToolRejected
from core.records import ToolCall
from core.settings import load_settings
from tools.registry import Tool, ToolContext, ToolRegistry, parse_arguments

SCHEMA = {"type": "object", "properties": {"n": {"type": "integer", "minimum": 0}}, "required": ["n"],
          "additionalProperties": False}
ENV = {"AZURE_OPENAI_ENDPOINT": "https://x.example", "AZURE_OPENAI_DEPLOYMENT": "d"}
CTX = ToolContext(instance_id="conv-1", tool_call_id="call-1", settings=load_settings(ENV))


def _call(arguments: str) -> ToolCall:
    return ToolCall(id="call-1", name="square", arguments=arguments)


def _square(args: dict, ctx: ToolContext) -> dict:
    return {"square": args["n"] ** 2}


def test_valid_call_runs_the_handler_and_returns_json() -> None:
    """A valid call succeeds and the output is the handler's result as JSON."""
    outcome = Tool("square", "squares", SCHEMA, _square).run(_call('{"n": 7}'), CTX)
    assert outcome.status == "succeeded"
    assert json.loads(outcome.output) == {"square": 49}


@pytest.mark.parametrize(("arguments", "message"), [
    ("{not json", "arguments are not valid JSON"),
    ('{"n": -1}', "invalid arguments at n: -1 is less than the minimum of 0"),
    ('{"m": 1}', "'n' is a required property"),
    ('{"n": 1, "x": 2}', "Additional properties are not allowed"),
])
def test_invalid_arguments_are_rejected_before_the_handler(arguments: str, message: str) -> None:
    """Bad JSON or a schema violation is a `rejected` outcome naming the problem; the handler never runs."""
    ran = []
    tool = Tool("square", "squares", SCHEMA, lambda args, ctx: ran.append(args))
    outcome = tool.run(_call(arguments), CTX)
    assert outcome.status == "rejected"
    assert message in json.loads(outcome.output)["message"]
    assert ran == []


@pytest.mark.parametrize(("error", "status"), [
    (ToolRejected("policy says no"), "rejected"),
    (ToolFailed("endpoint down"), "failed"),
    (ZeroDivisionError("boom"), "failed"),
])
def test_handler_errors_become_structured_outcomes(error: Exception, status: str) -> None:
    """Whatever the handler raises, the model gets a structured error and the turn goes on."""

    def handler(args: dict, ctx: ToolContext) -> None:
        raise error

    outcome = Tool("square", "squares", SCHEMA, handler).run(_call('{"n": 1}'), CTX)
    assert outcome.status == status
    body = json.loads(outcome.output)
    assert body["error"] == ("rejected" if status == "rejected" else "failed")
    assert str(error) in body["message"]


def test_one_declaration_gives_the_model_schema() -> None:
    """The registry's declaration is what the model is offered."""
    registry = ToolRegistry()
    registry.tool("square", "squares a number", SCHEMA)(_square)
    tool = registry.get("square")
    assert tool is not None
    assert tool.schema() == {"type": "function", "function": {"name": "square", "description": "squares a number",
                                                              "parameters": SCHEMA}}


def test_a_tool_cannot_be_declared_twice() -> None:
    """Two tools with one name are a programming error caught at declaration."""
    registry = ToolRegistry()
    registry.tool("square", "squares", SCHEMA)(_square)
    with pytest.raises(ValueError, match="declared twice"):
        registry.tool("square", "again", SCHEMA)(_square)


def test_parse_arguments_requires_an_object() -> None:
    """A JSON array is not a valid argument list even for an empty schema."""
    with pytest.raises(ToolRejected, match="JSON object"):
        parse_arguments("[1, 2]", {})
