"""The emulator hook: with no Azure OpenAI endpoint set, start `python -m emulator`, point the app at it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

EMULATOR_KEY = "emulator-key"  # the emulator's default accepted api-key (a local stand-in, not a secret)
DEFAULT_DEPLOYMENT = "gpt-4o"


class EmulatorError(RuntimeError):
    """The emulator could not be started."""


def endpoint_configured(environ: MutableMapping[str, str] | None = None) -> bool:
    """Whether an Azure OpenAI endpoint (or the seed's alias) is set."""
    env = os.environ if environ is None else environ
    return any(env.get(name, "").strip() for name in ("AZURE_OPENAI_ENDPOINT", "OPENAI_URI"))


def free_port() -> int:
    """A currently free loopback port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Emulator:
    """A running emulator process."""

    process: subprocess.Popen[bytes]
    url: str
    log: IO[bytes] | None = None

    def stop(self) -> None:
        """Terminate it."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.log is not None:
            self.log.close()


def _up(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_emulator/stats", timeout=1) as resp:  # noqa: S310 (loopback http)
            return int(resp.status) == 200
    except (urllib.error.URLError, OSError):
        return False


def app_api_key(environ: MutableMapping[str, str] | None = None) -> str:
    """The api key the app will send: its own setting, else the emulator's default."""
    env = os.environ if environ is None else environ
    return (env.get("AZURE_OPENAI_API_KEY") or env.get("OPENAI_KEY") or "").strip() or EMULATOR_KEY


def start_emulator(
    port: int | None = None,
    *,
    command: Sequence[str] | None = None,
    cwd: Path | None = None,
    timeout: float = 30.0,
    api_key: str | None = None,
) -> Emulator:
    """Start the emulator (default `python -m emulator --port N`; `{port}` in `command` is filled in) and wait
    until GET /_emulator/stats answers 200. It accepts `api_key` (given on its command line, so that an
    EMULATOR_API_KEY in the environment cannot make it refuse the key the app sends)."""
    chosen = port or free_port()
    default = [sys.executable, "-m", "emulator", "--port", "{port}"]
    if api_key:
        default += ["--api-key", api_key]
    argv = [a.replace("{port}", str(chosen)) for a in (command or default)]
    # Its output goes to a scratch file (a pipe nobody reads would fill up and block it).
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed by Emulator.stop
    process = subprocess.Popen(argv, cwd=str(cwd) if cwd else None, stdout=log, stderr=log)  # noqa: S603
    url = f"http://127.0.0.1:{chosen}"
    emulator = Emulator(process=process, url=url, log=log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            err = log.read().decode("utf-8", "replace")[-2000:]
            emulator.stop()
            raise EmulatorError(f"the emulator exited with code {process.returncode}: {err.strip()}")
        if _up(url):
            return emulator
        time.sleep(0.05)
    emulator.stop()
    raise EmulatorError(f"the emulator did not answer GET {url}/_emulator/stats within {timeout:.0f} s")


def point_app_at(url: str, environ: MutableMapping[str, str] | None = None) -> None:
    """Set the app settings that make the app use the emulator (keeping any value already set)."""
    env = os.environ if environ is None else environ

    def unset(name: str) -> bool:
        return not env.get(name, "").strip()

    env["AZURE_OPENAI_ENDPOINT"] = url
    if unset("AZURE_OPENAI_API_KEY") and unset("OPENAI_KEY"):
        env["AZURE_OPENAI_API_KEY"] = EMULATOR_KEY
    if unset("AZURE_OPENAI_DEPLOYMENT") and unset("OPENAI_GPT_DEPLOYMENT"):
        env["AZURE_OPENAI_DEPLOYMENT"] = DEFAULT_DEPLOYMENT
    if unset("EMAIL_URI"):
        env["EMAIL_URI"] = f"{url}/_emulator/inbox/email"
    if unset("STOCK_QUOTES_URI"):
        env["STOCK_QUOTES_URI"] = f"{url}/_emulator/quotes/{{symbol}}"
