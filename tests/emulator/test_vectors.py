"""Vector stores, their files and file batches, and search, driven by the real SDK on both route families."""

from __future__ import annotations

import httpx2
import openai
import pytest
from openai import AzureOpenAI, OpenAI

from emulator.testing import run_emulator
from tests.emulator.conftest import (
    HANDBOOK,
    MEALS_QUOTE,
    VACATION_QUESTION,
    VACATION_QUOTE,
    FakeClock,
    data,
    handbook,
    pdf_bytes,
    stats,
    upload,
)


def _upload_bytes(client: AzureOpenAI | OpenAI, name: str, data: bytes) -> str:
    return client.files.create(file=(name, data), purpose="assistants").id


@pytest.mark.parametrize("surface", ["azure", "v1"])
def test_two_markdown_files_ingest_then_complete(
    surface: str, request: pytest.FixtureRequest, control: httpx2.Client
) -> None:
    """A new store's files are in_progress for one read, then completed; the store's counts follow."""
    client: AzureOpenAI | OpenAI = request.getfixturevalue(surface)
    files = [upload(client, name) for name in HANDBOOK]
    store = client.vector_stores.create(
        name="handbook",
        file_ids=files,
        metadata={"source": "tests"},
        expires_after={"anchor": "last_active_at", "days": 30},
    )
    assert store.status == "in_progress"
    assert store.file_counts.in_progress == 2
    assert store.file_counts.total == 2
    assert store.usage_bytes == 0
    assert store.name == "handbook"
    assert store.metadata == {"source": "tests"}
    assert store.expires_at == store.last_active_at + 30 * 86_400  # type: ignore[operator]

    raw = client.vector_stores.files.with_raw_response.retrieve(files[0], vector_store_id=store.id)
    assert raw.headers["openai-poll-after-ms"] == "1"
    assert raw.parse().status == "in_progress"
    first = client.vector_stores.files.retrieve(files[0], vector_store_id=store.id)
    assert first.status == "completed"
    assert first.last_error is None
    assert first.usage_bytes == data(HANDBOOK[0]).stat().st_size
    assert first.chunking_strategy is not None
    assert first.chunking_strategy.type == "static"
    assert client.vector_stores.retrieve(store.id).file_counts.completed == 1
    assert client.vector_stores.files.poll(files[1], vector_store_id=store.id).status == "completed"

    done = client.vector_stores.retrieve(store.id)
    assert done.status == "completed"
    assert (done.file_counts.completed, done.file_counts.in_progress, done.file_counts.total) == (2, 0, 2)
    assert done.usage_bytes > first.usage_bytes
    counted = stats(control)
    assert counted["vector_stores_created"] == 1
    assert counted["vector_store_files_added"] == 2


def test_ingestion_polls_are_configurable() -> None:
    """With ingestion_polls=3 a file reads in_progress three times before it settles (strict server)."""
    with (
        run_emulator(ingestion_polls=3, strict=True, poll_after_ms=1) as emu,
        OpenAI(base_url=f"{emu.url}/openai/v1/", api_key=emu.api_key) as client,
    ):
        file_id = upload(client, "vacation.md")
        store = client.vector_stores.create(file_ids=[file_id])
        seen = [client.vector_stores.files.retrieve(file_id, vector_store_id=store.id).status for _ in range(4)]
    assert seen == ["in_progress", "in_progress", "in_progress", "completed"]


