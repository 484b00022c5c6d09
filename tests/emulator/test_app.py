"""Middlewares every request passes: auth, api-version, unknown routes, injected faults, strict mode."""

from __future__ import annotations

import httpx2
import openai
import pytest
from openai import AzureOpenAI, OpenAI

from emulator.errors import ACCESS_DENIED_BEARER, ACCESS_DENIED_KEY
from emulator.testing import EmulatorHandle, run_emulator
from tests.emulator.conftest import API_VERSION, entra_token, stats

THREADS = "/openai/threads"


def test_api_key_and_bearer_tokens_authenticate(control: httpx2.Client, emulator: EmulatorHandle) -> None:
    """The api-key header, a Bearer api key and a Bearer JWT-shaped token are accepted."""
    query = {"api-version": API_VERSION}
    assert control.post(THREADS, params=query, headers={"api-key": emulator.api_key}).status_code == 200
    assert (
        control.post(
            THREADS, params=query, headers={"Authorization": f"Bearer {emulator.api_key}"}
        ).status_code
        == 200
    )
    assert (
        control.post(THREADS, params=query, headers={"Authorization": f"Bearer {entra_token()}"}).status_code
        == 200
    )


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, ACCESS_DENIED_KEY),
        ({"api-key": "wrong"}, ACCESS_DENIED_KEY),
        ({"Authorization": "Bearer not-a-jwt"}, ACCESS_DENIED_BEARER),
        ({"Authorization": "Basic abc"}, ACCESS_DENIED_KEY),
    ],
)
def test_unauthenticated_requests_get_azure_401(
    control: httpx2.Client, headers: dict[str, str], message: str
) -> None:
    """Missing or wrong credentials: 401 with Azure's code "401" and message."""
    response = control.post(THREADS, params={"api-version": API_VERSION}, headers=headers)
    assert response.status_code == 401
    assert response.json() == {
        "error": {"code": "401", "message": message, "param": None, "type": "invalid_request_error"}
    }


def test_sdk_sees_401_as_authentication_error(emulator: EmulatorHandle) -> None:
    """The SDK raises AuthenticationError for a wrong key, on both route families."""
    azure = AzureOpenAI(azure_endpoint=emulator.url, api_version=API_VERSION, api_key="wrong")
    with pytest.raises(openai.AuthenticationError) as denied:
        azure.beta.threads.create()
    assert denied.value.code == "401"
    v1 = OpenAI(base_url=f"{emulator.url}/openai/v1/", api_key="wrong")
    with pytest.raises(openai.AuthenticationError):
        v1.conversations.create()


def test_api_version_is_required_on_azure_routes(control: httpx2.Client, emulator: EmulatorHandle) -> None:
    """Without ?api-version= the Azure routes answer 400; the v1 routes do not need it."""
    headers = {"api-key": emulator.api_key}
    missing = control.post(THREADS, headers=headers)
    assert missing.status_code == 400
    assert missing.json()["error"]["code"] == "MissingApiVersionParameter"
    assert missing.json()["error"]["param"] == "api-version"
    bad = control.post(THREADS, params={"api-version": "yesterday"}, headers=headers)
    assert bad.status_code == 400
    assert control.post("/openai/v1/conversations", headers=headers).status_code == 200


def test_unknown_routes_are_azure_404(control: httpx2.Client, emulator: EmulatorHandle) -> None:
    """A route the service does not serve: 404 "Resource not found", in the error shape."""
    response = control.get(
        "/openai/deployments/x/nothing",
        params={"api-version": API_VERSION},
        headers={"api-key": emulator.api_key},
    )
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "Resource not found"
    invalid_json = control.post(
        THREADS, params={"api-version": API_VERSION}, headers={"api-key": emulator.api_key}, content=b"{nope"
    )
    assert invalid_json.status_code == 400


