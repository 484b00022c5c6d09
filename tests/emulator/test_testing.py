"""The in-process runner and the command line."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx2
import pytest

from emulator.testing import run_emulator


def test_run_emulator_serves_and_stops() -> None:
    """run_emulator binds a free port, its helpers use the loop, and stop() frees the port."""
    with run_emulator(api_key="k") as emulator:
        assert emulator.url.startswith("http://127.0.0.1:")
        assert emulator.api_key == "k"
        emulator.add_script({"steps": [{"message": "hi"}]})
        emulator.add_fault({"path_regex": "/nothing", "status": 503})
        assert emulator.stats()["scripts_pending"] == 1
        emulator.reset()
        assert emulator.stats()["scripts_pending"] == 0
        port = emulator.port
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))


def test_busy_port_fails_loudly() -> None:
    """Asking for a port in use raises instead of hanging."""
    with (
        run_emulator() as first,
        pytest.raises(OSError, match="address already in use"),
        run_emulator(first.port),
    ):
        pass


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_command_line_serves_with_the_environment_key() -> None:
    """`python -m emulator --port N` serves until stopped, with EMULATOR_API_KEY as the key."""
    port = _free_port()
    env = {**os.environ, "EMULATOR_API_KEY": "from-env"}
    with subprocess.Popen(
        [sys.executable, "-m", "emulator", "--port", str(port), "--quiet"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    ) as process:
        try:
            deadline = time.monotonic() + 20
            while True:
                try:
                    response = httpx2.post(
                        f"http://127.0.0.1:{port}/openai/v1/conversations",
                        headers={"api-key": "from-env"},
                        timeout=1,
                    )
                    break
                except httpx2.TransportError:
                    assert time.monotonic() < deadline, "the emulator did not start"
                    assert process.poll() is None, process.stderr.read() if process.stderr else ""
                    time.sleep(0.05)
            assert response.status_code == 200
        finally:
            process.terminate()
            process.wait(timeout=10)
