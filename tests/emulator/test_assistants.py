"""The Assistants v2 routes driven by the real `AzureOpenAI` client."""

from __future__ import annotations

import json

import httpx2
import openai
import pytest
from openai import AzureOpenAI
from openai.types.beta.threads import Message, Run

from emulator.control import quote_price
from emulator.policy import NOT_FOUND
from emulator.testing import EmulatorHandle
from tests.emulator.conftest import (
    EMAIL_TOOL,
    HANDBOOK,
    MEALS_QUESTION,
    MEALS_QUOTE,
    PRICE_TOOL,
    UNSUPPORTED_QUESTION,
    VACATION_QUESTION,
    VACATION_QUOTE,
    FakeClock,
    ObjectChecker,
    handbook,
    stats,
    upload,
)


def _portfolio_assistant(client: AzureOpenAI, **extra: object) -> str:
    return client.beta.assistants.create(
        model="gpt-4o",
        name="Portfolio Management",
        instructions="You are a personal securities trading assistant.",
        tools=[{"type": "code_interpreter"}, PRICE_TOOL, EMAIL_TOOL],  # type: ignore[list-item]
        **extra,  # type: ignore[arg-type]
    ).id


def _answer_prices(
    client: AzureOpenAI, thread_id: str, run: openai.types.beta.threads.Run
) -> openai.types.beta.threads.Run:
    assert run.required_action is not None
    outputs = []
    for call in run.required_action.submit_tool_outputs.tool_calls:
        symbol = json.loads(call.function.arguments)["symbol"]
        outputs.append(
            {"tool_call_id": call.id, "output": json.dumps({"symbol": symbol, "price": quote_price(symbol)})}
        )
    return client.beta.threads.runs.submit_tool_outputs_and_poll(
        thread_id=thread_id, run_id=run.id, tool_outputs=outputs
    )


def test_assistant_crud(azure: AzureOpenAI) -> None:
    """Assistants are created, retrieved, listed, updated and deleted with every field echoed."""
    created = azure.beta.assistants.create(
        model="gpt-4o", name="Math Tutor", instructions="Solve equations.", metadata={"hash": "abc"}
    )
    assert azure.beta.assistants.retrieve(created.id).name == "Math Tutor"
    updated = azure.beta.assistants.update(
        created.id, instructions="Explain each step.", tools=[{"type": "code_interpreter"}]
    )
    assert updated.instructions == "Explain each step."
    assert [t.type for t in updated.tools] == ["code_interpreter"]
    assert updated.metadata == {"hash": "abc"}
    listed = azure.beta.assistants.list(order="asc")
    assert [a.id for a in listed.data] == [created.id]
    assert azure.beta.assistants.delete(created.id).deleted is True
    with pytest.raises(openai.NotFoundError) as missing:
        azure.beta.assistants.retrieve(created.id)
    assert f"No assistant found with id '{created.id}'" in missing.value.message


def test_thread_crud_with_tool_resources(azure: AzureOpenAI) -> None:
    """Threads keep tool_resources and metadata; updates and deletes apply; deleted threads are 404."""
    file_id = upload(azure, "portfolio.csv")
    thread = azure.beta.threads.create(
        tool_resources={"code_interpreter": {"file_ids": [file_id]}}, metadata={"user": "jane"}
    )
    assert thread.tool_resources is not None
    assert thread.tool_resources.code_interpreter is not None
    assert thread.tool_resources.code_interpreter.file_ids == [file_id]
    assert azure.beta.threads.update(thread.id, metadata={"user": "john"}).metadata == {"user": "john"}
    assert azure.beta.threads.retrieve(thread.id).metadata == {"user": "john"}
    assert azure.beta.threads.delete(thread.id).deleted is True
    with pytest.raises(openai.NotFoundError) as missing:
        azure.beta.threads.retrieve(thread.id)
    assert missing.value.body["message"] == f"No thread found with id '{thread.id}'."  # type: ignore[index]


