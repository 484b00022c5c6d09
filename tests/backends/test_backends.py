"""Both backends against the emulator through the real openai SDK: sync, turns, tools, images, cancel, delete."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from assistants.catalog import load_assistant
from backends.base import ModelBackend
from backends.factory import get_backend
from core.errors import BackendError
from core.records import RunState, StartTurn, SubmitToolOutputs, ToolOutput
from core.settings import load_settings
from emulator.testing import EmulatorHandle, run_emulator


class MemoryLedger:
    """The sync ledger in a dict."""

    def __init__(self) -> None:
        self.data: dict[str, dict[str, Any]] = {}

    def get(self, key: str) -> dict[str, Any] | None:
        return self.data.get(key)

    def put(self, key: str, value: dict[str, Any]) -> None:
        self.data[key] = value

    def keys(self, prefix: str) -> list[str]:
        return sorted(k for k in self.data if k.startswith(prefix))

    def delete(self, key: str) -> None:
        self.data.pop(key, None)


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorHandle]:
    with run_emulator(polls_before_done=1) as emu:
        yield emu


@pytest.fixture(params=["responses", "assistants"])
def backend(request: pytest.FixtureRequest, emulator: EmulatorHandle) -> ModelBackend:
    emulator.reset()
    settings = load_settings({"AZURE_OPENAI_ENDPOINT": emulator.url, "AZURE_OPENAI_API_KEY": emulator.api_key,
                              "AZURE_OPENAI_DEPLOYMENT": "gpt-4o", "ASSISTANTS_BACKEND": request.param})
    return get_backend(settings)


def _settle(backend: ModelBackend, state: RunState) -> RunState:
    deadline = time.monotonic() + 10
    while state.status in ("queued", "in_progress", "cancelling") and time.monotonic() < deadline:
        state = backend.poll(state.ref)
    return state


def _start(backend: ModelBackend, name: str, message: str, key: str = "conv-1:1:1") -> tuple[Any, RunState]:
    prepared = backend.prepare(load_assistant(name), MemoryLedger())
    conversation = backend.create_conversation({"conversation_id": "conv-1"})
    state = backend.start_turn(StartTurn(key=key, conversation=conversation, assistant=prepared, message=message,
                                         instructions=prepared.run_instructions.replace("{now}", "2026-11-25")))
    return prepared, state


def test_a_tool_round_reaches_the_final_answer(backend: ModelBackend, emulator: EmulatorHandle) -> None:
    """Prices asked for in one parallel round; the outputs submitted at once reach the final text."""
    prepared, state = _start(backend, "portfolio", "What is the value of my portfolio?")
    state = _settle(backend, state)
    assert state.status == "requires_action"
    symbols = sorted(json.loads(c.arguments)["symbol"] for c in state.tool_calls)
    assert symbols == ["AAPL", "AMZN", "MSFT", "NFLX", "NVDA", "TSLA"]
    outputs = [ToolOutput(call_id=c.id, output=json.dumps({"symbol": json.loads(c.arguments)["symbol"], "price": 100}))
               for c in state.tool_calls]
    state = backend.submit_tool_outputs(SubmitToolOutputs(key="conv-1:1:r1", ref=state.ref, assistant=prepared,
                                                          outputs=outputs))
    state = _settle(backend, state)
    assert state.status == "completed"
    refs = [state.ref]
    out = backend.collect(refs)
    text = " ".join(p.text for m in out.messages for p in m.content if p.type == "text")
    assert "100" in text
    assert emulator.stats()["tool_outputs_received"] == 6


def test_retried_start_adopts_the_first_run(backend: ModelBackend, emulator: EmulatorHandle) -> None:
    """Starting twice with one key makes one run and one user message at the service."""
    prepared, state = _start(backend, "math-tutor", "I need to solve the equation 3x + 11 = 14.")
    again = backend.start_turn(StartTurn(key="conv-1:1:1", conversation=state.ref.conversation, assistant=prepared,
                                         message="I need to solve the equation 3x + 11 = 14."))
    assert again.ref.run_id == state.ref.run_id
    stats = emulator.stats()
    assert (stats["runs_started"], stats["messages_created"]) == (1, 1)
    final = _settle(backend, again)
    text = " ".join(p.text for m in backend.collect([final.ref]).messages for p in m.content if p.type == "text")
    assert "Jane Doe" in text
    assert "x = 1" in text


def test_resync_creates_nothing_new(backend: ModelBackend, emulator: EmulatorHandle) -> None:
    """A second prepare with the same ledger uploads no file and creates no assistant."""
    ledger = MemoryLedger()
    first = backend.prepare(load_assistant("sales"), ledger)
    uploads = emulator.stats()["files_uploaded"]
    second = backend.prepare(load_assistant("sales"), ledger)
    assert second == first
    assert emulator.stats()["files_uploaded"] == uploads == 4


def test_chart_downloads_as_png(backend: ModelBackend) -> None:
    """A chart from code interpreter comes back as an image part whose bytes are a PNG."""
    _, state = _start(backend, "sales", "Chart the revenue by seller")
    final = _settle(backend, state)
    assert final.status == "completed"
    out = backend.collect([final.ref])
    images = [p for m in out.messages for p in m.content if p.type == "image"]
    assert images
    file = next(f for f in out.files if f.file_id == images[0].file_id)
    data, content_type = backend.download(file)
    assert content_type == "image/png"
    assert data.startswith(b"\x89PNG\r\n\x1a\n")


def test_cancel_ends_the_run_cancelled(backend: ModelBackend, emulator: EmulatorHandle) -> None:
    """A cancelled run ends `cancelled` at the service."""
    emulator.add_script({"steps": [{"message": "slow"}], "polls_before_done": 50})
    _, state = _start(backend, "math-tutor", "take your time")
    backend.cancel(state.ref)
    assert _settle(backend, backend.poll(state.ref)).status == "cancelled"


def test_delete_removes_the_conversation_and_its_files(backend: ModelBackend) -> None:
    """After delete, the thread/conversation and the generated files are gone at the service."""
    import openai

    _, state = _start(backend, "sales", "Chart the revenue by seller")
    final = _settle(backend, state)
    files = backend.collect([final.ref]).files
    assert files
    backend.delete_conversation(final.ref.conversation, files)
    client: Any = backend.client  # type: ignore[attr-defined]
    retrieve = client.beta.threads.retrieve if backend.name == "assistants" else client.conversations.retrieve
    with pytest.raises(openai.NotFoundError):
        retrieve(final.ref.conversation)
    with pytest.raises(BackendError) as info:
        backend.download(files[0])
    assert info.value.status == 404


def test_forget_assistant_deletes_only_what_the_service_made(backend: ModelBackend, emulator: EmulatorHandle) -> None:
    """Deleting an assistant's data removes its uploaded files (and assistant), never a file it did not make."""
    ledger = MemoryLedger()
    prepared = backend.prepare(load_assistant("sales"), ledger)
    client: Any = backend.client  # type: ignore[attr-defined]
    foreign = client.files.create(file=("notes.txt", b"someone else's"), purpose="assistants").id
    deleted = backend.forget_assistant("sales", ledger)
    assert set(prepared.file_ids) <= set(deleted)
    remaining = {f.id for f in client.files.list()}
    assert foreign in remaining
    assert not set(prepared.file_ids) & remaining
    assert not [k for k in ledger.data if ":sales" in k]
