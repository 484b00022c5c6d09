"""The conversation orchestration over many turns: flat history, nothing lost, no secret anywhere."""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import SECRETS, Stack

TURNS = 1_000


def test_a_thousand_turns_cost_what_one_does(stack: Stack) -> None:
    """1,000 queued messages become 1,000 turns in order; history per turn stays flat (turn 1,000 ≤ turn 1)."""
    cid = stack.start("turn 1", assistant="math-tutor").json()["conversation_id"]
    with ThreadPoolExecutor(4) as pool:
        turns = list(pool.map(lambda n: stack.post(cid, f"message {n}").json()["turn"], range(2, TURNS + 1)))
    assert sorted(turns) == list(range(2, TURNS + 1))
    asked = {turn: f"message {n}" for n, turn in enumerate(turns, start=2)}
    last = stack.turn(cid, TURNS, timeout=600)
    assert last["status"] == "completed"
    assert asked[TURNS] in last["messages"][0]["content"][0]["text"]
    view = stack.http.get(f"/api/conversations/{cid}").json()
    assert [t["turn"] for t in view["turns"]] == list(range(1, TURNS + 1))
    assert {t["status"] for t in view["turns"]} == {"completed"}
    executions = [e for e in stack.host.executions(cid) if e["status"] == "ContinuedAsNew"]
    events = [e["events"] for e in executions if e["episodes"] > 2]  # executions that ran a turn
    assert len(events) >= TURNS
    # While messages pour in, a turn's history also holds the wake-up events that arrive during it; once
    # they stop, every turn has the same history size, no larger than the first turn's.
    steady = events[-TURNS // 2:]
    assert max(steady) == min(steady)
    assert events[-1] <= events[0]


def test_no_secret_reaches_logs_status_inputs_outputs_or_history(stack: Stack, backend: str,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    """No api key, Logic App sig or webhook secret anywhere a person or a log could read; custom status < 16 KB."""
    caplog.set_level(logging.DEBUG)
    resp = stack.start("What is the value of my portfolio?", assistant="portfolio")
    cid = resp.json()["conversation_id"]
    stack.turn(cid, 1)
    email = stack.post(cid, "Send an HTML email report to jane@example.com").json()["turn"]
    assert stack.turn(cid, email)["tool_calls"][0]["status"] == "succeeded"
    status = stack.http.get(f"/runtime/webhooks/durabletask/instances/{cid}",
                            params={"showHistory": "true", "showHistoryOutput": "true", "showInput": "true"})
    seen = {
        "logs": caplog.text,
        "durable status": status.text,
        "histories": json.dumps(stack.host.executions(cid, with_history=True)),
        "turns": json.dumps([stack.turn(cid, n) for n in (1, email)]),
        "transcript": stack.http.get(f"/api/conversations/{cid}/messages").text,
    }
    assert "get_stock_price" in seen["histories"]  # the history really holds the turn
    assert len(json.dumps(status.json()["customStatus"])) < 16 * 1024
    for where, text in seen.items():
        for secret in SECRETS:
            assert secret not in text, f"{secret[:8]}... leaked into {where}"


def test_a_message_whose_wake_up_was_lost_is_answered_with_the_next(stack: Stack) -> None:
    """A message stored by a request that died before waking the orchestration is run when the next one arrives."""
    from datetime import UTC, datetime

    from store.records import TurnRecord
    from store.tables import open_store

    cid = stack.converse("What is 1 + 1?", assistant="math-tutor")["conversation_id"]
    orphan, _ = open_store().add_message(TurnRecord(conversation_id=cid, message="What is 2 + 2?",
                                                    created_at=datetime.now(UTC).isoformat()))
    assert orphan == 2
    assert stack.post(cid, "What is 3 + 3?").json()["turn"] == 3
    assert stack.turn(cid, 3)["status"] == "completed"
    assert "2 + 2" in stack.turn(cid, 2)["messages"][0]["content"][0]["text"]
