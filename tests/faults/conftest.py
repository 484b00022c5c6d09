"""The fault-injection suite: what every case checks, and the totals printed at the end of `make test`.

A case sends messages, injects faults (emulator HTTP faults, devhost activity crashes, restarts,
duplicate deliveries) and then `FaultCase.verify()` checks what a user would notice:

- every accepted message is answered exactly once: its turn is final, completed (or ended with a
  clear error), and its text reached the model once;
- the emulator holds no duplicate run (two runs/responses made for the same start or submit key) and
  no user message twice;
- every email POST carries an `Idempotency-Key` naming the conversation and the tool call, and a
  repeated POST repeats the same key and body (so the Logic App can drop it);
- no secret appears in turns, transcripts, durable status and history, or logs.

Totals (cases, faults injected, messages accepted, lost, duplicated) are kept on the pytest config and
printed by `pytest_terminal_summary`, so they show in `make test` output.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx2
import pytest

from core.records import FINAL_TURN_STATUSES
from devhost.testing import DevHost
from tests.conftest import SECRETS, Stack

# Model routes the faults aim at (both backends): calls that start or advance a run, and run polls.
CREATE = r"/(runs|responses|submit_tool_outputs)$"
POLL = r"/(runs|responses)/[^/]+$"
# The stand-ins behind the tools (the email Logic App, the quote source).
TOOL_ENDPOINTS = r"/_emulator/(inbox/email|quotes/)"
# A turn must be final within this much wall time (every fault here is recoverable well within it).
ANSWER_TIMEOUT = 60.0


@dataclass
class Totals:
    """What the whole suite injected and found."""

    cases: int = 0
    faults: int = 0
    accepted: int = 0
    answered: int = 0
    lost: int = 0
    duplicated: int = 0
    email_repeats: int = 0
    known_defect_cases: int = 0
    known_defect_lost: int = 0
    known_defect_duplicated: int = 0


TOTALS = pytest.StashKey[Totals]()


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """Print the suite's totals after the test results."""
    totals = config.stash.get(TOTALS, None)
    if totals is None or not totals.cases:
        return
    terminalreporter.write_sep("=", "fault injection totals")
    terminalreporter.write_line(
        f"cases {totals.cases}, faults injected {totals.faults}, messages accepted {totals.accepted}, "
        f"answered {totals.answered}, lost {totals.lost}, duplicated {totals.duplicated} "
        f"(repeated email POSTs, deduplicable by Idempotency-Key: {totals.email_repeats})")
    if totals.known_defect_cases:
        terminalreporter.write_line(
            f"of which {totals.known_defect_cases} case(s) document a reported defect (xfail), "
            f"not in lost/duplicated above: lost {totals.known_defect_lost}, "
            f"duplicated {totals.known_defect_duplicated}")


@pytest.fixture(scope="session")
def totals(pytestconfig: pytest.Config) -> Totals:
    """The session's running totals."""
    return pytestconfig.stash.setdefault(TOTALS, Totals())


def marker() -> str:
    """A unique lowercase tag (never taken for a ticker) that finds a message at the emulator."""
    return f"case-{uuid.uuid4().hex[:12]}"


@dataclass(frozen=True)
class Scenario:
    """A kind of turn: which assistant, what the user says, which tools must run."""

    name: str
    assistant: str
    text: str
    tools: tuple[str, ...]

    def message(self) -> str:
        """The message with a fresh marker."""
        return f"{self.text} [{marker()}]"


SCENARIOS = {
    "plain": Scenario("plain", "math-tutor", "What is 3x + 11 = 14?", ()),
    "email": Scenario("email", "portfolio", "Send an HTML email report to jane@example.com", ("send_email",)),
    "value": Scenario("value", "portfolio", "What is the current value of my portfolio?", ("get_stock_price",)),
}


@dataclass
class Accepted:
    """A message the API accepted: where its answer must appear."""

    conversation_id: str
    turn: int
    message: str
    scenario: Scenario


@dataclass
class Findings:
    """What `verify` found, before it asserts."""

    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    unclear: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)
    email_repeats: int = 0


