"""Test helpers: an in-process devhost on a free loopback port, with a virtual clock by default."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from devhost.host import DevHost

__all__ = ["DevHost", "run_devhost"]


@contextmanager
def run_devhost(
    app: str = "function_app",
    *,
    clock: Literal["virtual", "real"] = "virtual",
    state_path: Path | None = None,
    port: int = 0,
    determinism_check: bool = True,
    function_key: str | None = None,
    app_dir: Path | None = None,
    timers: bool = True,
    queues: bool = True,
) -> Iterator[DevHost]:
    """Start devhost for `app` (a module importable from `app_dir`, default: the cwd); stop it afterwards.

    The yielded DevHost has `.url`, `.clock` (`.now()`, `.advance()`), `.wait_idle(timeout)`, `.faults`,
    `.stats()` and `.stop()`. Importing the same app module again in one process reuses it.
    """
    host = DevHost(
        app,
        app_dir=app_dir,
        port=port,
        clock=clock,
        state_path=state_path,
        determinism_check=determinism_check,
        function_key=function_key,
        timers=timers,
        queues=queues,
    )
    host.start()
    try:
        yield host
    finally:
        host.stop()
