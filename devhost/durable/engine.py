"""The Durable host protocol: orchestrator episodes through the SDK's handle(), activities, timers, events.

It mirrors what the Durable extension + DTFx do for an out-of-proc (Python) app: it keeps each instance's
history, batches new events into an episode (OrchestratorStarted, new events, OrchestratorCompleted), sends
the whole history to the orchestrator function (replay schema V3, as the current extension negotiates),
reads the actions it returns and schedules the new ones with event ids in DTFx's sequence.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import contextlib
import json
import logging
import time
import traceback
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from devhost.clock import Clock, VirtualClock
from devhost.durable import history as h
from devhost.durable.store import Instance, MemoryStore, RetryState, WorkItem
from devhost.faults import Faults
from devhost.invoke import invoke, thread_pool
from devhost.loader import FunctionSpec, LoadedApp
from devhost.redact import redact

log = logging.getLogger("devhost.durable")

# The extension tells the SDK it speaks replay schema V3 (upperSchemaVersion V2 for old SDKs); long timers are
# split into 3-day pieces beyond 6 days, as with the Azure Storage backend.
CONTEXT_SCHEMA = {
    "upperSchemaVersion": 1,
    "upperSchemaVersionNew": 2,
    "maximumShortTimerDuration": "6.00:00:00",
    "longRunningTimerIntervalDuration": "3.00:00:00",
    "defaultHttpAsyncRequestSleepTimeMillseconds": 30000,
}
OUT_OF_PROC_MARKER = "\n\n$OutOfProcData$:"
# Action types (azure.durable_functions.models.actions.ActionType).
CALL_ACTIVITY, CALL_ACTIVITY_RETRY, CALL_SUB, CALL_SUB_RETRY, CONTINUE_AS_NEW, CREATE_TIMER, WAIT_EVENT = (
    range(7)
)
CALL_ENTITY, CALL_HTTP, SIGNAL_ENTITY, SCHEDULED_SIGNAL, WHEN_ANY, WHEN_ALL = 7, 8, 9, 10, 11, 12
_UNSUPPORTED = {
    CALL_ENTITY: "durable entities (call_entity)",
    CALL_HTTP: "call_http (durable HTTP)",
    SIGNAL_ENTITY: "durable entities (signal_entity)",
    SCHEDULED_SIGNAL: "durable entities",
}
_ACTION_NAMES = {
    0: "CallActivity",
    1: "CallActivityWithRetry",
    2: "CallSubOrchestrator",
    3: "CallSubOrchestratorWithRetry",
    4: "ContinueAsNew",
    5: "CreateTimer",
    6: "WaitForExternalEvent",
    7: "CallEntity",
    8: "CallHttp",
    9: "SignalEntity",
    10: "ScheduledSignalEntity",
}
ACTIVE = frozenset({"Pending", "Running", "ContinuedAsNew"})


class DurableError(Exception):
    """A client-facing failure with the HTTP status the Durable HTTP API answers with."""

    status = 400


class UnknownFunction(DurableError):
    """No orchestrator of that name (the extension answers 400)."""

    status = 400


class InstanceExists(DurableError):
    """Starting an id whose instance is Pending/Running (the extension answers 409)."""

    status = 409


class NotFound(DurableError):
    """No such instance."""

    status = 404


class Gone(DurableError):
    """The instance already finished."""

    status = 410


class NotTerminal(DurableError):
    """Purging an instance that is still running (the extension answers 412)."""

    status = 412


# How many finished executions an instance's log keeps, and how many of the newest keep their history.
EXECUTIONS_KEPT = 5_000
HISTORIES_KEPT = 20


@dataclass
class Execution:
    """One finished execution of an instance (a `continue_as_new` ends one): what its history cost."""

    execution_id: str
    status: str
    events: int
    episodes: int
    replay_cpu_ms: float
    history: list[dict[str, Any]] | None = None

    def as_dict(self, with_history: bool = False) -> dict[str, Any]:
        """JSON-able view (the history only when asked for and still kept)."""
        data: dict[str, Any] = {"execution_id": self.execution_id, "status": self.status, "events": self.events,
                                "episodes": self.episodes, "replay_cpu_ms": round(self.replay_cpu_ms, 3)}
        if with_history:
            data["history"] = self.history
        return data


@dataclass
class Stats:
    """Counters exposed at GET /_devhost/stats."""

    episodes: int = 0
    replay_cpu_ms: float = 0.0
    activities_run: int = 0
    activity_crashes: int = 0
    activity_failures: int = 0
    instances_started: int = 0
    non_deterministic: int = 0
    per_activity: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-able view."""
        return {
            "episodes": self.episodes,
            "replay_cpu_ms": round(self.replay_cpu_ms, 3),
            "activities_run": self.activities_run,
            "activity_crashes": self.activity_crashes,
            "activity_failures": self.activity_failures,
            "instances_started": self.instances_started,
            "non_deterministic": self.non_deterministic,
            "per_activity": dict(self.per_activity),
        }


@dataclass
class _Outcome:
    """What one orchestrator invocation returned."""

    state: dict[str, Any] | None
    error: str | None
    cpu_ms: float


