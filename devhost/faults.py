"""Fault hooks for tests: make an activity crash after its side effect, or fail, a number of times."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Literal

FaultMode = Literal["crash_after", "fail"]
FAULT_MODES: tuple[FaultMode, ...] = ("crash_after", "fail")


@dataclass(frozen=True)
class Fault:
    """One armed fault: `mode` for the next `times` runs of activity `activity`."""

    activity: str
    mode: FaultMode
    times: int


class Faults:
    """Armed faults, consumed one run at a time (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._left: dict[tuple[str, FaultMode], int] = {}

    def crash_after(self, activity: str, times: int = 1) -> None:
        """The next `times` runs of `activity` run its body, then lose the result as a worker crash would."""
        self.arm(Fault(activity, "crash_after", times))

    def fail(self, activity: str, times: int = 1) -> None:
        """The next `times` runs of `activity` fail with an injected error instead of running."""
        self.arm(Fault(activity, "fail", times))

    def arm(self, fault: Fault) -> None:
        """Arm a fault; validates its fields."""
        if fault.mode not in FAULT_MODES:
            raise ValueError(f"mode must be one of {', '.join(FAULT_MODES)}")
        if not fault.activity:
            raise ValueError("activity must be a non-empty activity name")
        if fault.times < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            key = (fault.activity.lower(), fault.mode)
            self._left[key] = self._left.get(key, 0) + fault.times

    def take(self, activity: str, mode: FaultMode) -> bool:
        """Consume one armed `mode` fault for `activity`; True if there was one."""
        with self._lock:
            key = (activity.lower(), mode)
            left = self._left.get(key, 0)
            if left <= 0:
                return False
            self._left[key] = left - 1
            return True

    def clear(self) -> None:
        """Disarm everything."""
        with self._lock:
            self._left.clear()

    def armed(self) -> list[Fault]:
        """What is still armed."""
        with self._lock:
            return [Fault(a, m, n) for (a, m), n in self._left.items() if n > 0]
