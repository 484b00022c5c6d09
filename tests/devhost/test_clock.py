"""The virtual clock moves only when told."""

from __future__ import annotations

from datetime import timedelta

import pytest

from devhost.clock import VirtualClock, make_clock


def test_virtual_clock_stands_still_until_advanced() -> None:
    """now() is constant until advance()/advance_to(), which move it forward only."""
    clock = VirtualClock()
    start = clock.now()
    assert clock.now() == start
    assert clock.advance(60) == start + timedelta(minutes=1)
    assert clock.advance_to(start) == start + timedelta(minutes=1)
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-1)


def test_make_clock_rejects_unknown_kinds() -> None:
    """Only 'virtual' and 'real' exist."""
    assert make_clock("real").kind == "real"
    with pytest.raises(ValueError, match="unknown clock"):
        make_clock("fast")  # type: ignore[arg-type]
