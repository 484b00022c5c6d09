"""Model activities: each one backend call (or a few), safe to run more than once."""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from activities.common import backend, model_call
from assistants.catalog import load_assistant
from core import names
from core.records import (
    ErrorInfo,
    PreparedAssistant,
    Refusal,
    RunRef,
    RunState,
    StartTurn,
    SubmitToolOutputs,
    TurnOutput,
)
from store.tables import open_store

bp = df.Blueprint()
# Knowledge files already recorded in the file index by this process.
_registered: set[tuple[str, str]] = set()


def _refused(error: ErrorInfo) -> Any:
    # Data, not an exception: a refusal is final, and the turn fails with what the service said.
    return Refusal(refused=error).to_json()


def _failed(ref: RunRef) -> Any:
    return lambda error: RunState(ref=ref, status="failed", error=error).to_json()


@bp.function_name(names.PREPARE_ASSISTANT)
@bp.activity_trigger(input_name="payload")
def prepare_assistant(payload: dict) -> Any:
    """Sync the assistant (files, definition) to the backend; a no-op when nothing changed."""
    spec = load_assistant(payload["assistant"])
    model = backend(payload["backend"])
    store = open_store()
    prepared = model_call(lambda: model.prepare(spec, store.ledger()), _refused)
    if isinstance(prepared, PreparedAssistant):
        # Cited knowledge documents are served by /api/files like the conversation's own files.
        known = {(prepared.backend, f.file_id) for f in prepared.knowledge_files}
        if not known <= _registered:
            store.add_assistant_files(spec.name, prepared.backend, prepared.knowledge_files)
            _registered.update(known)
        return prepared.to_json()
    return prepared


@bp.function_name(names.OPEN_CONVERSATION)
@bp.activity_trigger(input_name="payload")
def open_conversation(payload: dict) -> Any:
    """The conversation's thread/conversation at the backend, created once and remembered."""
    store = open_store()
    conversation_id = payload["conversation_id"]
    record = store.get_conversation(conversation_id)
    if record is not None and record.backend_conversation:
        return record.backend_conversation
    model = backend(payload["backend"])
    created = model_call(lambda: model.create_conversation({"conversation_id": conversation_id}), _refused)
    if isinstance(created, str):
        store.set_backend_conversation(conversation_id, created)
    return created


@bp.function_name(names.START_RUN)
@bp.activity_trigger(input_name="payload")
def start_run(payload: dict) -> dict[str, Any]:
    """Add the user's message and start the model; a retry adopts the run the first attempt made."""
    request = StartTurn.from_json(payload)
    ref = RunRef(backend=request.assistant.backend, conversation=request.conversation, run_id="")
    model = backend(request.assistant.backend)
    return model_call(lambda: model.start_turn(request).to_json(), _failed(ref))


@bp.function_name(names.POLL_RUN)
@bp.activity_trigger(input_name="payload")
def poll_run(payload: dict) -> dict[str, Any]:
    """The run's state now."""
    ref = RunRef.from_json(payload)
    return model_call(lambda: backend(ref.backend).poll(ref).to_json(), _failed(ref))


@bp.function_name(names.SUBMIT_TOOL_OUTPUTS)
@bp.activity_trigger(input_name="payload")
def submit_tool_outputs(payload: dict) -> dict[str, Any]:
    """Every output of the round in one call."""
    request = SubmitToolOutputs.from_json(payload)
    model = backend(request.ref.backend)
    return model_call(lambda: model.submit_tool_outputs(request).to_json(), _failed(request.ref))


@bp.function_name(names.COLLECT_TURN)
@bp.activity_trigger(input_name="payload")
def collect_turn(payload: dict) -> Any:
    """The final messages (text, annotations, images) and usage of the turn's runs."""
    refs = [RunRef.from_json(r) for r in payload["refs"]]
    model = backend(payload["backend"])

    def refused(error: ErrorInfo) -> Any:
        # Gone or refused at the service: the turn keeps its status, with no messages to show.
        return TurnOutput().to_json()

    return model_call(lambda: model.collect(refs).to_json(), refused)


@bp.function_name(names.CANCEL_RUN)
@bp.activity_trigger(input_name="payload")
def cancel_run(payload: dict) -> dict[str, Any]:
    """Ask the service to cancel the run."""
    ref = RunRef.from_json(payload)

    def refused(error: ErrorInfo) -> dict[str, Any]:
        # Could not cancel (already finished, or gone): report it as cancelled on our side.
        return RunState(ref=ref, status="cancelled", error=error).to_json()

    return model_call(lambda: backend(ref.backend).cancel(ref).to_json(), refused)