def test_messages_with_attachments_and_paging(azure: AzureOpenAI) -> None:
    """Messages keep attachments; list honours order, limit, after and before; retrieve and update work."""
    file_id = upload(azure, "portfolio.csv")
    thread = azure.beta.threads.create()
    ids = [
        azure.beta.threads.messages.create(
            thread_id=thread.id,
            role="user",
            content=f"message {i}",
            attachments=[{"file_id": file_id, "tools": [{"type": "code_interpreter"}]}] if i == 0 else None,  # type: ignore[arg-type]
        ).id
        for i in range(4)
    ]
    first = azure.beta.threads.messages.retrieve(thread_id=thread.id, message_id=ids[0])
    assert first.attachments is not None
    assert first.attachments[0].file_id == file_id
    newest = azure.beta.threads.messages.list(thread_id=thread.id, limit=2)
    assert [m.id for m in newest.data] == [ids[3], ids[2]]
    assert newest.has_more is True
    after = azure.beta.threads.messages.list(thread_id=thread.id, order="asc", after=ids[1])
    assert [m.id for m in after.data] == ids[2:]
    before = azure.beta.threads.messages.list(thread_id=thread.id, order="asc", before=ids[2])
    assert [m.id for m in before.data] == ids[:2]
    every = [m.id for m in azure.beta.threads.messages.list(thread_id=thread.id, order="asc", limit=1)]
    assert every == ids
    updated = azure.beta.threads.messages.update(
        thread_id=thread.id, message_id=ids[1], metadata={"seen": "yes"}
    )
    assert updated.metadata == {"seen": "yes"}


def test_create_and_poll_then_submit_tool_outputs(azure: AzureOpenAI, control: httpx2.Client) -> None:
    """A portfolio question asks for every holding's price in one round; the answer uses the outputs."""
    assistant_id = _portfolio_assistant(azure)
    file_id = upload(azure, "portfolio.csv")
    thread = azure.beta.threads.create(
        messages=[
            {
                "role": "user",
                "content": "What is the value of my portfolio?",
                "attachments": [{"file_id": file_id, "tools": [{"type": "code_interpreter"}]}],
            }
        ]
    )
    run = azure.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant_id, poll_interval_ms=1
    )
    assert run.status == "requires_action"
    assert run.expires_at is not None
    assert run.started_at is not None
    calls = run.required_action.submit_tool_outputs.tool_calls  # type: ignore[union-attr]
    symbols = [json.loads(c.function.arguments)["symbol"] for c in calls]
    assert symbols == ["MSFT", "AAPL", "AMZN", "TSLA", "NFLX", "NVDA"]

    done = _answer_prices(azure, thread.id, run)
    assert done.status == "completed"
    assert done.completed_at is not None
    assert done.usage is not None
    assert done.expires_at is None
    assert done.required_action is None
    answer = azure.beta.threads.messages.list(thread_id=thread.id, run_id=run.id).data[0]
    text = answer.content[0].text.value  # type: ignore[union-attr]
    msft = quote_price("MSFT")
    assert f"300 × ${msft:,.2f} = ${300 * msft:,.2f}" in text
    assert "Total portfolio value" in text
    assert answer.assistant_id == assistant_id
    assert answer.run_id == run.id

    steps = azure.beta.threads.runs.steps.list(thread_id=thread.id, run_id=run.id, order="asc").data
    assert [s.type for s in steps] == ["tool_calls", "message_creation"]
    assert all(s.status == "completed" for s in steps)
    tool_call = steps[0].step_details.tool_calls[0]  # type: ignore[union-attr]
    assert json.loads(tool_call.function.output)["symbol"] == "MSFT"  # type: ignore[union-attr]
    one = azure.beta.threads.runs.steps.retrieve(thread_id=thread.id, run_id=run.id, step_id=steps[1].id)
    assert one.step_details.message_creation.message_id == answer.id  # type: ignore[union-attr]
    counted = stats(control)
    assert counted["tool_outputs_received"] == 6
    assert counted["runs_started"] == 1


def test_run_lifecycle_statuses_per_poll(emulator: EmulatorHandle, azure: AzureOpenAI) -> None:
    """A run is queued at creation, in_progress on the first retrieve and final on the next (by default)."""
    assistant = azure.beta.assistants.create(model="gpt-4o")
    thread = azure.beta.threads.create(messages=[{"role": "user", "content": "Hello there"}])
    run = azure.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "queued"
    assert run.started_at is None
    raw = azure.beta.threads.runs.with_raw_response.retrieve(thread_id=thread.id, run_id=run.id)
    assert raw.headers["openai-poll-after-ms"] == "1"
    assert raw.parse().status == "in_progress"
    final = azure.beta.threads.runs.retrieve(thread_id=thread.id, run_id=run.id)
    assert final.status == "completed"
    reply = azure.beta.threads.messages.list(thread_id=thread.id).data[0]
    assert reply.content[0].text.value == 'You said: "Hello there"'  # type: ignore[union-attr]
    assert [r.id for r in azure.beta.threads.runs.list(thread_id=thread.id).data] == [run.id]


