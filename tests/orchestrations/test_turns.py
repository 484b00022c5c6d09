"""How a turn ends: tool outcomes, every terminal state, retries, cancel, timeouts, ordering, crashes."""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.conftest import Stack


def marker() -> str:
    """A unique word that a script can match on."""
    return f"m{uuid.uuid4().hex[:10]}"


def delta(before: dict[str, Any], after: dict[str, Any], key: str) -> int:
    """How much an emulator counter moved."""
    return int(after[key]) - int(before[key])


def test_one_round_of_parallel_calls_with_every_kind_of_outcome(stack: Stack, backend: str) -> None:
    """Five calls in one round: success, a failing endpoint, an unknown tool, bad JSON and a refused recipient.

    Each gets a structured output, all are submitted in one call, and the turn completes.
    """
    word = marker()
    stack.emulator.add_fault({"path_regex": "/_emulator/quotes/ZZZZ", "status": 500, "times": 3})
    stack.emulator.add_script({"match": {"contains": word}, "steps": [
        {"tool_calls": [
            {"name": "get_stock_price", "arguments": {"symbol": "MSFT"}},
            {"name": "get_stock_price", "arguments": {"symbol": "ZZZZ"}},
            {"name": "launch_rockets", "arguments": {}},
            {"name": "send_email", "arguments": "{not json"},
            {"name": "send_email", "arguments": {"to": "eve@evil.example", "content": "<p>hi</p>"}},
        ]},
        {"message": "done with tools"},
    ]})
    before = stack.stats()
    turn = stack.converse(f"{word} please", assistant="portfolio")
    after = stack.stats()
    assert turn["status"] == "completed"
    assert "done with tools" in turn["messages"][0]["content"][0]["text"]
    statuses = [(c["name"], c["status"]) for c in turn["tool_calls"]]
    assert statuses == [("get_stock_price", "succeeded"), ("get_stock_price", "failed"),
                        ("launch_rockets", "rejected"), ("send_email", "rejected"), ("send_email", "rejected")]
    outputs = [json.loads(c["output"]) for c in turn["tool_calls"]]
    assert outputs[0]["symbol"] == "MSFT"
    assert outputs[1]["error"] == "failed"
    assert "HTTP 500" in outputs[1]["message"]
    assert outputs[2]["error"] == "unknown_tool"
    assert "not valid JSON" in outputs[3]["message"]
    assert "EMAIL_ALLOWED_RECIPIENTS" in outputs[4]["message"]
    assert delta(before, after, "tool_outputs_received") == 5
    submits = [k for k in after["requests"] if k.endswith("/submit_tool_outputs")]
    if backend == "assistants":
        assert sum(after["requests"][k] - before["requests"].get(k, 0) for k in submits) == 1
    else:
        assert delta(before, after, "runs_started") == 2  # the tool outputs went out in one new response


