"""The conversation store against Azurite: contiguous turns, dedupe keys, and start-or-cancel races."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from core.records import Turn
from store.records import TurnRecord
from store.tables import ConversationStore, open_store


@pytest.fixture
def store(azurite: str, monkeypatch: pytest.MonkeyPatch) -> ConversationStore:
    monkeypatch.setenv("AzureWebJobsStorage", azurite)
    return open_store()


def message(conversation_id: str, text: str = "hi") -> TurnRecord:
    return TurnRecord(conversation_id=conversation_id, message=text, created_at=datetime.now(UTC).isoformat())


def test_concurrent_messages_get_contiguous_turns(store: ConversationStore) -> None:
    """Twenty writers at once: turns 1..20, each message once."""
    cid = f"c-{uuid.uuid4().hex}"
    with ThreadPoolExecutor(8) as pool:
        turns = list(pool.map(lambda i: store.add_message(message(cid, f"m{i}"))[0], range(20)))
    assert sorted(turns) == list(range(1, 21))
    assert sorted(t.message for t in store.list_turns(cid)) == sorted(f"m{i}" for i in range(20))


def test_a_dedupe_key_makes_one_turn_even_when_racing(store: ConversationStore) -> None:
    """The same keyed message written by eight writers at once is one turn; every writer learns its number."""
    cid = f"c-{uuid.uuid4().hex}"
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: store.add_message(message(cid), "key-1"), range(8)))
    assert {turn for turn, _ in results} == {1}
    assert sum(created for _, created in results) == 1
    assert [t.turn for t in store.list_turns(cid)] == [1]


def test_a_queued_turn_is_either_cancelled_or_started_never_both(store: ConversationStore) -> None:
    """cancel_if_queued and claim_turn race for a queued turn: exactly one wins, and a cancelled turn stays so."""
    for _ in range(10):
        cid = f"c-{uuid.uuid4().hex}"
        turn, _ = store.add_message(message(cid))
        cancelled = Turn(conversation_id=cid, turn=turn, status="cancelled", backend="responses")
        with ThreadPoolExecutor(2) as pool:
            cancel = pool.submit(store.cancel_if_queued, cid, turn, cancelled)
            claim = pool.submit(store.claim_turn, cid, turn)
            won = (cancel.result(), claim.result())
        assert won in ((True, False), (False, True))
        row = store.get_turn(cid, turn)
        assert row is not None
        assert row.status == ("cancelled" if won[0] else "running")
        store.set_turn_status(cid, turn, "requires_action")
        assert store.get_turn(cid, turn).status == ("cancelled" if won[0] else "requires_action")  # type: ignore[union-attr]
