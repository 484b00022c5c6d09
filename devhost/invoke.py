"""Calls a function as the Python worker does: Datum in through the azure.functions converters, Datum out."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from devhost.loader import FunctionSpec

# Sync functions run on a thread pool, async ones on one event loop for the whole process (as in the
# worker). The SDK keeps one aiohttp session per process, so every async function must share a loop.
_POOL: concurrent.futures.ThreadPoolExecutor | None = None
_LOOP: asyncio.AbstractEventLoop | None = None
_LOCK = threading.Lock()


def thread_pool() -> concurrent.futures.ThreadPoolExecutor:
    """The process-wide pool sync functions and orchestrator episodes run on."""
    global _POOL
    with _LOCK:
        if _POOL is None:
            _POOL = concurrent.futures.ThreadPoolExecutor(max_workers=32, thread_name_prefix="devhost-fn")
        return _POOL


def worker_loop() -> asyncio.AbstractEventLoop:
    """The process-wide event loop async functions run on, started on first use."""
    global _LOOP
    with _LOCK:
        if _LOOP is None or _LOOP.is_closed():
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="devhost-worker-loop", daemon=True)
            thread.start()
            _LOOP = loop
        return _LOOP


class _Out:
    """The worker's implementation of func.Out[T]."""

    def __init__(self) -> None:
        self._value: Any = None

    def set(self, val: Any) -> None:
        self._value = val

    def get(self) -> Any:
        return self._value


def _make_out() -> Any:
    import azure.functions as func

    class Out(_Out, func.Out):
        pass

    return Out()


class _Context:
    """func.Context as the worker passes it to a `context` parameter."""

    def __init__(self, name: str, directory: str) -> None:
        self._id = str(uuid.uuid4())
        self._name = name
        self._dir = directory
        self._tls = threading.local()

    @property
    def invocation_id(self) -> str:
        return self._id

    @property
    def function_name(self) -> str:
        return self._name

    @property
    def function_directory(self) -> str:
        return self._dir

    @property
    def thread_local_storage(self) -> threading.local:
        return self._tls

    @property
    def trace_context(self) -> Any:
        return None

    @property
    def retry_context(self) -> Any:
        return None


@dataclass
class Invocation:
    """What a function produced: its encoded return value and output bindings."""

    return_datum: Any
    outputs: dict[str, Any]


def _decode(spec: FunctionSpec, binding_type: str, datum: Any, metadata: Mapping[str, Any] | None) -> Any:
    from azure.functions import meta

    converter = meta.get_binding_registry().get(binding_type)
    if converter is None:
        raise RuntimeError(f"function {spec.name!r}: no converter for binding {binding_type!r}")
    return converter.decode(datum, trigger_metadata=dict(metadata or {}))


def _encode(binding_type: str, value: Any, expected: Any = None) -> Any:
    from azure.functions import meta

    converter = meta.get_binding_registry().get(binding_type)
    if converter is None:
        raise RuntimeError(f"no converter for output binding {binding_type!r}")
    return converter.encode(value, expected_type=expected)


async def invoke(
    spec: FunctionSpec,
    trigger_datum: Any,
    *,
    trigger_metadata: Mapping[str, Any] | None = None,
    inputs: Mapping[str, Any] | None = None,
    app_dir: str = ".",
) -> Invocation:
    """Run `spec` with the trigger Datum (and input-binding Datums by name); exceptions propagate."""
    args: dict[str, Any] = {
        spec.trigger.name: _decode(spec, spec.trigger.type, trigger_datum, trigger_metadata)
    }
    outs: dict[str, Any] = {}
    for b in spec.bindings:
        if b.direction == "OUT":
            if b.name != "$return":
                outs[b.name] = args[b.name] = _make_out()
        elif inputs is not None and b.name in inputs:
            args[b.name] = _decode(spec, b.type, inputs[b.name], None)
    if "context" in spec.params and "context" not in args:
        args["context"] = _Context(spec.name, app_dir)
    if spec.is_async:
        future = asyncio.run_coroutine_threadsafe(spec.func(**args), worker_loop())
        result = await asyncio.wrap_future(future)
    else:
        ctx = contextvars.copy_context()
        result = await asyncio.get_running_loop().run_in_executor(
            thread_pool(), lambda: ctx.run(spec.func, **args)
        )
    ret = next((b for b in spec.bindings if b.name == "$return"), None)
    return_datum = None
    if ret is not None:
        return_datum = None if result is None else _encode(ret.type, result, spec.annotations.get("return"))
    elif _implicit_output(spec.trigger.type):
        return_datum = _encode(spec.trigger.type, result, spec.annotations.get("return"))
    elif result is not None:
        raise RuntimeError(f"function {spec.name!r} returned a value but has no $return output binding")
    encoded: dict[str, Any] = {}
    for b in spec.bindings:
        if b.name in outs:
            value = outs[b.name].get()
            if value is not None:
                encoded[b.name] = _encode(b.type, value)
    return Invocation(return_datum, encoded)


def _implicit_output(trigger_type: str) -> bool:
    from azure.functions import meta

    converter = meta.get_binding_registry().get(trigger_type)
    return bool(converter is not None and converter.has_implicit_output())
