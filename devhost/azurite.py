"""Starts Azurite (the Storage emulator `make install` puts in the repo) and yields its connection string."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# Azurite's well-known development account (public, documented by Microsoft; not a secret).
DEV_ACCOUNT = "devstoreaccount1"
DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
DEFAULT_PORTS = {"blob": 10000, "queue": 10001, "table": 10002}
_LISTENING = re.compile(r"Azurite (Blob|Queue|Table) service is successfully listening at http://[^:]+:(\d+)")


class AzuriteError(RuntimeError):
    """Azurite could not be found or started."""


def connection_string(ports: dict[str, int], host: str = "127.0.0.1") -> str:
    """A Storage connection string for Azurite on the given ports."""
    return (
        f"DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT};AccountKey={DEV_KEY};"
        f"BlobEndpoint=http://{host}:{ports['blob']}/{DEV_ACCOUNT};"
        f"QueueEndpoint=http://{host}:{ports['queue']}/{DEV_ACCOUNT};"
        f"TableEndpoint=http://{host}:{ports['table']}/{DEV_ACCOUNT};"
    )


def expand_connection(value: str) -> str:
    """`UseDevelopmentStorage=true` means Azurite on its default ports; anything else is returned as is."""
    if value.strip().rstrip(";").lower() == "usedevelopmentstorage=true":
        return connection_string(DEFAULT_PORTS)
    return value


def find_azurite() -> Path:
    """node_modules/.bin/azurite of this repo, else one on PATH."""
    local = Path(__file__).resolve().parent.parent / "node_modules" / ".bin" / "azurite"
    if local.exists():
        return local
    found = shutil.which("azurite")
    if found:
        return Path(found)
    raise AzuriteError("Azurite is not installed: run `make install` (it installs node_modules/.bin/azurite)")


def is_listening(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts TCP connections on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


@dataclass
class Azurite:
    """A running Azurite process."""

    process: subprocess.Popen[str]
    ports: dict[str, int]
    workdir: tempfile.TemporaryDirectory[str]

    @property
    def connection_string(self) -> str:
        """Connection string for its three services."""
        return connection_string(self.ports)

    def stop(self) -> None:
        """Stop it (and wait): its storage is in memory, so there is nothing to flush."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.workdir.cleanup()


def launch(ports: dict[str, int] | None = None, timeout: float = 30.0) -> Azurite:
    """Start Azurite: all three services, in memory, on `ports` (default: free ones chosen by Azurite)."""
    binary = find_azurite()
    wanted = ports or {"blob": 0, "queue": 0, "table": 0}
    workdir = tempfile.TemporaryDirectory(prefix="devhost-azurite-")
    args = [
        str(binary),
        "--inMemoryPersistence",
        "--extentMemoryLimit",
        "256",
        "--skipApiVersionCheck",
        "--loose",
        "--silent",
    ]
    for service in ("blob", "queue", "table"):
        args += [f"--{service}Host", "127.0.0.1", f"--{service}Port", str(wanted[service])]
    # In-memory storage; the working directory is a scratch folder in case Azurite writes anything there.
    process = subprocess.Popen(  # noqa: S603 - our own Azurite binary, fixed arguments
        args,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=workdir.name,
        env={**os.environ, "NODE_NO_WARNINGS": "1"},
    )
    found: dict[str, int] = {}
    output: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line.rstrip())
            m = _LISTENING.search(line)
            if m:
                found[m.group(1).lower()] = int(m.group(2))
                if len(found) == 3:
                    ready.set()
        ready.set()

    threading.Thread(target=read, name="azurite-output", daemon=True).start()
    deadline = time.monotonic() + timeout
    try:
        while not ready.wait(0.1):
            if time.monotonic() > deadline:
                break
    except BaseException:
        # Interrupted while waiting (Ctrl-C, SIGTERM turned into an exception): do not leave it running.
        process.kill()
        process.wait(timeout=10)
        workdir.cleanup()
        raise
    if len(found) != 3:
        process.kill()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
        workdir.cleanup()
        tail = "\n".join(output[-10:])
        raise AzuriteError(f"Azurite did not start within {timeout:.0f} s:\n{tail}")
    return Azurite(process=process, ports=found, workdir=workdir)


@contextlib.contextmanager
def start_azurite(ports: dict[str, int] | None = None) -> Iterator[str]:
    """Run Azurite for the duration of the block; yields its connection string."""
    azurite = launch(ports)
    try:
        yield azurite.connection_string
    finally:
        azurite.stop()
