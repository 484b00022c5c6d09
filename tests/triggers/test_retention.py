"""Retention: the timer trigger deletes conversations idle longer than RETENTION_DAYS, and only those."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from store.tables import CONVERSATION_ROW, open_store
from tests.conftest import Stack
from tests.triggers.conftest import emulator_holdings, wait_for


def test_retention_deletes_idle_conversations_with_their_backend_data_and_history(
        stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    """RETENTION_DAYS=2 and one conversation last active 3 days ago: the timer run deletes it, not the other."""
    monkeypatch.setenv("RETENTION_DAYS", "2")
    old = stack.converse("What is 10 + 1?", assistant="math-tutor")["conversation_id"]
    recent = stack.converse("What is 10 + 2?", assistant="math-tutor")["conversation_id"]
    store = open_store()
    store.table.upsert_entity({"PartitionKey": old, "RowKey": CONVERSATION_ROW,
                               "updated_at": (datetime.now(UTC) - timedelta(days=3)).isoformat()})
    record = store.get_conversation(old)
    assert record is not None
    assert record.backend_conversation in emulator_holdings(stack)["conversations"]
    durable = f"{stack.host.url}/runtime/webhooks/durabletask/instances"
    assert stack.http.get(f"{durable}/{old}").json()["runtimeStatus"] == "Running"

    assert stack.http.post(f"{stack.host.url}/admin/functions/retention", json={"input": ""}).status_code == 202

    wait_for(lambda: stack.http.get(f"{durable}/{old}").status_code == 404)
    assert store.get_conversation(old) is None
    assert store.list_turns(old) == []
    assert record.backend_conversation not in emulator_holdings(stack)["conversations"]
    assert stack.http.get(f"/api/conversations/{old}").status_code == 404
    assert stack.http.get(f"/api/conversations/{recent}").json()["turns"] == [{"turn": 1, "status": "completed"}]
    assert stack.http.get(f"{durable}/{recent}").json()["runtimeStatus"] == "Running"