def _flatten(actions: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Leaf actions in scheduling order (WhenAll/WhenAny are containers)."""
    leaves: list[dict[str, Any]] = []
    for a in actions:
        if a.get("actionType") in (WHEN_ALL, WHEN_ANY):
            leaves.extend(_flatten(a.get("compoundActions") or []))
        else:
            leaves.append(a)
    return leaves


def _signature(action: dict[str, Any]) -> dict[str, Any]:
    """What identifies an action across replays (cancellation may change, the rest may not)."""
    return {k: v for k, v in action.items() if k != "isCanceled"}


def _describe(action: dict[str, Any]) -> str:
    kind = _ACTION_NAMES.get(action.get("actionType", -1), f"action type {action.get('actionType')}")
    target = (
        action.get("functionName")
        or action.get("externalEventName")
        or action.get("fireAt")
        or action.get("instanceId")
        or ""
    )
    extra = f" input={action['input']}" if action.get("input") not in (None, "null") else ""
    return f"{kind}({target!s}){extra}"


class Engine:
    """Durable orchestrations and activities for one loaded app, driven from the host's event loop."""

    def __init__(
        self,
        app: LoadedApp,
        clock: Clock,
        store: MemoryStore,
        faults: Faults,
        *,
        determinism_check: bool = True,
        app_dir: str = ".",
        is_externally_busy: Callable[[], bool] = lambda: False,
    ) -> None:
        self.app = app
        self.clock = clock
        self.store = store
        self.faults = faults
        self.determinism_check = determinism_check
        self.app_dir = app_dir
        self.stats = Stats()
        self.instances: dict[str, Instance] = {}
        self._work: dict[int, WorkItem] = {}
        self._inbox: dict[str, list[int]] = {}
        self._next_work = 1
        self._running_episodes: set[str] = set()
        self._running_activities: set[int] = set()
        self._is_externally_busy = is_externally_busy
        self._wake: asyncio.Event | None = None
        self._changed: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped = False
        self._task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._idle_since: float | None = None
        # Per instance: the running execution's (episodes, replay ms) and the finished executions, so tests
        # and benchmarks can see what each execution (each turn, for a continue-as-new loop) cost.
        self._current: dict[str, list[float]] = {}
        self._executions: dict[str, collections.deque[Execution]] = {}

    # ----- lifecycle -----

    async def start(self) -> None:
        """Load persisted state and begin dispatching."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._changed = asyncio.Event()
        instances, work = self.store.load()
        for inst in instances:
            self.instances[inst.instance_id] = inst
        for item in work:
            self._remember(item)
            self._next_work = max(self._next_work, item.id + 1)
        if work:
            log.info("resumed %d instance(s) with %d pending work item(s)", len(instances), len(work))
        if isinstance(self.clock, VirtualClock):
            self.clock.subscribe(self.kick_threadsafe)
        self._task = asyncio.create_task(self._dispatch(), name="devhost-durable-dispatch")

    async def stop(self) -> None:
        """Stop dispatching; work in flight is abandoned (and re-run by the next host on the same state)."""
        self._stopped = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for task in list(self._tasks):
            task.cancel()
        self.store.close()

    def kick(self) -> None:
        """Wake the dispatcher (call on the host loop)."""
        if self._wake is not None:
            self._wake.set()
        if self._changed is not None:
            self._changed.set()

    def kick_threadsafe(self) -> None:
        """Wake the dispatcher from any thread."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self.kick)

    # ----- idle / clock -----

    def has_runnable(self) -> bool:
        """Whether any episode or activity could start right now."""
        if any(ids and iid not in self._running_episodes for iid, ids in self._inbox.items()):
            return True
        return any(w.kind == "activity" and w.id not in self._running_activities for w in self._work.values())

    def is_busy(self) -> bool:
        """Anything running or runnable (durable or not)."""
        return bool(
            self._running_episodes
            or self._running_activities
            or self.has_runnable()
            or self._is_externally_busy()
        )

    def next_timer(self) -> datetime | None:
        """When the earliest pending timer is due."""
        dues = [h.parse_time(w.due) for w in self._work.values() if w.kind == "timer" and w.due]
        return min(dues) if dues else None

    def quiescent(self) -> bool:
        """Idle, and (with an auto-advancing virtual clock) no timer left to jump to."""
        if self.is_busy():
            return False
        clock = self.clock
        if isinstance(clock, VirtualClock) and clock.auto:
            due = self.next_timer()
            return due is None
        return True

    async def wait_quiescent(self) -> None:
        """Return once `quiescent()` holds."""
        assert self._changed is not None
        while not self.quiescent():
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=0.05)

    # ----- dispatcher -----

    async def _dispatch(self) -> None:
        assert self._wake is not None
        while not self._stopped:
            self._wake.clear()
            try:
                self._fire_due_timers()
                self._start_runnable()
            except Exception:
                log.exception("devhost dispatcher error")
            timeout = self._sleep_for()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=timeout)

    def _sleep_for(self) -> float | None:
        due = self.next_timer()
        clock = self.clock
        if isinstance(clock, VirtualClock):
            if due is None or not clock.auto:
                self._idle_since = None
                return None
            if self.is_busy():
                self._idle_since = None
                return 0.05
            # Idle: after a short settle (so a request that is about to arrive lands first) jump to the timer.
            now = time.monotonic()
            if self._idle_since is None:
                self._idle_since = now
                return 0.01
            if now - self._idle_since >= 0.01:
                self._idle_since = None
                log.debug("virtual clock jumps to %s", due)
                clock.advance_to(due)
                return 0
            return 0.01
        if due is None:
            return None
        return max(0.0, min((due - clock.now()).total_seconds(), 60.0))

    def _fire_due_timers(self) -> None:
        now = self.clock.now()
        due = [w for w in self._work.values() if w.kind == "timer" and w.due and h.parse_time(w.due) <= now]
        for timer in sorted(due, key=lambda w: (w.due or "", w.id)):
            self._forget(timer)
            inst = self.instances.get(timer.instance_id)
            if (
                inst is None
                or inst.execution_id != timer.payload["execution_id"]
                or inst.status not in ACTIVE
            ):
                continue
            fired = h.event(
                h.TIMER_FIRED, now, TimerId=timer.payload["timer_id"], FireAt=timer.payload["fire_at"]
            )
            self._enqueue(
                inst.instance_id, {"type": "completion", "execution_id": inst.execution_id, "event": fired}
            )
        if due:
            self.store.commit()

    def _start_runnable(self) -> None:
        for iid, ids in list(self._inbox.items()):
            if ids and iid not in self._running_episodes:
                self._running_episodes.add(iid)
                self._spawn(self._episode(iid))
        for item in list(self._work.values()):
            if item.kind == "activity" and item.id not in self._running_activities:
                self._running_activities.add(item.id)
                self._spawn(self._activity(item))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ----- work bookkeeping -----

    def _remember(self, item: WorkItem) -> None:
        self._work[item.id] = item
        if item.kind == "message":
            self._inbox.setdefault(item.instance_id, []).append(item.id)

    def _forget(self, item: WorkItem) -> None:
        self._work.pop(item.id, None)
        if item.kind == "message":
            ids = self._inbox.get(item.instance_id)
            if ids and item.id in ids:
                ids.remove(item.id)
        self.store.delete_work(item.id)

    def _add_work(
        self, kind: str, instance_id: str, payload: dict[str, Any], due: str | None = None
    ) -> WorkItem:
        item = WorkItem(id=self._next_work, kind=kind, instance_id=instance_id, payload=payload, due=due)  # type: ignore[arg-type]
        self._next_work += 1
        self._remember(item)
        self.store.add_work(item)
        return item

    def _enqueue(self, instance_id: str, message: dict[str, Any]) -> None:
        self._add_work("message", instance_id, message)
        self.kick()

    def _drop_pending(self, instance_id: str, kinds: tuple[str, ...] = ("timer", "message")) -> None:
        for item in [w for w in self._work.values() if w.instance_id == instance_id and w.kind in kinds]:
            self._forget(item)

    # ----- client operations (Durable HTTP API) -----

    def start_instance(
        self,
        name: str,
        instance_id: str | None,
        input_text: str | None,
        version: str = "",
        parent: dict[str, Any] | None = None,
    ) -> str:
        """Create (or replace a finished) instance and queue its ExecutionStarted; returns the id."""
        spec = self.app.orchestrator(name)
        if spec is None:
            raise UnknownFunction(
                f"The function '{name}' doesn't exist, is disabled, or is not an orchestrator "
                "function. Additional info: devhost found no orchestrationTrigger function of "
                "that name."
            )
        iid = instance_id or uuid.uuid4().hex
        existing = self.instances.get(iid)
        if existing is not None and existing.status in ACTIVE:
            raise InstanceExists(
                f"An Orchestration instance with the status {existing.status} already exists."
            )
        if existing is not None:
            self._drop_pending(iid)
        now = h.fmt_time(self.clock.now())
        inst = Instance(
            instance_id=iid,
            name=spec.durable_name or name,
            execution_id=uuid.uuid4().hex,
            status="Pending",
            input=input_text,
            created=now,
            last_updated=now,
            version=version,
            parent=parent,
        )
        self.instances[iid] = inst
        self.store.save_instance(inst)
        self._enqueue(iid, self._start_message(inst))
        self.store.commit()
        self.stats.instances_started += 1
        return iid

    def _start_message(self, inst: Instance) -> dict[str, Any]:
        parent = None
        if inst.parent is not None:
            parent = {
                "Name": inst.parent["Name"],
                "TaskScheduleId": inst.parent["TaskScheduleId"],
                "OrchestrationInstance": {
                    "InstanceId": inst.parent["InstanceId"],
                    "ExecutionId": inst.parent["ExecutionId"],
                },
            }
        started = h.event(
            h.EXECUTION_STARTED,
            self.clock.now(),
            Name=inst.name,
            Version=inst.version,
            Input=inst.input,
            ParentInstance=parent,
            Tags=None,
            Correlation=None,
            ScheduledStartTime=None,
            Generation=0,
            OrchestrationInstance={"InstanceId": inst.instance_id, "ExecutionId": inst.execution_id},
        )
        return {"type": "start", "execution_id": inst.execution_id, "event": started}

    def raise_event(self, instance_id: str, name: str, input_text: str | None) -> None:
        """Queue an EventRaised for the instance (delivered to whatever execution is current)."""
        inst = self._get_active(instance_id)
        raised = h.event(h.EVENT_RAISED, self.clock.now(), Name=name, Input=input_text)
        self._enqueue(inst.instance_id, {"type": "event", "event": raised})
        self.store.commit()

    def terminate(self, instance_id: str, reason: str | None) -> None:
        """Queue termination; the instance ends Terminated at its next episode."""
        inst = self._get_active(instance_id)
        self._enqueue(inst.instance_id, {"type": "terminate", "reason": reason})
        self.store.commit()

    def _get_active(self, instance_id: str) -> Instance:
        inst = self.instances.get(instance_id)
        if inst is None:
            raise NotFound(f"No instance with ID '{instance_id}' found.")
        if inst.status not in ACTIVE:
            raise Gone(f"Instance with ID '{instance_id}' is gone: it is {inst.status}.")
        return inst

    def purge(self, instance_id: str) -> int:
        """Delete a finished instance and its history; returns instances deleted."""
        inst = self.instances.get(instance_id)
        if inst is None:
            raise NotFound(f"No instance with ID '{instance_id}' found.")
        if inst.status in ACTIVE:
            raise NotTerminal(
                "Only orchestrations in a terminal state can be purged, but the orchestration with "
                f"instance ID {instance_id} has status {inst.status}"
            )
        self._delete(inst)
        self.store.commit()
        return 1

    def purge_where(self, created_from: datetime, created_to: datetime, statuses: set[str] | None) -> int:
        """Delete instances created in [from, to] with the given statuses (default: every terminal one)."""
        wanted = statuses or set(h.TERMINAL)
        victims = [
            i
            for i in self.instances.values()
            if i.status in wanted and created_from <= h.parse_time(i.created) <= created_to
        ]
        for inst in victims:
            self._delete(inst)
        self.store.commit()
        return len(victims)

    def _archive(self, inst: Instance, status: str, history: list[dict[str, Any]]) -> None:
        episodes, cpu_ms = self._current.pop(inst.instance_id, [0, 0.0])
        log_ = self._executions.setdefault(inst.instance_id, collections.deque(maxlen=EXECUTIONS_KEPT))
        if len(log_) >= HISTORIES_KEPT:
            log_[-HISTORIES_KEPT].history = None
        log_.append(Execution(inst.execution_id, status, len(history), int(episodes), cpu_ms, list(history)))

    def executions(self, instance_id: str) -> list[Execution]:
        """Finished executions of an instance, oldest first (empty once it is purged)."""
        return list(self._executions.get(instance_id, ()))

    def _delete(self, inst: Instance) -> None:
        self._executions.pop(inst.instance_id, None)
        self._current.pop(inst.instance_id, None)
        self.instances.pop(inst.instance_id, None)
        self._drop_pending(inst.instance_id, ("timer", "message", "activity"))
        self._inbox.pop(inst.instance_id, None)
        self.store.delete_instance(inst.instance_id)

    def query(
        self,
        *,
        statuses: set[str] | None,
        created_from: datetime | None,
        created_to: datetime | None,
        prefix: str | None,
        top: int | None,
        token: str | None,
    ) -> tuple[list[Instance], str | None]:
        """Instances matching the filters, oldest first, one page at a time."""
        offset = 0
        if token:
            try:
                offset = int(json.loads(base64.urlsafe_b64decode(token.encode()).decode())["offset"])
            except (ValueError, KeyError, TypeError):
                raise DurableError("x-ms-continuation-token is not a token devhost issued") from None
        rows = [
            i
            for i in self.instances.values()
            if (statuses is None or i.status in statuses)
            and (created_from is None or h.parse_time(i.created) >= created_from)
            and (created_to is None or h.parse_time(i.created) <= created_to)
            and (prefix is None or i.instance_id.startswith(prefix))
        ]
        rows.sort(key=lambda i: (i.created, i.instance_id))
        page = rows[offset : offset + top] if top else rows[offset:]
        next_offset = offset + len(page)
        next_token = None
        if top and next_offset < len(rows):
            next_token = base64.urlsafe_b64encode(json.dumps({"offset": next_offset}).encode()).decode()
        return page, next_token

    def status_payload(
        self,
        inst: Instance,
        *,
        show_history: bool = False,
        show_history_output: bool = False,
        show_input: bool = True,
    ) -> dict[str, Any]:
        """The status JSON the extension returns for an instance."""
        body: dict[str, Any] = {
            "name": inst.name,
            "instanceId": inst.instance_id,
            "runtimeStatus": inst.status,
            "input": h.loads_or_none(inst.input) if show_input else None,
            "customStatus": h.loads_or_none(inst.custom_status),
            "output": h.loads_or_none(inst.output),
            "createdTime": h.fmt_status_time(h.parse_time(inst.created)),
            "lastUpdatedTime": h.fmt_status_time(h.parse_time(inst.last_updated)),
        }
        if show_history:
            body["historyEvents"] = h.status_history(inst.history, show_history_output)
        return body

    # ----- episodes -----

    async def _episode(self, instance_id: str) -> None:
        try:
            await self._run_episode(instance_id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.error("episode of %s failed inside devhost: %s", instance_id, redact(traceback.format_exc()))
            inst = self.instances.get(instance_id)
            if inst is not None and inst.status in ACTIVE and not self._stopped:
                self._finish(
                    inst, "Failed", json.dumps(f"devhost internal error: {exc}"), self.clock.now(), []
                )
                self.store.save_instance(inst)
                self.store.commit()
        finally:
            self._running_episodes.discard(instance_id)
            self.kick()

    async def _run_episode(self, instance_id: str) -> None:
        inst = self.instances.get(instance_id)
        ids = list(self._inbox.get(instance_id, []))
        messages = [self._work[i] for i in ids if i in self._work]
        if inst is None or not messages or inst.status not in ACTIVE:
            for m in messages:
                self._forget(m)
            self.store.commit()
            return
        now = self.clock.now()
        terminate = next((m for m in messages if m.payload["type"] == "terminate"), None)
        if terminate is not None:
            reason = terminate.payload.get("reason")
            events = [
                h.event(h.ORCHESTRATOR_STARTED, now),
                h.event(h.EXECUTION_TERMINATED, now, Input=json.dumps(reason)),
                h.event(
                    h.EXECUTION_COMPLETED, now, OrchestrationStatus="Terminated", Result=json.dumps(reason)
                ),
            ]
            for m in messages:
                self._forget(m)
            self._finish(inst, "Terminated", json.dumps(reason), now, events)
            self.store.save_instance(inst)
            self.store.commit()
            return
        start = next(
            (
                m
                for m in messages
                if m.payload["type"] == "start" and m.payload["execution_id"] == inst.execution_id
            ),
            None,
        )
        new_events: list[dict[str, Any]] = []
        internal: list[dict[str, Any]] = []
        others: list[dict[str, Any]] = []
        for m in messages:
            kind = m.payload["type"]
            if kind == "event":
                others.append(m.payload["event"])
            elif kind == "completion" and m.payload["execution_id"] == inst.execution_id:
                (internal if self._is_retry_internal(inst, m.payload["event"]) else others).append(
                    m.payload["event"]
                )
        if start is not None:
            new_events.append(start.payload["event"])
        # Retry bookkeeping events go first: the SDK allocates their task ids before resuming user code, so
        # ordering them first keeps DTFx's id sequence and the SDK's in step.
        new_events.extend(internal)
        new_events.extend(others)
        if not new_events or (start is None and not inst.history):
            # Nothing for the orchestrator (e.g. completions for an execution that was replaced).
            for m in messages:
                self._forget(m)
            self.store.commit()
            return
        segment = [h.event(h.ORCHESTRATOR_STARTED, now), *new_events]
        spec = self.app.orchestrator(inst.name)
        if spec is None:
            for m in messages:
                self._forget(m)
            self._finish(
                inst,
                "Failed",
                json.dumps(f"The orchestrator function '{inst.name}' no longer exists."),
                now,
                segment,
            )
            self.store.save_instance(inst)
            self.store.commit()
            return
        context_json = self._context_json(inst, segment)
        outcome = await asyncio.get_running_loop().run_in_executor(
            thread_pool(), _call_orchestrator, spec, context_json
        )
        if self._stopped:
            return
        # Nothing of this episode was written before this point (other commits may have happened meanwhile):
        # the consumed messages, the instance and its new work become durable together, or not at all.
        for m in messages:
            self._forget(m)
        scheduled: list[dict[str, Any]] = []
        for ev in internal:
            self._advance_retry(inst, ev, now, scheduled)
        for ev in others:
            self._settle_retry(inst, ev)
        if start is not None:
            inst.status = "Running"
        self.stats.episodes += 1
        self.stats.replay_cpu_ms += outcome.cpu_ms
        current = self._current.setdefault(instance_id, [0, 0.0])
        current[0] += 1
        current[1] += outcome.cpu_ms
        self._apply(inst, outcome, now, segment + scheduled)
        inst.last_updated = h.fmt_time(now)
        self.store.save_instance(inst)
        self.store.commit()

    def _context_json(self, inst: Instance, segment: list[dict[str, Any]]) -> str:
        past = [{**e, "IsPlayed": True} for e in inst.history]
        new = [{**e, "IsPlayed": False} for e in segment]
        started = next((e for e in (past + new) if e["EventType"] == h.EXECUTION_STARTED), None)
        raw_input = started.get("Input") if started else None
        parent = inst.parent["InstanceId"] if inst.parent else None
        context = {
            "history": past + new,
            "input": h.loads_or_none(raw_input),
            "instanceId": inst.instance_id,
            "isReplaying": bool(past),
            "parentInstanceId": parent,
            **CONTEXT_SCHEMA,
        }
        return json.dumps(context)

    # ----- retries (DTFx RetryInterceptor semantics) -----

    def _is_retry_internal(self, inst: Instance, ev: dict[str, Any]) -> bool:
        kind = ev["EventType"]
        if kind in (h.TASK_FAILED, h.SUB_ORCHESTRATION_FAILED):
            return ev.get("TaskScheduledId") in inst.retries
        if kind == h.TIMER_FIRED:
            group = inst.retries.get(ev.get("TimerId", -1))
            return group is not None and group.attempt < group.max_attempts
        return False

    def _advance_retry(
        self, inst: Instance, ev: dict[str, Any], now: datetime, scheduled: list[dict[str, Any]]
    ) -> None:
        """A failed attempt gets a retry timer (also after the last attempt); a fired one, the next try."""
        if ev["EventType"] == h.TIMER_FIRED:
            group = inst.retries.pop(ev["TimerId"])
            group.attempt += 1
            task_id = self._next_id(inst)
            inst.retries[task_id] = group
            if group.kind == "activity":
                scheduled.append(
                    h.event(h.TASK_SCHEDULED, now, task_id, Name=group.name, Version="", Input=group.input)
                )
                self._schedule_activity(inst, task_id, group.name, group.input, group.attempt)
            else:
                scheduled.append(
                    self._schedule_sub(inst, task_id, group.name, group.instance_id, group.input, now)
                )
            return
        group = inst.retries.pop(ev["TaskScheduledId"])
        timer_id = self._next_id(inst)
        fire_at = now + timedelta(milliseconds=group.interval_ms)
        scheduled.append(h.event(h.TIMER_CREATED, now, timer_id, FireAt=h.fmt_time(fire_at)))
        self._schedule_timer(inst, timer_id, fire_at)
        inst.retries[timer_id] = group

    def _settle_retry(self, inst: Instance, ev: dict[str, Any]) -> None:
        """A successful attempt or the final retry timer ends the retry group."""
        key = ev.get("TaskScheduledId") if ev["EventType"] != h.TIMER_FIRED else ev.get("TimerId")
        if isinstance(key, int):
            inst.retries.pop(key, None)

    # ----- applying the orchestrator's answer -----

    def _apply(self, inst: Instance, outcome: _Outcome, now: datetime, segment: list[dict[str, Any]]) -> None:
        state = outcome.state or {}
        if "customStatus" in state:
            inst.custom_status = json.dumps(state["customStatus"])
        actions = state.get("actions") or []
        if state and "schemaVersion" in state and len(actions) != 1:
            self._fail(
                inst,
                now,
                segment,
                f"With OOProc schema V3, expected actions array to be of length 1 in "
                f"outer layer but got size: {len(actions)}",
            )
            return
        # V2/V3: one list of actions; V1 (older SDKs): one list per yield. Either way, leaves in order.
        leaves = _flatten(a for group in actions for a in group)
        recorded = inst.actions
        if self.determinism_check:
            for i, old in enumerate(recorded):
                new = leaves[i] if i < len(leaves) else None
                if new is None or _signature(new) != old["sig"]:
                    self.stats.non_deterministic += 1
                    emitted = _describe(new) if new is not None else "nothing"
                    self._fail(
                        inst,
                        now,
                        segment,
                        f"non-deterministic orchestrator: on replay, action #{i + 1} was {emitted} but the "
                        f"history recorded {_describe(old['sig'])}. Orchestrator code must make the same "
                        "calls in the same order on every replay.",
                    )
                    return
        for i, leaf in enumerate(leaves[: len(recorded)]):
            if leaf.get("actionType") == CREATE_TIMER and leaf.get("isCanceled"):
                self._cancel_timer(inst, recorded[i].get("id"))
        if outcome.error is not None:
            self._fail(inst, now, segment, outcome.error)
            return
        scheduled: list[dict[str, Any]] = []
        continue_input: Any = None
        continued = False
        for leaf in leaves[len(recorded) :]:
            kind = leaf.get("actionType")
            if kind in _UNSUPPORTED:
                self._fail(
                    inst,
                    now,
                    segment + scheduled,
                    f"devhost does not support {_UNSUPPORTED[kind]}: "
                    f"the orchestrator scheduled {_describe(leaf)}",
                )
                return
            problem = self._schedule(inst, leaf, now, scheduled)
            if problem is not None:
                self._fail(inst, now, segment + scheduled, problem)
                return
            if kind == CONTINUE_AS_NEW:
                continued, continue_input = True, leaf.get("input")
        if state.get("isDone"):
            if continued:
                self._continue_as_new(inst, continue_input, now, segment + scheduled)
                return
            result = json.dumps(state.get("output"))
            events = [
                *segment,
                *scheduled,
                h.event(h.EXECUTION_COMPLETED, now, OrchestrationStatus="Completed", Result=result),
            ]
            self._finish(inst, "Completed", result, now, events)
            return
        inst.history.extend([*segment, *scheduled, h.event(h.ORCHESTRATOR_COMPLETED, now)])

    def _schedule(
        self, inst: Instance, leaf: dict[str, Any], now: datetime, scheduled: list[dict[str, Any]]
    ) -> str | None:
        """Record a new action and start its work; returns an error message if it cannot be honoured."""
        kind = leaf.get("actionType")
        entry: dict[str, Any] = {"sig": _signature(leaf)}
        inst.actions.append(entry)
        if kind in (CALL_ACTIVITY, CALL_ACTIVITY_RETRY):
            name = leaf.get("functionName") or ""
            spec = self.app.activity(name)
            if spec is None:
                return (
                    f"The function '{name}' doesn't exist, is disabled, or is not an activity function. "
                    "Additional info: devhost found no activityTrigger function of that name."
                )
            task_id = entry["id"] = self._next_id(inst)
            scheduled.append(
                h.event(
                    h.TASK_SCHEDULED,
                    now,
                    task_id,
                    Name=spec.durable_name,
                    Version="",
                    Input=leaf.get("input"),
                )
            )
            if kind == CALL_ACTIVITY_RETRY:
                group = self._retry_group("activity", spec.durable_name or name, leaf, None)
                if isinstance(group, str):
                    return group
                inst.retries[task_id] = group
            self._schedule_activity(inst, task_id, spec.durable_name or name, leaf.get("input"), 1)
        elif kind in (CALL_SUB, CALL_SUB_RETRY):
            name = leaf.get("functionName") or ""
            spec = self.app.orchestrator(name)
            if spec is None:
                return (
                    f"The function '{name}' doesn't exist, is disabled, or is not an orchestrator function. "
                    "Additional info: devhost found no orchestrationTrigger function of that name."
                )
            task_id = entry["id"] = self._next_id(inst)
            child_id = leaf.get("instanceId") or f"{inst.instance_id}:{task_id:04d}"
            input_text = json.dumps(leaf.get("input")) if leaf.get("input") is not None else None
            if kind == CALL_SUB_RETRY:
                group = self._retry_group("suborch", spec.durable_name or name, leaf, child_id)
                if isinstance(group, str):
                    return group
                group.input = input_text
                inst.retries[task_id] = group
            scheduled.append(
                self._schedule_sub(
                    inst,
                    task_id,
                    spec.durable_name or name,
                    child_id,
                    input_text,
                    now,
                    leaf.get("version") or "",
                )
            )
        elif kind == CREATE_TIMER:
            timer_id = entry["id"] = self._next_id(inst)
            fire_at = h.parse_time(leaf["fireAt"])
            scheduled.append(h.event(h.TIMER_CREATED, now, timer_id, FireAt=h.fmt_time(fire_at)))
            if not leaf.get("isCanceled"):
                self._schedule_timer(inst, timer_id, fire_at)
        elif kind in (WAIT_EVENT, CONTINUE_AS_NEW):
            pass
        else:
            return f"devhost does not understand action type {kind!r}: {_describe(leaf)}"
        return None

    def _retry_group(
        self, kind: str, name: str, leaf: dict[str, Any], child_id: str | None
    ) -> RetryState | str:
        options = leaf.get("retryOptions") or {}
        interval = options.get("firstRetryIntervalInMilliseconds")
        attempts = options.get("maxNumberOfAttempts")
        if not isinstance(interval, int) or interval <= 0:
            return f"retry options for '{name}': firstRetryIntervalInMilliseconds must be greater than 0"
        if not isinstance(attempts, int) or attempts < 1:
            return f"retry options for '{name}': maxNumberOfAttempts must be at least 1"
        return RetryState(
            kind="activity" if kind == "activity" else "suborch",
            name=name,
            input=leaf.get("input"),
            max_attempts=attempts,
            interval_ms=interval,
            instance_id=child_id,
        )

    def _next_id(self, inst: Instance) -> int:
        value = inst.next_id
        inst.next_id += 1
        return value

    def _schedule_activity(
        self, inst: Instance, task_id: int, name: str, input_text: str | None, attempt: int
    ) -> None:
        self._add_work(
            "activity",
            inst.instance_id,
            {
                "execution_id": inst.execution_id,
                "task_id": task_id,
                "name": name,
                "input": input_text,
                "attempt": attempt,
            },
        )

    def _schedule_timer(self, inst: Instance, timer_id: int, fire_at: datetime) -> None:
        self._add_work(
            "timer",
            inst.instance_id,
            {"execution_id": inst.execution_id, "timer_id": timer_id, "fire_at": h.fmt_time(fire_at)},
            due=h.fmt_time(fire_at),
        )

    def _cancel_timer(self, inst: Instance, timer_id: int | None) -> None:
        for item in list(self._work.values()):
            if (
                item.kind == "timer"
                and item.instance_id == inst.instance_id
                and item.payload.get("timer_id") == timer_id
                and item.payload.get("execution_id") == inst.execution_id
            ):
                self._forget(item)

    def _schedule_sub(
        self,
        inst: Instance,
        task_id: int,
        name: str,
        child_id: str | None,
        input_text: str | None,
        now: datetime,
        version: str = "",
    ) -> dict[str, Any]:
        child = child_id or f"{inst.instance_id}:{task_id:04d}"
        created = h.event(
            h.SUB_ORCHESTRATION_CREATED,
            now,
            task_id,
            Name=name,
            InstanceId=child,
            Input=input_text,
            Version=version,
        )
        parent = {
            "InstanceId": inst.instance_id,
            "ExecutionId": inst.execution_id,
            "Name": inst.name,
            "TaskScheduleId": task_id,
        }
        try:
            self.start_instance(name, child, input_text, version, parent=parent)
        except DurableError as exc:
            failed = h.event(
                h.SUB_ORCHESTRATION_FAILED, now, TaskScheduledId=task_id, Reason=str(exc), Details=None
            )
            self._enqueue(
                inst.instance_id, {"type": "completion", "execution_id": inst.execution_id, "event": failed}
            )
        return created

    def _fail(self, inst: Instance, now: datetime, segment: list[dict[str, Any]], error: str) -> None:
        message = f"Orchestrator function '{inst.name}' failed: {error}"
        log.warning("%s", redact(message))
        events = [
            *segment,
            h.event(h.EXECUTION_COMPLETED, now, OrchestrationStatus="Failed", Result=json.dumps(message)),
        ]
        self._finish(inst, "Failed", json.dumps(message), now, events)

    def _finish(
        self, inst: Instance, status: str, output: str | None, now: datetime, events: list[dict[str, Any]]
    ) -> None:
        inst.history.extend([*events, h.event(h.ORCHESTRATOR_COMPLETED, now)])
        self._archive(inst, status, inst.history)
        inst.status = status
        inst.output = output
        inst.last_updated = h.fmt_time(now)
        self._drop_pending(inst.instance_id, ("timer",))
        if inst.parent is not None:
            parent = self.instances.get(inst.parent["InstanceId"])
            if (
                parent is not None
                and parent.execution_id == inst.parent["ExecutionId"]
                and parent.status in ACTIVE
            ):
                task_id = inst.parent["TaskScheduleId"]
                if status == "Completed":
                    done = h.event(h.SUB_ORCHESTRATION_COMPLETED, now, TaskScheduledId=task_id, Result=output)
                else:
                    reason = h.loads_or_none(output)
                    done = h.event(
                        h.SUB_ORCHESTRATION_FAILED,
                        now,
                        TaskScheduledId=task_id,
                        Reason=reason if isinstance(reason, str) else json.dumps(reason),
                        Details=None,
                    )
                self._enqueue(
                    parent.instance_id,
                    {"type": "completion", "execution_id": parent.execution_id, "event": done},
                )

    def _continue_as_new(
        self, inst: Instance, action_input: Any, now: datetime, segment: list[dict[str, Any]]
    ) -> None:
        """Start a fresh execution; events buffered in the old history are discarded (Python has no
        preserveUnprocessedEvents), while messages still queued reach the new execution."""
        self._drop_pending(inst.instance_id, ("timer",))
        self._archive(inst, "ContinuedAsNew", [*inst.history, *segment, h.event(h.ORCHESTRATOR_COMPLETED, now)])
        inst.history = []
        inst.actions = []
        inst.retries = {}
        inst.next_id = 0
        inst.execution_id = uuid.uuid4().hex
        inst.input = json.dumps(action_input) if action_input is not None else None
        inst.status = "ContinuedAsNew"
        inst.output = None
        inst.last_updated = h.fmt_time(now)
        self._enqueue(inst.instance_id, self._start_message(inst))

    # ----- activities -----

    async def _activity(self, item: WorkItem) -> None:
        payload = item.payload
        name = payload["name"]
        try:
            inst = self.instances.get(item.instance_id)
            spec = self.app.activity(name)
            event: dict[str, Any] | None = None
            if spec is None:
                event = self._task_failed(payload, "devhost", f"activity '{name}' no longer exists")
            elif self.faults.take(name, "fail"):
                self.stats.activity_failures += 1
                event = self._task_failed(
                    payload,
                    f"Activity function '{name}' failed: devhost injected fault",
                    json.dumps(
                        {
                            "type": "DevhostInjectedFault",
                            "message": "failure injected by POST /_devhost/faults",
                        }
                    ),
                )
            else:
                event = await self._run_activity_body(spec, name, payload)
                if event is None:
                    return  # crashed after its side effect: the work item stays and runs again
            if self._stopped:
                return
            if item.id not in self._work:
                return
            self._forget(item)
            inst = self.instances.get(item.instance_id)
            if inst is not None and inst.execution_id == payload["execution_id"] and inst.status in ACTIVE:
                self._enqueue(
                    inst.instance_id,
                    {"type": "completion", "execution_id": payload["execution_id"], "event": event},
                )
            self.store.commit()
        finally:
            self._running_activities.discard(item.id)
            self.kick()

    async def _run_activity_body(
        self, spec: FunctionSpec, name: str, payload: dict[str, Any]
    ) -> dict[str, Any] | None:
        from azure.functions import meta

        self.stats.activities_run += 1
        self.stats.per_activity[name] = self.stats.per_activity.get(name, 0) + 1
        try:
            inv = await invoke(spec, meta.Datum(type="json", value=payload["input"]), app_dir=self.app_dir)
        except Exception as exc:
            self.stats.activity_failures += 1
            log.warning("activity %s failed: %s", name, redact(f"{type(exc).__name__}: {exc}"))
            return self._task_failed(
                payload,
                f"Activity function '{name}' failed: {type(exc).__name__}: {exc}",
                json.dumps({"type": type(exc).__name__, "message": str(exc)}),
            )
        if self.faults.take(name, "crash_after"):
            self.stats.activity_crashes += 1
            log.warning(
                "activity %s: devhost fault crash_after: result discarded, the activity runs again", name
            )
            return None
        result = inv.return_datum.value if inv.return_datum is not None else "null"
        return h.event(h.TASK_COMPLETED, self.clock.now(), TaskScheduledId=payload["task_id"], Result=result)

    def _task_failed(self, payload: dict[str, Any], reason: str, details: str | None) -> dict[str, Any]:
        return h.event(
            h.TASK_FAILED,
            self.clock.now(),
            TaskScheduledId=payload["task_id"],
            Reason=reason,
            Details=details,
        )


def _call_orchestrator(spec: FunctionSpec, context_json: str) -> _Outcome:
    """One orchestrator invocation on a worker thread, through the orchestrationTrigger converter."""
    from azure.functions import meta

    converter = meta.get_binding_registry().get("orchestrationTrigger")
    start = time.thread_time()
    try:
        context = converter.decode(meta.Datum(type="string", value=context_json), trigger_metadata={})
        returned = spec.func(**{spec.trigger.name: context})
        datum = converter.encode(returned, expected_type=None)
        cpu = (time.thread_time() - start) * 1000
        state = json.loads(datum.value)
        return _Outcome(state=state, error=None, cpu_ms=cpu)
    except Exception as exc:
        cpu = (time.thread_time() - start) * 1000
        message = str(exc)
        state = None
        if OUT_OF_PROC_MARKER in message:
            head, _, tail = message.partition(OUT_OF_PROC_MARKER)
            try:
                state = json.loads(tail)
            except ValueError:
                state = None
            error = (state or {}).get("error") or head
        else:
            error = f"{type(exc).__name__}: {message}"
        return _Outcome(state=state, error=error, cpu_ms=cpu)