def test_run_options_are_applied_and_echoed(azure_entra: AzureOpenAI) -> None:
    """additional_instructions, additional_messages, metadata and tools shape the run (Entra ID auth)."""
    assistant = azure_entra.beta.assistants.create(model="gpt-4o", instructions="You are a math tutor.")
    thread = azure_entra.beta.threads.create()
    run = azure_entra.beta.threads.runs.create_and_poll(
        thread_id=thread.id,
        assistant_id=assistant.id,
        additional_instructions="Please address the user as Jane Doe. The user has a premium account.",
        additional_messages=[
            {"role": "user", "content": "I need to solve the equation `3x + 11 = 14`. Can you help me?"}
        ],
        metadata={"turn": "1"},
        tools=[{"type": "code_interpreter"}],
        poll_interval_ms=1,
    )
    assert run.status == "completed"
    assert run.metadata == {"turn": "1"}
    assert [t.type for t in run.tools] == ["code_interpreter"]
    assert run.instructions.endswith("Please address the user as Jane Doe. The user has a premium account.")
    text = azure_entra.beta.threads.messages.list(thread_id=thread.id).data[0].content[0].text.value  # type: ignore[union-attr]
    assert "Jane Doe" in text
    assert "Subtract 11 from both sides: 3x = 3." in text
    assert "So x = 1." in text


def test_create_thread_and_run(azure: AzureOpenAI, control: httpx2.Client) -> None:
    """threads/runs creates the thread with its messages and starts the run."""
    assistant = azure.beta.assistants.create(model="gpt-4o")
    run = azure.beta.threads.create_and_run_poll(
        assistant_id=assistant.id,
        thread={"messages": [{"role": "user", "content": "Hi"}]},
        poll_interval_ms=1,
    )
    assert run.status == "completed"
    messages = azure.beta.threads.messages.list(thread_id=run.thread_id, order="asc").data
    assert [m.role for m in messages] == ["user", "assistant"]
    counted = stats(control)
    assert counted["messages_created"] == 1
    assert counted["requests"]["POST /openai/threads/runs"] == 1


def test_active_run_rejects_second_run_and_new_messages(azure: AzureOpenAI) -> None:
    """While a run is active, a second run and a new message are 400s with the service's messages."""
    assistant_id = _portfolio_assistant(azure)
    thread = azure.beta.threads.create(messages=[{"role": "user", "content": "What is the price of MSFT?"}])
    run = azure.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant_id)
    with pytest.raises(openai.BadRequestError) as second:
        azure.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant_id)
    assert second.value.body["message"] == f"Thread {thread.id} already has an active run {run.id}."  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as message:
        azure.beta.threads.messages.create(thread_id=thread.id, role="user", content="and AAPL?")
    assert (
        message.value.body["message"] == f"Can't add messages to {thread.id} while a run {run.id} is active."
    )  # type: ignore[index]


def test_missing_tool_outputs_are_rejected(azure: AzureOpenAI) -> None:
    """Outputs for only some calls: 400 naming the expected and given call ids; the run still waits."""
    assistant_id = _portfolio_assistant(azure)
    thread = azure.beta.threads.create(
        messages=[{"role": "user", "content": "What are MSFT and AAPL worth?"}]
    )
    run = azure.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant_id, poll_interval_ms=1
    )
    calls = run.required_action.submit_tool_outputs.tool_calls  # type: ignore[union-attr]
    assert len(calls) == 2
    with pytest.raises(openai.BadRequestError) as missing:
        azure.beta.threads.runs.submit_tool_outputs(
            thread_id=thread.id, run_id=run.id, tool_outputs=[{"tool_call_id": calls[0].id, "output": "1"}]
        )
    expected = [c.id for c in calls]
    assert (
        missing.value.body["message"]
        == f"Expected tool outputs for call_ids {expected!r}, got {[calls[0].id]!r}"
    )  # type: ignore[index]
    assert azure.beta.threads.runs.retrieve(thread_id=thread.id, run_id=run.id).status == "requires_action"


