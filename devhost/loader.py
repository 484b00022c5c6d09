"""Loads a v2-model app module once and describes its functions and bindings, as the worker indexes them."""

from __future__ import annotations

import importlib
import inspect
import json
import sys
import typing
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devhost.config import ConfigError, resolve_expressions
from devhost.routes import RouteTemplate, compile_route

# Binding fields that may hold %SETTING% expressions (the host resolves these from app settings).
_RESOLVED_FIELDS = ("queueName", "schedule", "route", "path", "taskHub", "hubName")
DURABLE_TRIGGERS = frozenset({"orchestrationTrigger", "activityTrigger", "entityTrigger"})
SUPPORTED_TRIGGERS = frozenset({"httpTrigger", "queueTrigger", "timerTrigger", *DURABLE_TRIGGERS})


class LoadError(RuntimeError):
    """The app cannot be loaded as the Functions host would; the message names the function."""


@dataclass(frozen=True)
class Binding:
    """One binding from the function's metadata, with %SETTING% expressions resolved."""

    name: str
    type: str
    direction: str
    data: dict[str, Any]


@dataclass
class FunctionSpec:
    """A function as devhost runs it."""

    name: str
    func: Callable[..., Any]
    trigger: Binding
    bindings: list[Binding]
    is_async: bool
    params: frozenset[str]
    route: RouteTemplate | None = None
    methods: frozenset[str] | None = None
    auth_level: str = "FUNCTION"
    durable_name: str | None = None
    annotations: dict[str, Any] = field(default_factory=dict)

    @property
    def trigger_type(self) -> str:
        """The trigger binding type, e.g. 'httpTrigger'."""
        return self.trigger.type


@dataclass
class LoadedApp:
    """The app module, its function app object and its functions."""

    module_name: str
    app: Any
    functions: dict[str, FunctionSpec]

    def by_trigger(self, trigger_type: str) -> list[FunctionSpec]:
        """Functions with the given trigger type, in declaration order."""
        return [f for f in self.functions.values() if f.trigger_type == trigger_type]

    def activity(self, name: str) -> FunctionSpec | None:
        """The activity function with durable name `name` (case-insensitive, as the extension matches)."""
        return self._durable("activityTrigger", name)

    def orchestrator(self, name: str) -> FunctionSpec | None:
        """The orchestrator function with durable name `name`."""
        return self._durable("orchestrationTrigger", name)

    def _durable(self, trigger: str, name: str) -> FunctionSpec | None:
        for spec in self.functions.values():
            if spec.trigger_type == trigger and (spec.durable_name or "").lower() == name.lower():
                return spec
        return None


# Enumerated once per app object: importing the same module again reuses module and metadata.
_CACHE: dict[int, tuple[Any, list[Any]]] = {}


def _find_app(module: Any, module_name: str) -> Any:
    from azure.functions import FunctionRegister

    apps = [v for v in vars(module).values() if isinstance(v, FunctionRegister)]
    if not apps:
        raise LoadError(f"module {module_name!r} defines no FunctionApp/DFApp object")
    if len({id(a) for a in apps}) > 1:
        raise LoadError(f"module {module_name!r} defines more than one FunctionApp object")
    return apps[0]


