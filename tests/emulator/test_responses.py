"""Responses, Conversations and Containers driven by the real `OpenAI` client on Azure's v1 routes."""

from __future__ import annotations

import io
import json

import httpx2
import openai
import pytest
from openai import AzureOpenAI, OpenAI
from openai.types.responses import Response
from PIL import Image

from emulator.control import quote_price
from emulator.policy import NOT_FOUND
from emulator.testing import EmulatorHandle
from tests.emulator.conftest import (
    EMAIL_TOOL,
    MEALS_QUESTION,
    MEALS_QUOTE,
    PRICE_TOOL,
    UNSUPPORTED_QUESTION,
    VACATION_QUESTION,
    VACATION_QUOTE,
    handbook,
    stats,
    upload,
    v1_tool,
)

TOOLS = [v1_tool(PRICE_TOOL), v1_tool(EMAIL_TOOL)]


def _poll(client: OpenAI, response: Response) -> tuple[Response, list[str]]:
    """Retrieve until terminal; the final response and every status seen."""
    seen = [response.status or ""]
    for _ in range(20):
        if response.status not in ("queued", "in_progress"):
            break
        response = client.responses.retrieve(response.id)
        seen.append(response.status or "")
    return response, seen


def _price_outputs(response: Response) -> list[dict[str, str]]:
    outputs = []
    for item in response.output:
        assert item.type == "function_call"
        symbol = json.loads(item.arguments)["symbol"]
        price = json.dumps({"symbol": symbol, "price": quote_price(symbol)})
        outputs.append({"type": "function_call_output", "call_id": item.call_id, "output": price})
    return outputs


def test_background_function_call_round_trip(v1: OpenAI, control: httpx2.Client) -> None:
    """A background response polls queued → in_progress → completed with calls; the next one answers."""
    conversation = v1.conversations.create(metadata={"user": "jane"})
    first = v1.responses.create(
        model="gpt-4o",
        background=True,
        conversation=conversation.id,
        instructions="You are a personal securities trading assistant.",
        input="What is the price of MSFT and AAPL?",
        tools=TOOLS,  # type: ignore[arg-type]
    )
    assert first.status == "queued"
    assert first.conversation is not None
    assert first.conversation.id == conversation.id
    first, seen = _poll(v1, first)
    assert seen == ["queued", "in_progress", "completed"]
    calls = [item for item in first.output if item.type == "function_call"]
    assert [json.loads(c.arguments)["symbol"] for c in calls] == ["MSFT", "AAPL"]
    assert first.usage is not None

    second = v1.responses.create(
        model="gpt-4o",
        background=True,
        conversation={"id": conversation.id},
        input=_price_outputs(first),  # type: ignore[arg-type]
        tools=TOOLS,  # type: ignore[arg-type]
    )
    second, _ = _poll(v1, second)
    assert second.status == "completed"
    assert second.completed_at is not None
    assert f"MSFT: ${quote_price('MSFT'):,.2f}" in second.output_text

    items = v1.conversations.items.list(conversation.id, order="asc").data
    kinds = [item.type for item in items]
    assert kinds == [
        "message",
        "function_call",
        "function_call",
        "function_call_output",
        "function_call_output",
        "message",
    ]
    counted = stats(control)
    assert counted["runs_started"] == 2
    assert counted["tool_outputs_received"] == 2
    assert counted["messages_created"] == 1


def test_pending_calls_must_all_be_answered(v1: OpenAI) -> None:
    """The next response in a conversation must answer every pending call; outputs must answer a call."""
    conversation = v1.conversations.create()
    first = v1.responses.create(
        model="gpt-4o",
        conversation=conversation.id,
        input="Quote MSFT and AAPL prices",
        tools=TOOLS,  # type: ignore[arg-type]
    )
    assert first.status == "completed"
    outputs = _price_outputs(first)
    with pytest.raises(openai.BadRequestError) as missing:
        v1.responses.create(model="gpt-4o", conversation=conversation.id, input=outputs[:1])  # type: ignore[arg-type]
    assert missing.value.body["message"] == f"No tool output found for function call {outputs[1]['call_id']}."  # type: ignore[index]
    assert missing.value.body["param"] == "input"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as unknown:
        v1.responses.create(
            model="gpt-4o",
            conversation=conversation.id,
            input=[*outputs, {"type": "function_call_output", "call_id": "call_nope", "output": "1"}],  # type: ignore[list-item]
        )
    message = unknown.value.body["message"]  # type: ignore[index]
    assert message == "No tool call found for function call output with call_id call_nope."


