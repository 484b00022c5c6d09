"""Assistants v2 on Azure's routes: assistants, threads, messages, runs and run steps."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

from .charts import render_png
from .errors import bad_request, not_found
from .paging import page
from .params import Body, Query, read_json
from .policy import Answer, AttachedFile, SearchHit, ToolOutcome, ToolRound, TurnContext
from .state import EmulatorState
from .turns import Finish, Pacing, Plan, estimate_tokens
from .vectors import THREAD_STORE_DAYS, VectorStoreRecord, attach, new_store, parse_chunking, search
from .web import STATE, json_response, poll_headers

RunStatus = Literal[
    "queued",
    "in_progress",
    "requires_action",
    "cancelling",
    "cancelled",
    "failed",
    "completed",
    "incomplete",
    "expired",
]
StepStatus = Literal["in_progress", "cancelled", "failed", "completed", "expired"]
ACTIVE: frozenset[str] = frozenset({"queued", "in_progress", "requires_action", "cancelling"})
RUN_ERROR_CODES = ("server_error", "rate_limit_exceeded", "invalid_prompt")
_FUNCTION_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
# Files one message may carry (the app checks this before calling, too).
MAX_ATTACHMENTS = 10
# What `include` must name for a run step to show the text of its file search results.
RESULT_CONTENT = "step_details.tool_calls[*].file_search.results[*].content"
DEFAULT_MAX_RESULTS = 20


# --- records -----------------------------------------------------------------------------------------


@dataclass
class AssistantRecord:
    id: str
    created_at: int
    model: str
    name: str | None = None
    description: str | None = None
    instructions: str | None = None
    tools: list[dict[str, Any]] = field(default_factory=list)
    tool_resources: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)
    temperature: float = 1.0
    top_p: float = 1.0
    response_format: Any = "auto"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "assistant",
            "created_at": self.created_at,
            "name": self.name,
            "description": self.description,
            "model": self.model,
            "instructions": self.instructions,
            "tools": self.tools,
            "tool_resources": self.tool_resources,
            "metadata": self.metadata,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "response_format": self.response_format,
        }


@dataclass
class ThreadRecord:
    id: str
    created_at: int
    metadata: dict[str, str] = field(default_factory=dict)
    tool_resources: dict[str, Any] = field(default_factory=dict)
    message_ids: list[str] = field(default_factory=list)
    run_ids: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "thread",
            "created_at": self.created_at,
            "metadata": self.metadata,
            "tool_resources": self.tool_resources,
        }


@dataclass
class MessageRecord:
    id: str
    created_at: int
    thread_id: str
    role: Literal["user", "assistant"]
    content: list[dict[str, Any]]
    attachments: list[dict[str, Any]] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)
    assistant_id: str | None = None
    run_id: str | None = None
    status: Literal["in_progress", "incomplete", "completed"] = "completed"
    completed_at: int | None = None
    incomplete_at: int | None = None
    incomplete_details: dict[str, str] | None = None

    def text(self) -> str:
        return "\n".join(part["text"]["value"] for part in self.content if part["type"] == "text")

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "thread.message",
            "created_at": self.created_at,
            "thread_id": self.thread_id,
            "status": self.status,
            "incomplete_details": self.incomplete_details,
            "completed_at": self.completed_at,
            "incomplete_at": self.incomplete_at,
            "role": self.role,
            "content": self.content,
            "assistant_id": self.assistant_id,
            "run_id": self.run_id,
            "attachments": self.attachments,
            "metadata": self.metadata,
        }


@dataclass
class StepRecord:
    id: str
    created_at: int
    run_id: str
    thread_id: str
    assistant_id: str
    type: Literal["message_creation", "tool_calls"]
    step_details: dict[str, Any]
    status: StepStatus = "in_progress"
    completed_at: int | None = None
    cancelled_at: int | None = None
    failed_at: int | None = None
    expired_at: int | None = None
    last_error: dict[str, str] | None = None
    usage: dict[str, int] | None = None

    def to_json(self, include_content: bool = False) -> dict[str, Any]:
        details = self.step_details
        if self.type == "tool_calls" and not include_content:
            # File search results carry their text only when the request's `include` asks for it.
            details = {
                **details,
                "tool_calls": [_without_content(call) for call in details["tool_calls"]],
            }
        return {
            "id": self.id,
            "object": "thread.run.step",
            "created_at": self.created_at,
            "assistant_id": self.assistant_id,
            "thread_id": self.thread_id,
            "run_id": self.run_id,
            "type": self.type,
            "status": self.status,
            "step_details": details,
            "last_error": self.last_error,
            "expired_at": self.expired_at,
            "cancelled_at": self.cancelled_at,
            "failed_at": self.failed_at,
            "completed_at": self.completed_at,
            "metadata": {},
            "usage": self.usage,
        }


def _without_content(call: dict[str, Any]) -> dict[str, Any]:
    if call["type"] != "file_search":
        return call
    results = [
        {k: v for k, v in result.items() if k != "content"} for result in call["file_search"]["results"]
    ]
    return {**call, "file_search": {**call["file_search"], "results": results}}


@dataclass
class RunRecord:
    id: str
    created_at: int
    thread_id: str
    assistant_id: str
    model: str
    instructions: str
    tools: list[dict[str, Any]]
    expires_at: float | None
    pacing: Pacing
    plan: Plan
    message_text: str
    metadata: dict[str, str] = field(default_factory=dict)
    temperature: float = 1.0
    top_p: float = 1.0
    max_prompt_tokens: int | None = None
    max_completion_tokens: int | None = None
    truncation_strategy: dict[str, Any] = field(
        default_factory=lambda: {"type": "auto", "last_messages": None}
    )
    tool_choice: Any = "auto"
    parallel_tool_calls: bool = True
    response_format: Any = "auto"
    status: RunStatus = "queued"
    started_at: int | None = None
    cancelled_at: int | None = None
    failed_at: int | None = None
    completed_at: int | None = None
    required_action: dict[str, Any] | None = None
    last_error: dict[str, str] | None = None
    incomplete_details: dict[str, str] | None = None
    usage: dict[str, int] | None = None
    step_ids: list[str] = field(default_factory=list)
    outcomes: list[ToolOutcome] = field(default_factory=list)
    pending_calls: list[dict[str, Any]] = field(default_factory=list)
    pending_step: str | None = None
    held_finish: Finish | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "thread.run",
            "created_at": self.created_at,
            "thread_id": self.thread_id,
            "assistant_id": self.assistant_id,
            "status": self.status,
            "required_action": self.required_action,
            "last_error": self.last_error,
            "expires_at": None if self.expires_at is None else int(self.expires_at),
            "started_at": self.started_at,
            "cancelled_at": self.cancelled_at,
            "failed_at": self.failed_at,
            "completed_at": self.completed_at,
            "incomplete_details": self.incomplete_details,
            "model": self.model,
            "instructions": self.instructions,
            "tools": self.tools,
            "metadata": self.metadata,
            "usage": self.usage,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_prompt_tokens": self.max_prompt_tokens,
            "max_completion_tokens": self.max_completion_tokens,
            "truncation_strategy": self.truncation_strategy,
            "tool_choice": self.tool_choice,
            "parallel_tool_calls": self.parallel_tool_calls,
            "response_format": self.response_format,
        }


class AssistantsStore:
    """Assistants-API objects by id."""

    def __init__(self) -> None:
        self.assistants: dict[str, AssistantRecord] = {}
        self.threads: dict[str, ThreadRecord] = {}
        self.messages: dict[str, MessageRecord] = {}
        self.runs: dict[str, RunRecord] = {}
        self.steps: dict[str, StepRecord] = {}

    def assistant(self, assistant_id: str) -> AssistantRecord:
        found = self.assistants.get(assistant_id)
        if found is None:
            raise not_found(f"No assistant found with id '{assistant_id}'.")
        return found

    def thread(self, thread_id: str) -> ThreadRecord:
        found = self.threads.get(thread_id)
        if found is None:
            raise not_found(f"No thread found with id '{thread_id}'.")
        return found

    def message(self, thread: ThreadRecord, message_id: str) -> MessageRecord:
        found = self.messages.get(message_id)
        if found is None or found.thread_id != thread.id:
            raise not_found(f"No message found with id '{message_id}'.")
        return found

    def run(self, thread: ThreadRecord, run_id: str) -> RunRecord:
        found = self.runs.get(run_id)
        if found is None or found.thread_id != thread.id:
            raise not_found(f"No run found with id '{run_id}'.")
        return found

    def active_run(self, thread: ThreadRecord) -> RunRecord | None:
        for run_id in reversed(thread.run_ids):
            run = self.runs[run_id]
            if run.status in ACTIVE:
                return run
        return None


# --- request parsing -----------------------------------------------------------------------------


def parse_tools(body: Body, key: str = "tools") -> list[dict[str, Any]] | None:
    """Assistant tools as the API echoes them; None when the request gives no `tools`."""
    if body.raw(key) is None:
        return None
    tools = []
    for tool in body.items(key):
        kind = tool.choice("type", ("code_interpreter", "file_search", "function"))
        if kind is None:
            raise bad_request(f"Missing required parameter: '{tool.name('type')}'.", param=tool.name("type"))
        if kind == "function":
            function = tool.object("function", required=True)
            assert function is not None
            name = function.string("name", required=True)
            if not _FUNCTION_NAME.match(name):
                raise bad_request(
                    f"Invalid '{function.name('name')}': string does not match pattern. Expected a string "
                    "that matches the pattern '^[a-zA-Z0-9_-]+$'.",
                    param=function.name("name"),
                )
            definition: dict[str, Any] = {"name": name}
            if function.has("description"):
                definition["description"] = function.string("description")
            if function.has("parameters"):
                parameters = function.object("parameters")
                assert parameters is not None
                definition["parameters"] = dict(parameters.data)
            if function.has("strict"):
                definition["strict"] = function.boolean("strict")
            tools.append({"type": "function", "function": definition})
        elif kind == "file_search":
            entry: dict[str, Any] = {"type": "file_search"}
            options = tool.object("file_search")
            if options is not None:
                entry["file_search"] = dict(options.data)
            tools.append(entry)
        else:
            tools.append({"type": "code_interpreter"})
    return tools


def _file_ids(state: EmulatorState, body: Body, key: str) -> list[str]:
    ids = []
    for index, value in enumerate(body.array(key)):
        if not isinstance(value, str):
            raise bad_request(
                f"Invalid type for '{body.name(key)}[{index}]': expected a string.", param=body.name(key)
            )
        if value not in state.files:
            raise bad_request(
                f"Invalid '{body.name(key)}': no file found with id '{value}'.", param=body.name(key)
            )
        ids.append(value)
    return ids


def parse_tool_resources(state: EmulatorState, body: Body) -> dict[str, Any] | None:
    resources = body.object("tool_resources")
    if resources is None:
        return None
    out: dict[str, Any] = {}
    code = resources.object("code_interpreter")
    if code is not None:
        out["code_interpreter"] = {"file_ids": _file_ids(state, code, "file_ids")}
    search = resources.object("file_search")
    if search is not None:
        out["file_search"] = {"vector_store_ids": _vector_store_ids(state, search)}
    return out


def _vector_store_ids(state: EmulatorState, search: Body) -> list[str]:
    """`vector_store_ids` (checked), or the one store the `vector_stores` helper creates; at most one."""
    key = search.name("vector_store_ids")
    ids = search.array("vector_store_ids")
    helpers = search.items("vector_stores")
    if len(ids) + len(helpers) > 1:
        raise bad_request(
            f"Invalid '{key}': array too long. Expected an array with maximum length 1, but got an array "
            f"with length {len(ids) + len(helpers)} instead.",
            param=key,
        )
    for index, store_id in enumerate(ids):
        if not isinstance(store_id, str):
            raise bad_request(f"Invalid type for '{key}[{index}]': expected a string.", param=key)
        if store_id not in state.vector_stores.stores:
            raise bad_request(f"Invalid '{key}': no vector store found with id '{store_id}'.", param=key)
    for helper in helpers:
        file_ids = _file_ids(state, helper, "file_ids")
        chunking = parse_chunking(helper)
        store = new_store(state, metadata=helper.metadata() or {})
        for file_id in file_ids:
            attach(state, store, file_id, chunking=chunking)
        ids = [store.id]
    return list(ids)


def parse_content(body: Body, key: str = "content") -> list[dict[str, Any]]:
    raw = body.raw(key)
    if isinstance(raw, str):
        return [{"type": "text", "text": {"value": raw, "annotations": []}}]
    if not isinstance(raw, list) or not raw:
        raise bad_request(
            f"Invalid '{body.name(key)}': expected a string or a non-empty array of content parts.",
            param=body.name(key),
        )
    parts: list[dict[str, Any]] = []
    for part in body.items(key):
        kind = part.choice("type", ("text", "image_file", "image_url"))
        if kind == "text":
            parts.append(
                {"type": "text", "text": {"value": part.string("text", required=True), "annotations": []}}
            )
        elif kind in ("image_file", "image_url"):
            detail = part.object(kind, required=True)
            assert detail is not None
            parts.append({"type": kind, kind: dict(detail.data)})
        else:
            raise bad_request(f"Missing required parameter: '{part.name('type')}'.", param=part.name("type"))
    return parts


def parse_attachments(state: EmulatorState, body: Body) -> list[dict[str, Any]]:
    attachments = []
    items = body.items("attachments")
    if len(items) > MAX_ATTACHMENTS:
        raise bad_request(
            f"Invalid '{body.name('attachments')}': array too long. Expected an array with maximum length "
            f"{MAX_ATTACHMENTS}, but got an array with length {len(items)} instead.",
            param=body.name("attachments"),
        )
    for item in items:
        file_id = item.string("file_id", required=True)
        if file_id not in state.files:
            raise bad_request(
                f"Invalid '{item.name('file_id')}': no file found with id '{file_id}'.",
                param=item.name("file_id"),
            )
        tools = []
        for tool in item.items("tools"):
            tools.append(
                {"type": tool.choice("type", ("code_interpreter", "file_search"), "code_interpreter")}
            )
        attachments.append({"file_id": file_id, "tools": tools})
    return attachments


def add_message(state: EmulatorState, thread: ThreadRecord, body: Body) -> MessageRecord:
    """A message from a create-message body (also thread `messages` and run `additional_messages`)."""
    role = body.choice("role", ("user", "assistant"))
    if role is None:
        raise bad_request(f"Missing required parameter: '{body.name('role')}'.", param=body.name("role"))
    record = MessageRecord(
        id=state.new_id("msg_"),
        created_at=state.now(),
        thread_id=thread.id,
        role=role,
        content=parse_content(body),
        attachments=parse_attachments(state, body),
        metadata=body.metadata() or {},
    )
    state.assistants.messages[record.id] = record
    thread.message_ids.append(record.id)
    if role == "user":
        state.stats.messages_created += 1
    searched = [a["file_id"] for a in record.attachments if any(t["type"] == "file_search" for t in a["tools"])]
    if searched:
        store = _thread_store(state, thread)
        for file_id in searched:
            attach(state, store, file_id)
    return record


def _thread_store(state: EmulatorState, thread: ThreadRecord) -> VectorStoreRecord:
    """The thread's vector store, created (as the real service does) for its first file_search attachment."""
    for store_id in _store_ids(thread.tool_resources):
        if store_id in state.vector_stores.stores:
            return state.vector_stores.stores[store_id]
    store = new_store(state, expires_after={"anchor": "last_active_at", "days": THREAD_STORE_DAYS})
    thread.tool_resources = {**thread.tool_resources, "file_search": {"vector_store_ids": [store.id]}}
    return store


