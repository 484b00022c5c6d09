"""The control API: scripts followed exactly, stats, reset, and the Logic App and quote stand-ins."""

from __future__ import annotations

import io
import json

import httpx2
import openai
import pytest
from openai import AzureOpenAI, OpenAI
from PIL import Image

from emulator.control import quote_price
from tests.emulator.conftest import PRICE_TOOL, FakeClock, stats, v1_tool

SCRIPT = {
    "match": {"contains": "weather"},
    "steps": [
        {
            "tool_calls": [
                {"name": "get_weather", "arguments": {"city": "Oslo"}},
                {"name": "get_time", "arguments": "{}"},
            ]
        },
        {"tool_calls": [{"name": "unknown_tool", "arguments": "not json"}]},
        {"message": "Sunny in Oslo.", "images": 1},
    ],
    "polls_before_done": 2,
}


def _thread_run(client: AzureOpenAI, text: str) -> tuple[str, str]:
    assistant = client.beta.assistants.create(model="gpt-4o")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": text}])
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    return thread.id, run.id


def _statuses_until_stable(client: AzureOpenAI, thread_id: str, run_id: str) -> list[str]:
    seen = []
    for _ in range(10):
        status = client.beta.threads.runs.retrieve(thread_id=thread_id, run_id=run_id).status
        seen.append(status)
        if status not in ("queued", "in_progress"):
            break
    return seen


def test_script_is_followed_exactly_on_assistants(azure: AzureOpenAI, control: httpx2.Client) -> None:
    """Each tool_calls step is one requires_action round; the message step ends the turn with images."""
    assert (
        control.post(
            "/_emulator/script", json={"steps": [{"message": "not me"}], "match": {"contains": "zzz"}}
        ).status_code
        == 201
    )
    assert control.post("/_emulator/script", json=SCRIPT).status_code == 201
    thread_id, run_id = _thread_run(azure, "What's the weather in Oslo?")
    runs = azure.beta.threads.runs

    assert _statuses_until_stable(azure, thread_id, run_id) == [
        "in_progress",
        "in_progress",
        "requires_action",
    ]
    calls = runs.retrieve(thread_id=thread_id, run_id=run_id).required_action.submit_tool_outputs.tool_calls  # type: ignore[union-attr]
    assert [(c.function.name, c.function.arguments) for c in calls] == [
        ("get_weather", '{"city": "Oslo"}'),
        ("get_time", "{}"),
    ]
    runs.submit_tool_outputs(
        thread_id=thread_id,
        run_id=run_id,
        tool_outputs=[{"tool_call_id": c.id, "output": "ok"} for c in calls],
    )

    assert _statuses_until_stable(azure, thread_id, run_id) == [
        "in_progress",
        "in_progress",
        "requires_action",
    ]
    second = runs.retrieve(thread_id=thread_id, run_id=run_id).required_action.submit_tool_outputs.tool_calls  # type: ignore[union-attr]
    assert [(c.function.name, c.function.arguments) for c in second] == [("unknown_tool", "not json")]
    runs.submit_tool_outputs(
        thread_id=thread_id,
        run_id=run_id,
        tool_outputs=[{"tool_call_id": second[0].id, "output": "rejected"}],
    )

    assert _statuses_until_stable(azure, thread_id, run_id) == ["in_progress", "in_progress", "completed"]
    message = azure.beta.threads.messages.list(thread_id=thread_id).data[0]
    assert [p.type for p in message.content] == ["image_file", "text"]
    assert message.content[1].text.value == "Sunny in Oslo."  # type: ignore[union-attr]
    png = azure.files.content(message.content[0].image_file.file_id).read()  # type: ignore[union-attr]
    assert Image.open(io.BytesIO(png)).format == "PNG"
    assert azure.files.retrieve(message.content[0].image_file.file_id).purpose == "assistants_output"  # type: ignore[union-attr]
    steps = azure.beta.threads.runs.steps.list(thread_id=thread_id, run_id=run_id, order="asc").data
    assert [s.type for s in steps] == ["tool_calls", "tool_calls", "tool_calls", "message_creation"]
    # The non-matching script is still queued.
    assert stats(control)["scripts_pending"] == 1


def test_script_is_followed_exactly_on_responses(v1: OpenAI) -> None:
    """A scripted turn spans responses: function_call items, then the scripted message."""
    script = {
        "steps": [
            {"tool_calls": [{"name": "get_stock_price", "arguments": {"symbol": "XYZ"}}]},
            {"message": "Done."},
        ]
    }
    assert (
        httpx2.post(f"{v1.base_url}".replace("/openai/v1/", "/_emulator/script"), json=script).status_code
        == 201
    )
    first = v1.responses.create(model="gpt-4o", input="anything at all", tools=[v1_tool(PRICE_TOOL)])  # type: ignore[list-item]
    call = first.output[0]
    assert call.type == "function_call"
    assert (call.name, call.arguments) == ("get_stock_price", '{"symbol": "XYZ"}')
    second = v1.responses.create(
        model="gpt-4o",
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "1"}],
    )
    assert second.output_text == "Done."