def _type_hints(func: Callable[..., Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(func)
    except Exception:
        # Unresolvable string annotations: the worker would fail later on them too; skip the check.
        return {k: v for k, v in getattr(func, "__annotations__", {}).items() if not isinstance(v, str)}


def _check_annotations(
    name: str, func: Callable[..., Any], trigger: Binding, bindings: list[Binding], hints: dict[str, Any]
) -> None:
    """Reject annotations the Python worker rejects at load time (e.g. a queue trigger typed `dict`)."""
    from azure.functions import meta

    registry = meta.get_binding_registry()
    for b in [trigger, *bindings]:
        if b.name == "$return" or b.name not in hints:
            continue
        converter = registry.get(b.type)
        annotation = hints[b.name]
        if converter is None or annotation is inspect.Parameter.empty:
            continue
        origin = typing.get_origin(annotation)
        if b.direction == "OUT":
            import azure.functions as func_mod

            if origin is not func_mod.Out:
                raise LoadError(f"function {name!r}: output binding {b.name!r} must be annotated func.Out[T]")
            (inner,) = typing.get_args(annotation) or (Any,)
            if inner is not Any and not converter.check_output_type_annotation(inner):
                raise LoadError(
                    f"function {name!r}: type of {b.name!r} ({b.type}) does not match func.Out[{inner}]"
                )
            continue
        if origin is not None:
            raise LoadError(
                f"function {name!r}: parameter {b.name!r} has a parameterised annotation "
                f"{annotation!r}, which the Python worker rejects"
            )
        if isinstance(annotation, type) and not converter.check_input_type_annotation(annotation):
            raise LoadError(
                f"function {name!r}: type of {b.name!r} ({b.type}) does not match its "
                f"annotation {annotation.__name__}"
            )


def _describe(fn: Any, environ: MutableMapping[str, str] | None) -> FunctionSpec:
    name = fn.get_function_name()
    func = fn.get_user_function()
    raw = json.loads(fn.get_function_json())["bindings"]
    bindings: list[Binding] = []
    for data in raw:
        resolved = dict(data)
        for key in _RESOLVED_FIELDS:
            if isinstance(resolved.get(key), str):
                resolved[key] = resolve_expressions(
                    resolved[key], f"function {name!r} binding {data['name']!r}", environ
                )
        bindings.append(
            Binding(data["name"], data["type"], str(data.get("direction", "IN")).upper(), resolved)
        )
    triggers = [b for b in bindings if b.type.endswith("Trigger")]
    if len(triggers) != 1:
        raise LoadError(f"function {name!r} must have exactly one trigger (has {len(triggers)})")
    trigger = triggers[0]
    if trigger.type not in SUPPORTED_TRIGGERS:
        raise LoadError(f"function {name!r}: trigger {trigger.type!r} is not supported by devhost")
    others = [b for b in bindings if b is not trigger]
    for b in others:
        if b.type not in ("http", "queue", "durableClient"):
            raise LoadError(f"function {name!r}: binding {b.type!r} ({b.name!r}) is not supported by devhost")
    target = inspect.unwrap(func) if trigger.type == "httpTrigger" else func
    params = frozenset(inspect.signature(func).parameters)
    hints = _type_hints(func)
    _check_annotations(name, func, trigger, others, hints)
    for b in [trigger, *others]:
        if b.name != "$return" and b.name not in params:
            raise LoadError(f"function {name!r}: binding {b.name!r} has no matching parameter")
    spec = FunctionSpec(
        name=name,
        func=func,
        trigger=trigger,
        bindings=others,
        is_async=inspect.iscoroutinefunction(func) or inspect.iscoroutinefunction(target),
        params=params,
        annotations=hints,
    )
    if trigger.type == "httpTrigger":
        spec.route = compile_route(trigger.data.get("route") or name)
        methods = trigger.data.get("methods")
        spec.methods = frozenset(m.upper() for m in methods) if methods else None
        spec.auth_level = str(trigger.data.get("authLevel", "FUNCTION")).upper()
    elif trigger.type == "orchestrationTrigger":
        spec.durable_name = trigger.data.get("orchestration") or name
    elif trigger.type == "activityTrigger":
        spec.durable_name = trigger.data.get("activity") or name
    elif trigger.type == "entityTrigger":
        spec.durable_name = trigger.data.get("entityName") or name
    return spec


def load_app(module_name: str, app_dir: Path, environ: MutableMapping[str, str] | None = None) -> LoadedApp:
    """Import `module_name` (from `app_dir` if not importable otherwise) and describe its functions."""
    root = str(app_dir.resolve())
    if root not in sys.path:
        sys.path.insert(0, root)
    try:
        module = importlib.import_module(module_name)
    except ConfigError:
        raise
    except Exception as exc:
        raise LoadError(f"importing app module {module_name!r} failed: {type(exc).__name__}: {exc}") from exc
    app = _find_app(module, module_name)
    cached = _CACHE.get(id(app))
    if cached is None or cached[0] is not app:
        cached = (app, list(app.get_functions()))
        _CACHE[id(app)] = cached
    functions: dict[str, FunctionSpec] = {}
    for fn in cached[1]:
        spec = _describe(fn, environ)
        functions[spec.name] = spec
    return LoadedApp(module_name=module_name, app=app, functions=functions)