def test_tool_outputs_after_expiry(clock: FakeClock, azure: AzureOpenAI) -> None:
    """Outputs submitted after expires_at are a 400 and the run becomes expired."""
    assistant_id = _portfolio_assistant(azure)
    thread = azure.beta.threads.create(messages=[{"role": "user", "content": "What is the price of MSFT?"}])
    run = azure.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant_id, poll_interval_ms=1
    )
    assert run.expires_at == run.created_at + 600
    clock.advance(601)
    call = run.required_action.submit_tool_outputs.tool_calls[0]  # type: ignore[union-attr]
    with pytest.raises(openai.BadRequestError) as late:
        azure.beta.threads.runs.submit_tool_outputs(
            thread_id=thread.id, run_id=run.id, tool_outputs=[{"tool_call_id": call.id, "output": "1"}]
        )
    assert late.value.body["message"] == 'Runs in status "expired" do not accept tool outputs.'  # type: ignore[index]
    assert azure.beta.threads.runs.retrieve(thread_id=thread.id, run_id=run.id).status == "expired"
    step = azure.beta.threads.runs.steps.list(thread_id=thread.id, run_id=run.id).data[0]
    assert step.status == "expired"
    assert step.expired_at is not None
    # The thread is free again.
    azure.beta.threads.messages.create(thread_id=thread.id, role="user", content="never mind")


def test_cancel_goes_through_cancelling(azure: AzureOpenAI) -> None:
    """Cancel answers cancelling; the next retrieve is cancelled; cancelling a finished run is a 400."""
    assistant_id = _portfolio_assistant(azure)
    thread = azure.beta.threads.create(messages=[{"role": "user", "content": "What is the price of MSFT?"}])
    run = azure.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant_id, poll_interval_ms=1
    )
    cancelling = azure.beta.threads.runs.cancel(thread_id=thread.id, run_id=run.id)
    assert cancelling.status == "cancelling"
    assert cancelling.required_action is None
    cancelled = azure.beta.threads.runs.retrieve(thread_id=thread.id, run_id=run.id)
    assert cancelled.status == "cancelled"
    assert cancelled.cancelled_at is not None
    with pytest.raises(openai.BadRequestError) as again:
        azure.beta.threads.runs.cancel(thread_id=thread.id, run_id=run.id)
    assert again.value.body["message"] == "Cannot cancel run with status 'cancelled'."  # type: ignore[index]


def test_email_round_reports_the_outcome(azure: AzureOpenAI) -> None:
    """Prices, then send_email with an HTML report, then an honest final message about the email."""
    assistant_id = _portfolio_assistant(azure)
    file_id = upload(azure, "portfolio.csv")
    thread = azure.beta.threads.create(
        tool_resources={"code_interpreter": {"file_ids": [file_id]}},
        messages=[
            {"role": "user", "content": "Get the value of my portfolio and email it to jane@contoso.com"}
        ],
    )
    run = azure.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant_id, poll_interval_ms=1
    )
    run = _answer_prices(azure, thread.id, run)
    assert run.status == "requires_action"
    call = run.required_action.submit_tool_outputs.tool_calls[0]  # type: ignore[union-attr]
    arguments = json.loads(call.function.arguments)
    assert call.function.name == "send_email"
    assert arguments["to"] == "jane@contoso.com"
    assert "<table>" in arguments["content"]
    assert "&amp;" in arguments["content"]
    assert f"{quote_price('NFLX'):,.2f}" in arguments["content"]
    done = azure.beta.threads.runs.submit_tool_outputs_and_poll(
        thread_id=thread.id,
        run_id=run.id,
        tool_outputs=[{"tool_call_id": call.id, "output": json.dumps({"error": "recipient not allowed"})}],
        poll_interval_ms=1,
    )
    text = azure.beta.threads.messages.list(thread_id=thread.id).data[0].content[0].text.value  # type: ignore[union-attr]
    assert done.status == "completed"
    assert "could not send the email to jane@contoso.com: recipient not allowed" in text


