"""Names of orchestrations, activities and events, shared by the code that schedules and the code that runs them."""

from __future__ import annotations

CONVERSATION_ORCHESTRATOR = "conversation"

# Events raised to a conversation's orchestration.
MESSAGE_EVENT = "message"  # a hint only: the message itself is in the conversation store

# Activities.
LOAD_TURN = "load_turn"
MARK_TURN = "mark_turn"
PREPARE_ASSISTANT = "prepare_assistant"
OPEN_CONVERSATION = "open_conversation"
START_RUN = "start_run"
POLL_RUN = "poll_run"
SUBMIT_TOOL_OUTPUTS = "submit_tool_outputs"
CANCEL_RUN = "cancel_run"
COMPLETE_TURN = "complete_turn"
DELIVER_TURN = "deliver_turn"
HTTP_TOOL = "tool_http"
CLAIM_TURN = "claim_turn"
COLLECT_TURN = "collect_turn"


def tool_activity(tool_name: str) -> str:
    """The activity that runs a registered tool."""
    return f"tool_{tool_name}"


def cancel_event(turn: int) -> str:
    """The event that cancels one turn (named per turn, so a late cancel cannot hit the next one)."""
    return f"cancel-{turn}"
