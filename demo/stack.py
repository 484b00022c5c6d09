"""The local stack as a developer runs it: Azurite, and `python -m devhost` (which starts the emulator)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx2

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_SETTINGS = "local.settings.json.example"
# Left empty, these make devhost start the emulator on a free port and point the app at it (and at its
# email and quote stand-ins); the example's values name a fixed port where nothing may be listening.
EMULATOR_SETTINGS = (
    "AZURE_OPENAI_ENDPOINT", "OPENAI_URI", "AZURE_OPENAI_API_KEY", "OPENAI_KEY", "EMAIL_URI", "STOCK_QUOTES_URI",
)
STARTUP_SECONDS = 60.0
STOP_SECONDS = 15.0
_EMULATOR_STARTED = re.compile(r"started the emulator at (http://\S+)")


class StackError(RuntimeError):
    """The local stack did not start."""


@dataclass(frozen=True)
class Stack:
    """Where the running stack answers."""

    url: str
    emulator_url: str
    azurite_ports: dict[str, int]
    backend: str
    log: Path


def devhost_environment(root: Path, environ: Mapping[str, str]) -> dict[str, str]:
    """The example settings (unless there is a local.settings.json, which devhost reads itself) under the
    environment: a setting in the environment, such as ASSISTANTS_BACKEND, wins."""
    values: dict[str, str] = {}
    if not (root / "local.settings.json").is_file():
        example = json.loads((root / EXAMPLE_SETTINGS).read_text(encoding="utf-8"))
        values = {name: str(value) for name, value in example["Values"].items()}
    return {**values, **environ}


@contextmanager
def running_stack(output: Path) -> Iterator[Stack]:
    """Start Azurite and devhost on free loopback ports, wait for GET /api/health; stop both afterwards."""
    from devhost.azurite import AzuriteError, launch
    from devhost.emulator import free_port

    output.mkdir(parents=True, exist_ok=True)
    try:
        azurite = launch()  # free ports, in-memory storage
    except AzuriteError as exc:
        raise StackError(str(exc)) from None
    try:
        port = free_port()
        env = devhost_environment(ROOT, os.environ)
        env.update({name: "" for name in EMULATOR_SETTINGS})
        env["AzureWebJobsStorage"] = azurite.connection_string
        log_path = output / "devhost.log"
        with log_path.open("wb") as log:
            # A session of its own: on shutdown its whole process group (the emulator too) can be swept.
            devhost = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "devhost", "--app", "function_app", "--port", str(port),
                 "--app-dir", str(ROOT)],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        try:
            url = f"http://127.0.0.1:{port}"
            health = _wait_healthy(url, devhost, log_path)
            found = _EMULATOR_STARTED.search(log_path.read_text(encoding="utf-8", errors="replace"))
            if found is None:
                raise StackError(f"devhost did not start the emulator (see {log_path})")
            yield Stack(url=url, emulator_url=found.group(1), azurite_ports=azurite.ports,
                        backend=str(health.get("backend")), log=log_path)
        finally:
            with _signals_held():
                _stop(devhost)
    finally:
        with _signals_held():
            azurite.stop()


def _wait_healthy(url: str, devhost: subprocess.Popen[bytes], log_path: Path) -> dict[str, object]:
    deadline = time.monotonic() + STARTUP_SECONDS
    with httpx2.Client(base_url=url, timeout=2.0) as http:
        while time.monotonic() < deadline:
            if devhost.poll() is not None:
                tail = log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-5:]
                raise StackError(f"devhost exited with code {devhost.returncode}:\n" + "\n".join(tail))
            with suppress(httpx2.TransportError):
                resp = http.get("/api/health")
                if resp.status_code == 200:
                    return dict(resp.json())
            time.sleep(0.1)
    raise StackError(f"devhost did not answer GET {url}/api/health within {STARTUP_SECONDS:.0f} s")


def _stop(devhost: subprocess.Popen[bytes]) -> None:
    """SIGTERM (devhost then stops its emulator), then SIGKILL to whatever of its group is left."""
    if devhost.poll() is None:
        devhost.terminate()
        with suppress(subprocess.TimeoutExpired):
            devhost.wait(timeout=STOP_SECONDS)
    with suppress(ProcessLookupError):
        os.killpg(devhost.pid, signal.SIGKILL)
    devhost.wait()


@contextmanager
def _signals_held() -> Iterator[None]:
    """A second Ctrl-C during shutdown must not leave processes behind."""
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
