"""Knowledge sync for file_search, on both backends against the emulator: once, found again, changed pages only."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from assistants.catalog import load_assistant
from backends.base import ModelBackend
from backends.factory import get_backend
from core.settings import load_settings
from emulator.testing import EmulatorHandle, run_emulator
from tests.backends.test_backends import MemoryLedger


@pytest.fixture
def emulator() -> Iterator[EmulatorHandle]:
    with run_emulator(polls_before_done=1, ingestion_polls=1) as emu:
        yield emu


@pytest.fixture(params=["responses", "assistants"])
def backend(request: pytest.FixtureRequest, emulator: EmulatorHandle) -> ModelBackend:
    settings = load_settings({"AZURE_OPENAI_ENDPOINT": emulator.url, "AZURE_OPENAI_API_KEY": emulator.api_key,
                              "AZURE_OPENAI_DEPLOYMENT": "gpt-4o", "ASSISTANTS_BACKEND": request.param})
    return get_backend(settings)


def _until_indexed(backend: ModelBackend, spec: Any, ledger: MemoryLedger) -> Any:
    prepared = backend.prepare(spec, ledger)
    for _ in range(10):
        if not prepared.ingesting:
            return prepared
        prepared = backend.prepare(spec, ledger)
    raise AssertionError("knowledge never finished indexing")


def test_knowledge_is_uploaded_once_and_found_again(backend: ModelBackend, emulator: EmulatorHandle) -> None:
    """The first sync makes one vector store with every page; a re-sync with unchanged pages creates nothing."""
    ledger = MemoryLedger()
    spec = load_assistant("handbook")
    before = emulator.stats()
    first = _until_indexed(backend, spec, ledger)
    middle = emulator.stats()
    assert len(first.vector_store_ids) == 1
    assert [f.filename for f in first.knowledge_files] == [p.name for p in spec.knowledge]
    assert middle["vector_stores_created"] - before["vector_stores_created"] == 1
    assert middle["vector_store_files_added"] - before["vector_store_files_added"] == len(spec.knowledge)
    again = backend.prepare(spec, ledger)
    after = emulator.stats()
    assert again.vector_store_ids == first.vector_store_ids
    assert again.knowledge_files == first.knowledge_files
    assert (after["files_uploaded"], after["vector_stores_created"], after["vector_store_files_added"]) == (
        middle["files_uploaded"], middle["vector_stores_created"], middle["vector_store_files_added"])


def test_a_changed_page_replaces_only_itself(backend: ModelBackend, emulator: EmulatorHandle,
                                             tmp_path: Path) -> None:
    """Editing one page uploads and attaches that page alone; the old copy is detached and deleted."""
    ledger = MemoryLedger()
    pages = []
    for page in load_assistant("handbook").knowledge:
        pages.append(Path(shutil.copy(page, tmp_path / page.name)))
    spec = replace(load_assistant("handbook"), knowledge=tuple(pages))
    first = _until_indexed(backend, spec, ledger)
    pages[1].write_text(pages[1].read_text() + "\nThe meal allowance changes every January.\n")
    before = emulator.stats()
    second = _until_indexed(backend, spec, ledger)
    after = emulator.stats()
    assert after["files_uploaded"] - before["files_uploaded"] == 1
    assert after["vector_store_files_added"] - before["vector_store_files_added"] == 1
    changed = [(a.file_id, b.file_id) for a, b in zip(first.knowledge_files, second.knowledge_files, strict=True)
               if a.file_id != b.file_id]
    assert len(changed) == 1
    assert second.knowledge_files[1].file_id == changed[0][1]
    client: Any = backend.client  # type: ignore[attr-defined]
    attached = {f.id for f in client.vector_stores.files.list(second.vector_store_ids[0])}
    assert attached == {f.file_id for f in second.knowledge_files}
    assert changed[0][0] not in {f.id for f in client.files.list()}


def test_a_lost_ledger_adopts_the_store_and_keeps_only_current_pages(backend: ModelBackend,
                                                                     emulator: EmulatorHandle) -> None:
    """With its ledger gone the service finds its own store again (by metadata) and leaves only current pages."""
    spec = load_assistant("handbook")
    first = _until_indexed(backend, spec, MemoryLedger())
    second = _until_indexed(backend, spec, MemoryLedger())
    assert second.vector_store_ids == first.vector_store_ids
    assert emulator.stats()["vector_stores_created"] == 1
    client: Any = backend.client  # type: ignore[attr-defined]
    attached = {f.id for f in client.vector_stores.files.list(second.vector_store_ids[0])}
    assert attached == {f.file_id for f in second.knowledge_files}