def test_not_found_paths(azure: AzureOpenAI, checker: ObjectChecker) -> None:
    """Unknown ids are 404s with the service's messages."""
    thread = azure.beta.threads.create()
    with pytest.raises(openai.NotFoundError) as run:
        azure.beta.threads.runs.retrieve(thread_id=thread.id, run_id="run_missing")
    assert run.value.body["message"] == "No run found with id 'run_missing'."  # type: ignore[index]
    with pytest.raises(openai.NotFoundError) as assistant:
        azure.beta.threads.runs.create(thread_id=thread.id, assistant_id="asst_missing")
    assert assistant.value.body["message"] == "No assistant found with id 'asst_missing'."  # type: ignore[index]
    with pytest.raises(openai.NotFoundError):
        azure.beta.threads.messages.retrieve(thread_id=thread.id, message_id="msg_missing")
    assert not checker.problems


def test_bad_input_is_a_400_naming_the_parameter(azure: AzureOpenAI) -> None:
    """Missing or mistyped parameters are 400s with `param` set, never 500s."""
    with pytest.raises(openai.BadRequestError) as model:
        azure.beta.assistants.create(model=None)  # type: ignore[arg-type]
    assert model.value.body["param"] == "model"  # type: ignore[index]
    thread = azure.beta.threads.create()
    with pytest.raises(openai.BadRequestError) as role:
        azure.beta.threads.messages.create(thread_id=thread.id, role="system", content="x")  # type: ignore[arg-type]
    assert role.value.body["param"] == "role"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as attachment:
        azure.beta.threads.messages.create(
            thread_id=thread.id, role="user", content="x", attachments=[{"file_id": "file-nope", "tools": []}]
        )
    assert attachment.value.body["param"] == "attachments[0].file_id"  # type: ignore[index]


# --- file_search ----------------------------------------------------------------------------------


def _search_assistant(client: AzureOpenAI, store_id: str | None = None) -> str:
    resources = {"file_search": {"vector_store_ids": [store_id]}} if store_id else None
    return client.beta.assistants.create(
        model="gpt-4o",
        name="Handbook",
        tools=[{"type": "file_search"}],
        tool_resources=resources,  # type: ignore[arg-type]
    ).id


