"""History events in the shape the Durable extension serialises DTFx events for out-of-proc SDKs."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Literal

from dateutil.parser import isoparse

RuntimeStatus = Literal["Pending", "Running", "Completed", "ContinuedAsNew", "Failed", "Terminated"]
RUNTIME_STATUSES: tuple[RuntimeStatus, ...] = (
    "Pending",
    "Running",
    "Completed",
    "ContinuedAsNew",
    "Failed",
    "Terminated",
)
TERMINAL: frozenset[str] = frozenset({"Completed", "Failed", "Terminated"})

# DTFx EventType numbers (azure.durable_functions.models.history.HistoryEventType).
EXECUTION_STARTED = 0
EXECUTION_COMPLETED = 1
EXECUTION_TERMINATED = 3
TASK_SCHEDULED = 4
TASK_COMPLETED = 5
TASK_FAILED = 6
SUB_ORCHESTRATION_CREATED = 7
SUB_ORCHESTRATION_COMPLETED = 8
SUB_ORCHESTRATION_FAILED = 9
TIMER_CREATED = 10
TIMER_FIRED = 11
ORCHESTRATOR_STARTED = 12
ORCHESTRATOR_COMPLETED = 13
EVENT_RAISED = 15
CONTINUE_AS_NEW = 16

EVENT_NAMES = {
    0: "ExecutionStarted",
    1: "ExecutionCompleted",
    2: "ExecutionFailed",
    3: "ExecutionTerminated",
    4: "TaskScheduled",
    5: "TaskCompleted",
    6: "TaskFailed",
    7: "SubOrchestrationInstanceCreated",
    8: "SubOrchestrationInstanceCompleted",
    9: "SubOrchestrationInstanceFailed",
    10: "TimerCreated",
    11: "TimerFired",
    12: "OrchestratorStarted",
    13: "OrchestratorCompleted",
    14: "EventSent",
    15: "EventRaised",
    16: "ContinueAsNew",
    17: "GenericEvent",
    18: "HistoryState",
}


def fmt_time(when: datetime) -> str:
    """ISO 8601 UTC with microseconds and a Z, as the SDK's DATETIME_STRING_FORMAT."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def fmt_status_time(when: datetime) -> str:
    """The status API's second-precision time ("s" format + Z)."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    """A UTC datetime from an ISO 8601 string (naive values are taken as UTC)."""
    value = isoparse(text)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def event(event_type: int, when: datetime, event_id: int = -1, **fields: Any) -> dict[str, Any]:
    """One history event (IsPlayed is set when the history is sent to the SDK)."""
    return {"EventType": event_type, "EventId": event_id, "Timestamp": fmt_time(when), **fields}


def loads_or_none(text: str | None) -> Any:
    """JSON text to a value; None stays None, and text that is not JSON is returned as is."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def status_history(history: list[dict[str, Any]], show_output: bool) -> list[dict[str, Any]]:
    """The simplified history the status API returns with showHistory=true (scheduling events folded in)."""
    scheduled: dict[int, dict[str, Any]] = {}
    out: list[dict[str, Any]] = []
    for e in history:
        kind = e["EventType"]
        if kind in (ORCHESTRATOR_STARTED, ORCHESTRATOR_COMPLETED):
            continue
        if kind in (TASK_SCHEDULED, SUB_ORCHESTRATION_CREATED):
            scheduled[e["EventId"]] = e
            continue
        item: dict[str, Any] = {"EventType": EVENT_NAMES.get(kind, str(kind)), "Timestamp": e["Timestamp"]}
        if kind == EXECUTION_STARTED:
            item["FunctionName"] = e.get("Name")
        elif kind in (TASK_COMPLETED, TASK_FAILED, SUB_ORCHESTRATION_COMPLETED, SUB_ORCHESTRATION_FAILED):
            origin = scheduled.get(e.get("TaskScheduledId", -2), {})
            item["FunctionName"] = origin.get("Name")
            item["ScheduledTime"] = origin.get("Timestamp")
            if kind in (SUB_ORCHESTRATION_COMPLETED, SUB_ORCHESTRATION_FAILED):
                item["InstanceId"] = origin.get("InstanceId")
            if kind in (TASK_FAILED, SUB_ORCHESTRATION_FAILED):
                item["Reason"] = e.get("Reason")
                item["Details"] = e.get("Details")
            elif show_output:
                item["Result"] = loads_or_none(e.get("Result"))
        elif kind in (TIMER_CREATED, TIMER_FIRED):
            item["FireAt"] = e.get("FireAt")
        elif kind == EVENT_RAISED:
            item["Name"] = e.get("Name")
            if show_output:
                item["Input"] = loads_or_none(e.get("Input"))
        elif kind == EXECUTION_COMPLETED:
            item["OrchestrationStatus"] = e.get("OrchestrationStatus")
            if show_output:
                item["Result"] = loads_or_none(e.get("Result"))
        elif kind == EXECUTION_TERMINATED:
            item["Input"] = loads_or_none(e.get("Input"))
        out.append(item)
    return out
