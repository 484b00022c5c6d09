"""Devhost restarted mid-turn on its state file: the new host finishes the turn, nothing twice, nothing lost."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx2
import pytest

from devhost.testing import DevHost, run_devhost
from emulator.testing import run_emulator
from tests.conftest import API_KEY, Stack
from tests.faults.conftest import SCENARIOS, FaultCase, Totals

# Settings that name the emulator: the restart cases get an emulator of their own on the restarted host's clock.
EMULATOR_SETTINGS = ("AZURE_OPENAI_ENDPOINT", "EMAIL_URI", "STOCK_QUOTES_URI")


class Restartable:
    """Devhosts on one state file, one after the other, with an emulator that follows the current one's clock."""

    def __init__(self, state: Path, exits: ExitStack) -> None:
        self.state = state
        self.exits = exits
        self.hosts: list[DevHost] = []

    def clock(self) -> float:
        """The current host's (virtual) time, for the emulator."""
        return self.hosts[-1].clock.now().timestamp() if self.hosts else time.time()

    def start_host(self) -> tuple[DevHost, httpx2.Client]:
        """A devhost on the state file (queue and timer triggers off: the session host serves those)."""
        host = self.exits.enter_context(run_devhost("function_app", state_path=self.state, queues=False,
                                                    timers=False))
        if self.hosts:
            host.clock.advance_to(self.hosts[-1].clock.now())  # time does not go back across the restart
        self.hosts.append(host)
        http = self.exits.enter_context(httpx2.Client(base_url=host.url, timeout=60))
        return host, http


@pytest.fixture
def restart_case(stack: Stack, totals: Totals, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch,
                 tmp_path: Path) -> Iterator[tuple[FaultCase, Restartable]]:
    """A fault case on a restartable devhost with its own emulator."""
    caplog.set_level("INFO")
    with ExitStack() as exits:
        restartable = Restartable(tmp_path / "durable.sqlite", exits)
        emulator = exits.enter_context(run_emulator(api_key=API_KEY, clock=restartable.clock))
        for name in EMULATOR_SETTINGS:
            monkeypatch.setenv(name, os.environ[name].replace(stack.emulator.url, emulator.url))
        host, http = restartable.start_host()
        own = Stack(host=host, emulator=emulator, http=http, connection=stack.connection)
        yield FaultCase(own, totals, caplog, monkeypatch), restartable


def tool_outputs(case: FaultCase) -> int:
    """Tool outputs the case's emulator has received."""
    return int(case.stack.stats()["tool_outputs_received"])


def wait_for(condition: Any, what: str, timeout: float = 30.0) -> None:
    """Poll `condition()` until true."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


@pytest.mark.parametrize(("scenario", "point"), [
    ("plain", "first-poll"), ("email", "first-poll"), ("value", "first-poll"),
    ("email", "after-tools"), ("value", "after-tools"),
])
def test_restart_mid_turn_resumes_from_the_state_file(restart_case: tuple[FaultCase, Restartable], backend: str,
                                                      scenario: str, point: str) -> None:
    """Stopped while the turn waits on a durable timer, a new devhost on the same file finishes it exactly once."""
    case, restartable = restart_case
    first = case.stack.host
    first.clock.auto = False  # time stands still: the turn parks on its next poll timer
    case.start(SCENARIOS[scenario])
    first.wait_idle(30)
    if point == "after-tools":
        while tool_outputs(case) == 0:
            first.advance(2.0)
            first.wait_idle(30)
    assert case.stack.stats()["runs_started"] >= 1
    first.stop()
    case.restarted(*restartable.start_host())
    case.verify()


def test_restart_with_a_tool_call_in_flight(restart_case: tuple[FaultCase, Restartable], backend: str) -> None:
    """Stopped while send_email is posting, the new host runs the tool again: same Idempotency-Key, same body."""
    case, restartable = restart_case
    case.emulator_fault(method="POST", path_regex="/_emulator/inbox/email", delay_seconds=1.0, times=1)

    def posted() -> bool:
        return int(case.stack.stats()["requests"].get("POST /_emulator/inbox/{name}", 0)) > 0

    case.start(SCENARIOS["email"])
    wait_for(posted, "the email POST")
    case.stack.host.stop()
    case.restarted(*restartable.start_host())

    def keys() -> list[str]:
        return case.stack.emulator.call(  # type: ignore[no-any-return]
            lambda state: [e.headers.get("Idempotency-Key") for e in state.inbox.get("email", [])])

    wait_for(lambda: len(keys()) == 2, "both POSTs of the email (the first host's, late, and the new host's)")
    assert len(set(keys())) == 1
    case.verify()
