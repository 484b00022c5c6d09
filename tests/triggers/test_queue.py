"""Conversation requests through real Storage queues (Azurite) and devhost's real queue trigger."""

from __future__ import annotations

import base64
import contextlib
import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.storage.queue import QueueClient

from devhost.testing import DevHost, run_devhost
from store.records import ConversationRecord, TurnRecord
from store.tables import open_store
from tests.conftest import Stack
from triggers.queue import dedupe_key
from triggers.schemas import QueueRequest
from triggers.service import keyed_conversation_id

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Queues:
    """A devhost whose queue trigger listens on `requests`, and the storage account behind it."""

    host: DevHost
    requests: str
    connection: str

    @property
    def rejected(self) -> str:
        return f"{self.requests}-rejected"

    @property
    def poison(self) -> str:
        return f"{self.requests}-poison"

    def client(self, queue: str) -> QueueClient:
        client = QueueClient.from_connection_string(self.connection, queue)
        with contextlib.suppress(ResourceExistsError):
            client.create_queue()
        return client

    def send(self, body: str | dict[str, Any], queue: str | None = None) -> None:
        """Enqueue a request as the Functions queue binding expects it: base64 of the UTF-8 text."""
        text = body if isinstance(body, str) else json.dumps(body)
        with self.client(queue or self.requests) as client:
            client.send_message(base64.b64encode(text.encode()).decode())

    def take(self, queue: str, match: Callable[[dict[str, Any]], bool], timeout: float = 30.0) -> dict[str, Any]:
        """Receive (and delete) the first message on `queue` whose JSON satisfies `match`."""
        deadline = time.monotonic() + timeout
        with self.client(queue) as client:
            while True:
                for message in client.receive_messages(max_messages=32, visibility_timeout=1):
                    data = json.loads(base64.b64decode(message.content))
                    if match(data):
                        client.delete_message(message)
                        return data  # type: ignore[no-any-return]
                assert time.monotonic() < deadline, f"no matching message on {queue} before the deadline"
                time.sleep(0.05)

    def messages(self, queue: str) -> list[dict[str, Any]]:
        """What `queue` holds now, visible or not (peeked when visible; counted otherwise)."""
        with self.client(queue) as client:
            return [json.loads(base64.b64decode(m.content)) for m in client.peek_messages(max_messages=32)]

    def count(self, queue: str) -> int:
        """Messages on `queue`, including those invisible while a consumer works on them."""
        with self.client(queue) as client:
            try:
                return int(client.get_queue_properties().approximate_message_count)
            except ResourceNotFoundError:
                return 0

    def drained(self, timeout: float = 30.0) -> None:
        """Wait until the requests queue is empty (every message handled) and the host is idle."""
        deadline = time.monotonic() + timeout
        while self.count(self.requests):
            assert time.monotonic() < deadline, f"{self.requests} still holds messages"
            time.sleep(0.05)
        self.host.wait_idle()


@pytest.fixture(scope="module")
def queues(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Queues]:
    """function_app on its own devhost, listening on a fresh requests queue.

    host.json is the project's, with a short visibilityTimeout and polling interval so that retries and
    pick-ups take milliseconds instead of seconds; maxDequeueCount is the project's own.
    """
    config = json.loads((ROOT / "host.json").read_text())
    config["extensions"]["queues"].update({"visibilityTimeout": "00:00:00.2", "maxPollingInterval": 100})
    app_dir = tmp_path_factory.mktemp("queue-host")
    (app_dir / "host.json").write_text(json.dumps(config))
    name = f"requests-{uuid.uuid4().hex[:12]}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REQUESTS_QUEUE", name)
        with run_devhost("function_app", app_dir=app_dir, timers=False) as host:
            yield Queues(host=host, requests=name, connection=stack.connection)


def correlation() -> str:
    """A fresh correlation id."""
    return f"corr-{uuid.uuid4().hex[:12]}"


def conversations() -> int:
    """How many conversations the store holds."""
    rows = open_store().table.query_entities("RowKey eq 'conversation'", select=["PartitionKey"])
    return sum(1 for _ in rows)


def text_of(turn: dict[str, Any]) -> str:
    """The text of a turn's assistant messages."""
    return " ".join(c.get("text", "") for m in turn["messages"] for c in m["content"])


# --- requests and replies -----------------------------------------------------------------------------


def test_request_gets_a_reply_with_its_correlation_id(stack: Stack) -> None:
    """On the default queues: a request on conversation-requests → its turn on conversation-replies."""
    q = Queues(host=stack.host, requests="conversation-requests", connection=stack.connection)
    corr = correlation()
    q.send({"message": "What is 12 + 30?", "assistant": "math-tutor", "correlation_id": corr})
    reply = q.take("conversation-replies", lambda m: m.get("correlation_id") == corr, timeout=60)
    assert reply["status"] == "completed"
    assert reply["turn"] == 1
    assert stack.http.get(f"/api/conversations/{reply['conversation_id']}").json()["turns"] == [
        {"turn": 1, "status": "completed"}]
    assert "12 + 30" in text_of(reply)
    assert set(reply) >= {"conversation_id", "turn", "status", "messages", "tool_calls", "error", "usage",
                          "backend", "correlation_id"}


