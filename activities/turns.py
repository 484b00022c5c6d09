"""Turn bookkeeping in the conversation store: the next message, status changes, the finished turn."""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from activities.common import log
from core import names
from core.records import CompleteTurn, ErrorInfo, Turn, TurnRequest
from store.tables import open_store

bp = df.Blueprint()


@bp.function_name(names.LOAD_TURN)
@bp.activity_trigger(input_name="payload")
def load_turn(payload: dict) -> dict[str, Any] | None:
    """The queued message for turn N, or None if it has not arrived yet."""
    record = open_store().get_turn(payload["conversation_id"], int(payload["turn"]))
    if record is None:
        return None
    return TurnRequest(conversation_id=record.conversation_id, turn=record.turn, status=record.status,
                       message=record.message, attachments=record.attachments, metadata=record.metadata,
                       deliver=bool(record.reply_queue or record.callback_url)).to_json()


@bp.function_name(names.CLAIM_TURN)
@bp.activity_trigger(input_name="payload")
def claim_turn(payload: dict) -> bool:
    """Start a queued turn (queued → running); False if it was cancelled before it started."""
    return open_store().claim_turn(payload["conversation_id"], int(payload["turn"]))


@bp.function_name(names.MARK_TURN)
@bp.activity_trigger(input_name="payload")
def mark_turn(payload: dict) -> None:
    """Show a running turn's status: running, or requires_action during a tool round."""
    open_store().set_turn_status(payload["conversation_id"], int(payload["turn"]), payload["status"])


@bp.function_name(names.COMPLETE_TURN)
@bp.activity_trigger(input_name="payload")
def complete_turn(payload: dict) -> dict[str, Any]:
    """Record the files the turn produced and store the finished turn."""
    done = CompleteTurn.from_json(payload)
    output = done.output
    turn = Turn(conversation_id=done.conversation_id, turn=done.turn, status=done.status, messages=output.messages,
                tool_calls=done.tool_calls, error=done.error, usage=output.usage, backend=done.backend)
    store = open_store()
    store.add_files(done.conversation_id, output.files)
    try:
        store.save_turn(turn)
    except ValueError:  # larger than a table row can hold: keep the turn's outcome, say why the text is gone
        turn = turn.model_copy(update={"status": "failed", "messages": [], "error": ErrorInfo(
            code="result_too_large", message="the answer was too large to store; ask for a shorter one")})
        store.save_turn(turn)
    log.info("turn %s/%d ended %s with %d messages, %d tool calls", done.conversation_id, done.turn, turn.status,
             len(turn.messages), len(turn.tool_calls))
    return {"status": turn.status, "messages": len(turn.messages)}
