"""Duplicated and concurrent deliveries: queue redeliveries, repeated requests, racing starts and messages."""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from devhost.queues import trigger_datum
from store.connection import queue_client
from tests.faults.conftest import CREATE, SCENARIOS, FaultCase
from triggers.queue import dedupe_key, parse_request
from triggers.service import keyed_conversation_id

REQUESTS_QUEUE = "conversation-requests"


def conversation_id_for(text: str, message_id: str | None) -> str:
    """The conversation a queued request (with no conversation_id) starts, as the trigger names it."""
    return keyed_conversation_id(dedupe_key(parse_request(text), message_id, text.encode()))


def reply_queue() -> str:
    """A reply queue of the case's own."""
    return f"replies-{uuid.uuid4().hex[:16]}"


def wait_for_conversation(case: FaultCase, conversation_id: str, timeout: float = 30.0) -> None:
    """Poll until the queue trigger has created the conversation and stored its first turn."""
    deadline = time.monotonic() + timeout
    while case.http.get(f"/api/conversations/{conversation_id}/turns/1").status_code == 404:
        assert time.monotonic() < deadline, f"conversation {conversation_id} never appeared"
        time.sleep(0.05)


@pytest.mark.parametrize("scenario", ["plain", "email", "value"])
def test_duplicated_http_starts_with_one_conversation_id(fault_case: FaultCase, backend: str,
                                                         scenario: str) -> None:
    """Three concurrent starts of one conversation id: one is accepted, the others get 409, one turn runs."""
    cid = f"dup-{uuid.uuid4().hex[:16]}"
    message = SCENARIOS[scenario].message()
    with ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(lambda _: fault_case.stack.start(
            message, assistant=SCENARIOS[scenario].assistant, conversation_id=cid), range(3)))
    codes = sorted(a.status_code for a in answers)
    assert codes.count(409) == 2, [a.text for a in answers]
    assert codes[0] in (200, 202), [a.text for a in answers]
    accepted = next(a for a in answers if a.status_code in (200, 202))
    fault_case.accept(cid, accepted.json()["turn"], message, SCENARIOS[scenario])
    fault_case.injected(2)
    fault_case.verify()


def test_concurrent_messages_to_one_conversation_under_faults(fault_case: FaultCase, backend: str) -> None:
    """Five messages posted at once while the service fails now and then: five turns, in order, each once."""
    first = fault_case.start(SCENARIOS["value"])
    fault_case.emulator_fault(method="POST", path_regex=CREATE, status=500, times=3)
    fault_case.emulator_fault(path_regex="/openai/", status=0, times=2)
    kinds = ["value", "email", "value", "email", "value"]  # one assistant (portfolio) per conversation
    with ThreadPoolExecutor(5) as pool:
        sent = list(pool.map(lambda k: fault_case.post(first.conversation_id, SCENARIOS[k]), kinds))
    assert sorted(s.turn for s in sent) == [2, 3, 4, 5, 6]
    fault_case.injected(len(sent) - 1)  # messages racing each other
    fault_case.verify()
    turns = [fault_case.http.get(f"/api/conversations/{first.conversation_id}/turns/{n}").json() for n in range(1, 7)]
    finished = [t["messages"][0]["created_at"] for t in turns]
    assert finished == sorted(finished)


def _queue_request(scenario: str, replies: str, **extra: Any) -> tuple[str, str]:
    message = SCENARIOS[scenario].message()
    body = {"message": message, "assistant": SCENARIOS[scenario].assistant, "reply_queue": replies, **extra}
    return message, json.dumps(body)


@pytest.mark.parametrize("scenario", ["plain", "email"])
def test_queue_message_redelivered_while_it_is_still_running(fault_case: FaultCase, backend: str,
                                                             scenario: str) -> None:
    """The host delivers one queue message (same id) twice at once, then once more: one conversation, one turn."""
    host = fault_case.stack.host
    (spec,) = host.loaded.by_trigger("queueTrigger")
    replies = reply_queue()
    message, text = _queue_request(scenario, replies)
    message_id = str(uuid.uuid4())

    async def deliver(count: int) -> Any:
        now = host.clock.now()
        datum, metadata = trigger_datum(text, message_id, count, now, now, now, str(uuid.uuid4()))
        return await host.run_function(spec, datum, metadata)

    async def twice() -> list[Any]:
        return list(await asyncio.gather(deliver(1), deliver(1), return_exceptions=True))

    outcomes = host.call(twice())
    # A delivery that failed (it raced the other to create the conversation) is retried, as the host does.
    host.call(deliver(2))
    fault_case.injected(2)
    assert sum(not isinstance(o, Exception) for o in outcomes) >= 1
    cid = conversation_id_for(text, message_id)
    fault_case.accept(cid, 1, message, SCENARIOS[scenario])
    fault_case.verify()
    assert fault_case.http.get(f"/api/conversations/{cid}").json()["turns"] == [{"turn": 1, "status": "completed"}]
    bodies = [json.loads(m.content) for m in
              queue_client(os.environ, replies).peek_messages(max_messages=32)]
    assert [b["conversation_id"] for b in bodies] == [cid]


def test_same_request_sent_twice_through_the_queue(fault_case: FaultCase, backend: str) -> None:
    """One request (one correlation_id) enqueued twice: one conversation, one turn, one reply."""
    replies = reply_queue()
    correlation = f"corr-{uuid.uuid4().hex}"
    message, text = _queue_request("value", replies, correlation_id=correlation)
    queue = queue_client(os.environ, REQUESTS_QUEUE)
    queue.send_message(text.encode())
    queue.send_message(text.encode())
    fault_case.injected(1)
    cid = conversation_id_for(text, None)
    wait_for_conversation(fault_case, cid)
    fault_case.accept(cid, 1, message, SCENARIOS["value"])
    fault_case.expect_reply(replies, correlation)
    deadline = time.monotonic() + 30
    while queue.peek_messages(max_messages=1):  # both deliveries handled
        assert time.monotonic() < deadline, "the requests queue was never drained"
        time.sleep(0.05)
    fault_case.verify()
    assert fault_case.http.get(f"/api/conversations/{cid}").json()["turns"] == [{"turn": 1, "status": "completed"}]
