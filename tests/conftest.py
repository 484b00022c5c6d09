"""Fixtures shared across areas: devhosts, Azurite, and the whole local stack running function_app."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import httpx2
import pytest

from devhost.testing import DevHost, run_devhost
from emulator.testing import EmulatorHandle, run_emulator


@pytest.fixture
def devhost_factory() -> Iterator[Callable[..., DevHost]]:
    """Start devhosts with `devhost_factory(app, **run_devhost_kwargs)`; all are stopped after the test."""
    with ExitStack() as stack:

        def start(app: str = "function_app", **kwargs: Any) -> DevHost:
            return stack.enter_context(run_devhost(app, **kwargs))

        yield start


@pytest.fixture(scope="session")
def azurite() -> Iterator[str]:
    """A fresh in-memory Azurite (node_modules/.bin/azurite, from `make install`); yields its connection."""
    from devhost.azurite import start_azurite

    with start_azurite() as connection_string:
        yield connection_string


# --- the whole local stack: Azurite + emulator + devhost running function_app ------------------------

# Distinctive values, so tests can prove they never leak into logs, statuses or history.
API_KEY = "sk-test-APIKEY-7f3a9c2e41b8d6"
EMAIL_SIG = "SIG-test-5e8d1f0a9b7c"
WEBHOOK_SECRET = "whsec-test-3c1e9a"
SECRETS = (API_KEY, EMAIL_SIG, WEBHOOK_SECRET)


@dataclass
class Stack:
    """The running stack and an HTTP client for the app's API."""

    host: DevHost
    emulator: EmulatorHandle
    http: httpx2.Client
    connection: str

    def start(self, message: str, **body: Any) -> httpx2.Response:
        """POST /api/conversations."""
        return self.http.post("/api/conversations", json={"message": message, **body})

    def post(self, conversation_id: str, message: str, **body: Any) -> httpx2.Response:
        """POST /api/conversations/{id}/messages."""
        return self.http.post(f"/api/conversations/{conversation_id}/messages", json={"message": message, **body})

    def turn(self, conversation_id: str, turn: int = 1, timeout: float = 60.0) -> dict[str, Any]:
        """GET the turn until it is final (200); its body."""
        deadline = time.monotonic() + timeout
        while True:
            resp = self.http.get(f"/api/conversations/{conversation_id}/turns/{turn}")
            if resp.status_code != 202:
                assert resp.status_code == 200, resp.text
                return resp.json()  # type: ignore[no-any-return]
            assert time.monotonic() < deadline, f"turn {turn} of {conversation_id} still {resp.json()['status']}"
            time.sleep(0.05)

    def converse(self, message: str, **body: Any) -> dict[str, Any]:
        """Start a conversation and return its finished first turn."""
        resp = self.start(message, **body)
        assert resp.status_code in (200, 202), resp.text
        return self.turn(resp.json()["conversation_id"], 1)

    def stats(self) -> dict[str, Any]:
        """The emulator's counters."""
        return self.emulator.stats()

    def run_statuses(self, conversation_id: str) -> list[str]:
        """Statuses of the runs/responses the emulator holds for one of our conversations (by run metadata)."""

        def read(state: Any) -> list[str]:
            records = [*state.assistants.runs.values(), *state.responses.responses.values()]
            return [r.status for r in records if r.metadata.get("conversation_id") == conversation_id]

        return self.emulator.call(read)  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def stack(azurite: str) -> Iterator[Stack]:
    """Azurite, the emulator and devhost (virtual clock) running function_app, for the whole session."""
    hosts: list[DevHost] = []

    def clock() -> float:
        # The emulator keeps the devhost's (virtual) time, so run expiry and durations agree with timers.
        return hosts[0].clock.now().timestamp() if hosts else time.time()

    with pytest.MonkeyPatch.context() as mp, run_emulator(api_key=API_KEY, clock=clock) as emu:
        env = {
            "AzureWebJobsStorage": azurite,
            "TASKHUB_NAME": "tests",
            "AZURE_OPENAI_ENDPOINT": emu.url,
            "AZURE_OPENAI_API_KEY": API_KEY,
            "AZURE_OPENAI_DEPLOYMENT": "gpt-4o",
            "ASSISTANTS_BACKEND": "responses",
            "EMAIL_URI": f"{emu.url}/_emulator/inbox/email?sp=%2Ftriggers&sig={EMAIL_SIG}",
            "EMAIL_ALLOWED_RECIPIENTS": "@example.com",
            "STOCK_QUOTES_URI": f"{emu.url}/_emulator/quotes/{{symbol}}",
            "REQUESTS_QUEUE": "conversation-requests",
            "REPLIES_QUEUE": "conversation-replies",
            "WEBHOOK_SECRET": WEBHOOK_SECRET,
            "POLL_MIN_SECONDS": "1",
            "POLL_MAX_SECONDS": "15",
            "TURN_TIMEOUT_SECONDS": "600",
        }
        for name, value in env.items():
            mp.setenv(name, value)
        with run_devhost("function_app") as host, httpx2.Client(base_url=host.url, timeout=90) as http:
            hosts.append(host)
            yield Stack(host=host, emulator=emu, http=http, connection=azurite)


@pytest.fixture(params=["responses", "assistants"])
def backend(request: pytest.FixtureRequest, stack: Stack, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test on each model backend (new conversations take ASSISTANTS_BACKEND)."""
    monkeypatch.setenv("ASSISTANTS_BACKEND", request.param)
    return str(request.param)
