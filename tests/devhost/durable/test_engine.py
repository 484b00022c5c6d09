"""Durable behaviours through the real SDK over loopback: fan-out, timers, retries, events, sub-orchestrations
continue-as-new, custom status, terminate, determinism, restart-and-resume, crash faults."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from types import ModuleType

from devhost.testing import DevHost
from tests.devhost.conftest import APPS, Durable, http, poll

App = tuple[DevHost, Durable, ModuleType]


def _events(status: dict, kind: str) -> list[dict]:
    return [e for e in status["historyEvents"] if e["EventType"] == kind]


def test_fan_out_fan_in_collects_every_result(durable_app: App) -> None:
    """task_all over 20 activities returns all their results; each activity ran once."""
    _host, durable, module = durable_app
    iid = durable.start("fan_out", {"n": 20})
    status = durable.wait(iid)
    assert status["runtimeStatus"] == "Completed"
    assert status["output"] == sum(2 * i for i in range(20))
    assert module.CALLS["double"] == 20
    assert len(_events(status, "TaskCompleted")) == 20


def test_task_any_returns_the_first_finished_task(durable_app: App) -> None:
    """task_any between an activity and an hour-long timer yields the activity; the timer never fires."""
    host, durable, _ = durable_app
    start = host.clock.now()
    status = durable.wait(durable.start("race"))
    assert status["output"] == {"winner": "activity", "result": "FAST"}
    host.wait_idle(10)
    assert host.clock.now() - start < timedelta(hours=1)
    assert _events(status, "TimerFired") == []


def test_hour_long_timer_completes_at_once_on_virtual_clock(durable_app: App) -> None:
    """A one-hour durable timer fires as soon as the host is idle; current_utc_datetime moves by one hour."""
    host, durable, _module = durable_app
    start = host.clock.now()
    status = durable.wait(durable.start("sleeper"))
    before = datetime.fromisoformat(status["output"]["before"])
    after = datetime.fromisoformat(status["output"]["after"])
    assert after - before == timedelta(hours=1)
    assert host.clock.now() - start >= timedelta(hours=1)
    assert len(_events(status, "TimerFired")) == 1


def test_new_uuid_is_stable_under_replay(durable_app: App) -> None:
    """new_uuid gives the same value in the first episode and in every replay."""
    _, durable, module = durable_app
    status = durable.wait(durable.start("sleeper"))
    assert [status["output"]["uuid"]] == module.SIDE_EFFECTS


def test_retry_exhaustion_runs_every_attempt_then_surfaces_the_failure(durable_app: App) -> None:
    """call_activity_with_retry makes 3 attempts, a retry timer after each (also the last), then fails."""
    host, durable, module = durable_app
    start = host.clock.now()
    status = durable.wait(durable.start("retrying"))
    assert module.CALLS["always_fails"] == 3
    assert status["output"]["failed"] is True
    assert "attempt 3 failed for x" in status["output"]["error"]
    assert "Activity function 'always_fails' failed" in status["output"]["error"]
    assert len(_events(status, "TaskFailed")) == 3
    assert len(_events(status, "TimerFired")) == 3
    assert host.clock.now() - start >= timedelta(minutes=3)


def test_external_events_raised_before_and_after_the_wait_are_delivered(durable_app: App) -> None:
    """An event raised before the orchestrator waits is buffered; one raised while it waits resumes it."""
    _host, durable, module = durable_app
    iid = durable.start("approval")
    assert module.STARTED.wait(10)
    assert durable.raise_event(iid, "second", {"n": 2}).status == 202  # early: nobody waits yet
    module.RELEASE.set()
    poll(f"{durable.base}/instances/{iid}", until=lambda r: r.json()["customStatus"] == {"stage": "waiting"})
    assert durable.raise_event(iid, "first", {"n": 1}).status == 202
    status = durable.wait(iid)
    assert status["output"] == [{"n": 1}, {"n": 2}]
    assert status["customStatus"] == {"stage": "done"}


def test_custom_status_is_visible_while_running(durable_app: App) -> None:
    """set_custom_status shows in the status API (202 while running) before the orchestration ends."""
    _host, durable, module = durable_app
    iid = durable.start("approval")
    module.RELEASE.set()
    reply = poll(f"{durable.base}/instances/{iid}", until=lambda r: r.json()["customStatus"] is not None)
    assert reply.status == 202
    assert reply.headers["Location"].startswith(durable.base)
    assert reply.json()["customStatus"] == {"stage": "waiting"}
    assert reply.json()["runtimeStatus"] == "Running"


def test_sub_orchestrations_with_and_without_instance_id(durable_app: App) -> None:
    """call_sub_orchestrator runs children (one with a chosen id, one generated) and returns their outputs."""
    _host, durable, _ = durable_app
    status = durable.wait(durable.start("parent", None, "p1"))
    assert status["output"] == [4, 10]
    named = durable.status("p1-named").json()
    assert (named["runtimeStatus"], named["name"]) == ("Completed", "child")
    children = http("GET", f"{durable.base}/instances?instanceIdPrefix=p1").json()
    assert sorted(c["instanceId"] for c in children) == ["p1", "p1-named", "p1:0001"]


def test_sub_orchestration_failure_reaches_the_parent(durable_app: App) -> None:
    """A failing child surfaces as an exception in the parent, naming the child's error."""
    _, durable, _ = durable_app
    status = durable.wait(durable.start("parent_of_failure"))
    assert "child broke" in status["output"]["caught"]


