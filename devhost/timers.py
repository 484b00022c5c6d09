"""Timer triggers: 6-field NCRONTAB schedules (with seconds) or TimeSpan intervals, and run_on_startup."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from devhost.loader import FunctionSpec, LoadError

if TYPE_CHECKING:
    from devhost.host import DevHost

log = logging.getLogger("devhost.timers")
_TIMESPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})$")


@dataclass(frozen=True)
class Schedule:
    """A timer schedule: an NCRONTAB expression or a fixed interval."""

    expression: str
    interval: timedelta | None = None

    def next_after(self, when: datetime) -> datetime:
        """The first occurrence strictly after `when`."""
        if self.interval is not None:
            return when + self.interval
        from croniter import croniter

        nxt: datetime = croniter(self.expression, when, second_at_beginning=True).get_next(datetime)
        return nxt


def parse_schedule(expression: str, where: str = "schedule") -> Schedule:
    """Parse a 6-field NCRONTAB (`sec min hour day month dow`) or a TimeSpan like 00:05:00; errors name it."""
    text = expression.strip()
    m = _TIMESPAN.match(text)
    if m:
        days, hours, minutes, seconds = (int(g or 0) for g in m.groups())
        interval = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
        if interval <= timedelta(0):
            raise LoadError(f"{where}: interval {expression!r} must be positive")
        return Schedule(text, interval)
    from croniter import croniter

    if len(text.split()) != 6 or not croniter.is_valid(text, second_at_beginning=True):
        raise LoadError(
            f"{where}: {expression!r} is not a 6-field NCRONTAB expression "
            "('{second} {minute} {hour} {day} {month} {day-of-week}') or a TimeSpan"
        )
    return Schedule(text)


def timer_datum(*, past_due: bool, last: datetime | None = None, next_: datetime | None = None) -> Any:
    """The timerTrigger Datum (TimerInfo JSON) the host sends the worker."""
    from azure.functions import meta

    status = {
        "Last": last.isoformat() if last else None,
        "Next": next_.isoformat() if next_ else None,
        "LastUpdated": (last or datetime.now()).isoformat(),
    }
    info = {"Schedule": {"AdjustForDST": True}, "ScheduleStatus": status, "IsPastDue": past_due}
    return meta.Datum(type="json", value=json.dumps(info))


class TimerTriggers:
    """Runs timer-triggered functions on the host clock (real, or virtual when advanced)."""

    def __init__(self, host: DevHost) -> None:
        self.host = host
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Validate every schedule (loudly), then start the loops."""
        plans = []
        for spec in self.host.loaded.by_trigger("timerTrigger"):
            schedule = parse_schedule(str(spec.trigger.data.get("schedule", "")), f"function {spec.name!r}")
            plans.append((spec, schedule, bool(spec.trigger.data.get("runOnStartup"))))
        for spec, schedule, on_startup in plans:
            self._tasks.append(
                asyncio.create_task(self._loop(spec, schedule, on_startup), name=f"timer-{spec.name}")
            )

    async def stop(self) -> None:
        """Stop the loops."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _loop(self, spec: FunctionSpec, schedule: Schedule, on_startup: bool) -> None:
        clock = self.host.clock
        last: datetime | None = None
        started = clock.now()
        # The schedule is armed from start-up, so a run_on_startup run never pushes the first occurrence back.
        due = schedule.next_after(started)
        if on_startup:
            await self._fire(spec, past_due=False, last=None, next_=due)
            last = started
        while True:
            now = clock.now()
            if now >= due:
                following = schedule.next_after(now)
                # Several occurrences missed (a clock jump or a slow run): one catch-up run marked past due.
                past_due = schedule.next_after(due) <= now
                await self._fire(spec, past_due=past_due, last=last, next_=following)
                last, due = now, following
                continue
            wait = (due - now).total_seconds() if clock.kind == "real" else 0.05
            await asyncio.sleep(min(max(wait, 0.0), 1.0))

    async def _fire(
        self, spec: FunctionSpec, *, past_due: bool, last: datetime | None, next_: datetime | None
    ) -> None:
        try:
            await self.host.run_function(spec, timer_datum(past_due=past_due, last=last, next_=next_))
        except Exception:
            log.debug("timer function %s failed (logged above)", spec.name)