def _store_ids(resources: dict[str, Any]) -> list[str]:
    return list(resources.get("file_search", {}).get("vector_store_ids", []))


def new_thread(state: EmulatorState, body: Body | None) -> ThreadRecord:
    thread = ThreadRecord(id=state.new_id("thread_"), created_at=state.now())
    if body is not None:
        thread.metadata = body.metadata() or {}
        thread.tool_resources = parse_tool_resources(state, body) or {}
    state.assistants.threads[thread.id] = thread
    if body is not None:
        for message in body.items("messages"):
            add_message(state, thread, message)
    return thread


# --- the run lifecycle ------------------------------------------------------------------------------


def _usage(prompt: str, completion: str) -> dict[str, int]:
    prompt_tokens, completion_tokens = estimate_tokens(prompt), estimate_tokens(completion)
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def _files_for(state: EmulatorState, run: RunRecord, thread: ThreadRecord) -> list[AttachedFile]:
    ids: list[str] = []
    assistant = state.assistants.assistants.get(run.assistant_id)
    for resources in (assistant.tool_resources if assistant else {}, thread.tool_resources):
        ids.extend(resources.get("code_interpreter", {}).get("file_ids", []))
        for store_id in _store_ids(resources):
            ids.extend(state.vector_stores.file_ids(store_id))
    for message_id in thread.message_ids:
        ids.extend(a["file_id"] for a in state.assistants.messages[message_id].attachments)
    files = [state.files[i] for i in dict.fromkeys(ids) if i in state.files]
    return [AttachedFile(f.filename, f.data) for f in files]