def test_update_list_detach_and_delete_keep_the_files(azure: AzureOpenAI) -> None:
    """Stores are renamed and listed; detaching a file or deleting the store leaves the file itself."""
    book = handbook(azure)
    other = azure.vector_stores.create(name="empty")
    assert other.status == "completed"
    updated = azure.vector_stores.update(book.store_id, name="policies", metadata={"v": "2"})
    assert (updated.name, updated.metadata) == ("policies", {"v": "2"})
    assert [s.id for s in azure.vector_stores.list(order="asc")] == [book.store_id, other.id]

    vacation = book.files["vacation.md"]
    detached = azure.vector_stores.files.delete(vacation, vector_store_id=book.store_id)
    assert (detached.id, detached.deleted) == (vacation, True)
    assert [f.id for f in azure.vector_stores.files.list(book.store_id)] == [book.files["expenses.md"]]
    assert azure.files.retrieve(vacation).filename == "vacation.md"
    with pytest.raises(openai.NotFoundError) as gone:
        azure.vector_stores.files.retrieve(vacation, vector_store_id=book.store_id)
    assert vacation in gone.value.message

    deleted = azure.vector_stores.delete(book.store_id)
    assert (deleted.id, deleted.deleted) == (book.store_id, True)
    assert {azure.files.retrieve(i).id for i in book.files.values()} == set(book.files.values())
    with pytest.raises(openai.NotFoundError) as missing:
        azure.vector_stores.retrieve(book.store_id)
    assert missing.value.body["message"] == f"No vector store found with id '{book.store_id}'."  # type: ignore[index]


def test_unreadable_files_fail_with_last_error(v1: OpenAI) -> None:
    """Non-text bytes and unsupported types end failed with last_error; list filters by status."""
    good = upload(v1, "vacation.md")
    binary = _upload_bytes(v1, "scan.md", bytes(range(256)))
    image = _upload_bytes(v1, "photo.png", b"\x89PNG\r\n\x1a\n")
    store = v1.vector_stores.create(file_ids=[good, binary, image])
    failed = v1.vector_stores.files.poll(binary, vector_store_id=store.id)
    assert failed.status == "failed"
    assert failed.last_error is not None
    assert failed.last_error.code == "invalid_file"
    assert failed.usage_bytes == 0
    png = v1.vector_stores.files.poll(image, vector_store_id=store.id)
    assert png.last_error is not None
    assert png.last_error.code == "unsupported_file"
    assert png.last_error.message == "Files with extensions [.png] are not supported for retrieval."
    listed = v1.vector_stores.files.list(store.id, filter="failed", order="asc")
    assert [f.id for f in listed] == [binary, image]
    counts = v1.vector_stores.retrieve(store.id).file_counts
    assert (counts.completed, counts.failed, counts.total) == (1, 2, 3)
    with pytest.raises(openai.BadRequestError) as bad:
        v1.vector_stores.files.list(store.id, filter="done")  # type: ignore[arg-type]
    assert bad.value.body["param"] == "filter"  # type: ignore[index]


def test_pdf_is_indexed_and_its_text_served(azure: AzureOpenAI) -> None:
    """A PDF's text is extracted: the file completes, its content is served and search finds it."""
    pdf = _upload_bytes(azure, "remote.pdf", pdf_bytes("Remote work is allowed on Fridays.", "Ask HR."))
    store = azure.vector_stores.create(name="pdf")
    attached = azure.vector_stores.files.create_and_poll(
        pdf, vector_store_id=store.id, attributes={"kind": "pdf"}, poll_interval_ms=1
    )
    assert attached.status == "completed"
    assert attached.attributes == {"kind": "pdf"}
    content = list(azure.vector_stores.files.content(pdf, vector_store_id=store.id))
    assert [part.text for part in content] == ["Remote work is allowed on Fridays. Ask HR."]
    found = list(azure.vector_stores.search(store.id, query="Is remote work allowed?"))
    assert [(hit.file_id, hit.filename) for hit in found] == [(pdf, "remote.pdf")]


def test_file_batches_create_poll_list_and_cancel(v1: OpenAI) -> None:
    """A batch polls to completed with its counts; a fresh batch can be cancelled, a finished one not."""
    files = [upload(v1, name) for name in HANDBOOK]
    store = v1.vector_stores.create(name="batches")
    batch = v1.vector_stores.file_batches.create_and_poll(store.id, file_ids=files, poll_interval_ms=1)
    assert batch.status == "completed"
    assert (batch.file_counts.completed, batch.file_counts.total) == (2, 2)
    listed = v1.vector_stores.file_batches.list_files(batch.id, vector_store_id=store.id, order="asc")
    assert [f.id for f in listed] == files
    with pytest.raises(openai.BadRequestError):
        v1.vector_stores.file_batches.cancel(batch.id, vector_store_id=store.id)

    late = upload(v1, "vacation.md")
    pending = v1.vector_stores.file_batches.create(store.id, files=[{"file_id": late}])
    assert pending.status == "in_progress"
    cancelled = v1.vector_stores.file_batches.cancel(pending.id, vector_store_id=store.id)
    assert cancelled.status == "cancelled"
    assert cancelled.file_counts.cancelled == 1
    assert v1.vector_stores.files.retrieve(late, vector_store_id=store.id).status == "cancelled"