def test_previous_response_id_chain(v1_entra: OpenAI, token_calls: list[str]) -> None:
    """Without a conversation, previous_response_id carries the calls; Entra tokens authenticate."""
    first = v1_entra.responses.create(model="gpt-4o", input="What is TSLA worth?", tools=TOOLS)  # type: ignore[arg-type]
    with pytest.raises(openai.BadRequestError):
        v1_entra.responses.create(model="gpt-4o", previous_response_id=first.id, input="ignore that")
    second = v1_entra.responses.create(
        model="gpt-4o",
        previous_response_id=first.id,
        input=_price_outputs(first),
        tools=TOOLS,  # type: ignore[arg-type]
    )
    assert second.previous_response_id == first.id
    assert f"TSLA: ${quote_price('TSLA'):,.2f}" in second.output_text
    inputs = v1_entra.responses.input_items.list(second.id).data
    assert [item.type for item in inputs] == ["function_call_output"]
    assert token_calls


def test_code_interpreter_chart_is_a_container_file(v1: OpenAI) -> None:
    """ "Plot" with code interpreter: a code_interpreter_call, a cfile_ PNG and a citation in the text."""
    file_id = upload(v1, "portfolio.csv")
    response = v1.responses.create(
        model="gpt-4o",
        input="Plot a chart of my holdings",
        tools=[{"type": "code_interpreter", "container": {"type": "auto", "file_ids": [file_id]}}],
        include=["code_interpreter_call.outputs"],
    )
    kinds = [item.type for item in response.output]
    assert kinds == ["code_interpreter_call", "message"]
    call = response.output[0]
    assert call.type == "code_interpreter_call"
    assert "plt" in (call.code or "")
    message = response.output[1]
    assert message.type == "message"
    text = message.content[0]
    assert text.type == "output_text"
    citation = text.annotations[0]
    assert citation.type == "container_file_citation"
    assert citation.file_id.startswith("cfile_")
    assert (
        text.text[citation.start_index : citation.end_index]
        == f"[holdings.png](sandbox:/mnt/data/{citation.filename})"
    )

    data = v1.containers.files.content.retrieve(citation.file_id, container_id=citation.container_id).read()
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    assert image.size == (800, 450)
    files = v1.containers.files.list(citation.container_id).data
    assert {f.source for f in files} == {"user", "assistant"}
    assert v1.containers.files.retrieve(citation.file_id, container_id=citation.container_id).bytes == len(
        data
    )


def test_input_file_csv_question(v1: OpenAI) -> None:
    """A failed-banks question over an input_file CSV (non-UTF-8 header) is answered from the data."""
    file_id = upload(v1, "failed_banks.csv", purpose="user_data")
    response = v1.responses.create(
        model="gpt-4o",
        input=[
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "What State had the most bank failures?"},
                    {"type": "input_file", "file_id": file_id},
                ],
            }
        ],
    )
    assert response.output_text.startswith("GA had the most bank failures: 93 of the 568 banks")


def test_cancel_delete_and_errors(v1: OpenAI) -> None:
    """Background responses cancel; synchronous ones cannot; deleted responses are 404."""
    queued = v1.responses.create(model="gpt-4o", input="hello", background=True)
    cancelled = v1.responses.cancel(queued.id)
    assert cancelled.status == "cancelled"
    assert v1.responses.retrieve(queued.id).status == "cancelled"
    done = v1.responses.create(model="gpt-4o", input="hello")
    assert done.output_text == 'You said: "hello"'
    with pytest.raises(openai.BadRequestError):
        v1.responses.cancel(done.id)
    v1.responses.delete(done.id)
    with pytest.raises(openai.NotFoundError) as gone:
        v1.responses.retrieve(done.id)
    assert gone.value.body["message"] == f"Response with id '{done.id}' not found."  # type: ignore[index]
    with pytest.raises(openai.NotFoundError):
        v1.responses.create(model="gpt-4o", input="hi", conversation="conv_missing")
    with pytest.raises(openai.BadRequestError) as no_model:
        v1.responses.create(input="hi")  # type: ignore[call-overload]
    assert no_model.value.body["param"] == "model"  # type: ignore[index]


def test_conversation_crud_and_items(v1: OpenAI) -> None:
    """Conversations are created with items, updated, listed item by item and deleted."""
    conversation = v1.conversations.create(
        metadata={"topic": "demo"}, items=[{"type": "message", "role": "user", "content": "first"}]
    )
    assert v1.conversations.retrieve(conversation.id).metadata == {"topic": "demo"}
    assert v1.conversations.update(conversation.id, metadata={"topic": "new"}).metadata == {"topic": "new"}
    added = v1.conversations.items.create(
        conversation.id,
        items=[{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "second"}]}],
    )
    item_id = added.data[0].id
    one = v1.conversations.items.retrieve(item_id, conversation_id=conversation.id)
    assert one.type == "message"
    assert one.content[0].text == "second"  # type: ignore[union-attr]
    assert len(v1.conversations.items.list(conversation.id).data) == 2
    v1.conversations.items.delete(item_id, conversation_id=conversation.id)
    assert len(v1.conversations.items.list(conversation.id).data) == 1
    assert v1.conversations.delete(conversation.id).deleted is True
    with pytest.raises(openai.NotFoundError):
        v1.conversations.retrieve(conversation.id)