def _searcher(state: EmulatorState, run: RunRecord, thread: ThreadRecord) -> Callable[[str], list[SearchHit]] | None:
    """file_search over the assistant's and the thread's stores, when the run offers it and there are any.

    Like the real service, the run waits for the thread's store to finish ingesting (not the assistant's).
    """
    tool = next((t for t in run.tools if t["type"] == "file_search"), None)
    if tool is None:
        return None
    assistant = state.assistants.assistants.get(run.assistant_id)
    thread_ids = _store_ids(thread.tool_resources)
    ids = [*_store_ids(assistant.tool_resources if assistant else {}), *thread_ids]
    ids = [i for i in dict.fromkeys(ids) if i in state.vector_stores.stores]
    if not ids:
        return None
    for store_id in thread_ids:
        store = state.vector_stores.stores.get(store_id)
        for record in store.files.values() if store else ():
            record.settle()
    limit, threshold = _search_options(tool)
    return lambda query: search(state, ids, query, max_results=limit, score_threshold=threshold)


def _search_options(tool: dict[str, Any]) -> tuple[int, float]:
    options = tool.get("file_search") or {}
    limit = options.get("max_num_results")
    ranking = options.get("ranking_options") or {}
    threshold = ranking.get("score_threshold")
    return (
        limit if isinstance(limit, int) and 1 <= limit <= 50 else DEFAULT_MAX_RESULTS,
        float(threshold) if isinstance(threshold, int | float) else 0.0,
    )