def test_continue_as_new_discards_unprocessed_event_and_keeps_state(durable_app: App) -> None:
    """An event buffered but not awaited before continue_as_new is dropped; the new input keeps the state."""
    _host, durable, module = durable_app
    iid = durable.start("counter")
    assert module.STARTED.wait(10)
    assert durable.raise_event(iid, "nudge", {"early": True}).status == 202
    module.RELEASE.set()
    status = durable.wait(iid)
    assert status["output"] == {"generation": 1, "total": 20, "nudged": False}
    assert status["customStatus"] == {"generation": 1, "total": 20}


def test_each_execution_is_logged_with_its_cost(durable_app: App) -> None:
    """A continue-as-new loop leaves one log entry per execution: its events, episodes and replay time."""
    host, durable, module = durable_app
    iid = durable.start("counter")
    module.RELEASE.set()
    durable.wait(iid)
    executions = host.executions(iid, with_history=True)
    assert [e["status"] for e in executions] == ["ContinuedAsNew", "Completed"]
    for e in executions:
        assert e["events"] == len(e["history"]) > 0
        assert e["episodes"] >= 1
    reply = http("GET", f"{host.url}/_devhost/instances/{iid}/executions")
    assert [e["events"] for e in reply.json()] == [e["events"] for e in executions]
    assert http("DELETE", f"{durable.base}/instances/{iid}").status == 200
    assert host.executions(iid) == []


def test_terminate_ends_a_running_instance(durable_app: App) -> None:
    """terminate makes a waiting instance Terminated with the reason as output; later events get 410."""
    _, durable, _ = durable_app
    iid = durable.start("waiter")
    reply = http("POST", f"{durable.base}/instances/{iid}/terminate?reason=enough")
    assert reply.status == 202
    status = durable.wait(iid)
    assert (status["runtimeStatus"], status["output"]) == ("Terminated", "enough")
    assert durable.raise_event(iid, "never", 1).status == 410
    assert http("POST", f"{durable.base}/instances/{iid}/terminate?reason=again").status == 410


def test_starting_an_id_that_is_running_fails_with_409(durable_app: App) -> None:
    """A second start of a running instance id is refused (409), as the extension does by default."""
    _, durable, _ = durable_app
    durable.start("waiter", None, "dup")
    reply = http("POST", f"{durable.base}/orchestrators/waiter/dup")
    assert reply.status == 409
    message = reply.json()["Message"]
    assert re.fullmatch(
        r"An Orchestration instance with the status (Pending|Running) already exists\.", message
    )