def test_reply_goes_to_the_queue_the_message_names(queues: Queues) -> None:
    """`reply_queue` in the request routes the reply there."""
    corr, reply_queue = correlation(), f"replies-{uuid.uuid4().hex[:10]}"
    queues.send({"message": "What is 1 + 2?", "assistant": "math-tutor", "correlation_id": corr,
                 "reply_queue": reply_queue})
    reply = queues.take(reply_queue, lambda m: True)
    assert reply["correlation_id"] == corr
    assert reply["status"] == "completed"


def test_follow_up_with_conversation_id_continues_the_conversation(queues: Queues, stack: Stack) -> None:
    """A second request naming the conversation is its turn 2, answered with its own correlation id."""
    first, second, reply_queue = correlation(), correlation(), f"replies-{uuid.uuid4().hex[:10]}"
    queues.send({"message": "What is 3 + 3?", "assistant": "math-tutor", "correlation_id": first,
                 "reply_queue": reply_queue})
    cid = queues.take(reply_queue, lambda m: m["correlation_id"] == first)["conversation_id"]
    queues.send({"message": "And 3 + 4?", "conversation_id": cid, "correlation_id": second,
                 "reply_queue": reply_queue})
    reply = queues.take(reply_queue, lambda m: m["correlation_id"] == second)
    assert (reply["conversation_id"], reply["turn"], reply["status"]) == (cid, 2, "completed")
    assert "3 + 4" in text_of(reply)
    transcript = stack.http.get(f"/api/conversations/{cid}/messages").json()["messages"]
    assert [m["content"][0]["text"] for m in transcript if m["role"] == "user"] == ["What is 3 + 3?", "And 3 + 4?"]


def test_a_message_delivered_twice_makes_one_turn_and_one_reply(queues: Queues, stack: Stack) -> None:
    """The same request enqueued twice (one correlation_id): one conversation, one turn, one run, one reply."""
    corr, reply_queue = correlation(), f"replies-{uuid.uuid4().hex[:10]}"
    request = {"message": "What is 5 + 6?", "assistant": "math-tutor", "correlation_id": corr,
               "reply_queue": reply_queue}
    before = stack.stats()
    queues.send(request)
    queues.send(request)
    reply = queues.take(reply_queue, lambda m: True)
    queues.drained()
    assert reply["correlation_id"] == corr
    assert queues.count(reply_queue) == 0
    assert stack.stats()["runs_started"] - before["runs_started"] == 1
    view = stack.http.get(f"/api/conversations/{reply['conversation_id']}").json()
    assert view["turns"] == [{"turn": 1, "status": "completed"}]


def test_same_correlation_id_with_another_message_is_not_dropped(queues: Queues) -> None:
    """A caller that reuses a correlation id for a different message still gets that message answered."""
    corr, reply_queue = correlation(), f"replies-{uuid.uuid4().hex[:10]}"
    queues.send({"message": "What is 9 + 1?", "assistant": "math-tutor", "correlation_id": corr,
                 "reply_queue": reply_queue})
    first = queues.take(reply_queue, lambda m: True)
    queues.send({"message": "What is 9 + 2?", "conversation_id": first["conversation_id"], "correlation_id": corr,
                 "reply_queue": reply_queue})
    second = queues.take(reply_queue, lambda m: True)
    assert (second["turn"], second["status"]) == (2, "completed")
    assert "9 + 2" in text_of(second)


def test_a_redelivery_after_a_crash_before_the_orchestration_started_is_answered(queues: Queues) -> None:
    """The first try stored the conversation and message, then died: the redelivery starts the work, once."""
    corr, reply_queue = correlation(), f"replies-{uuid.uuid4().hex[:10]}"
    request = {"message": "What is 4 + 5?", "assistant": "math-tutor", "correlation_id": corr,
               "reply_queue": reply_queue}
    key = dedupe_key(QueueRequest.model_validate(request), None, b"")
    cid, now = keyed_conversation_id(key), datetime.now(UTC).isoformat()
    store = open_store()  # what the first try wrote before it stopped
    store.create_conversation(ConversationRecord(conversation_id=cid, assistant="math-tutor", backend="responses",
                                                 created_at=now, updated_at=now))
    store.add_message(TurnRecord(conversation_id=cid, message=request["message"], correlation_id=corr,
                                 reply_queue=reply_queue, created_at=now), key)
    queues.send(request)
    reply = queues.take(reply_queue, lambda m: True)
    assert (reply["conversation_id"], reply["turn"], reply["status"]) == (cid, 1, "completed")
    queues.drained()
    assert queues.count(reply_queue) == 0