def _ask(client: AzureOpenAI, assistant_id: str, question: str) -> tuple[Run, Message]:
    thread = client.beta.threads.create(messages=[{"role": "user", "content": question}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant_id, poll_interval_ms=1)
    assert run.status == "completed"
    return run, client.beta.threads.messages.list(thread_id=thread.id, run_id=run.id).data[0]


def test_file_search_quotes_and_cites_the_one_file_that_answers(azure: AzureOpenAI) -> None:
    """A question answered by one page: the answer quotes its chunk with a 【m:i†source】 file_citation."""
    book = handbook(azure)
    run, answer = _ask(azure, _search_assistant(azure, book.store_id), VACATION_QUESTION)
    text = answer.content[0].text  # type: ignore[union-attr]
    marker = "【1:0†source】"
    assert text.value == f'According to vacation.md: "{VACATION_QUOTE}"{marker}'
    assert len(text.annotations) == 1
    citation = text.annotations[0]
    assert citation.type == "file_citation"
    assert citation.file_citation.file_id == book.files["vacation.md"]  # type: ignore[union-attr]
    assert citation.text == marker
    assert text.value[citation.start_index : citation.end_index] == marker

    steps = azure.beta.threads.runs.steps.list(thread_id=run.thread_id, run_id=run.id, order="asc").data
    assert [s.type for s in steps] == ["tool_calls", "message_creation"]
    call = steps[0].step_details.tool_calls[0]  # type: ignore[union-attr]
    assert call.type == "file_search"
    results = call.file_search.results  # type: ignore[union-attr]
    assert results is not None
    best = results[0]
    assert (best.file_id, best.file_name, best.score) == (book.files["vacation.md"], "vacation.md", 1.0)
    assert best.content is None
    detailed = azure.beta.threads.runs.steps.retrieve(
        thread_id=run.thread_id,
        run_id=run.id,
        step_id=steps[0].id,
        include=["step_details.tool_calls[*].file_search.results[*].content"],
    )
    first = detailed.step_details.tool_calls[0].file_search.results[0]  # type: ignore[union-attr]
    assert first.content is not None
    assert first.content[0].text == VACATION_QUOTE


def test_file_search_without_support_has_no_citation(azure: AzureOpenAI) -> None:
    """A question the documents do not answer: the answer says so, with no annotation."""
    book = handbook(azure)
    run, answer = _ask(azure, _search_assistant(azure, book.store_id), UNSUPPORTED_QUESTION)
    assert answer.content[0].text.value == NOT_FOUND  # type: ignore[union-attr]
    assert answer.content[0].text.annotations == []  # type: ignore[union-attr]
    steps = azure.beta.threads.runs.steps.list(thread_id=run.thread_id, run_id=run.id, order="asc").data
    assert steps[0].step_details.tool_calls[0].type == "file_search"  # type: ignore[union-attr]


def test_file_search_attachments_go_into_a_thread_store(azure: AzureOpenAI, control: httpx2.Client) -> None:
    """Attachments for file_search create the thread's vector store; the run waits for it to be ingested."""
    files = {name: upload(azure, name) for name in HANDBOOK}
    assistant_id = _search_assistant(azure)
    thread = azure.beta.threads.create(
        messages=[
            {
                "role": "user",
                "content": "Here is the handbook.",
                "attachments": [{"file_id": files["vacation.md"], "tools": [{"type": "file_search"}]}],
            }
        ]
    )
    assert thread.tool_resources is not None
    assert thread.tool_resources.file_search is not None
    (store_id,) = thread.tool_resources.file_search.vector_store_ids or []
    store = azure.vector_stores.retrieve(store_id)
    assert store.status == "in_progress"
    assert store.expires_after is not None
    assert store.expires_after.days == 7
    azure.beta.threads.messages.create(
        thread_id=thread.id,
        role="user",
        content=MEALS_QUESTION,
        attachments=[{"file_id": files["expenses.md"], "tools": [{"type": "file_search"}]}],
    )
    assert azure.beta.threads.retrieve(thread.id).tool_resources.file_search.vector_store_ids == [store_id]  # type: ignore[union-attr]
    run = azure.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant_id, poll_interval_ms=1)
    answer = azure.beta.threads.messages.list(thread_id=thread.id, run_id=run.id).data[0]
    text = answer.content[0].text  # type: ignore[union-attr]
    assert text.value.startswith(f'According to expenses.md: "{MEALS_QUOTE}"')
    assert [a.file_citation.file_id for a in text.annotations] == [files["expenses.md"]]  # type: ignore[union-attr]
    assert azure.vector_stores.retrieve(store_id).file_counts.completed == 2
    counted = stats(control)
    assert (counted["vector_stores_created"], counted["vector_store_files_added"]) == (1, 2)


def test_vector_stores_helper_and_limits(azure: AzureOpenAI) -> None:
    """tool_resources' vector_stores helper makes a store; two stores, unknown ones and 11 files are 400s."""
    file_id = upload(azure, "vacation.md")
    assistant = azure.beta.assistants.create(
        model="gpt-4o",
        tools=[{"type": "file_search"}],
        tool_resources={"file_search": {"vector_stores": [{"file_ids": [file_id]}]}},
    )
    assert assistant.tool_resources is not None
    assert assistant.tool_resources.file_search is not None
    (store_id,) = assistant.tool_resources.file_search.vector_store_ids or []
    assert [f.id for f in azure.vector_stores.files.list(store_id)] == [file_id]
    other = azure.vector_stores.create().id
    with pytest.raises(openai.BadRequestError) as two:
        azure.beta.assistants.create(
            model="gpt-4o", tool_resources={"file_search": {"vector_store_ids": [store_id, other]}}
        )
    assert two.value.body["param"] == "tool_resources.file_search.vector_store_ids"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as unknown:
        azure.beta.threads.create(tool_resources={"file_search": {"vector_store_ids": ["vs_nope"]}})
    assert "vs_nope" in unknown.value.body["message"]  # type: ignore[index]
    thread = azure.beta.threads.create()
    with pytest.raises(openai.BadRequestError) as many:
        azure.beta.threads.messages.create(
            thread_id=thread.id,
            role="user",
            content="eleven files",
            attachments=[{"file_id": file_id, "tools": [{"type": "file_search"}]}] * 11,
        )
    assert many.value.body["param"] == "attachments"  # type: ignore[index]