@pytest.mark.parametrize(
    ("final_status", "error", "expected_error"),
    [
        (
            "failed",
            {"code": "rate_limit_exceeded", "message": "Slow down."},
            {"code": "rate_limit_exceeded", "message": "Slow down."},
        ),
        ("failed", None, {"code": "server_error", "message": "Sorry, something went wrong."}),
        ("expired", None, None),
        ("incomplete", None, None),
    ],
)
def test_script_final_status_on_runs(
    azure: AzureOpenAI,
    control: httpx2.Client,
    final_status: str,
    error: dict[str, str] | None,
    expected_error: dict[str, str] | None,
) -> None:
    """final_status ends the run failed (with last_error), expired, or incomplete (message incomplete)."""
    control.post(
        "/_emulator/script",
        json={"steps": [{"message": "partial"}], "final_status": final_status, "error": error},
    )
    thread_id, run_id = _thread_run(azure, "hello")
    run = azure.beta.threads.runs.poll(run_id, thread_id, poll_interval_ms=1)
    assert run.status == final_status
    assert (run.last_error.model_dump() if run.last_error else None) == expected_error
    messages = azure.beta.threads.messages.list(thread_id=thread_id).data
    if final_status == "incomplete":
        assert messages[0].status == "incomplete"
        assert run.incomplete_details is not None
    else:
        assert [m.role for m in messages] == ["user"]


def test_script_failure_on_responses(v1: OpenAI, control: httpx2.Client) -> None:
    """A failed script ends a background response failed with the scripted error."""
    control.post(
        "/_emulator/script",
        json={"final_status": "failed", "error": {"code": "server_error", "message": "Boom."}},
    )
    response = v1.responses.create(model="gpt-4o", input="hi", background=True)
    for _ in range(5):
        response = v1.responses.retrieve(response.id)
    assert response.status == "failed"
    assert response.error is not None
    assert (response.error.code, response.error.message) == ("server_error", "Boom.")


def test_duration_and_expiry_follow_the_clock(
    clock: FakeClock, azure: AzureOpenAI, control: httpx2.Client
) -> None:
    """duration_seconds holds a run until the clock passes it; expires_in_seconds sets expires_at."""
    control.post(
        "/_emulator/script",
        json={"steps": [{"message": "late"}], "polls_before_done": 0, "duration_seconds": 30},
    )
    thread_id, run_id = _thread_run(azure, "slow one")
    assert _statuses_until_stable(azure, thread_id, run_id)[:3] == [
        "in_progress",
        "in_progress",
        "in_progress",
    ]
    clock.advance(30)
    assert azure.beta.threads.runs.retrieve(thread_id=thread_id, run_id=run_id).status == "completed"

    control.post(
        "/_emulator/script",
        json={
            "steps": [{"tool_calls": [{"name": "f", "arguments": {}}]}],
            "expires_in_seconds": 5,
            "polls_before_done": 0,
        },
    )
    thread_id, run_id = _thread_run(azure, "expiring")
    run = azure.beta.threads.runs.retrieve(thread_id=thread_id, run_id=run_id)
    assert run.status == "requires_action"
    assert run.expires_at == run.created_at + 5
    clock.advance(6)
    assert azure.beta.threads.runs.retrieve(thread_id=thread_id, run_id=run_id).status == "expired"


def test_invalid_scripts_are_400(control: httpx2.Client) -> None:
    """A message step that is not last, an unknown status or an unknown field is refused with a reason."""
    bad = control.post("/_emulator/script", json={"steps": [{"message": "a"}, {"message": "b"}]})
    assert bad.status_code == 400
    assert "last step" in bad.json()["error"]["message"]
    assert control.post("/_emulator/script", json={"final_status": "done"}).status_code == 400
    assert control.post("/_emulator/script", json={"stepz": []}).status_code == 400
    assert control.post("/_emulator/script", content=b"nope").status_code == 400


def test_stats_shape_and_reset(azure: AzureOpenAI, control: httpx2.Client) -> None:
    """Stats count requests per method and route template; reset forgets objects and counters."""
    thread = azure.beta.threads.create(messages=[{"role": "user", "content": "one"}])
    azure.beta.threads.messages.list(thread_id=thread.id)
    counted = stats(control)
    assert counted == {
        "requests": {"GET /openai/threads/{thread_id}/messages": 1, "POST /openai/threads": 1},
        "runs_started": 0,
        "tool_outputs_received": 0,
        "messages_created": 1,
        "files_uploaded": 0,
        "vector_stores_created": 0,
        "vector_store_files_added": 0,
        "faults_injected": 0,
        "scripts_pending": 0,
    }
    assert control.post("/_emulator/reset").status_code == 200
    assert stats(control)["requests"] == {}
    with pytest.raises(openai.NotFoundError):
        azure.beta.threads.retrieve(thread.id)


def test_inbox_records_what_a_logic_app_receives(control: httpx2.Client) -> None:
    """POST to an inbox answers 202 and records body and headers; GET lists them in order."""
    body = {"to": "jane@contoso.com", "content": "<p>hi</p>"}
    sent = control.post("/_emulator/inbox/email", json=body, headers={"Idempotency-Key": "inst-1:call_1"})
    assert sent.status_code == 202
    control.post("/_emulator/inbox/email", content=b"plain text")
    entries = control.get("/_emulator/inbox/email").json()
    assert [e["body"] for e in entries] == [body, "plain text"]
    assert entries[0]["headers"]["Idempotency-Key"] == "inst-1:call_1"
    assert control.get("/_emulator/inbox/other").json() == []
    assert control.get("/_emulator/stats").json()["requests"]["POST /_emulator/inbox/{name}"] == 2


def test_quotes_are_deterministic(control: httpx2.Client) -> None:
    """A symbol always has the same price; malformed symbols are 404."""
    first = control.get("/_emulator/quotes/msft").json()
    assert first == {"symbol": "MSFT", "price": quote_price("MSFT"), "currency": "USD"}
    assert control.get("/_emulator/quotes/MSFT").json() == first
    assert 20 <= first["price"] < 1000
    assert control.get("/_emulator/quotes/not a symbol!").status_code == 404
    assert json.loads(control.get("/_emulator/quotes/123").text)["error"]["code"] == "symbol_not_found"
