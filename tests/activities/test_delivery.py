"""Delivery of finished turns to callback_url: signed POSTs a receiver can verify, retried, deduplicable."""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from azure.storage.queue import QueueClient

from core.signing import SIGNATURE_HEADER, verify
from tests.conftest import WEBHOOK_SECRET, Stack


@dataclass
class Delivery:
    """One POST the receiver got."""

    body: bytes
    headers: dict[str, str]
    verified: bool

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A webhook receiver on loopback that verifies each signature and fails the first `fail_first` POSTs."""

    url: str = ""
    fail_first: int = 0
    attempts: list[Delivery] = field(default_factory=list)
    accepted: list[Delivery] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, body: bytes, headers: dict[str, str]) -> int:
        """Note a POST; the status to answer."""
        delivery = Delivery(body, headers, verify(body, WEBHOOK_SECRET, headers.get(SIGNATURE_HEADER.lower())))
        with self.lock:
            self.attempts.append(delivery)
            if len(self.attempts) <= self.fail_first:
                return 503
            self.accepted.append(delivery)
            return 200

    def wait(self, count: int = 1, timeout: float = 60.0) -> list[Delivery]:
        """The accepted deliveries, once there are `count`."""
        deadline = time.monotonic() + timeout
        while len(self.accepted) < count:
            assert time.monotonic() < deadline, f"{len(self.accepted)} deliveries, expected {count}"
            time.sleep(0.02)
        return list(self.accepted)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A fresh receiver on a free loopback port."""
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            status = state.record(body, {k.lower(): v for k, v in self.headers.items()})
            self.send_response(status)
            if status == 503:
                self.send_header("Retry-After", "0")  # honoured by the sender: the retry comes at once
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/turns"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def test_callback_gets_the_finished_turn_signed(stack: Stack, receiver: Receiver) -> None:
    """callback_url in the HTTP body: the finished turn is POSTed, HMAC-SHA256 signed under WEBHOOK_SECRET."""
    resp = stack.start("What is 2 + 5?", assistant="math-tutor", callback_url=receiver.url)
    assert resp.status_code == 202, resp.text
    cid = resp.json()["conversation_id"]
    (delivery,) = receiver.wait()
    assert delivery.verified
    assert delivery.headers[SIGNATURE_HEADER.lower()].startswith("sha256=")
    assert delivery.headers["content-type"] == "application/json"
    assert delivery.headers["idempotency-key"] == f"{cid}:1"
    assert delivery.json() == {**stack.turn(cid), "correlation_id": None}
    assert WEBHOOK_SECRET.encode() not in delivery.body


def test_queue_request_with_callback_gets_both_reply_and_webhook(stack: Stack, receiver: Receiver) -> None:
    """callback_url in a queue message: the signed POST and the queue reply both carry the correlation id."""
    corr, reply_queue = f"corr-{uuid.uuid4().hex[:10]}", f"replies-{uuid.uuid4().hex[:10]}"
    request = {"message": "What is 4 + 7?", "assistant": "math-tutor", "correlation_id": corr,
               "reply_queue": reply_queue, "callback_url": receiver.url}
    with QueueClient.from_connection_string(stack.connection, "conversation-requests") as requests:
        requests.send_message(base64.b64encode(json.dumps(request).encode()).decode())
    (delivery,) = receiver.wait()
    assert delivery.verified
    body = delivery.json()
    assert (body["correlation_id"], body["status"]) == (corr, "completed")
    with QueueClient.from_connection_string(stack.connection, reply_queue) as replies:
        (reply,) = list(replies.receive_messages(max_messages=32))
    assert json.loads(base64.b64decode(reply.content)) == body


def test_a_failing_receiver_gets_the_turn_on_a_retry(stack: Stack, receiver: Receiver) -> None:
    """The receiver answers 503 (Retry-After: 0) twice: it gets the turn; each try has the same body, signature, key."""
    receiver.fail_first = 2
    cid = stack.start("What is 8 + 9?", assistant="math-tutor", callback_url=receiver.url).json()["conversation_id"]
    (accepted,) = receiver.wait()
    assert len(receiver.attempts) == 3
    assert {a.headers["idempotency-key"] for a in receiver.attempts} == {f"{cid}:1"}
    assert {a.body for a in receiver.attempts} == {accepted.body}
    assert all(a.verified for a in receiver.attempts)
    stack.host.wait_idle()
    assert len(receiver.accepted) == 1


def test_a_failing_receiver_does_not_duplicate_the_queue_reply(stack: Stack, receiver: Receiver) -> None:
    """Webhook retries that outlast one delivery attempt do not send the queue reply again."""
    receiver.fail_first = 7  # more than one delivery activity's own tries
    corr, reply_queue = f"corr-{uuid.uuid4().hex[:10]}", f"replies-{uuid.uuid4().hex[:10]}"
    request = {"message": "What is 6 + 1?", "assistant": "math-tutor", "correlation_id": corr,
               "reply_queue": reply_queue, "callback_url": receiver.url}
    with QueueClient.from_connection_string(stack.connection, "conversation-requests") as requests:
        requests.send_message(base64.b64encode(json.dumps(request).encode()).decode())
    receiver.wait(timeout=120)
    stack.host.wait_idle()
    assert len(receiver.attempts) == 8  # the first delivery attempt gave up; its retry got through
    with QueueClient.from_connection_string(stack.connection, reply_queue) as replies:
        assert len(list(replies.receive_messages(max_messages=32))) == 1


def test_callback_without_webhook_secret_is_400(stack: Stack, receiver: Receiver,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """With no WEBHOOK_SECRET a receiver could not verify anything: 400 naming callback_url, nothing started."""
    monkeypatch.delenv("WEBHOOK_SECRET")
    before = stack.stats()
    resp = stack.start("What is 1 + 3?", assistant="math-tutor", callback_url=receiver.url)
    assert resp.status_code == 400
    assert resp.headers["Content-Type"] == "application/problem+json"
    assert resp.json()["field"] == "callback_url"
    assert "WEBHOOK_SECRET" in resp.json()["detail"]
    assert stack.stats() == before
    assert receiver.attempts == []
