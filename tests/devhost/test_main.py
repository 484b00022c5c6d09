"""`python -m devhost` end to end: local settings, the emulator hook (fake emulator), serving, Ctrl+C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.devhost.conftest import APPS, http

ROOT = Path(__file__).resolve().parents[2]


def _start(args: list[str], env: dict[str, str], cwd: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "devhost", *args],
        cwd=cwd,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 30
    lines: list[str] = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        m = re.search(r"on (http://127\.0\.0\.1:\d+)/api", line)
        if m:
            return proc, m.group(1)
    proc.kill()
    raise AssertionError("devhost did not start:\n" + "".join(lines))


def _stop(proc: subprocess.Popen[str]) -> int:
    proc.send_signal(signal.SIGINT)
    code = proc.wait(timeout=20)
    if proc.stdout is not None:
        proc.stdout.close()
    return code


def _env(extra: dict[str, str]) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AZURE_OPENAI", "OPENAI_", "EMAIL_URI", "STOCK_QUOTES"))
    }
    env["PYTHONPATH"] = os.pathsep.join([extra.pop("PYTHONPATH_FIRST", ""), str(ROOT)]).strip(os.pathsep)
    env.update(extra)
    return env


def test_cli_starts_fake_emulator_and_points_app_at_it(tmp_path: Path) -> None:
    """With no endpoint set, the CLI starts `python -m emulator`; the app sees its URLs; Ctrl+C stops all."""
    fake_pkg = tmp_path / "emulator"
    fake_pkg.mkdir()
    (fake_pkg / "__init__.py").write_text("")
    (fake_pkg / "__main__.py").write_text((APPS / "fake_emulator.py").read_text())
    proc, url = _start(
        ["--app", "durable_app", "--app-dir", str(APPS), "--port", "0"],
        _env({"PYTHONPATH_FIRST": str(tmp_path)}),
        cwd=ROOT,
    )
    try:
        seen = http("GET", f"{url}/api/settings").json()
        endpoint = seen["AZURE_OPENAI_ENDPOINT"]
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", endpoint)
        assert http("GET", f"{endpoint}/_emulator/stats").status == 200
        assert seen["AZURE_OPENAI_DEPLOYMENT"] == "gpt-4o"
        assert seen["AZURE_OPENAI_API_KEY_SET"] is True
        assert seen["EMAIL_URI"] == f"{endpoint}/_emulator/inbox/email"
        assert seen["STOCK_QUOTES_URI"] == f"{endpoint}/_emulator/quotes/{{symbol}}"
    finally:
        assert _stop(proc) == 0
    with pytest.raises(OSError, match="refused"):  # the emulator was stopped with devhost
        http("GET", f"{endpoint}/_emulator/stats")


def test_cli_reads_local_settings_and_keeps_a_configured_endpoint(tmp_path: Path) -> None:
    """local.settings.json Values reach the app; a set endpoint means no emulator is started."""
    app_dir = tmp_path / "app"
    app_dir.mkdir()
    (app_dir / "durable_app.py").write_text((APPS / "durable_app.py").read_text())
    (app_dir / "host.json").write_text((APPS / "host.json").read_text())
    (app_dir / "local.settings.json").write_text(
        '{"Values": {"AZURE_OPENAI_ENDPOINT": "https://mine.openai.azure.com", "EMAIL_URI": "https://x.example/e"}}'
    )
    proc, url = _start(
        ["--app", "durable_app", "--app-dir", str(app_dir), "--port", "0"], _env({}), cwd=tmp_path
    )
    try:
        seen = http("GET", f"{url}/api/settings").json()
        assert seen["AZURE_OPENAI_ENDPOINT"] == "https://mine.openai.azure.com"
        assert seen["EMAIL_URI"] == "https://x.example/e"
    finally:
        assert _stop(proc) == 0


def test_cli_start_error_is_one_clear_line(tmp_path: Path) -> None:
    """A missing app module stops the CLI with exit code 2 and a message naming it."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "devhost",
            "--app",
            "no_such_app",
            "--app-dir",
            str(tmp_path),
            "--no-emulator",
            "--port",
            "0",
        ],
        cwd=tmp_path,
        env=_env({}),
        text=True,
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "no_such_app" in result.stderr