def test_tool_work_is_bounded_by_the_runs_expiry(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    """A tool slower than the time left before the run expires is cut off and reported; the run is answered."""
    monkeypatch.setenv("ASSISTANTS_BACKEND", "assistants")  # Responses have no expires_at
    word = marker()
    stack.emulator.add_fault({"path_regex": "/_emulator/quotes/SLOW", "delay_seconds": 10, "times": 1})
    stack.emulator.add_script({"match": {"contains": word}, "expires_in_seconds": 20, "steps": [
        {"tool_calls": [{"name": "get_stock_price", "arguments": {"symbol": "SLOW"}}]},
        {"message": "answered in time"}]})
    turn = stack.converse(f"{word} price please", assistant="portfolio")
    assert turn["status"] == "completed"
    (call,) = turn["tool_calls"]
    assert call["status"] == "failed"
    assert "did not answer within" in json.loads(call["output"])["message"]


@pytest.mark.parametrize(("final_status", "code"), [("failed", "invalid_prompt"), ("incomplete", None)])
def test_terminal_states_surface_their_reason(stack: Stack, backend: str, final_status: str,
                                              code: str | None) -> None:
    """A run that fails (not retryably) or ends incomplete ends the turn so, with the reason; no retry."""
    word = marker()
    script: dict[str, Any] = {"match": {"contains": word}, "steps": [{"message": "partial answer"}],
                              "final_status": final_status}
    if code:
        script["error"] = {"code": code, "message": "the prompt was refused"}
    stack.emulator.add_script(script)
    before = stack.stats()
    turn = stack.converse(f"{word} go", assistant="math-tutor")
    assert turn["status"] == final_status
    assert turn["error"] is not None
    if code:
        assert turn["error"] == {"code": code, "message": "the prompt was refused"}
    if final_status == "incomplete":
        assert "partial answer" in json.dumps(turn["messages"])
        assert "incomplete" in turn["error"]["message"]
    assert delta(before, stack.stats(), "runs_started") == 1


def test_run_past_its_expiry_ends_the_turn_expired(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    """An Assistants run still going at `expires_at` expires (Responses have no expiry); the turn says so."""
    monkeypatch.setenv("ASSISTANTS_BACKEND", "assistants")
    word = marker()
    stack.emulator.add_script({"match": {"contains": word}, "steps": [{"message": "too late"}],
                               "polls_before_done": 1000, "expires_in_seconds": 60})
    turn = stack.converse(f"{word} go", assistant="math-tutor")
    assert turn["status"] == "expired"
    assert turn["error"]["code"] in ("run_expired", "expired")


def test_server_error_is_retried_with_a_new_run(stack: Stack, backend: str) -> None:
    """A run failing with server_error is followed by a new run; the message is not added twice."""
    word = marker()
    stack.emulator.add_script({"match": {"contains": word}, "steps": [{"message": "x"}], "final_status": "failed",
                               "error": {"code": "server_error", "message": "try again"}})
    stack.emulator.add_script({"match": {"contains": word}, "steps": [{"message": "recovered"}]})
    before = stack.stats()
    turn = stack.converse(f"{word} please", assistant="math-tutor")
    after = stack.stats()
    assert turn["status"] == "completed"
    assert "recovered" in json.dumps(turn["messages"])
    assert delta(before, after, "runs_started") == 2
    assert delta(before, after, "messages_created") == 1


def test_rate_limit_storm_is_ridden_out(stack: Stack, backend: str) -> None:
    """429s with Retry-After on every model call for a while: the SDK and the activity retries absorb them."""
    stack.emulator.add_fault({"path_regex": "/openai/", "status": 429, "retry_after": 1, "times": 8})
    before = stack.stats()
    turn = stack.converse("What is 6 times 7?", assistant="math-tutor")
    after = stack.stats()
    assert turn["status"] == "completed"
    assert delta(before, after, "faults_injected") == 8
    assert delta(before, after, "runs_started") == 1


def test_long_retry_after_is_waited_out_with_durable_timers(stack: Stack, backend: str) -> None:
    """A 30 s Retry-After is honoured by the orchestration's timers (virtual time passes), not by sleeping."""
    stack.emulator.add_fault({"path_regex": "/openai/", "status": 429, "retry_after": 30, "times": 2})
    started = stack.host.clock.now()
    turn = stack.converse("What is 5 times 5?", assistant="math-tutor")
    assert turn["status"] == "completed"
    assert (stack.host.clock.now() - started).total_seconds() >= 60


def test_cancel_mid_run_cancels_the_run(stack: Stack, backend: str) -> None:
    """POST cancel while the run is in progress: the turn ends cancelled and so does the run at the service."""
    word = marker()
    stack.emulator.add_script({"match": {"contains": word}, "steps": [{"message": "never"}],
                               "polls_before_done": 1000})
    cid = stack.start(f"{word} slow one", assistant="math-tutor").json()["conversation_id"]
    while not stack.run_statuses(cid):  # the run exists at the service
        time.sleep(0.02)
    cancel = stack.http.post(f"/api/conversations/{cid}/cancel")
    assert cancel.status_code == 202
    assert cancel.headers["Location"] == f"/api/conversations/{cid}/turns/1"
    turn = stack.turn(cid, 1)
    assert turn["status"] == "cancelled"
    assert stack.run_statuses(cid) == ["cancelled"]
    assert stack.http.post(f"/api/conversations/{cid}/cancel").status_code == 409



def test_turn_timeout_cancels_the_run(stack: Stack, backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run longer than TURN_TIMEOUT_SECONDS is cancelled and the turn ends expired (turn_timeout)."""
    monkeypatch.setenv("TURN_TIMEOUT_SECONDS", "30")
    word = marker()
    stack.emulator.add_script({"match": {"contains": word}, "steps": [{"message": "late"}],
                               "polls_before_done": 1000})
    turn = stack.converse(f"{word} forever", assistant="math-tutor")
    assert turn["status"] == "expired"
    assert turn["error"]["code"] == "turn_timeout"


def test_messages_posted_at_once_run_in_order(stack: Stack, backend: str) -> None:
    """Five messages posted concurrently to one conversation: five turns, completed in order, five runs."""
    cid = stack.start("0 + 0?", assistant="math-tutor").json()["conversation_id"]
    stack.turn(cid, 1)
    before = stack.stats()
    with ThreadPoolExecutor(5) as pool:
        answers = list(pool.map(lambda i: stack.post(cid, f"What is {i} + {i}?"), range(1, 6)))
    assert all(a.status_code == 202 for a in answers), [a.text for a in answers]
    assert sorted(a.json()["turn"] for a in answers) == [2, 3, 4, 5, 6]
    turns = [stack.turn(cid, n) for n in range(1, 7)]
    assert all(t["status"] == "completed" for t in turns)
    asked = {a.json()["turn"]: i for i, a in enumerate(answers, start=1)}
    for n in range(2, 7):  # each turn answered its own message
        assert f"What is {asked[n]} + {asked[n]}?" in turns[n - 1]["messages"][0]["content"][0]["text"]
    finished = [t["messages"][0]["created_at"] for t in turns]
    assert finished == sorted(finished)
    after = stack.stats()
    assert delta(before, after, "runs_started") == 5
    assert delta(before, after, "messages_created") == 5


def test_crash_after_start_run_makes_one_run(stack: Stack, backend: str) -> None:
    """start_run crashes after its side effect and is retried: still one run and one message at the service."""
    stack.host.faults.crash_after("start_run", times=1)
    before = stack.stats()
    turn = stack.converse("What is 9 + 10?", assistant="math-tutor")
    after = stack.stats()
    assert turn["status"] == "completed"
    assert delta(before, after, "runs_started") == 1
    assert delta(before, after, "messages_created") == 1