def test_containers_crud(v1: OpenAI) -> None:
    """Containers and their files are created, listed, read and deleted."""
    file_id = upload(v1, "orders.csv")
    container = v1.containers.create(name="analysis", file_ids=[file_id])
    assert v1.containers.retrieve(container.id).name == "analysis"
    uploaded = v1.containers.files.create(container.id, file=("notes.txt", b"hello"))
    assert uploaded.path == "/mnt/data/notes.txt"
    assert v1.containers.files.content.retrieve(uploaded.id, container_id=container.id).read() == b"hello"
    assert len(v1.containers.files.list(container.id).data) == 2
    v1.containers.files.delete(uploaded.id, container_id=container.id)
    assert [c.id for c in v1.containers.list().data] == [container.id]
    v1.containers.delete(container.id)
    with pytest.raises(openai.NotFoundError):
        v1.containers.retrieve(container.id)


def test_responses_on_azure_api_version_routes(azure: AzureOpenAI) -> None:
    """`AzureOpenAI` reaches Responses and Conversations on the preview api-version routes too."""
    conversation = azure.conversations.create()
    response = azure.responses.create(model="gpt-4o", conversation=conversation.id, input="hello")
    assert response.output_text == 'You said: "hello"'
    assert len(azure.conversations.items.list(conversation.id).data) == 2


# --- file_search ----------------------------------------------------------------------------------


def test_file_search_call_then_a_cited_answer(v1: OpenAI) -> None:
    """file_search over a store: a file_search_call (results when included), then a file_citation."""
    book = handbook(v1)
    conversation = v1.conversations.create()
    response = v1.responses.create(
        model="gpt-4o",
        background=True,
        conversation=conversation.id,
        input=MEALS_QUESTION,
        tools=[{"type": "file_search", "vector_store_ids": [book.store_id]}],
        include=["file_search_call.results"],
    )
    response, _ = _poll(v1, response)
    assert [item.type for item in response.output] == ["file_search_call", "message"]
    call = response.output[0]
    assert call.type == "file_search_call"
    assert call.status == "completed"
    assert call.queries == [MEALS_QUESTION]
    assert call.results is not None
    best = call.results[0]
    assert (best.file_id, best.filename, best.score, best.text) == (
        book.files["expenses.md"], "expenses.md", 1.0, MEALS_QUOTE,
    )  # fmt: skip
    text = f'According to expenses.md: "{MEALS_QUOTE}"'
    assert response.output_text == text
    message = response.output[1]
    assert message.type == "message"
    part = message.content[0]
    assert part.type == "output_text"
    assert [a.model_dump() for a in part.annotations] == [
        {"type": "file_citation", "file_id": book.files["expenses.md"], "filename": "expenses.md", "index": len(text)}
    ]
    kinds = [item.type for item in v1.conversations.items.list(conversation.id, order="asc")]
    assert kinds == ["message", "file_search_call", "message"]
    tool = response.tools[0]
    assert tool.type == "file_search"
    assert tool.vector_store_ids == [book.store_id]

    plain = v1.responses.create(
        model="gpt-4o",
        input=VACATION_QUESTION,
        tools=[{"type": "file_search", "vector_store_ids": [book.store_id]}],
    )
    search = plain.output[0]
    assert search.type == "file_search_call"
    assert search.results is None
    assert VACATION_QUOTE in plain.output_text


def test_file_search_without_support_has_no_citation(v1: OpenAI) -> None:
    """A question the documents do not answer: the answer says so and carries no annotation."""
    book = handbook(v1)
    response = v1.responses.create(
        model="gpt-4o",
        input=UNSUPPORTED_QUESTION,
        tools=[{"type": "file_search", "vector_store_ids": [book.store_id]}],
    )
    assert [item.type for item in response.output] == ["file_search_call", "message"]
    assert response.output_text == NOT_FOUND
    message = response.output[1]
    assert message.type == "message"
    assert message.content[0].annotations == []  # type: ignore[union-attr]


def test_scripted_message_is_unaffected_by_file_search(v1: OpenAI, emulator: EmulatorHandle) -> None:
    """A script's message step answers verbatim: no search, no citation."""
    book = handbook(v1)
    emulator.add_script({"steps": [{"message": "Scripted answer."}]})
    response = v1.responses.create(
        model="gpt-4o",
        input=VACATION_QUESTION,
        tools=[{"type": "file_search", "vector_store_ids": [book.store_id]}],
    )
    assert [item.type for item in response.output] == ["message"]
    assert response.output_text == "Scripted answer."


def test_file_search_with_an_unknown_store_is_a_400(v1: OpenAI) -> None:
    """A file_search tool naming a vector store that does not exist is refused."""
    with pytest.raises(openai.BadRequestError) as unknown:
        v1.responses.create(
            model="gpt-4o", input="hi", tools=[{"type": "file_search", "vector_store_ids": ["vs_nope"]}]
        )
    assert unknown.value.body["param"] == "tools[0].vector_store_ids"  # type: ignore[index]