def context_for(state: EmulatorState, run: RunRecord) -> TurnContext:
    store = state.assistants
    thread = store.threads[run.thread_id]
    functions = {
        tool["function"]["name"]: tool["function"].get("parameters", {})
        for tool in run.tools
        if tool["type"] == "function"
    }
    if run.tool_choice == "none":
        functions = {}
    elif isinstance(run.tool_choice, dict) and run.tool_choice.get("type") == "function":
        chosen = run.tool_choice.get("function", {}).get("name")
        functions = {k: v for k, v in functions.items() if k == chosen}
    earlier = [o for rid in thread.run_ids if rid != run.id for o in store.runs[rid].outcomes]
    transcript: list[tuple[str, str]] = [
        (m.role, m.text()) for m in (store.messages[i] for i in thread.message_ids) if m.run_id != run.id
    ]
    return TurnContext(
        message=run.message_text,
        instructions=run.instructions,
        functions=functions,
        code_interpreter=any(tool["type"] == "code_interpreter" for tool in run.tools),
        files=_files_for(state, run, thread),
        earlier=earlier,
        outcomes=list(run.outcomes),
        transcript=transcript,
        search=_searcher(state, run, thread),
    )


def _new_step(
    state: EmulatorState,
    run: RunRecord,
    kind: Literal["message_creation", "tool_calls"],
    details: dict[str, Any],
) -> StepRecord:
    step = StepRecord(
        id=state.new_id("step_"),
        created_at=state.now(),
        run_id=run.id,
        thread_id=run.thread_id,
        assistant_id=run.assistant_id,
        type=kind,
        step_details=details,
    )
    state.assistants.steps[step.id] = step
    run.step_ids.append(step.id)
    return step


def _complete_step(state: EmulatorState, step: StepRecord, usage: dict[str, int]) -> None:
    step.status = "completed"
    step.completed_at = state.now()
    step.usage = usage


def _end_open_steps(state: EmulatorState, run: RunRecord, status: StepStatus) -> None:
    now = state.now()
    for step_id in run.step_ids:
        step = state.assistants.steps[step_id]
        if step.status != "in_progress":
            continue
        step.status = status
        if status == "cancelled":
            step.cancelled_at = now
        elif status == "expired":
            step.expired_at = now
        elif status == "failed":
            step.failed_at = now
            step.last_error = run.last_error


def _request_tools(state: EmulatorState, run: RunRecord, round_: ToolRound) -> None:
    calls = round_.calls if run.parallel_tool_calls else round_.calls[:1]
    run.pending_calls = [
        {
            "id": state.new_id("call_"),
            "type": "function",
            "function": {"name": c.name, "arguments": c.arguments},
        }
        for c in calls
    ]
    step = _new_step(
        state,
        run,
        "tool_calls",
        {
            "type": "tool_calls",
            "tool_calls": [
                {"id": c["id"], "type": "function", "function": {**c["function"], "output": None}}
                for c in run.pending_calls
            ],
        },
    )
    run.pending_step = step.id
    run.status = "requires_action"
    run.required_action = {
        "type": "submit_tool_outputs",
        "submit_tool_outputs": {"tool_calls": run.pending_calls},
    }


