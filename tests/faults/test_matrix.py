"""Scenarios × faults on both backends: every accepted message answered once, nothing duplicated, no secret out."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from core import names
from tests.faults.conftest import CREATE, POLL, SCENARIOS, TOOL_ENDPOINTS, FaultCase

# "Slower than the SDK timeout": the case lowers the timeout (backends.client's test hook) to keep it cheap.
SDK_TIMEOUT = 1.0
SLOW = 1.6

Arm = Callable[[FaultCase, str], None]  # (case, backend)


@dataclass(frozen=True)
class Fault:
    """One fault of the matrix, the scenarios it applies to, and a backend where it is a known defect."""

    id: str
    arm: Arm
    scenarios: tuple[str, ...] = ("plain", "email", "value")
    known_defect: tuple[str, str] | None = None  # (backend, reason)


def emulator(**fault: object) -> Arm:
    """Arm an emulator HTTP fault."""
    return lambda case, _: case.emulator_fault(**fault)


def slow(**fault: object) -> Arm:
    """Arm an emulator delay longer than the SDK's request timeout (the emulator then abandons the request)."""

    def arm(case: FaultCase, _: str) -> None:
        case.slow_sdk(SDK_TIMEOUT)
        case.emulator_fault(delay_seconds=SLOW, **fault)

    return arm


def lost_answer(method: str, path_regex: str, after: dict[str, int] | None = None) -> Arm:
    """The service acts on the request, but its answer arrives after the client gave up."""
    return lambda case, backend: case.lose_answer(method, path_regex, after=(after or {}).get(backend, 0))


def crash(activity: str, times: int = 1) -> Arm:
    """Devhost: the activity's side effect happens, its result is lost, it runs again."""
    return lambda case, _: case.crash_after(activity, times)


def fail(activity: str, times: int = 2) -> Arm:
    """Devhost: the activity fails before running, `times` times in a row."""
    return lambda case, _: case.fail(activity, times)


TOOLS = ("email", "value")
EMAIL_TOOL = names.tool_activity("send_email")
PRICE_TOOL = names.tool_activity("get_stock_price")
# The call that answers a tool round: assistants' submit, or the second response of a Responses turn.
SUBMIT = r"/(responses|submit_tool_outputs)$"

FAULTS = (
    # The model service throttles, fails, drops connections and answers late.
    Fault("429-create-retry-after-30s", emulator(method="POST", path_regex=CREATE, status=429, retry_after=30,
                                                 times=2)),
    Fault("429-every-call", emulator(path_regex="/openai/", status=429, retry_after=1, times=6)),
    Fault("500-polls", emulator(method="GET", path_regex=POLL, status=500, times=3)),
    Fault("500-every-call", emulator(path_regex="/openai/", status=500, times=4)),
    Fault("drop-create", emulator(method="POST", path_regex=CREATE, status=0, times=2)),
    Fault("drop-every-call", emulator(path_regex="/openai/", status=0, times=4)),
    Fault("slow-poll", slow(method="GET", path_regex=POLL, times=1)),
    Fault("slow-create", slow(method="POST", path_regex=CREATE, times=1)),
    Fault("late-answer-poll", lost_answer("GET", POLL)),
    Fault("late-answer-create", lost_answer("POST", CREATE)),
    Fault("late-answer-submit", lost_answer("POST", SUBMIT, after={"responses": 1}), TOOLS),
    # The tools' endpoints fail for a while.
    Fault("500-tool-endpoint", emulator(path_regex=TOOL_ENDPOINTS, status=500, times=2), TOOLS),
    Fault("429-tool-endpoint", emulator(path_regex=TOOL_ENDPOINTS, status=429, retry_after=1, times=2), TOOLS),
    Fault("drop-tool-endpoint", emulator(path_regex=TOOL_ENDPOINTS, status=0, times=2), TOOLS),
    # Workers die after the side effect (devhost re-runs the activity), or fail before it.
    *(Fault(f"crash-after-{a}", crash(a)) for a in (
        names.LOAD_TURN, names.CLAIM_TURN, names.PREPARE_ASSISTANT, names.OPEN_CONVERSATION, names.START_RUN,
        names.POLL_RUN, names.COLLECT_TURN, names.COMPLETE_TURN)),
    # Marking a turn requires_action/running happens around tool rounds.
    Fault(f"crash-after-{names.MARK_TURN}", crash(names.MARK_TURN), TOOLS),
    Fault(f"crash-after-{names.SUBMIT_TOOL_OUTPUTS}", crash(names.SUBMIT_TOOL_OUTPUTS), TOOLS),
    Fault(f"crash-after-{EMAIL_TOOL}", crash(EMAIL_TOOL), ("email",)),
    Fault(f"crash-after-{PRICE_TOOL}", crash(PRICE_TOOL, times=3), ("value",)),
    *(Fault(f"fail-{a}", fail(a)) for a in (names.START_RUN, names.POLL_RUN)),
    Fault(f"fail-{names.SUBMIT_TOOL_OUTPUTS}", fail(names.SUBMIT_TOOL_OUTPUTS), TOOLS),
)

CASES = [pytest.param(s, f, id=f"{s}-{f.id}") for f in FAULTS for s in f.scenarios]


@pytest.mark.parametrize(("scenario", "fault"), CASES)
def test_turn_survives_the_fault(fault_case: FaultCase, backend: str, scenario: str, fault: Fault,
                                 request: pytest.FixtureRequest) -> None:
    """The turn completes with its tools run once, one run per start, one user message, no secret out."""
    if fault.known_defect is not None and fault.known_defect[0] == backend:
        fault_case.known_defect = True
        request.applymarker(pytest.mark.xfail(strict=True, reason=fault.known_defect[1]))
    fault.arm(fault_case, backend)
    fault_case.start(SCENARIOS[scenario])
    fault_case.verify()


@pytest.mark.parametrize("fault", ["crash-after-cancel_run", "500-cancel"])
def test_cancel_survives_the_fault(fault_case: FaultCase, backend: str, fault: str) -> None:
    """A cancel whose model call crashes after cancelling (or fails at first) still ends the turn cancelled."""
    scenario = SCENARIOS["plain"]
    tag = scenario.message()
    fault_case.stack.emulator.add_script({"match": {"contains": tag.rsplit("[", 1)[-1].rstrip("]")},
                                          "steps": [{"message": "never"}], "polls_before_done": 1000})
    if fault == "crash-after-cancel_run":
        fault_case.crash_after(names.CANCEL_RUN)
    else:
        fault_case.emulator_fault(method="POST", path_regex=r"/cancel$", status=500, times=2)
    resp = fault_case.stack.start(tag, assistant=scenario.assistant)
    accepted = fault_case.accept(resp.json()["conversation_id"], resp.json()["turn"], tag, scenario)
    deadline = time.monotonic() + 30
    while not fault_case.runs_of(accepted.conversation_id):  # the run exists at the service
        assert time.monotonic() < deadline, "the run never started"
        time.sleep(0.02)
    assert fault_case.http.post(f"/api/conversations/{accepted.conversation_id}/cancel").status_code == 202

    def cancelled(item: object, turn: dict[str, object]) -> None:
        assert turn["status"] == "cancelled", turn

    fault_case.verify(cancelled)
