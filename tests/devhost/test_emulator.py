"""The emulator hook, tested against a fake that answers the same readiness URL (the real emulator is
built separately)."""

from __future__ import annotations

import sys

import pytest

from devhost.emulator import EmulatorError, endpoint_configured, point_app_at, start_emulator
from tests.devhost.conftest import APPS, http

FAKE = [sys.executable, str(APPS / "fake_emulator.py"), "--port", "{port}"]


def test_start_waits_until_stats_answers_then_stops() -> None:
    """start_emulator returns once GET /_emulator/stats is 200; stop() ends the process."""
    emulator = start_emulator(command=FAKE)
    try:
        assert http("GET", f"{emulator.url}/_emulator/stats").json() == {"fake": True}
    finally:
        emulator.stop()
    assert emulator.process.poll() is not None


def test_an_emulator_that_exits_is_a_clear_error() -> None:
    """If the command dies, the error says so with its exit code."""
    with pytest.raises(EmulatorError, match="exited with code 3"):
        start_emulator(command=[sys.executable, "-c", "import sys; sys.exit(3)"])


def test_point_app_at_sets_only_what_is_unset() -> None:
    """Endpoint is set; key, deployment, EMAIL_URI and STOCK_QUOTES_URI only where unset or empty."""
    env = {"AZURE_OPENAI_API_KEY": "", "EMAIL_URI": "https://mine.example/email"}
    assert not endpoint_configured(env)
    point_app_at("http://127.0.0.1:9", env)
    assert env == {
        "AZURE_OPENAI_ENDPOINT": "http://127.0.0.1:9",
        "AZURE_OPENAI_API_KEY": "emulator-key",
        "AZURE_OPENAI_DEPLOYMENT": "gpt-4o",
        "EMAIL_URI": "https://mine.example/email",
        "STOCK_QUOTES_URI": "http://127.0.0.1:9/_emulator/quotes/{symbol}",
    }
    assert endpoint_configured(env)
    assert endpoint_configured({"OPENAI_URI": "https://seed.example"})
