"""What `func start` reads before loading the app: local.settings.json `Values` and host.json."""

from __future__ import annotations

import json
import os
import re
from collections.abc import MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SETTING_EXPR = re.compile(r"%([^%\s]+)%")


class ConfigError(RuntimeError):
    """A start-up configuration problem; the message names the file or setting."""


def load_local_settings(app_dir: Path, environ: MutableMapping[str, str] | None = None) -> list[str]:
    """Copy local.settings.json `Values` into the environment without overriding what is set; names set."""
    env = os.environ if environ is None else environ
    path = app_dir / "local.settings.json"
    if not path.is_file():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc})") from None
    values = data.get("Values") if isinstance(data, dict) else None
    if values is None:
        return []
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: 'Values' must be an object")
    applied = []
    for name, value in values.items():
        if name not in env and value is not None:
            env[name] = str(value)
            applied.append(name)
    return applied


def resolve_expressions(value: str, where: str, environ: MutableMapping[str, str] | None = None) -> str:
    """Replace each `%SETTING%` in `value` from the environment; a missing setting is a loud error."""
    env = os.environ if environ is None else environ

    def sub(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            raise ConfigError(f"{where}: app setting {name} (from %{name}%) is not set")
        return env[name]

    return _SETTING_EXPR.sub(sub, value)


def _timespan_seconds(text: str, where: str) -> float:
    """Seconds in a .NET TimeSpan string such as '00:00:10' or '1.02:03:04'."""
    match = re.fullmatch(r"(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2}(?:\.\d+)?)", text.strip())
    if not match:
        raise ConfigError(f"{where}: {text!r} is not a TimeSpan like 00:00:10")
    days, hours, minutes, seconds = match.groups()
    return int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + float(seconds)


@dataclass(frozen=True)
class HostConfig:
    """The host.json settings devhost honours."""

    route_prefix: str = "api"
    hub_name: str = "TestHubName"
    max_dequeue_count: int = 5
    visibility_timeout_s: float = 0.0
    max_polling_interval_s: float = 2.0
    queue_batch_size: int = 16


def load_host_config(app_dir: Path, environ: MutableMapping[str, str] | None = None) -> HostConfig:
    """Read host.json from the app directory (defaults when absent)."""
    path = app_dir / "host.json"
    if not path.is_file():
        return HostConfig()
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc})") from None
    ext: dict[str, Any] = data.get("extensions") or {}
    http = ext.get("http") or {}
    durable = ext.get("durableTask") or {}
    queues = ext.get("queues") or {}
    prefix = str(http.get("routePrefix", "api")).strip("/")
    hub = resolve_expressions(
        str(durable.get("hubName", "TestHubName")), f"{path} durableTask.hubName", environ
    )
    try:
        max_dequeue = int(queues.get("maxDequeueCount", 5))
        batch = int(queues.get("batchSize", 16))
    except (TypeError, ValueError):
        raise ConfigError(f"{path}: queues.maxDequeueCount and batchSize must be integers") from None
    if max_dequeue < 1:
        raise ConfigError(f"{path}: queues.maxDequeueCount must be at least 1")
    visibility = _timespan_seconds(
        str(queues.get("visibilityTimeout", "00:00:00")), f"{path} visibilityTimeout"
    )
    polling = queues.get("maxPollingInterval", "00:00:02")
    polling_s = (
        float(polling) / 1000
        if isinstance(polling, int | float)
        else _timespan_seconds(str(polling), f"{path} maxPollingInterval")
    )
    return HostConfig(
        route_prefix=prefix,
        hub_name=hub,
        max_dequeue_count=max_dequeue,
        visibility_timeout_s=visibility,
        max_polling_interval_s=polling_s,
        queue_batch_size=max(1, min(batch, 32)),
    )