def _search_step(state: EmulatorState, run: RunRecord, answer: Answer) -> None:
    """The completed `tool_calls` step of the answer's file search (results' text kept for `include`)."""
    assert answer.search is not None
    tool = next((t for t in run.tools if t["type"] == "file_search"), {})
    ranking = (tool.get("file_search") or {}).get("ranking_options") or {}
    _, threshold = _search_options(tool)
    call = {
        "id": state.new_id("call_"),
        "type": "file_search",
        "file_search": {
            "ranking_options": {"ranker": ranking.get("ranker", "default_2024_08_21"), "score_threshold": threshold},
            "results": [
                {
                    "file_id": hit.file_id,
                    "file_name": hit.filename,
                    "score": hit.score,
                    "content": [{"type": "text", "text": hit.text}],
                }
                for hit in answer.search.hits
            ],
        },
    }
    step = _new_step(state, run, "tool_calls", {"type": "tool_calls", "tool_calls": [call]})
    _complete_step(state, step, _usage(run.message_text, "".join(h.text for h in answer.search.hits)))


def _cited_text(state: EmulatorState, run: RunRecord, answer: Answer) -> dict[str, Any]:
    """The answer's text part: a `【m:i†source】` marker after each quote, with its file_citation."""
    marker_base = len(state.assistants.threads[run.thread_id].message_ids)
    hits = list(answer.search.hits) if answer.search else []
    text, annotations, cursor = "", [], 0
    for citation in sorted(answer.citations, key=lambda c: c.index):
        text += answer.text[cursor : citation.index]
        cursor = citation.index
        position = hits.index(citation.hit) if citation.hit in hits else 0
        marker = f"【{marker_base}:{position}†source】"
        annotations.append(
            {
                "type": "file_citation",
                "text": marker,
                "file_citation": {"file_id": citation.hit.file_id},
                "start_index": len(text),
                "end_index": len(text) + len(marker),
            }
        )
        text += marker
    text += answer.text[cursor:]
    return {"type": "text", "text": {"value": text, "annotations": annotations}}


def _write_answer(state: EmulatorState, run: RunRecord, answer: Answer, incomplete: bool) -> None:
    now = state.now()
    if answer.search is not None:
        _search_step(state, run, answer)
    image_parts: list[dict[str, Any]] = []
    if answer.charts:
        code_calls = []
        for chart in answer.charts:
            stored = state.add_file(chart.filename, "assistants_output", render_png(chart))
            image_parts.append({"type": "image_file", "image_file": {"file_id": stored.id}})
            code_calls.append(
                {
                    "id": state.new_id("call_"),
                    "type": "code_interpreter",
                    "code_interpreter": {
                        "input": chart.code(),
                        "outputs": [{"type": "image", "image": {"file_id": stored.id}}],
                    },
                }
            )
        code_step = _new_step(state, run, "tool_calls", {"type": "tool_calls", "tool_calls": code_calls})
        _complete_step(state, code_step, _usage(run.message_text, "".join(c.code() for c in answer.charts)))
    message = MessageRecord(
        id=state.new_id("msg_"),
        created_at=now,
        thread_id=run.thread_id,
        role="assistant",
        content=[*image_parts, _cited_text(state, run, answer)],
        assistant_id=run.assistant_id,
        run_id=run.id,
        status="incomplete" if incomplete else "completed",
        completed_at=None if incomplete else now,
        incomplete_at=now if incomplete else None,
        incomplete_details={"reason": "max_tokens"} if incomplete else None,
    )
    state.assistants.messages[message.id] = message
    state.assistants.threads[run.thread_id].message_ids.append(message.id)
    step = _new_step(
        state,
        run,
        "message_creation",
        {"type": "message_creation", "message_creation": {"message_id": message.id}},
    )
    _complete_step(state, step, _usage(run.message_text, answer.text))


def _finish(state: EmulatorState, run: RunRecord, finish: Finish) -> None:
    now = state.now()
    if finish.answer is not None:
        _write_answer(state, run, finish.answer, incomplete=finish.status == "incomplete")
    run.required_action = None
    run.status = finish.status
    run.usage = _usage(run.instructions + run.message_text, finish.answer.text if finish.answer else "")
    if finish.status == "completed":
        run.completed_at = now
        run.expires_at = None
    elif finish.status == "incomplete":
        run.incomplete_details = {"reason": "max_completion_tokens"}
        run.expires_at = None
    elif finish.status == "failed":
        assert finish.error is not None
        code = finish.error.code if finish.error.code in RUN_ERROR_CODES else "server_error"
        run.last_error = {"code": code, "message": finish.error.message}
        run.failed_at = now
        run.expires_at = None
        _end_open_steps(state, run, "failed")
    else:
        _end_open_steps(state, run, "expired")


def refresh(state: EmulatorState, run: RunRecord) -> None:
    """Apply the clock: a run not finished by `expires_at` expires."""
    expiring = run.status in ACTIVE and run.status != "cancelling" and run.expires_at is not None
    if expiring and state.clock() >= run.expires_at:  # type: ignore[operator]
        run.status = "expired"
        run.required_action = None
        _end_open_steps(state, run, "expired")


