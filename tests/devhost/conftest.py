"""devhost test helpers: a small HTTP client over loopback and the sample apps' location."""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from devhost.testing import DevHost

APPS = Path(__file__).parent / "apps"


@dataclass
class Reply:
    """An HTTP answer."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def http(
    method: str,
    url: str,
    body: Any = None,
    *,
    raw: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    """One HTTP call (JSON body unless `raw` is given); never raises on HTTP error statuses."""
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    hdrs = {"Content-Type": "application/json", **(headers or {})}
    request = urllib.request.Request(url, data=data, method=method, headers=hdrs)  # noqa: S310 (loopback http)
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:  # noqa: S310 (loopback http)
            return Reply(resp.status, dict(resp.headers.items()), resp.read())
    except urllib.error.HTTPError as err:
        return Reply(err.code, dict(err.headers.items()), err.read())


def poll(url: str, *, until: Callable[[Reply], bool], timeout: float = 20.0) -> Reply:
    """GET `url` until `until(reply)` holds or the deadline passes (then fail with the last reply)."""
    deadline = time.monotonic() + timeout
    while True:
        reply = http("GET", url)
        if until(reply):
            return reply
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up polling {url}: last {reply.status} {reply.body[:300]!r}")
        time.sleep(0.02)


@dataclass
class Durable:
    """Drives one devhost's Durable HTTP API."""

    host: DevHost

    @property
    def base(self) -> str:
        return f"{self.host.url}/runtime/webhooks/durabletask"

    def start(self, name: str, input_: Any = None, instance_id: str | None = None) -> str:
        url = f"{self.base}/orchestrators/{name}" + (f"/{instance_id}" if instance_id else "")
        reply = http("POST", url, input_)
        assert reply.status == 202, reply.body
        return str(reply.json()["id"])

    def status(self, instance_id: str, **query: str) -> Reply:
        q = "&".join(f"{k}={v}" for k, v in query.items())
        return http("GET", f"{self.base}/instances/{instance_id}" + (f"?{q}" if q else ""))

    def wait(self, instance_id: str, timeout: float = 20.0) -> dict[str, Any]:
        """Wait for a terminal status and return the status body."""
        reply = poll(
            f"{self.base}/instances/{instance_id}?showHistory=true&showHistoryOutput=true",
            until=lambda r: r.status in (200, 500) or r.status == 404,
            timeout=timeout,
        )
        assert reply.status == 200, reply.body
        return dict(reply.json())

    def raise_event(self, instance_id: str, name: str, data: Any) -> Reply:
        return http("POST", f"{self.base}/instances/{instance_id}/raiseEvent/{name}", data)


@pytest.fixture
def durable_app(devhost_factory: Callable[..., DevHost]) -> Iterator[tuple[DevHost, Durable, ModuleType]]:
    """The durable sample app on a virtual clock, with its counters reset."""
    host = devhost_factory("durable_app", app_dir=APPS)
    module = sys.modules["durable_app"]
    module.CALLS.clear()
    module.SIDE_EFFECTS.clear()
    module.RELEASE.clear()
    module.STARTED.clear()
    module.REPLAYS["flaky_choice"] = 0
    yield host, Durable(host), module
    module.RELEASE.set()
