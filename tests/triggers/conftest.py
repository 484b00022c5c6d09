"""Ingress test helpers: a second devhost that enforces a function key, and problem+json checks."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx2
import pytest

from devhost.testing import DevHost, run_devhost
from tests.conftest import Stack

# Distinctive, so a test can tell where it went (the Location header) and prove where it must not go.
FUNCTION_KEY = "fnkey-test-9d4b2a71e0c3"
PROBLEM_JSON = "application/problem+json"
FUZZ_REQUESTS = pytest.StashKey[list[str]]()


@pytest.fixture(scope="session")
def keyed(stack: Stack) -> Iterator[DevHost]:
    """function_app on a second devhost that requires FUNCTION_KEY, as Azure does at auth level FUNCTION.

    Same Azurite, emulator and settings as `stack`, its own Durable engine and virtual clock; no queue or
    timer listeners, so it never competes with the stack's host for messages.
    """
    with run_devhost("function_app", function_key=FUNCTION_KEY, queues=False, timers=False) as host:
        yield host


@pytest.fixture(scope="session")
def fuzz_requests(request: pytest.FixtureRequest) -> list[str]:
    """Where the schemathesis test notes each request it sends (counted in the terminal summary)."""
    return request.config.stash.setdefault(FUZZ_REQUESTS, [])


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Say how many requests the schemathesis fuzzing sent, in every run that fuzzed."""
    sent = config.stash.get(FUZZ_REQUESTS, [])
    if sent:
        operations = len(set(sent))
        terminalreporter.write_line(f"schemathesis: {len(sent)} generated requests over {operations} operations")


def assert_problem(resp: httpx2.Response, status: int, field: str | None = None) -> dict[str, Any]:
    """`resp` is an RFC 9457 problem+json with `status` (and naming `field`); its body."""
    assert resp.status_code == status, resp.text
    assert resp.headers["Content-Type"].split(";")[0] == PROBLEM_JSON
    body: dict[str, Any] = resp.json()
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    if field is not None:
        assert body.get("field") == field, body
    return body


def wait_for(predicate: Callable[[], Any], timeout: float = 30.0) -> Any:
    """Poll `predicate` until it is truthy, or fail at the deadline."""
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, "condition not met before the deadline"
        time.sleep(0.02)
    return value


def emulator_holdings(stack: Stack) -> dict[str, set[str]]:
    """Ids of every thread, conversation, file and container file the emulator holds."""

    def read(state: Any) -> dict[str, set[str]]:
        container_files = {f for c in state.responses.containers.values() for f in c.files}
        return {"threads": set(state.assistants.threads), "conversations": set(state.responses.conversations),
                "files": set(state.files) | container_files}

    return stack.emulator.call(read)  # type: ignore[no-any-return]
