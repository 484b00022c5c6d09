"""Run the emulator in-process on a background thread (for tests and the other local pieces)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import Any, TypeVar

from aiohttp import web

from . import control
from .app import create_app
from .control_models import Fault, Script
from .state import Clock, EmulatorConfig, EmulatorState

T = TypeVar("T")


class EmulatorHandle:
    """A running emulator: its `url`, `api_key`, `state` (white-box only) and control helpers."""

    def __init__(self, config: EmulatorConfig, clock: Clock | None, host: str, port: int) -> None:
        self.api_key = config.api_key
        self.state = EmulatorState(config, clock)
        self._host = host
        self._requested_port = port
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._ready: Future[int] = Future()
        self._thread = threading.Thread(target=self._serve, name="emulator", daemon=True)
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

    def start(self) -> None:
        self._thread.start()
        self.port = self._ready.result(timeout=30)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._start_site())
        except BaseException as error:  # the caller sees why the server could not start
            self._loop.run_until_complete(self._stop_site())
            self._loop.close()
            self._ready.set_exception(error)
            return
        self._loop.run_forever()
        self._loop.run_until_complete(self._stop_site())
        self._loop.close()

    async def _start_site(self) -> None:
        # A short shutdown: a request held by a delay fault must not keep a test waiting for it.
        self._runner = web.AppRunner(create_app(self.state), access_log=None, handle_signals=False,
                                     shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._requested_port)
        await site.start()
        sockets = getattr(site._server, "sockets", None)
        assert sockets, "the site did not bind"
        self._ready.set_result(sockets[0].getsockname()[1])

    async def _stop_site(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def stop(self) -> None:
        """Stop serving and join the thread; safe to call twice."""
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=30)

    def call(self, function: Callable[[EmulatorState], T]) -> T:
        """Run `function(state)` on the emulator's loop, the only place state is touched."""

        async def run() -> T:
            return function(self.state)

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout=30)

    def add_script(self, script: dict[str, Any]) -> Script:
        """Queue a script, as `POST /_emulator/script` does."""
        return self.call(lambda state: control.add_script(state, script))

    def add_fault(self, fault: dict[str, Any]) -> Fault:
        """Inject a fault, as `POST /_emulator/faults` does."""
        return self.call(lambda state: control.add_fault(state, fault))

    def stats(self) -> dict[str, Any]:
        """What `GET /_emulator/stats` answers."""
        return self.call(lambda state: state.stats.to_json(len(state.scripts)))

    def reset(self) -> None:
        self.call(lambda state: state.reset())


@contextlib.contextmanager
def run_emulator(
    port: int = 0,
    *,
    api_key: str = "emulator-key",
    clock: Callable[[], float] | None = None,
    polls_before_done: int = 1,
    poll_after_ms: int = 100,
    run_expires_seconds: float = 600.0,
    strict: bool = False,
    ingestion_polls: int = 1,
    host: str = "127.0.0.1",
) -> Iterator[EmulatorHandle]:
    """An emulator serving on `host:port` (0 = a free port) until the block ends.

    `clock` (seconds since the epoch, default `time.time`) drives every timestamp, expiry and duration.
    """
    config = EmulatorConfig(
        api_key=api_key,
        polls_before_done=polls_before_done,
        poll_after_ms=poll_after_ms,
        run_expires_seconds=run_expires_seconds,
        strict=strict,
        ingestion_polls=ingestion_polls,
    )
    handle = EmulatorHandle(config, clock, host, port)
    handle.start()
    try:
        yield handle
    finally:
        handle.stop()
