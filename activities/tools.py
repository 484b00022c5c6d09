"""Tool activities, generated from the registry: one per declared tool, plus one for HTTP tools."""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from activities.common import settings
from assistants.catalog import load_assistant
from core import names
from core.records import ToolOutcome, ToolTask
from tools import REGISTRY
from tools.registry import Tool, ToolContext

bp = df.Blueprint()


def _run(tool: Tool | None, task: ToolTask) -> dict[str, Any]:
    if tool is None:
        return ToolOutcome.of(task.call, "rejected", "unknown_tool", f"no tool named {task.call.name!r}").to_json()
    try:
        ctx = ToolContext(instance_id=task.instance_id, tool_call_id=task.call.id, settings=settings(),
                          timeout_seconds=task.timeout_seconds)
        return tool.run(task.call, ctx).to_json()
    except Exception as exc:  # never into the fan-in: one crash would make the round's other tools look lost
        return ToolOutcome.of(task.call, "failed", "failed", f"{type(exc).__name__}: {exc}").to_json()


def _register(tool: Tool) -> None:
    @bp.function_name(names.tool_activity(tool.name))
    @bp.activity_trigger(input_name="payload")
    def run_tool(payload: dict) -> dict[str, Any]:
        """Validate the call's arguments and run the tool; never raises into the fan-in."""
        return _run(tool, ToolTask.from_json(payload))


for _tool in REGISTRY:
    _register(_tool)


@bp.function_name(names.HTTP_TOOL)
@bp.activity_trigger(input_name="payload")
def run_http_tool(payload: dict) -> dict[str, Any]:
    """Run a declarative HTTP tool of the calling assistant."""
    task = ToolTask.from_json(payload)
    return _run(load_assistant(task.assistant).tool(task.call.name), task)