def test_search_ranks_filters_and_limits(v1: OpenAI) -> None:
    """Search answers the best chunk first with its score; attribute filters, limits and thresholds apply."""
    files = {name: upload(v1, name) for name in HANDBOOK}
    store = v1.vector_stores.create(name="search")
    batch = v1.vector_stores.file_batches.create_and_poll(
        store.id,
        files=[
            {"file_id": files["vacation.md"], "attributes": {"team": "hr", "version": 2}},
            {"file_id": files["expenses.md"], "attributes": {"team": "finance", "version": 1}},
        ],
        poll_interval_ms=1,
    )
    assert batch.file_counts.completed == 2
    hits = list(v1.vector_stores.search(store.id, query=VACATION_QUESTION))
    assert (hits[0].file_id, hits[0].score, hits[0].content[0].text) == (files["vacation.md"], 1.0, VACATION_QUOTE)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert hits[0].attributes == {"team": "hr", "version": 2}
    finance = list(
        v1.vector_stores.search(store.id, query="days", filters={"type": "eq", "key": "team", "value": "finance"})
    )
    assert finance
    assert {h.file_id for h in finance} == {files["expenses.md"]}
    newer = list(v1.vector_stores.search(store.id, query="days", filters={"type": "gte", "key": "version", "value": 2}))
    assert {h.file_id for h in newer} == {files["vacation.md"]}
    assert len(list(v1.vector_stores.search(store.id, query="days", max_num_results=1))) == 1
    strong = list(
        v1.vector_stores.search(store.id, query=["meals", "business trips"], ranking_options={"score_threshold": 0.9})
    )
    assert [h.content[0].text for h in strong] == [MEALS_QUOTE]
    with pytest.raises(openai.BadRequestError) as empty:
        v1.vector_stores.search(store.id, query="")
    assert empty.value.body["param"] == "query"  # type: ignore[index]


def test_expired_store_is_not_searched(clock: FakeClock, v1: OpenAI) -> None:
    """A store unused past expires_after is expired, and search finds nothing in it."""
    store = v1.vector_stores.create(
        file_ids=[upload(v1, "vacation.md")], expires_after={"anchor": "last_active_at", "days": 1}
    )
    clock.advance(2 * 86_400)
    assert v1.vector_stores.retrieve(store.id).status == "expired"
    assert list(v1.vector_stores.search(store.id, query=VACATION_QUESTION)) == []


def test_bad_vector_store_requests_are_400s(v1: OpenAI) -> None:
    """Unknown files, out-of-range expiry and chunking, and unknown ids are refused naming the parameter."""
    with pytest.raises(openai.BadRequestError) as unknown:
        v1.vector_stores.create(file_ids=["file-nope"])
    assert unknown.value.body["param"] == "file_ids[0]"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as days:
        v1.vector_stores.create(expires_after={"anchor": "last_active_at", "days": 400})
    assert days.value.body["param"] == "expires_after.days"  # type: ignore[index]
    store = v1.vector_stores.create()
    with pytest.raises(openai.BadRequestError) as overlap:
        v1.vector_stores.files.create(
            store.id,
            file_id=upload(v1, "vacation.md"),
            chunking_strategy={"type": "static", "static": {"max_chunk_size_tokens": 200, "chunk_overlap_tokens": 150}},
        )
    assert overlap.value.body["param"] == "chunking_strategy.static.chunk_overlap_tokens"  # type: ignore[index]
    with pytest.raises(openai.NotFoundError):
        v1.vector_stores.files.retrieve("file-nope", vector_store_id=store.id)
    with pytest.raises(openai.NotFoundError):
        v1.vector_stores.file_batches.retrieve("vsfb_nope", vector_store_id=store.id)