def poll(state: EmulatorState, run: RunRecord) -> None:
    """One retrieve: the run moves on by one poll (see `EmulatorConfig.polls_before_done`)."""
    refresh(state, run)
    if run.status == "cancelling":
        run.status = "cancelled"
        run.cancelled_at = state.now()
        run.expires_at = None
        _end_open_steps(state, run, "cancelled")
        return
    if run.status not in ("queued", "in_progress"):
        return
    if run.started_at is None:
        run.started_at = state.now()
    if not run.pacing.tick():
        run.status = "in_progress"
        return
    step = run.held_finish or run.plan.next_step(lambda: context_for(state, run))
    run.held_finish = None
    if isinstance(step, ToolRound):
        _request_tools(state, run, step)
    elif run.pacing.may_finish(state.clock()):
        _finish(state, run, step)
    else:
        run.held_finish = step
        run.status = "in_progress"


def start_run(state: EmulatorState, thread: ThreadRecord, body: Body) -> RunRecord:
    store = state.assistants
    if body.boolean("stream", False):
        raise bad_request(
            "The emulator does not stream runs; create the run without 'stream' and poll it.", param="stream"
        )
    assistant = store.assistant(body.string("assistant_id", required=True))
    active = store.active_run(thread)
    if active is not None:
        refresh(state, active)
        if active.status in ACTIVE:
            raise bad_request(f"Thread {thread.id} already has an active run {active.id}.")
    tools = parse_tools(body)
    instructions = body.string("instructions", assistant.instructions or "")
    extra = body.string("additional_instructions")
    if extra:
        instructions = f"{instructions}\n{extra}" if instructions else extra
    truncation = body.object("truncation_strategy")
    tool_choice = body.raw("tool_choice")
    if tool_choice is not None and not isinstance(tool_choice, dict):
        tool_choice = body.choice("tool_choice", ("none", "auto", "required"))
    response_format = body.raw("response_format")
    metadata = body.metadata() or {}
    temperature = body.number("temperature", assistant.temperature, low=0, high=2)
    top_p = body.number("top_p", assistant.top_p, low=0, high=1)
    max_prompt = body.integer("max_prompt_tokens", minimum=256)
    max_completion = body.integer("max_completion_tokens", minimum=256)
    parallel = body.boolean("parallel_tool_calls", True)
    model = body.string("model", assistant.model)
    additional = body.items("additional_messages")

    for message in additional:
        add_message(state, thread, message)
    last_user = next(
        (store.messages[i] for i in reversed(thread.message_ids) if store.messages[i].role == "user"), None
    )
    text = last_user.text() if last_user else ""
    script = state.take_script(text)
    now = state.clock()
    expires_in = (
        script.expires_in_seconds
        if script and script.expires_in_seconds
        else state.config.run_expires_seconds
    )
    polls = (
        script.polls_before_done
        if script and script.polls_before_done is not None
        else state.config.polls_before_done
    )
    run = RunRecord(
        id=state.new_id("run_"),
        created_at=int(now),
        thread_id=thread.id,
        assistant_id=assistant.id,
        model=model,
        instructions=instructions,
        tools=tools if tools is not None else list(assistant.tools),
        expires_at=now + expires_in,
        pacing=Pacing(polls, script.duration_seconds if script else None, now),
        plan=Plan(script),
        message_text=text,
        metadata=metadata,
        temperature=temperature,
        top_p=top_p,
        max_prompt_tokens=max_prompt,
        max_completion_tokens=max_completion,
        truncation_strategy=dict(truncation.data) if truncation else {"type": "auto", "last_messages": None},
        tool_choice=tool_choice if tool_choice is not None else "auto",
        parallel_tool_calls=parallel,
        response_format=response_format if response_format is not None else assistant.response_format,
    )
    store.runs[run.id] = run
    thread.run_ids.append(run.id)
    state.stats.runs_started += 1
    return run


# --- handlers ----------------------------------------------------------------------------------------


def _state(request: web.Request) -> EmulatorState:
    return request.app[STATE]


async def create_assistant(request: web.Request) -> web.Response:
    state = _state(request)
    body = await read_json(request)
    record = AssistantRecord(
        id=state.new_id("asst_"),
        created_at=state.now(),
        model=body.string("model", required=True),
        name=body.string("name"),
        description=body.string("description"),
        instructions=body.string("instructions"),
        tools=parse_tools(body) or [],
        tool_resources=parse_tool_resources(state, body) or {},
        metadata=body.metadata() or {},
        temperature=body.number("temperature", 1.0, low=0, high=2),
        top_p=body.number("top_p", 1.0, low=0, high=1),
        response_format=body.raw("response_format") or "auto",
    )
    state.assistants.assistants[record.id] = record
    return json_response(record.to_json())


async def list_assistants(request: web.Request) -> web.Response:
    state = _state(request)
    return json_response(
        page(
            list(state.assistants.assistants.values()),
            Query(request),
            lambda a: a.id,
            AssistantRecord.to_json,
        )
    )


async def retrieve_assistant(request: web.Request) -> web.Response:
    return json_response(_state(request).assistants.assistant(request.match_info["assistant_id"]).to_json())