def _emulator_view(state: Any) -> dict[str, Any]:
    """User messages, runs and inbox entries the emulator holds (white-box, on its loop)."""
    users: list[str] = []
    for m in state.assistants.messages.values():
        if m.role == "user":
            users.append(json.dumps(m.content))
    for conv in state.responses.conversations.values():
        users += [json.dumps(i.get("content")) for i in conv.items
                  if i.get("type") == "message" and i.get("role") == "user"]
    runs: list[tuple[str, str, str]] = []  # (conversation id, key, run id)
    for run in state.assistants.runs.values():
        meta = run.metadata or {}
        runs.append((meta.get("conversation_id", ""), meta.get("da_turn_key", ""), run.id))
    for resp in state.responses.responses.values():
        meta = resp.metadata or {}
        key = meta.get("da_last_key", "")
        runs.append((meta.get("conversation_id") or key.split(":", 1)[0], key, resp.id))
    inbox = [{"body": e.body, "headers": {k.lower(): v for k, v in e.headers.items()}}
             for e in state.inbox.get("email", [])]
    return {"users": users, "runs": runs, "inbox": inbox}


class FaultCase:
    """One case of the matrix: arm faults, send messages, then `verify()` everything."""

    def __init__(self, stack: Stack, totals: Totals, caplog: pytest.LogCaptureFixture,
                 monkeypatch: pytest.MonkeyPatch) -> None:
        self.stack = stack
        self.monkeypatch = monkeypatch
        self.totals = totals
        self.caplog = caplog
        self.accepted: list[Accepted] = []
        self.extra_faults = 0  # faults the case made itself (restarts, duplicate deliveries)
        self.extra_texts: list[tuple[str, str]] = []  # (where, text) more outputs to scan for secrets
        self.replies: list[tuple[str, str]] = []  # (reply queue, correlation id): exactly one reply each
        self.known_defect = False  # the case documents a reported defect (xfail): totals say so apart
        self.http = stack.http
        self._emulator_before = stack.stats()["faults_injected"]
        self._inbox_before = len(stack.emulator.call(lambda state: state.inbox.get("email", [])))
        self._devhost_before = self._devhost_faults()

    # --- injecting --------------------------------------------------------------------------------

    def emulator_fault(self, **fault: Any) -> None:
        """Arm an emulator HTTP fault (see emulator/README.md)."""
        self.stack.emulator.add_fault(fault)

    def crash_after(self, activity: str, times: int = 1) -> None:
        """The activity runs its side effect, then its result is lost (devhost retries it)."""
        self.stack.host.faults.crash_after(activity, times)

    def fail(self, activity: str, times: int = 1) -> None:
        """The activity fails before running (the orchestration's retry policy retries it)."""
        self.stack.host.faults.fail(activity, times)

    def slow_sdk(self, timeout: float) -> None:
        """Lower the model SDK's request timeout (backends.client's test hook) so "late" is cheap to reach."""
        self.monkeypatch.setattr("backends.client.REQUEST_TIMEOUT_SECONDS", timeout)

    def lose_answer(self, method: str, path_regex: str, times: int = 1, after: int = 0) -> None:
        """After `after` matching model requests, the next `times` reach the emulator and are served, but the
        answer never gets back: the client sees a read timeout, as when a reply comes later than the SDK's.

        (The emulator's own `delay_seconds` delays a request before serving it, and aiohttp abandons a
        request whose client left, so it cannot stand for "the service acted, the answer was late".)
        """
        original = httpx2.HTTPTransport.handle_request
        seen = [0]
        lock = threading.Lock()
        counted = self

        def handle(transport: httpx2.HTTPTransport, request: httpx2.Request) -> httpx2.Response:
            response = original(transport, request)
            if request.method == method and "/openai/" in request.url.path and re.search(path_regex,
                                                                                           request.url.path):
                with lock:
                    seen[0] += 1
                    hit = after < seen[0] <= after + times
                if hit:
                    response.read()
                    response.close()
                    counted.extra_faults += 1
                    raise httpx2.ReadTimeout("the answer came later than the timeout", request=request)
            return response

        self.monkeypatch.setattr(httpx2.HTTPTransport, "handle_request", handle)

    def runs_of(self, conversation_id: str) -> list[str]:
        """Ids of the runs/responses the emulator holds for one of our conversations."""
        view = self.stack.emulator.call(_emulator_view)
        return [run for cid, _, run in view["runs"] if cid == conversation_id]

    def injected(self, count: int = 1) -> None:
        """Count faults the case injected itself."""
        self.extra_faults += count

    def restarted(self, host: DevHost, http: httpx2.Client) -> None:
        """The case moved to a new devhost (a restart on the same state file): one fault."""
        self.extra_faults += self._devhost_faults() - self._devhost_before + 1
        self.stack.host = host
        self.stack.http = self.http = http
        self._devhost_before = self._devhost_faults()

    def expect_reply(self, queue: str, correlation_id: str) -> None:
        """The finished turn must reach `queue` exactly once with this correlation id."""
        self.replies.append((queue, correlation_id))

    def _devhost_faults(self) -> int:
        stats = self.stack.host.stats()
        return int(stats["activity_crashes"]) + int(stats["activity_failures"])

    def faults_injected(self) -> int:
        """Every fault that really happened during the case."""
        emulator = self.stack.stats()["faults_injected"] - self._emulator_before
        return int(emulator) + self._devhost_faults() - self._devhost_before + self.extra_faults

    # --- sending ----------------------------------------------------------------------------------

    def start(self, scenario: Scenario, **body: Any) -> Accepted:
        """POST /api/conversations with the scenario's message; it must be accepted."""
        message = scenario.message()
        resp = self.stack.start(message, assistant=scenario.assistant, **body)
        assert resp.status_code in (200, 202), resp.text
        return self.accept(resp.json()["conversation_id"], resp.json()["turn"], message, scenario)

    def post(self, conversation_id: str, scenario: Scenario, **body: Any) -> Accepted:
        """POST /api/conversations/{id}/messages; it must be accepted."""
        message = scenario.message()
        resp = self.stack.post(conversation_id, message, **body)
        assert resp.status_code in (200, 202), resp.text
        return self.accept(conversation_id, resp.json()["turn"], message, scenario)

    def accept(self, conversation_id: str, turn: int, message: str, scenario: Scenario) -> Accepted:
        """Record a message the service accepted (by any route)."""
        accepted = Accepted(conversation_id, int(turn), message, scenario)
        self.accepted.append(accepted)
        return accepted

    # --- checking ---------------------------------------------------------------------------------

    def wait_answer(self, item: Accepted, deadline: float) -> dict[str, Any] | None:
        """The final turn, or None if it is not final by `deadline` (monotonic)."""
        url = f"/api/conversations/{item.conversation_id}/turns/{item.turn}"
        while True:
            resp = self.http.get(url)
            if resp.status_code == 200:
                return resp.json()  # type: ignore[no-any-return]
            assert resp.status_code == 202, resp.text
            if time.monotonic() > deadline:
                return None
            time.sleep(0.02)

    def verify(self, expect: Callable[[Accepted, dict[str, Any]], None] | None = None) -> None:
        """Check every invariant for every accepted message, add to the totals, then assert."""
        assert self.accepted, "the case accepted no message"
        found = Findings()
        deadline = time.monotonic() + ANSWER_TIMEOUT
        turns: dict[tuple[str, int], dict[str, Any]] = {}
        for item in self.accepted:
            turn = self.wait_answer(item, deadline)
            if turn is None or turn["status"] not in FINAL_TURN_STATUSES:
                found.lost.append(f"{item.conversation_id}/{item.turn}: not final")
                continue
            turns[(item.conversation_id, item.turn)] = turn
            if turn["status"] == "completed":
                if not turn["messages"]:
                    found.unclear.append(f"{item.conversation_id}/{item.turn}: completed without a message")
            elif not (turn.get("error") or {}).get("message") and turn["status"] != "cancelled":
                found.unclear.append(f"{item.conversation_id}/{item.turn}: {turn['status']} without an error")
        self.stack.host.wait_idle(30)
        view = self.stack.emulator.call(_emulator_view)
        conversations = sorted({a.conversation_id for a in self.accepted})
        self._check_messages(view, conversations, found)
        self._check_runs(view, conversations, found)
        self._check_emails(view, conversations, turns, found)
        self._check_replies(found)
        self._check_secrets(conversations, turns, found)

        injected = self.faults_injected()
        t = self.totals
        t.cases += 1
        t.faults += injected
        t.accepted += len(self.accepted)
        t.answered += len(turns)
        t.email_repeats += found.email_repeats
        if self.known_defect:  # reported apart, so the totals above stay what the matrix guarantees
            t.known_defect_cases += 1
            t.known_defect_lost += len(found.lost)
            t.known_defect_duplicated += len(found.duplicated)
        else:
            t.lost += len(found.lost)
            t.duplicated += len(found.duplicated)

        assert injected > 0, "no fault fired: the case tested nothing"
        assert not found.lost, f"lost: {found.lost}"
        assert not found.duplicated, f"duplicated: {found.duplicated}"
        assert not found.unclear, f"answered without a clear result: {found.unclear}"
        assert not found.leaks, f"secrets leaked into: {found.leaks}"
        for item in self.accepted:
            turn = turns[(item.conversation_id, item.turn)]
            if expect is not None:
                expect(item, turn)
            else:
                assert turn["status"] == "completed", turn
                names = {c["name"] for c in turn["tool_calls"]}
                assert names == set(item.scenario.tools), turn["tool_calls"]
                assert all(c["status"] == "succeeded" for c in turn["tool_calls"]), turn["tool_calls"]

    def _check_messages(self, view: dict[str, Any], conversations: list[str], found: Findings) -> None:
        # Each accepted message reached the model exactly once, and the transcript shows it once.
        for item in self.accepted:
            tag = item.message.rsplit("[", 1)[-1].rstrip("]")
            seen = sum(tag in text for text in view["users"])
            where = f"{item.conversation_id}/{item.turn}"
            if seen > 1:
                found.duplicated.append(f"{where}: the user message reached the model {seen} times")
            elif seen == 0 and (item.conversation_id, item.turn) not in found.lost:
                found.lost.append(f"{where}: the user message never reached the model")
        for cid in conversations:
            transcript = self.http.get(f"/api/conversations/{cid}/messages").json()["messages"]
            users = Counter(json.dumps(m["content"]) for m in transcript if m["role"] == "user")
            for text, count in users.items():
                if count > 1:
                    found.duplicated.append(f"{cid}: the transcript holds a user message {count} times: {text[:80]}")
            self.extra_texts.append(("transcript", json.dumps(transcript)))

    def _check_runs(self, view: dict[str, Any], conversations: list[str], found: Findings) -> None:
        # A run (or response) per start/submit key: two for one key is a duplicate run.
        by_key: dict[str, list[str]] = defaultdict(list)
        for cid, key, run_id in view["runs"]:
            if cid in conversations:
                by_key[key or f"{cid}:<no key>"].append(run_id)
        for key, runs in by_key.items():
            if len(runs) > 1:
                found.duplicated.append(f"{len(runs)} runs for key {key}: {runs}")

    def _check_emails(self, view: dict[str, Any], conversations: list[str],
                      turns: dict[tuple[str, int], dict[str, Any]], found: Findings) -> None:
        ours = view["inbox"][self._inbox_before:]  # cases run one at a time: what arrived since it began
        by_key: dict[str, list[str]] = defaultdict(list)
        for entry in ours:
            key = entry["headers"].get("idempotency-key")
            if not key:
                found.duplicated.append(f"an email POST without an Idempotency-Key: {entry['headers']}")
                continue
            if not any(key.startswith(f"{c}:") for c in conversations):
                found.duplicated.append(f"an email POST whose Idempotency-Key names no conversation of the case: {key}")
            by_key[key].append(json.dumps(entry["body"], sort_keys=True))
        for key, bodies in by_key.items():
            if len(set(bodies)) > 1:
                found.duplicated.append(f"one Idempotency-Key {key} on different emails")
            found.email_repeats += len(bodies) - 1
        for (cid, _), turn in turns.items():
            for call in turn["tool_calls"]:
                sent = call["name"] == "send_email" and call["status"] == "succeeded"
                if sent and f"{cid}:{call['id']}" not in by_key:
                    found.lost.append(f"{cid}: email {call['id']} reported sent but the Logic App has none")

    def _check_replies(self, found: Findings) -> None:
        from store.connection import queue_client

        for queue, correlation_id in self.replies:
            client = queue_client(os.environ, queue)
            bodies = [json.loads(m.content) for m in client.peek_messages(max_messages=32)]
            self.extra_texts.append((f"reply queue {queue}", json.dumps(bodies)))
            count = sum(b.get("correlation_id") == correlation_id for b in bodies)
            if count > 1:
                found.duplicated.append(f"{count} replies for {correlation_id} on {queue}")
            elif count == 0:
                found.lost.append(f"no reply for {correlation_id} on {queue}")

    def _check_secrets(self, conversations: list[str], turns: dict[tuple[str, int], dict[str, Any]],
                       found: Findings) -> None:
        texts = [("turns", json.dumps(list(turns.values()))), ("logs", self.caplog.text), *self.extra_texts]
        for cid in conversations:
            status = self.http.get(f"/runtime/webhooks/durabletask/instances/{cid}",
                                   params={"showHistory": "true", "showHistoryOutput": "true",
                                           "showInput": "true"})
            texts.append(("durable status", status.text))
            texts.append(("histories", json.dumps(self.stack.host.executions(cid, with_history=True))))
        for where, text in texts:
            for secret in SECRETS:
                if secret in text:
                    found.leaks.append(f"{secret[:6]}... in {where}")


@pytest.fixture
def fault_case(stack: Stack, totals: Totals, caplog: pytest.LogCaptureFixture,
               monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultCase]:
    """A fault case on the session stack; armed faults that did not fire are disarmed afterwards."""
    caplog.set_level("INFO")
    case = FaultCase(stack, totals, caplog, monkeypatch)
    try:
        yield case
    finally:
        stack.emulator.call(lambda state: state.faults.clear())
        stack.host.faults.clear()
