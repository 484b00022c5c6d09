"""Host clocks: the real UTC clock, or a virtual one that jumps to the next timer when the host is idle."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol

ClockKind = Literal["virtual", "real"]


class Clock(Protocol):
    """What the host reads time from."""

    kind: ClockKind

    def now(self) -> datetime:
        """The current UTC time."""
        ...


class RealClock:
    """Wall-clock UTC time; timers wait for real."""

    kind: ClockKind = "real"

    def now(self) -> datetime:
        """The current UTC time."""
        return datetime.now(UTC)


class VirtualClock:
    """Starts at the real now and moves only when told (or when the idle host jumps to its next timer).

    `auto` lets the host advance it on its own when idle; set it to False to step time by hand.
    """

    kind: ClockKind = "virtual"

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime.now(UTC)
        self._lock = threading.Lock()
        self.auto = True
        self._listeners: list[object] = []

    def now(self) -> datetime:
        """The current virtual UTC time."""
        with self._lock:
            return self._now

    def advance(self, delta: timedelta | float) -> datetime:
        """Move time forward by `delta` (a timedelta or seconds) and wake the host; returns the new now."""
        step = delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        if step < timedelta(0):
            raise ValueError("a clock cannot go backwards")
        with self._lock:
            self._now += step
            now = self._now
        self._notify()
        return now

    def advance_to(self, when: datetime) -> datetime:
        """Move time forward to `when` (no-op if it is in the past); returns the new now."""
        with self._lock:
            if when > self._now:
                self._now = when
            now = self._now
        self._notify()
        return now

    def subscribe(self, callback: object) -> None:
        """Call `callback()` after every change (the host uses it to re-check due timers)."""
        self._listeners.append(callback)

    def _notify(self) -> None:
        for callback in list(self._listeners):
            if callable(callback):
                callback()


def make_clock(kind: ClockKind) -> RealClock | VirtualClock:
    """A clock of the given kind."""
    if kind == "virtual":
        return VirtualClock()
    if kind == "real":
        return RealClock()
    raise ValueError(f"unknown clock {kind!r}: use 'virtual' or 'real'")