# --- messages that can never succeed -----------------------------------------------------------------

REJECTED: list[tuple[str, str, str]] = [
    # (id, message text, what the reason says)
    ("invalid-json", '{"message": "hi", ', "not valid JSON"),
    ("not-an-object", '["hi"]', "JSON object"),
    ("missing-message", '{"assistant": "math-tutor"}', "message is required"),
    ("unknown-field", '{"message": "hi", "colour": "blue"}', "colour is not a known field"),
    ("bad-reply-queue", '{"message": "hi", "reply_queue": "Not_A_Queue"}', "reply_queue"),
    ("reply-queue-double-hyphen", '{"message": "hi", "reply_queue": "a--b"}', "reply_queue"),
    ("unknown-assistant", '{"message": "hi", "assistant": "nobody"}', "unknown assistant 'nobody'"),
    ("callback-not-https", '{"message": "hi", "callback_url": "http://example.com/hook"}', "https"),
    ("message-too-long", json.dumps({"message": "x" * 40_000}), "message"),
    ("reply-to-the-requests-queue", '{"message": "hi", "reply_queue": "%REQUESTS_QUEUE%"}', "reply_queue"),
]


@pytest.mark.parametrize(("text", "reason"), [case[1:] for case in REJECTED], ids=[case[0] for case in REJECTED])
def test_a_message_that_can_never_succeed_is_rejected_on_the_first_try(queues: Queues, stack: Stack, text: str,
                                                                       reason: str) -> None:
    """Bad JSON, schema errors, an unknown assistant, an http callback: rejected queue, first dequeue, no work."""
    text = text.replace("%REQUESTS_QUEUE%", queues.requests)
    before, failed, count = stack.stats(), queues.host.stats()["functions_failed"], conversations()
    queues.send(text)
    rejected = queues.take(queues.rejected, lambda m: m["original"] == text)
    queues.drained()
    assert reason in rejected["reason"]
    assert rejected["dequeue_count"] == 1
    assert queues.host.stats()["functions_failed"] == failed
    assert queues.count(queues.poison) == 0
    assert stack.stats() == before
    assert conversations() == count


def test_a_callback_without_webhook_secret_is_rejected(queues: Queues, stack: Stack,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """With no WEBHOOK_SECRET, a request with callback_url could never be signed: rejected on the first try."""
    monkeypatch.delenv("WEBHOOK_SECRET")
    before = stack.stats()
    text = json.dumps({"message": "hi", "callback_url": f"https://hooks.example.com/{uuid.uuid4().hex}"})
    queues.send(text)
    rejected = queues.take(queues.rejected, lambda m: m["original"] == text)
    queues.drained()
    assert (rejected["field"], rejected["dequeue_count"]) == ("callback_url", 1)
    assert "WEBHOOK_SECRET" in rejected["reason"]
    assert stack.stats() == before


def test_rejections_land_in_conversation_requests_rejected(stack: Stack) -> None:
    """On the default queues, the rejected queue is conversation-requests-rejected."""
    q = Queues(host=stack.host, requests="conversation-requests", connection=stack.connection)
    text = f'{{"message": "hi", "unexpected": "{uuid.uuid4().hex}"}}'
    q.send(text)
    rejected = q.take("conversation-requests-rejected", lambda m: m["original"] == text, timeout=60)
    assert rejected["field"] == "unexpected"
    assert rejected["dequeue_count"] == 1


# --- transient failures: retried, then poison ------------------------------------------------------


def test_a_handler_that_keeps_failing_ends_in_the_poison_queue(queues: Queues, stack: Stack,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A malformed setting makes every try fail: maxDequeueCount tries, then <queue>-poison; not rejected."""
    max_tries = queues.host.host_config.max_dequeue_count
    assert max_tries == json.loads((ROOT / "host.json").read_text())["extensions"]["queues"]["maxDequeueCount"]
    queues.drained()
    failed, count = queues.host.stats()["functions_failed"], conversations()
    monkeypatch.setenv("POLL_MIN_SECONDS", "soon")  # load_settings raises on every try
    corr = correlation()
    text = json.dumps({"message": "What is 1 + 1?", "correlation_id": corr})
    queues.send(text)
    deadline = time.monotonic() + 30
    while not queues.count(queues.poison):
        assert time.monotonic() < deadline, "the message never reached the poison queue"
        time.sleep(0.05)
    monkeypatch.undo()
    with queues.client(queues.poison) as poison:
        (message,) = list(poison.receive_messages(max_messages=32))
        assert base64.b64decode(message.content).decode() == text
        poison.delete_message(message)
    assert queues.host.stats()["functions_failed"] - failed == max_tries
    assert queues.count(queues.requests) == 0
    assert not [m for m in queues.messages(queues.rejected) if m["original"] == text]
    assert conversations() == count
