"""Timer schedules: 6-field NCRONTAB with seconds, TimeSpan intervals, and run_on_startup."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from devhost.loader import LoadError
from devhost.testing import DevHost
from devhost.timers import parse_schedule
from tests.devhost.conftest import APPS


def test_ncrontab_with_seconds() -> None:
    """'*/15 * * * * *' fires every 15 seconds; '0 30 9 * * 1-5' at 09:30:00 on weekdays."""
    start = datetime(2026, 1, 2, 9, 0, 0, tzinfo=UTC)  # a Friday
    assert parse_schedule("*/15 * * * * *").next_after(start) == start + timedelta(seconds=15)
    assert parse_schedule("0 30 9 * * 1-5").next_after(start) == start.replace(minute=30)
    assert parse_schedule("0 30 9 * * 1-5").next_after(start.replace(hour=10)) == datetime(
        2026, 1, 5, 9, 30, tzinfo=UTC
    )


def test_timespan_schedule() -> None:
    """A TimeSpan schedule ('00:05:00') is a fixed interval."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_schedule("00:05:00").next_after(start) == start + timedelta(minutes=5)


@pytest.mark.parametrize("bad", ["* * * * *", "61 * * * * *", "every minute", "00:00:00"])
def test_bad_schedules_are_named(bad: str) -> None:
    """Five-field cron, out-of-range values and junk are load errors naming the schedule."""
    with pytest.raises(LoadError, match="timer"):
        parse_schedule(bad, "timer")


def test_run_on_startup_and_schedule_on_virtual_clock(devhost_factory: Callable[..., DevHost]) -> None:
    """run_on_startup fires once at start; advancing the clock past the schedule fires it again."""
    host = devhost_factory("timer_app", app_dir=APPS)
    module = sys.modules["timer_app"]
    _wait_for(lambda: len(module.RUNS) >= 1)
    assert module.RUNS == [False]
    host.advance(3 * 3600)
    _wait_for(lambda: len(module.RUNS) >= 2)
    assert module.RUNS == [False, True]  # several hourly occurrences were missed: one catch-up run, past due


def _wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met before the deadline"
        time.sleep(0.02)
