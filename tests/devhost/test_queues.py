"""Queue triggers and outputs against a real Azurite: decoding, dequeue count, outputs, poison queue."""

from __future__ import annotations

import base64
import contextlib
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest
from azure.core.exceptions import ResourceExistsError
from azure.storage.queue import QueueClient

from devhost.testing import DevHost
from tests.devhost.conftest import APPS, http


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _wait(predicate: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met before the deadline")
        time.sleep(0.05)


def _receive_all(connection: str, queue: str) -> list[str]:
    client = QueueClient.from_connection_string(connection, queue)
    with client:
        try:
            return [base64.b64decode(m.content).decode() for m in client.receive_messages(max_messages=32)]
        except Exception:
            return []


@pytest.fixture
def queues(monkeypatch: pytest.MonkeyPatch, azurite: str) -> dict[str, str]:
    """Unique queue names for this test, set as the app settings the bindings name."""
    names = {
        "INBOX_QUEUE": _name("in"),
        "OUTBOX_QUEUE": _name("out"),
        "DOOMED_QUEUE": _name("doomed"),
        "ECHO_IN": _name("echo-in"),
        "ECHO_OUT": _name("echo-out"),
        "START_QUEUE": _name("start"),
    }
    for key, value in names.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("DevhostQueues", azurite)
    return names


@pytest.fixture
def queue_app(
    devhost_factory: Callable[..., DevHost], queues: dict[str, str]
) -> Iterator[tuple[DevHost, ModuleType]]:
    """The queue sample app on devhost with its records reset."""
    host = devhost_factory("queue_app", app_dir=APPS)
    module = sys.modules["queue_app"]
    module.RECEIVED.clear()
    module.ATTEMPTS.clear()
    module.TICKS.clear()
    return host, module


def _send(connection: str, queue: str, body: str) -> None:
    client = QueueClient.from_connection_string(connection, queue)
    with client:
        with contextlib.suppress(ResourceExistsError):
            client.create_queue()
        client.send_message(base64.b64encode(body.encode()).decode())


def test_queue_trigger_gets_decoded_message_and_writes_output(
    queue_app: tuple[DevHost, ModuleType], queues: dict[str, str], azurite: str
) -> None:
    """A base64 message triggers the function with its text, id, dequeue count and times; func.Out writes."""
    _, module = queue_app
    _send(azurite, queues["INBOX_QUEUE"], '{"hello": "queue"}')
    received = _wait(lambda: list(module.RECEIVED))
    assert received[0]["body"] == '{"hello": "queue"}'
    assert received[0]["dequeue_count"] == 1
    assert received[0]["id"]
    assert received[0]["pop_receipt"]
    assert received[0]["inserted"] is not None
    assert received[0]["expires"] > received[0]["inserted"]
    out = _wait(lambda: _receive_all(azurite, queues["OUTBOX_QUEUE"]))
    assert out == ['handled {"hello": "queue"}']


def test_return_value_queue_output_binding_writes_message(
    queue_app: tuple[DevHost, ModuleType], queues: dict[str, str], azurite: str
) -> None:
    """A `$return` queue output binding sends the function's return value as a base64 message."""
    _send(azurite, queues["ECHO_IN"], "shout this")
    assert _wait(lambda: _receive_all(azurite, queues["ECHO_OUT"])) == ["SHOUT THIS"]


def test_failing_function_moves_message_to_poison_after_max_dequeue_count(
    queue_app: tuple[DevHost, ModuleType], queues: dict[str, str], azurite: str
) -> None:
    """A message whose function keeps failing is retried maxDequeueCount (2) times, then lands in -poison."""
    _, module = queue_app
    _send(azurite, queues["DOOMED_QUEUE"], "bad-1")
    poisoned = _wait(lambda: _receive_all(azurite, queues["DOOMED_QUEUE"] + "-poison"))
    assert poisoned == ["bad-1"]
    assert module.ATTEMPTS["bad-1"] == 2
    assert _receive_all(azurite, queues["DOOMED_QUEUE"]) == []


def test_admin_endpoint_runs_timer_and_queue_functions(
    queue_app: tuple[DevHost, ModuleType], queues: dict[str, str], azurite: str
) -> None:
    """POST /admin/functions/{name} runs a timer function, and a queue function with the given input."""
    host, module = queue_app
    assert http("POST", f"{host.url}/admin/functions/yearly", {"input": ""}).status == 202
    assert _wait(lambda: list(module.TICKS)) == [False]
    assert http("POST", f"{host.url}/admin/functions/inbox", {"input": "by hand"}).status == 202
    assert _wait(lambda: list(module.RECEIVED))[0]["body"] == "by hand"
    assert _wait(lambda: _receive_all(azurite, queues["OUTBOX_QUEUE"])) == ["handled by hand"]


def test_admin_endpoint_rejects_unknown_and_http_functions(queue_app: tuple[DevHost, ModuleType]) -> None:
    """The admin endpoint answers 404 for an unknown function and 400 for a bad body."""
    host, _ = queue_app
    assert http("POST", f"{host.url}/admin/functions/nope", {"input": ""}).status == 404
    assert http("POST", f"{host.url}/admin/functions/yearly", raw=b"not json").status == 400


def test_missing_queue_name_setting_is_a_loud_start_error(
    devhost_factory: Callable[..., DevHost], queues: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A %SETTING% in a binding that is not set stops start-up with an error naming it."""
    from devhost.config import ConfigError

    monkeypatch.delenv("DOOMED_QUEUE")
    with pytest.raises(ConfigError, match="DOOMED_QUEUE"):
        devhost_factory("queue_app", app_dir=APPS)


def test_queue_trigger_starts_an_orchestration_with_the_sdk_client(
    queue_app: tuple[DevHost, ModuleType], queues: dict[str, str], azurite: str
) -> None:
    """A queue-triggered function with a durable client binding starts an orchestration that completes."""
    host, _ = queue_app
    _send(azurite, queues["START_QUEUE"], "ada")
    base = f"{host.url}/runtime/webhooks/durabletask"

    def done() -> list[dict[str, Any]]:
        rows = http("GET", f"{base}/instances?instanceIdPrefix=greet-&runtimeStatus=Completed").json()
        return [r for r in rows if r["output"] == "hello ada"]

    assert _wait(done)
