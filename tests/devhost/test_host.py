"""The DevHost test-facing API: wait_idle, manual clock, stop."""

from __future__ import annotations

import sys
from collections.abc import Callable

import pytest

from devhost.testing import DevHost
from tests.devhost.conftest import APPS, Durable


def test_wait_idle_times_out_while_an_activity_runs(devhost_factory: Callable[..., DevHost]) -> None:
    """wait_idle raises TimeoutError while work is still running, and returns once it is done."""
    host = devhost_factory("durable_app", app_dir=APPS)
    module = sys.modules["durable_app"]
    module.RELEASE.clear()
    module.STARTED.clear()
    try:
        Durable(host).start("resumable", None, "busy-1")
        assert module.STARTED.wait(10)
        with pytest.raises(TimeoutError, match="idle"):
            host.wait_idle(0.2)
    finally:
        module.RELEASE.set()
    host.wait_idle(10)
    assert Durable(host).status("busy-1").json()["runtimeStatus"] == "Completed"


def test_manual_clock_holds_timers_until_advanced(devhost_factory: Callable[..., DevHost]) -> None:
    """With auto-advance off, an hour timer waits for advance(); then the orchestration completes."""
    host = devhost_factory("durable_app", app_dir=APPS)
    host.clock.auto = False  # type: ignore[attr-defined]
    durable = Durable(host)
    iid = durable.start("sleeper")
    host.wait_idle(10)
    assert durable.status(iid).json()["runtimeStatus"] == "Running"
    host.advance(3600)
    assert durable.wait(iid)["runtimeStatus"] == "Completed"


def test_real_clock_cannot_be_advanced_and_stop_is_idempotent(
    devhost_factory: Callable[..., DevHost],
) -> None:
    """advance() is only for the virtual clock; stopping twice is harmless."""
    host = devhost_factory("durable_app", app_dir=APPS, clock="real")
    with pytest.raises(RuntimeError, match="virtual"):
        host.advance(1)
    host.stop()
    host.stop()