def test_429_fault_is_retried_by_the_sdk(azure: AzureOpenAI, control: httpx2.Client) -> None:
    """A 429 with Retry-After is retried by the SDK; stats show both attempts on the route."""
    added = control.post(
        "/_emulator/faults",
        json={"method": "POST", "path_regex": r"/threads$", "status": 429, "retry_after": 0.01, "times": 1},
    )
    assert added.status_code == 201
    raw = azure.beta.threads.with_raw_response.create()
    assert raw.retries_taken == 1
    counted = stats(control)
    assert counted["requests"]["POST /openai/threads"] == 2
    assert counted["faults_injected"] == 1


def test_429_headers_and_body(control: httpx2.Client, emulator: EmulatorHandle) -> None:
    """The injected 429 carries retry-after, retry-after-ms and the rate-limit error body."""
    control.post(
        "/_emulator/faults",
        json={"path_regex": "/openai/v1/conversations", "status": 429, "retry_after": 2, "times": 1},
    )
    response = control.post("/openai/v1/conversations", headers={"api-key": emulator.api_key})
    assert response.status_code == 429
    assert response.headers["retry-after"] == "2"
    assert response.headers["retry-after-ms"] == "2000"
    assert response.json()["error"]["type"] == "rate_limit_exceeded"
    assert control.post("/openai/v1/conversations", headers={"api-key": emulator.api_key}).status_code == 200


def test_500_faults_exhaust_retries(emulator: EmulatorHandle, control: httpx2.Client) -> None:
    """More 500s than the SDK retries: InternalServerError after max_retries + 1 attempts."""
    control.post(
        "/_emulator/faults",
        json={"path_regex": "/conversations", "status": 500, "retry_after": 0.01, "times": 5},
    )
    client = OpenAI(base_url=f"{emulator.url}/openai/v1/", api_key=emulator.api_key, max_retries=1)
    with pytest.raises(openai.InternalServerError):
        client.with_options(timeout=5).conversations.create()
    assert stats(control)["requests"]["POST /openai/v1/conversations"] == 2


def test_dropped_connection_and_delay(emulator: EmulatorHandle, control: httpx2.Client) -> None:
    """status 0 drops the connection (APIConnectionError); delay_seconds makes the SDK time out."""
    control.post("/_emulator/faults", json={"path_regex": "/conversations", "status": 0, "times": 1})
    client = OpenAI(base_url=f"{emulator.url}/openai/v1/", api_key=emulator.api_key, max_retries=0)
    with pytest.raises(openai.APIConnectionError):
        client.conversations.create()
    control.post("/_emulator/faults", json={"path_regex": "/conversations", "delay_seconds": 0.5, "times": 1})
    with pytest.raises(openai.APITimeoutError):
        client.with_options(timeout=0.1).conversations.create()
    assert client.conversations.create().object == "conversation"


def test_invalid_fault_is_a_400(control: httpx2.Client) -> None:
    """A fault with neither status nor delay, or a bad regex, is refused."""
    assert control.post("/_emulator/faults", json={"path_regex": "x"}).status_code == 400
    assert control.post("/_emulator/faults", json={"path_regex": "(", "status": 500}).status_code == 400
    assert control.post("/_emulator/faults", json={"path_regex": "x", "status": 200}).status_code == 400


def test_strict_mode_serves_valid_objects() -> None:
    """In strict mode the server validates what it sends; a normal run passes through unchanged."""
    with run_emulator(strict=True, polls_before_done=0) as emulator:
        client = AzureOpenAI(azure_endpoint=emulator.url, api_version=API_VERSION, api_key=emulator.api_key)
        assistant = client.beta.assistants.create(model="gpt-4o", tools=[{"type": "code_interpreter"}])
        run = client.beta.threads.create_and_run_poll(
            assistant_id=assistant.id,
            thread={"messages": [{"role": "user", "content": "plot 3, 5 and 8"}]},
            poll_interval_ms=1,
        )
        assert run.status == "completed"
        messages = client.beta.threads.messages.list(thread_id=run.thread_id)
        assert [part.type for part in messages.data[0].content] == ["image_file", "text"]
