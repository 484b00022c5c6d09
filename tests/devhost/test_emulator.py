"""The emulator hook, tested against a fake that answers the same readiness URL (the real emulator is
built separately)."""

from __future__ import annotations

import sys

import pytest

from devhost.emulator import EmulatorError, app_api_key, endpoint_configured, point_app_at, start_emulator
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


def test_real_emulator_accepts_the_key_the_app_sends(monkeypatch: pytest.MonkeyPatch) -> None:
    """The emulator devhost starts takes the app's key on its command line, whatever EMULATOR_API_KEY says."""
    import httpx2

    monkeypatch.setenv("EMULATOR_API_KEY", "some-other-key")
    emulator = start_emulator(api_key=app_api_key({"AZURE_OPENAI_API_KEY": "app-key-1"}))
    try:
        reply = httpx2.get(f"{emulator.url}/openai/v1/files", headers={"api-key": "app-key-1"}, timeout=5)
        assert reply.status_code == 200
    finally:
        emulator.stop()


def test_app_key_defaults_to_the_emulators() -> None:
    """With no key configured, the app and the emulator agree on the emulator's default key."""
    assert app_api_key({}) == "emulator-key"
    assert app_api_key({"OPENAI_KEY": "seed-alias"}) == "seed-alias"
