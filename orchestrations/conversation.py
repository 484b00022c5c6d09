"""The conversation orchestration: one instance per conversation, one turn per execution, in order."""

from __future__ import annotations

import logging
from typing import Any

import azure.durable_functions as df

from core import names
from core.records import FINAL_TURN_STATUSES, CompleteTurn, ConversationState, TurnRequest
from orchestrations.turn import ACTIVITY_RETRY, Flow, TurnRunner

bp = df.Blueprint()
log = logging.getLogger("durable_assistants")


@bp.orchestration_trigger(context_name="context", orchestration=names.CONVERSATION_ORCHESTRATOR)
def conversation(context: df.DurableOrchestrationContext) -> Flow:
    """Run the next queued turn, or sleep until a message arrives; then continue as new.

    Each execution handles at most one turn, so history stays the size of one turn however long the
    conversation grows. Messages live in the conversation store, so an event that `continue_as_new`
    drops costs nothing: the next execution reads the store first.
    """
    state = ConversationState.from_json(context.get_input())
    turn = state.cursor + 1
    loaded: Any = yield context.call_activity_with_retry(
        names.LOAD_TURN, ACTIVITY_RETRY, {"conversation_id": state.conversation_id, "turn": turn})
    if loaded is None:
        context.set_custom_status({"conversation_id": state.conversation_id, "phase": "idle", "turn": state.cursor})
        yield context.wait_for_external_event(names.MESSAGE_EVENT)
        context.continue_as_new(state.to_json())
        return None
    request = TurnRequest.from_json(loaded)
    claimed = request.status not in FINAL_TURN_STATUSES and (yield context.call_activity_with_retry(
        names.CLAIM_TURN, ACTIVITY_RETRY, {"conversation_id": state.conversation_id, "turn": turn}))
    if claimed:  # not cancelled before it started
        runner = TurnRunner(context, state, request)
        done: CompleteTurn = yield from runner.run()
        yield context.call_activity_with_retry(names.COMPLETE_TURN, ACTIVITY_RETRY, done.to_json())
        if request.deliver:
            try:
                yield context.call_activity_with_retry(names.DELIVER_TURN, ACTIVITY_RETRY,
                                                       {"conversation_id": request.conversation_id, "turn": turn})
            except Exception as exc:
                # The turn is stored and readable; a receiver that stays down must not stop the conversation.
                if not context.is_replaying:
                    log.warning("turn %s/%d could not be delivered: %s", request.conversation_id, turn,
                                str(exc).split("\n", 1)[0])
        state = state.model_copy(update={"backend_conversation": runner.backend_conversation})
    context.continue_as_new(state.model_copy(update={"cursor": turn}).to_json())
    return None
