"""The strict checker rejects what the API description or the SDK's models reject."""

from __future__ import annotations

from typing import Any

from emulator.validation import check_list, check_object, check_response, path_kind


def _thread(**changes: Any) -> dict[str, Any]:
    return {
        "id": "thread_1",
        "object": "thread",
        "created_at": 1,
        "metadata": {},
        "tool_resources": {},
        **changes,
    }


def test_valid_object_passes() -> None:
    """A complete thread has no problems."""
    assert check_object(_thread(), "thread") == []


def test_unknown_field_is_reported() -> None:
    """A key the SDK model does not declare is a problem, at any depth."""
    assert check_object(_thread(extra=1), "thread") == ["Thread.extra: not a field of Thread"]


def test_missing_required_field_is_reported() -> None:
    """A field the API description requires is a problem even if the SDK treats it as optional."""
    body = _thread()
    del body["metadata"]
    assert any("'metadata' is a required property" in p for p in check_object(body, "thread"))


def test_nullable_fields_accept_null() -> None:
    """OpenAPI 3.0 `nullable` fields accept null (e.g. a run's expires_at)."""
    run = {
        "id": "run_1", "object": "thread.run", "created_at": 1, "thread_id": "t", "assistant_id": "a",
        "status": "completed", "required_action": None, "last_error": None, "expires_at": None,
        "started_at": None, "cancelled_at": None, "failed_at": None, "completed_at": 2,
        "incomplete_details": None, "model": "m", "instructions": "", "tools": [], "metadata": {},
        "usage": None, "temperature": 1.0, "top_p": 1.0, "max_prompt_tokens": None,
        "max_completion_tokens": None, "truncation_strategy": {"type": "auto", "last_messages": None},
        "tool_choice": "auto", "parallel_tool_calls": True, "response_format": "auto",
    }  # fmt: skip
    assert check_object(run, "run") == []
    assert check_object({**run, "status": "weird"}, "run") != []


def test_lists_and_routes() -> None:
    """List pages are checked item by item; concrete paths map to their route's kind."""
    page = {
        "object": "list",
        "data": [_thread(bogus=True)],
        "first_id": "thread_1",
        "last_id": "thread_1",
        "has_more": False,
    }
    assert check_list({**page, "data": []}, "message") == []
    assert path_kind("POST", "/openai/threads/runs") == "run"
    assert path_kind("POST", "/openai/threads/thread_1") == "thread"
    assert check_response("GET", "/openai/threads/thread_1", _thread(bogus=True), concrete=True)
    assert check_response("GET", "/_emulator/stats", {}, concrete=True) == []


def test_vector_store_objects_and_search_pages() -> None:
    """Vector store objects need their required fields; search pages are checked item by item."""
    store = {
        "id": "vs_1", "object": "vector_store", "created_at": 1, "name": "", "usage_bytes": 0,
        "file_counts": {"in_progress": 0, "completed": 0, "failed": 0, "cancelled": 0, "total": 0},
        "status": "completed", "expires_at": None, "last_active_at": 1, "metadata": {},
    }  # fmt: skip
    assert check_object(store, "vector_store") == []
    assert check_object({**store, "expires_after": None}, "vector_store") != []
    hit = {
        "file_id": "f", "filename": "a.md", "score": 1.0, "attributes": None,
        "content": [{"type": "text", "text": "x"}],
    }  # fmt: skip
    page = {
        "object": "vector_store.search_results.page", "search_query": ["q"], "data": [hit],
        "has_more": False, "next_page": None,
    }  # fmt: skip
    assert check_response("POST", "/openai/v1/vector_stores/vs_1/search", page, concrete=True) == []
    bad = {**page, "data": [{**hit, "score": 2.0}]}
    assert check_response("POST", "/openai/v1/vector_stores/vs_1/search", bad, concrete=True) != []
    assert path_kind("GET", "/openai/vector_stores/vs_1/file_batches/vsfb_1/files") == "list:vector_store.file"