async def update_assistant(request: web.Request) -> web.Response:
    state = _state(request)
    record = state.assistants.assistant(request.match_info["assistant_id"])
    body = await read_json(request)
    record.model = body.string("model", record.model)
    for key in ("name", "description", "instructions"):
        if body.has(key):
            setattr(record, key, body.string(key))
    tools = parse_tools(body)
    if tools is not None:
        record.tools = tools
    resources = parse_tool_resources(state, body)
    if resources is not None:
        record.tool_resources = resources
    record.metadata = body.metadata() if body.has("metadata") else record.metadata  # type: ignore[assignment]
    record.temperature = body.number("temperature", record.temperature, low=0, high=2)
    record.top_p = body.number("top_p", record.top_p, low=0, high=1)
    if body.has("response_format"):
        record.response_format = body.raw("response_format")
    return json_response(record.to_json())


async def delete_assistant(request: web.Request) -> web.Response:
    state = _state(request)
    record = state.assistants.assistant(request.match_info["assistant_id"])
    del state.assistants.assistants[record.id]
    return json_response({"id": record.id, "object": "assistant.deleted", "deleted": True})


async def create_thread(request: web.Request) -> web.Response:
    state = _state(request)
    return json_response(new_thread(state, await read_json(request)).to_json())


async def retrieve_thread(request: web.Request) -> web.Response:
    return json_response(_state(request).assistants.thread(request.match_info["thread_id"]).to_json())


async def update_thread(request: web.Request) -> web.Response:
    state = _state(request)
    thread = state.assistants.thread(request.match_info["thread_id"])
    body = await read_json(request)
    if body.has("metadata"):
        thread.metadata = body.metadata() or {}
    resources = parse_tool_resources(state, body)
    if resources is not None:
        thread.tool_resources = resources
    return json_response(thread.to_json())


async def delete_thread(request: web.Request) -> web.Response:
    state = _state(request)
    store = state.assistants
    thread = store.thread(request.match_info["thread_id"])
    for message_id in thread.message_ids:
        store.messages.pop(message_id, None)
    for run_id in thread.run_ids:
        for step_id in store.runs[run_id].step_ids:
            store.steps.pop(step_id, None)
        store.runs.pop(run_id, None)
    del store.threads[thread.id]
    return json_response({"id": thread.id, "object": "thread.deleted", "deleted": True})


async def create_message(request: web.Request) -> web.Response:
    state = _state(request)
    thread = state.assistants.thread(request.match_info["thread_id"])
    body = await read_json(request)
    active = state.assistants.active_run(thread)
    if active is not None:
        refresh(state, active)
        if active.status in ACTIVE:
            raise bad_request(f"Can't add messages to {thread.id} while a run {active.id} is active.")
    return json_response(add_message(state, thread, body).to_json())


async def list_messages(request: web.Request) -> web.Response:
    state = _state(request)
    store = state.assistants
    thread = store.thread(request.match_info["thread_id"])
    run_id = request.query.get("run_id")
    messages = [store.messages[i] for i in thread.message_ids]
    if run_id:
        messages = [m for m in messages if m.run_id == run_id]
    return json_response(page(messages, Query(request), lambda m: m.id, MessageRecord.to_json))


async def retrieve_message(request: web.Request) -> web.Response:
    store = _state(request).assistants
    thread = store.thread(request.match_info["thread_id"])
    return json_response(store.message(thread, request.match_info["message_id"]).to_json())


async def update_message(request: web.Request) -> web.Response:
    store = _state(request).assistants
    thread = store.thread(request.match_info["thread_id"])
    message = store.message(thread, request.match_info["message_id"])
    body = await read_json(request)
    if body.has("metadata"):
        message.metadata = body.metadata() or {}
    return json_response(message.to_json())


async def delete_message(request: web.Request) -> web.Response:
    store = _state(request).assistants
    thread = store.thread(request.match_info["thread_id"])
    message = store.message(thread, request.match_info["message_id"])
    thread.message_ids.remove(message.id)
    del store.messages[message.id]
    return json_response({"id": message.id, "object": "thread.message.deleted", "deleted": True})


async def create_run(request: web.Request) -> web.Response:
    state = _state(request)
    thread = state.assistants.thread(request.match_info["thread_id"])
    run = start_run(state, thread, await read_json(request))
    return json_response(run.to_json())


async def create_thread_and_run(request: web.Request) -> web.Response:
    state = _state(request)
    body = await read_json(request)
    state.assistants.assistant(body.string("assistant_id", required=True))
    thread = new_thread(state, body.object("thread"))
    run = start_run(state, thread, body)
    return json_response(run.to_json())


async def list_runs(request: web.Request) -> web.Response:
    state = _state(request)
    thread = state.assistants.thread(request.match_info["thread_id"])
    runs = [state.assistants.runs[i] for i in thread.run_ids]
    for run in runs:
        refresh(state, run)
    return json_response(page(runs, Query(request), lambda r: r.id, RunRecord.to_json))


async def retrieve_run(request: web.Request) -> web.Response:
    state = _state(request)
    thread = state.assistants.thread(request.match_info["thread_id"])
    run = state.assistants.run(thread, request.match_info["run_id"])
    poll(state, run)
    return json_response(run.to_json(), headers=poll_headers(state))


async def update_run(request: web.Request) -> web.Response:
    state = _state(request)
    thread = state.assistants.thread(request.match_info["thread_id"])
    run = state.assistants.run(thread, request.match_info["run_id"])
    body = await read_json(request)
    if body.has("metadata"):
        run.metadata = body.metadata() or {}
    return json_response(run.to_json())


