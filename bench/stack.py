"""The local stack in one process for benchmarks: Azurite, the emulator on the devhost's virtual clock, devhost.

The same arrangement as the tests' `stack` fixture (tests/conftest.py), as a context manager.
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx2

from devhost.azurite import start_azurite
from devhost.testing import DevHost, run_devhost
from emulator.testing import EmulatorHandle, run_emulator

API_KEY = "bench-api-key"


@dataclass
class LocalStack:
    """The running stack and an HTTP client on the app's API."""

    host: DevHost
    emulator: EmulatorHandle
    http: httpx2.Client

    def wait_turn(self, conversation_id: str, turn: int = 1, timeout: float = 300.0) -> dict[str, Any]:
        """GET the turn until it is final; its body."""
        deadline = time.monotonic() + timeout
        while True:
            resp = self.http.get(f"/api/conversations/{conversation_id}/turns/{turn}")
            if resp.status_code == 200:
                return resp.json()
            if resp.status_code != 202 or time.monotonic() > deadline:
                raise RuntimeError(f"turn {turn} of {conversation_id}: {resp.status_code} {resp.text[:200]}")
            time.sleep(0.02)


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the block, restoring the previous values afterwards."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def local_stack(*, poll_after_ms: int = 100, settings: dict[str, str] | None = None) -> Iterator[LocalStack]:
    """Start the stack (devhost on a virtual clock, the emulator keeping the same time); stop it afterwards."""
    hosts: list[DevHost] = []

    def clock() -> float:
        return hosts[0].clock.now().timestamp() if hosts else time.time()

    with start_azurite() as azurite, run_emulator(api_key=API_KEY, clock=clock, poll_after_ms=poll_after_ms) as emu:
        env = {
            "AzureWebJobsStorage": azurite,
            "TASKHUB_NAME": "bench",
            "AZURE_OPENAI_ENDPOINT": emu.url,
            "AZURE_OPENAI_API_KEY": API_KEY,
            "AZURE_OPENAI_DEPLOYMENT": "gpt-4o",
            "ASSISTANTS_BACKEND": "responses",
            "EMAIL_URI": f"{emu.url}/_emulator/inbox/email",
            "EMAIL_ALLOWED_RECIPIENTS": "@example.com",
            "STOCK_QUOTES_URI": f"{emu.url}/_emulator/quotes/{{symbol}}",
            "REQUESTS_QUEUE": "conversation-requests",
            "REPLIES_QUEUE": "conversation-replies",
            "POLL_MIN_SECONDS": "1",
            "POLL_MAX_SECONDS": "15",
            "TURN_TIMEOUT_SECONDS": "600",
            **(settings or {}),
        }
        with environment(env), run_devhost("function_app") as host, \
                httpx2.Client(base_url=host.url, timeout=120) as http:
            hosts.append(host)
            yield LocalStack(host=host, emulator=emu, http=http)


def parse_time(text: str) -> float:
    """Seconds since the epoch from a history event's ISO timestamp."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def machine() -> dict[str, str]:
    """CPU model, cores and Python, for the results file."""
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"cpu": model, "cores": str(os.cpu_count()), "python": platform.python_version(),
            "os": f"{platform.system()} {platform.release()}"}