def test_a_finished_instance_id_can_be_started_again(durable_app: App) -> None:
    """Once terminal, the same instance id starts a fresh execution."""
    _, durable, _ = durable_app
    durable.start("waiter", None, "again")
    http("POST", f"{durable.base}/instances/again/terminate?reason=x")
    durable.wait("again")
    durable.start("fan_out", {"n": 2}, "again")
    assert durable.wait("again")["output"] == 2


def test_sdk_client_refuses_to_start_a_running_id(durable_app: App) -> None:
    """The SDK's start_new raises on a running id, so the HTTP starter answers 500."""
    host, durable, _ = durable_app
    durable.start("waiter", None, "busy")
    reply = http("POST", f"{host.url}/api/orchestrators/waiter?id=busy")
    assert reply.status == 500


def test_purge_single_instance_and_by_filter(durable_app: App) -> None:
    """Purge deletes finished instances (by id, or by created-time filter) and refuses running ones."""
    host, durable, _ = durable_app
    for i in range(3):
        durable.wait(durable.start("fan_out", {"n": 1}, f"done-{i}"))
    durable.start("waiter", None, "running")
    assert http("DELETE", f"{durable.base}/instances/running").status == 412
    reply = http("DELETE", f"{durable.base}/instances/done-0")
    assert (reply.status, reply.json()) == (200, {"instancesDeleted": 1})
    assert durable.status("done-0").status == 404
    since = (host.clock.now() - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    reply = http("DELETE", f"{durable.base}/instances?createdTimeFrom={since}&runtimeStatus=Completed")
    assert reply.json() == {"instancesDeleted": 2}
    assert (
        http("DELETE", f"{durable.base}/instances?createdTimeFrom={since}&runtimeStatus=Completed").status
        == 404
    )
    assert durable.status("running").status == 202


def test_query_filters_by_status_prefix_and_pages(durable_app: App) -> None:
    """Query filters on runtimeStatus, instanceIdPrefix and created time, and pages with top + token."""
    host, durable, _ = durable_app
    for i in range(5):
        durable.wait(durable.start("fan_out", {"n": 1}, f"q-{i}"))
    durable.start("waiter", None, "q-waiting")
    running = http("GET", f"{durable.base}/instances?runtimeStatus=Running,Pending").json()
    assert [r["instanceId"] for r in running] == ["q-waiting"]
    seen: list[str] = []
    token = ""
    while True:
        reply = http(
            "GET",
            f"{durable.base}/instances?instanceIdPrefix=q-&runtimeStatus=Completed&top=2",
            headers={"x-ms-continuation-token": token} if token else None,
        )
        seen += [r["instanceId"] for r in reply.json()]
        token = reply.headers.get("x-ms-continuation-token", "")
        if not token:
            break
    assert sorted(seen) == [f"q-{i}" for i in range(5)]
    later = (host.clock.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert http("GET", f"{durable.base}/instances?createdTimeFrom={later}").json() == []
    assert len(http("GET", f"{durable.base}/instances?createdTimeTo={later}&instanceIdPrefix=q-").json()) == 6


def test_non_deterministic_orchestrator_fails_with_a_clear_error(durable_app: App) -> None:
    """An orchestrator that calls a different activity on replay fails, naming the differing action."""
    _, durable, _ = durable_app
    status = durable.wait(durable.start("flaky_choice"))
    assert status["runtimeStatus"] == "Failed"
    assert "non-deterministic orchestrator" in status["output"]
    assert "CallActivity(shout)" in status["output"]
    assert "CallActivity(double)" in status["output"]


def test_determinism_check_can_be_switched_off(devhost_factory: Callable[..., DevHost]) -> None:
    """With the guard off, the same orchestrator runs on (as it would, unguarded)."""
    host = devhost_factory("durable_app", app_dir=APPS, determinism_check=False)
    import sys

    sys.modules["durable_app"].REPLAYS["flaky_choice"] = 0
    status = Durable(host).wait(Durable(host).start("flaky_choice"))
    assert status["runtimeStatus"] == "Completed"


def test_restart_resumes_instance_and_reruns_interrupted_activity(
    devhost_factory: Callable[..., DevHost], tmp_path: Path
) -> None:
    """Stopped mid-activity, a new devhost on the same state file re-runs that activity and completes."""
    import sys

    state = tmp_path / "state.sqlite"
    first = devhost_factory("durable_app", app_dir=APPS, state_path=state)
    module = sys.modules["durable_app"]
    module.CALLS.clear()
    module.RELEASE.clear()
    module.STARTED.clear()
    Durable(first).start("resumable", None, "r1")
    assert module.STARTED.wait(10)
    first.stop()
    module.STARTED.clear()
    second = devhost_factory("durable_app", app_dir=APPS, state_path=state)
    assert module.STARTED.wait(10), "the interrupted activity was not re-run"
    module.RELEASE.set()
    status = Durable(second).wait("r1")
    assert status["output"] == ["done r", 42]
    assert module.CALLS["blocking_step"] == 2


def test_crash_after_side_effect_reruns_the_activity(durable_app: App) -> None:
    """A crash after the side effect loses the result, so the activity runs again (at-least-once)."""
    host, durable, module = durable_app
    host.faults.crash_after("record", times=1)
    status = durable.wait(durable.start("side_effects", {"tag": "a"}))
    assert status["output"] == "recorded a"
    assert module.SIDE_EFFECTS == ["a", "a"]
    assert host.stats()["activity_crashes"] == 1


def test_unsupported_entity_call_fails_loudly(durable_app: App) -> None:
    """call_entity is not silently ignored: the instance fails naming what devhost lacks."""
    _, durable, _ = durable_app
    status = durable.wait(durable.start("uses_entities"))
    assert status["runtimeStatus"] == "Failed"
    assert "devhost does not support durable entities" in status["output"]


def test_http_route_starts_orchestration_with_sdk_client_and_status_uri_reaches_completed(
    durable_app: App,
) -> None:
    """An HTTP trigger using DurableOrchestrationClient answers 202 + Location; polling it ends Completed."""
    host, _, _ = durable_app
    reply = http("POST", f"{host.url}/api/orchestrators/fan_out", {"n": 3})
    assert reply.status == 202
    location = reply.headers["Location"]
    assert location == reply.json()["statusQueryGetUri"]
    final = poll(location, until=lambda r: r.status == 200)
    assert (final.json()["runtimeStatus"], final.json()["output"]) == ("Completed", 6)


def test_sdk_client_raise_event_delivers_json_encoded_data(durable_app: App) -> None:
    """Through the SDK client, event data arrives JSON-encoded once more, as the extension stores it."""
    host, durable, module = durable_app
    iid = durable.start("approval")
    module.RELEASE.set()
    poll(f"{durable.base}/instances/{iid}", until=lambda r: r.json()["customStatus"] == {"stage": "waiting"})
    assert http("POST", f"{host.url}/api/manage/{iid}/raise?event=first", {"ok": 1}).status == 202
    assert http("POST", f"{host.url}/api/manage/{iid}/raise?event=second", "yes").status == 202
    status = durable.wait(iid)
    assert status["output"] == ['{"ok": 1}', '"yes"']


def test_sdk_client_status_terminate_and_purge(durable_app: App) -> None:
    """The SDK client's get_status, terminate and purge_instance_history work against devhost."""
    host, durable, _ = durable_app
    iid = durable.start("waiter")
    status = http("GET", f"{host.url}/api/manage/{iid}/status").json()
    assert status["runtimeStatus"] in ("Pending", "Running")
    assert http("POST", f"{host.url}/api/manage/{iid}/terminate?reason=bye").status == 202
    durable.wait(iid)
    assert http("DELETE", f"{host.url}/api/manage/{iid}/purge").json() == {"deleted": 1}
    assert durable.status(iid).status == 404


def test_retries_interleaved_with_other_completions_keep_task_ids_in_step(durable_app: App) -> None:
    """Retrying and plain activities completing in mixed order still resolve to the right results."""
    host, durable, _module = durable_app
    host.faults.fail("double", times=2)
    status = durable.wait(durable.start("retry_mix"))
    assert status["output"] == [2, "X", 4, 6]
    assert len(_events(status, "TaskFailed")) == 2


def test_sub_orchestration_retry_runs_the_child_again(durable_app: App) -> None:
    """call_sub_orchestrator_with_retry starts the child again after it fails."""
    host, durable, _ = durable_app
    host.faults.fail("double", times=1)
    status = durable.wait(durable.start("sub_retry"))
    assert status["output"] == 8
    assert len(_events(status, "SubOrchestrationInstanceFailed")) == 1


def test_timer_longer_than_the_storage_maximum_completes(durable_app: App) -> None:
    """A 10-day timer is split by the SDK (replay schema V3) into pieces; all fire on the virtual clock."""
    _, durable, _ = durable_app
    status = durable.wait(durable.start("long_sleeper"))
    assert status["output"] == 10
    assert len(_events(status, "TimerFired")) == 3  # 3 + 3 days, then the last 4 (at most 6 per piece)


def test_orchestrator_exception_fails_the_instance_with_its_message(durable_app: App) -> None:
    """An exception in orchestrator code makes the instance Failed, with the message in the output."""
    _, durable, _ = durable_app
    status = durable.wait(durable.start("crashing"))
    assert status["runtimeStatus"] == "Failed"
    assert "Orchestrator function 'crashing' failed: orchestrator gave up" in status["output"]


def test_start_can_wait_for_completion(durable_app: App) -> None:
    """POST .../orchestrators/{name}?timeout=&pollingInterval= answers 200 with the output once done."""
    _host, durable, _ = durable_app
    reply = http("POST", f"{durable.base}/orchestrators/fan_out?timeout=10&pollingInterval=0.05", {"n": 4})
    assert (reply.status, reply.json()) == (200, 12)


def test_event_raised_after_continue_as_new_reaches_the_new_generation(durable_app: App) -> None:
    """Only events buffered in the old history are dropped: one raised to the new generation is delivered."""
    host, durable, module = durable_app
    host.clock.auto = False  # hold the 5-minute timeout still while the test raises the event
    iid = durable.start("counter")
    module.RELEASE.set()
    poll(
        f"{durable.base}/instances/{iid}",
        until=lambda r: (r.json()["customStatus"] or {}).get("generation") == 1,
    )
    assert durable.raise_event(iid, "nudge", {"late": True}).status == 202
    status = durable.wait(iid)
    assert status["output"] == {"generation": 1, "total": 20, "nudged": True}


def test_pending_timer_survives_a_restart(devhost_factory: Callable[..., DevHost], tmp_path: Path) -> None:
    """A durable timer pending when devhost stops fires on the next devhost started on the same state."""
    import sys

    state = tmp_path / "timers.sqlite"
    first = devhost_factory("durable_app", app_dir=APPS, state_path=state)
    first.clock.auto = False
    Durable(first).start("sleeper", None, "nap")
    poll(
        f"{Durable(first).base}/instances/nap?showHistory=true",
        until=lambda r: any(e["EventType"] == "TimerCreated" for e in r.json()["historyEvents"]),
    )
    first.stop()
    sys.modules["durable_app"].SIDE_EFFECTS.clear()
    second = devhost_factory("durable_app", app_dir=APPS, state_path=state)
    status = Durable(second).wait("nap")
    assert status["runtimeStatus"] == "Completed"
    assert sys.modules["durable_app"].SIDE_EFFECTS == []  # the activity before the timer did not run again