async def cancel_run(request: web.Request) -> web.Response:
    state = _state(request)
    thread = state.assistants.thread(request.match_info["thread_id"])
    run = state.assistants.run(thread, request.match_info["run_id"])
    refresh(state, run)
    if run.status not in ACTIVE:
        raise bad_request(f"Cannot cancel run with status '{run.status}'.")
    run.status = "cancelling"
    run.required_action = None
    return json_response(run.to_json())


async def submit_tool_outputs(request: web.Request) -> web.Response:
    state = _state(request)
    thread = state.assistants.thread(request.match_info["thread_id"])
    run = state.assistants.run(thread, request.match_info["run_id"])
    body = await read_json(request)
    if body.boolean("stream", False):
        raise bad_request(
            "The emulator does not stream runs; submit without 'stream' and poll the run.", param="stream"
        )
    refresh(state, run)
    if run.status != "requires_action":
        raise bad_request(f'Runs in status "{run.status}" do not accept tool outputs.')
    outputs = body.items("tool_outputs")
    given = [item.string("tool_call_id", required=True) for item in outputs]
    expected = [call["id"] for call in run.pending_calls]
    if len(set(given)) != len(given) or set(given) != set(expected):
        raise bad_request(f"Expected tool outputs for call_ids {expected!r}, got {given!r}")
    by_id = {item.string("tool_call_id"): item.string("output", "") for item in outputs}
    assert run.pending_step is not None
    step = state.assistants.steps[run.pending_step]
    for call in step.step_details["tool_calls"]:
        call["function"]["output"] = by_id[call["id"]]
        run.outcomes.append(
            ToolOutcome(call["function"]["name"], call["function"]["arguments"], by_id[call["id"]])
        )
    _complete_step(state, step, _usage("".join(by_id.values()), ""))
    state.stats.tool_outputs_received += len(given)
    run.pending_calls = []
    run.pending_step = None
    run.required_action = None
    run.status = "in_progress"
    run.pacing.restart()
    return json_response(run.to_json())


async def list_steps(request: web.Request) -> web.Response:
    state = _state(request)
    store = state.assistants
    thread = store.thread(request.match_info["thread_id"])
    run = store.run(thread, request.match_info["run_id"])
    steps = [store.steps[i] for i in run.step_ids]
    content = _includes_content(request)
    return json_response(page(steps, Query(request), lambda s: s.id, lambda s: s.to_json(content)))


def _includes_content(request: web.Request) -> bool:
    """Whether `include[]` (the SDK's form) or `include` asks for file search results' content."""
    return RESULT_CONTENT in request.query.getall("include[]", []) + request.query.getall("include", [])


async def retrieve_step(request: web.Request) -> web.Response:
    state = _state(request)
    store = state.assistants
    thread = store.thread(request.match_info["thread_id"])
    run = store.run(thread, request.match_info["run_id"])
    step = store.steps.get(request.match_info["step_id"])
    if step is None or step.run_id != run.id:
        raise not_found(f"No run step found with id '{request.match_info['step_id']}'.")
    return json_response(step.to_json(_includes_content(request)))


def add_routes(router: web.UrlDispatcher, prefix: str = "/openai") -> None:
    router.add_post(f"{prefix}/assistants", create_assistant)
    router.add_get(f"{prefix}/assistants", list_assistants)
    router.add_get(f"{prefix}/assistants/{{assistant_id}}", retrieve_assistant)
    router.add_post(f"{prefix}/assistants/{{assistant_id}}", update_assistant)
    router.add_delete(f"{prefix}/assistants/{{assistant_id}}", delete_assistant)
    router.add_post(f"{prefix}/threads", create_thread)
    router.add_post(f"{prefix}/threads/runs", create_thread_and_run)
    router.add_get(f"{prefix}/threads/{{thread_id}}", retrieve_thread)
    router.add_post(f"{prefix}/threads/{{thread_id}}", update_thread)
    router.add_delete(f"{prefix}/threads/{{thread_id}}", delete_thread)
    router.add_post(f"{prefix}/threads/{{thread_id}}/messages", create_message)
    router.add_get(f"{prefix}/threads/{{thread_id}}/messages", list_messages)
    router.add_get(f"{prefix}/threads/{{thread_id}}/messages/{{message_id}}", retrieve_message)
    router.add_post(f"{prefix}/threads/{{thread_id}}/messages/{{message_id}}", update_message)
    router.add_delete(f"{prefix}/threads/{{thread_id}}/messages/{{message_id}}", delete_message)
    router.add_post(f"{prefix}/threads/{{thread_id}}/runs", create_run)
    router.add_get(f"{prefix}/threads/{{thread_id}}/runs", list_runs)
    router.add_get(f"{prefix}/threads/{{thread_id}}/runs/{{run_id}}", retrieve_run)
    router.add_post(f"{prefix}/threads/{{thread_id}}/runs/{{run_id}}", update_run)
    router.add_post(f"{prefix}/threads/{{thread_id}}/runs/{{run_id}}/cancel", cancel_run)
    router.add_post(
        f"{prefix}/threads/{{thread_id}}/runs/{{run_id}}/submit_tool_outputs", submit_tool_outputs
    )
    router.add_get(f"{prefix}/threads/{{thread_id}}/runs/{{run_id}}/steps", list_steps)
    router.add_get(f"{prefix}/threads/{{thread_id}}/runs/{{run_id}}/steps/{{step_id}}", retrieve_step)
