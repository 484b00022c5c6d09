"""DevHost: loads the app and serves it on loopback, on a background thread with its own event loop."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import os
import threading
import traceback
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from aiohttp import web

from devhost.clock import Clock, ClockKind, VirtualClock, make_clock
from devhost.config import HostConfig, load_host_config
from devhost.durable.api import DurableApi
from devhost.durable.engine import Engine
from devhost.durable.store import MemoryStore, SqliteStore
from devhost.faults import Faults
from devhost.invoke import invoke
from devhost.loader import FunctionSpec, LoadedApp, load_app
from devhost.redact import redact
from devhost.server import HostServer

log = logging.getLogger("devhost")


class DevHost:
    """A running (or startable) local Functions + Durable host for one app module."""

    def __init__(
        self,
        app: str = "function_app",
        *,
        app_dir: Path | str | None = None,
        port: int = 7071,
        clock: ClockKind = "real",
        state_path: Path | str | None = None,
        determinism_check: bool = True,
        function_key: str | None = None,
        rpc_port: int = 0,
        timers: bool = True,
        queues: bool = True,
    ) -> None:
        self.module = app
        self.app_dir = Path(app_dir) if app_dir is not None else Path.cwd()
        self.port = port
        self.rpc_port = rpc_port
        self.clock: Clock = make_clock(clock)
        self.state_path = Path(state_path) if state_path is not None else None
        self.determinism_check = determinism_check
        self.function_key = function_key or None
        self.enable_timers = timers
        self.enable_queues = queues
        self.faults = Faults()
        self.functions_run = 0
        self.functions_failed = 0
        self.host_config = HostConfig()
        self.loaded: LoadedApp
        self.engine: Engine
        self.durable_api: DurableApi
        self.http_functions: list[FunctionSpec] = []
        self.url = ""
        self.rpc_url = ""
        self._busy = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runners: list[web.AppRunner] = []
        self._background: set[asyncio.Task[Any]] = set()
        self._triggers: list[Any] = []
        self._stopped = threading.Event()

    # ----- lifecycle -----

    def start(self, timeout: float = 60.0) -> DevHost:
        """Load the app and start serving; raises the start-up error if there is one."""
        if self._thread is not None:
            raise RuntimeError("this DevHost is already started")
        ready: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._thread = threading.Thread(
            target=self._run, args=(ready,), name=f"devhost-{self.module}", daemon=True
        )
        self._thread.start()
        try:
            ready.result(timeout=timeout)
        except BaseException:
            self._thread.join(timeout=5)
            self._thread = None
            raise
        return self

    def _run(self, ready: concurrent.futures.Future[None]) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._startup())
        except BaseException as exc:
            ready.set_exception(exc)
            loop.run_until_complete(self._shutdown())
            loop.close()
            return
        ready.set_result(None)
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self._shutdown())
            loop.close()
            self._stopped.set()

    async def _startup(self) -> None:
        self.host_config = load_host_config(self.app_dir)
        self.loaded = load_app(self.module, self.app_dir)
        self.http_functions = sorted(
            self.loaded.by_trigger("httpTrigger"), key=lambda f: f.route.specificity if f.route else (9, 0)
        )
        store = SqliteStore(self.state_path) if self.state_path is not None else MemoryStore()
        self.engine = Engine(
            self.loaded,
            self.clock,
            store,
            self.faults,
            determinism_check=self.determinism_check,
            app_dir=str(self.app_dir),
            is_externally_busy=lambda: self._busy > 0,
        )
        self.durable_api = DurableApi(self.engine, self.host_config.hub_name, self.function_key)
        server = HostServer(self)
        main = web.AppRunner(server.main_app(), access_log=None)
        rpc = web.AppRunner(server.rpc_app(), access_log=None)
        for runner in (main, rpc):
            await runner.setup()
            self._runners.append(runner)
        main_site = web.TCPSite(main, "127.0.0.1", self.port, reuse_address=True)
        await main_site.start()
        rpc_site = web.TCPSite(rpc, "127.0.0.1", self.rpc_port, reuse_address=True)
        await rpc_site.start()
        self.port = _bound_port(main)
        self.rpc_port = _bound_port(rpc)
        self.url = f"http://127.0.0.1:{self.port}"
        self.rpc_url = f"http://127.0.0.1:{self.rpc_port}"
        for spec in self.loaded.by_trigger("entityTrigger"):
            log.warning(
                "function %s is a durable entity: devhost does not run entities (calls to it fail)", spec.name
            )
        await self.engine.start()
        await self._start_triggers()
        log.info(
            "devhost serving %s on %s (%d functions, clock %s)",
            self.module,
            self.url,
            len(self.loaded.functions),
            self.clock.kind,
        )

    async def _start_triggers(self) -> None:
        if self.enable_timers and self.loaded.by_trigger("timerTrigger"):
            from devhost.timers import TimerTriggers

            timers = TimerTriggers(self)
            await timers.start()
            self._triggers.append(timers)
        if self.enable_queues and self.loaded.by_trigger("queueTrigger"):
            from devhost.queues import QueueTriggers

            queues = QueueTriggers(self)
            await queues.start()
            self._triggers.append(queues)

    async def _shutdown(self) -> None:
        for trigger in self._triggers:
            try:
                await trigger.stop()
            except Exception:
                log.exception("stopping a trigger listener failed")
        if hasattr(self, "engine"):
            await self.engine.stop()
        for task in list(self._background):
            task.cancel()
        for runner in self._runners:
            await runner.cleanup()
        self._runners.clear()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop serving; in-flight activities are abandoned (a new host on the same state re-runs them)."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None or loop.is_closed():
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=timeout)
        self._thread = None

    def __enter__(self) -> DevHost:
        return self.start() if self._thread is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ----- used by the server and trigger listeners (host loop) -----

    def busy_begin(self) -> None:
        """A request or non-durable function started (the virtual clock holds still meanwhile)."""
        self._busy += 1

    def busy_end(self) -> None:
        """It ended."""
        self._busy -= 1
        self.engine.kick()

    def client_binding_datum(self, request: Any = None) -> Any:
        """The durableClient binding Datum, pointing at this host's Durable API and RPC endpoint."""
        from azure.functions import meta

        return meta.Datum(type="string", value=self.durable_api.client_binding(self.url, self.rpc_url))

    def run_in_background(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run a coroutine on the host loop, keeping a reference until it ends."""
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def run_function(
        self, spec: FunctionSpec, trigger_datum: Any, metadata: dict[str, Any] | None = None
    ) -> Any:
        """Invoke a non-HTTP function (queue, timer) as the host does, counted as busy; raises on failure."""
        inputs = {
            b.name: self.client_binding_datum()
            for b in spec.bindings
            if b.type == "durableClient" and b.direction == "IN"
        }
        self.busy_begin()
        try:
            return await invoke(
                spec, trigger_datum, trigger_metadata=metadata, inputs=inputs, app_dir=str(self.app_dir)
            )
        except Exception:
            self.functions_failed += 1
            log.error("function %s failed: %s", spec.name, redact(traceback.format_exc()))
            raise
        finally:
            self.functions_run += 1
            self.busy_end()

    async def run_admin(self, spec: FunctionSpec, text: str) -> None:
        """POST /admin/functions/{name}: run a queue or timer function with `text` as its input."""
        from azure.functions import meta

        try:
            if spec.trigger_type == "timerTrigger":
                from devhost.timers import timer_datum

                await self.run_function(spec, timer_datum(past_due=False))
            elif spec.trigger_type == "queueTrigger":
                from devhost.queues import admin_message

                datum, metadata = admin_message(text, self.clock.now())
                result = await self.run_function(spec, datum, metadata)
                await self._write_queue_outputs(spec, result)
            else:
                await self.run_function(spec, meta.Datum(type="string", value=text))
        except Exception:
            return  # already logged

    async def _write_queue_outputs(self, spec: FunctionSpec, result: Any) -> None:
        for trigger in self._triggers:
            writer = getattr(trigger, "write_outputs", None)
            if writer is not None:
                await writer(spec, result)
                return
        from devhost.queues import write_outputs

        await write_outputs(self, spec, result)

    # ----- test-facing API (any thread) -----

    def call(self, coro: Coroutine[Any, Any, Any], timeout: float | None = 30.0) -> Any:
        """Run a coroutine on the host loop from another thread and return its result."""
        if self._loop is None:
            raise RuntimeError("devhost is not running")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Block until nothing runs or is runnable (and, on an auto virtual clock, no timer is left)."""
        try:
            self.call(self.engine.wait_quiescent(), timeout=timeout)
        except concurrent.futures.TimeoutError:
            raise TimeoutError(f"devhost did not become idle within {timeout} s") from None

    def stats(self) -> dict[str, Any]:
        """Episodes, replay CPU ms, activities run and more."""
        data = self.engine.stats.as_dict()
        data.update(
            {
                "functions_run": self.functions_run,
                "functions_failed": self.functions_failed,
                "instances": len(self.engine.instances),
            }
        )
        return data

    def executions(self, instance_id: str, with_history: bool = False) -> list[dict[str, Any]]:
        """Finished executions of an instance, oldest first: events, episodes, replay CPU ms (and history)."""
        return [e.as_dict(with_history) for e in self.engine.executions(instance_id)]

    def clock_info(self) -> dict[str, Any]:
        """What GET /_devhost/clock answers."""
        from devhost.durable.history import fmt_time

        return {
            "kind": self.clock.kind,
            "now": fmt_time(self.clock.now()),
            "auto": bool(getattr(self.clock, "auto", False)),
        }

    def advance(self, seconds: float) -> None:
        """Advance a virtual clock by hand."""
        if not isinstance(self.clock, VirtualClock):
            raise RuntimeError("the clock is real: only a virtual clock can be advanced")
        self.clock.advance(seconds)


def _bound_port(runner: web.AppRunner) -> int:
    for site in runner.sites:
        server = getattr(site, "_server", None)
        if server is not None and server.sockets:
            return int(server.sockets[0].getsockname()[1])
    raise RuntimeError("devhost could not find its listening port")


def env_function_key() -> str | None:
    """DEVHOST_FUNCTION_KEY, if set."""
    return os.environ.get("DEVHOST_FUNCTION_KEY") or None


def dumps(value: Any) -> str:
    """Compact JSON."""
    return json.dumps(value, separators=(",", ":"))
