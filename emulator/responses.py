"""Responses, Conversations and Containers (the `/openai/v1/` data plane)."""

from __future__ import annotations

import base64
import binascii
import mimetypes
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

from .charts import ChartSpec, render_png
from .errors import bad_request, not_found
from .paging import page
from .params import Body, Query, check_metadata, read_json
from .policy import Answer, AttachedFile, SearchHit, ToolOutcome, ToolRound, TurnContext
from .state import EmulatorState
from .turns import Finish, Pacing, Plan, estimate_tokens
from .vectors import parse_filters, search
from .web import STATE, json_response, poll_headers

ResponseStatus = Literal["completed", "failed", "in_progress", "cancelled", "queued", "incomplete"]
_HEX = "0123456789abcdef"
RESPONSE_ERROR_CODES = frozenset(
    {
        "server_error",
        "rate_limit_exceeded",
        "invalid_prompt",
        "vector_store_timeout",
        "invalid_image",
        "invalid_image_format",
        "invalid_base64_image",
        "invalid_image_url",
        "image_too_large",
        "image_too_small",
        "image_parse_error",
        "image_content_policy_violation",
        "invalid_image_mode",
        "image_file_too_large",
        "unsupported_image_media_type",
        "empty_image_file",
        "failed_to_download_image",
        "image_file_not_found",
    }
)
INPUT_ROLES = ("user", "system", "developer", "assistant")
DEFAULT_MAX_RESULTS = 10


def _hex_id(state: EmulatorState, prefix: str, length: int = 48) -> str:
    return state.new_id(prefix, length, _HEX)


# --- records ---------------------------------------------------------------------------------------


@dataclass
class ConversationRecord:
    id: str
    created_at: int
    metadata: dict[str, str]
    items: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "conversation",
            "created_at": self.created_at,
            "metadata": self.metadata,
        }


@dataclass
class ContainerFile:
    id: str
    container_id: str
    created_at: int
    path: str
    source: Literal["user", "assistant"]
    data: bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "container.file",
            "container_id": self.container_id,
            "created_at": self.created_at,
            "bytes": len(self.data),
            "path": self.path,
            "source": self.source,
        }


@dataclass
class ContainerRecord:
    id: str
    name: str
    created_at: int
    last_active_at: int
    minutes: int = 20
    memory_limit: str = "1g"
    files: dict[str, ContainerFile] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "container",
            "name": self.name,
            "created_at": self.created_at,
            "status": "running",
            "last_active_at": self.last_active_at,
            "expires_after": {"anchor": "last_active_at", "minutes": self.minutes},
            "memory_limit": self.memory_limit,
        }


@dataclass
class ResponseRecord:
    id: str
    created_at: int
    model: str
    background: bool
    instructions: str | None
    tools: list[dict[str, Any]]
    tool_choice: Any
    parallel_tool_calls: bool
    metadata: dict[str, str]
    temperature: float
    top_p: float
    previous_response_id: str | None
    conversation_id: str | None
    history: list[dict[str, Any]]
    input_items: list[dict[str, Any]]
    pacing: Pacing
    plan: Plan
    message_text: str
    store: bool = True
    max_output_tokens: int | None = None
    max_tool_calls: int | None = None
    text: dict[str, Any] = field(default_factory=lambda: {"format": {"type": "text"}, "verbosity": "medium"})
    truncation: str = "disabled"
    include: tuple[str, ...] = ()
    status: ResponseStatus = "queued"
    output: list[dict[str, Any]] = field(default_factory=list)
    usage: dict[str, Any] | None = None
    error: dict[str, str] | None = None
    incomplete_details: dict[str, str] | None = None
    completed_at: int | None = None
    held_finish: Finish | None = None

    def to_json(self) -> dict[str, Any]:
        body = {
            "id": self.id,
            "object": "response",
            "created_at": self.created_at,
            "status": self.status,
            "background": self.background,
            "completed_at": self.completed_at,
            "conversation": {"id": self.conversation_id} if self.conversation_id else None,
            "error": self.error,
            "incomplete_details": self.incomplete_details,
            "instructions": self.instructions,
            "max_output_tokens": self.max_output_tokens,
            "max_tool_calls": self.max_tool_calls,
            "model": self.model,
            "output": self.output,
            "parallel_tool_calls": self.parallel_tool_calls,
            "previous_response_id": self.previous_response_id,
            "prompt_cache_key": None,
            "reasoning": {"effort": None, "summary": None},
            "safety_identifier": None,
            "service_tier": "default",
            "temperature": self.temperature,
            "text": self.text,
            "tool_choice": self.tool_choice,
            "tools": self.tools,
            "top_logprobs": 0,
            "top_p": self.top_p,
            "truncation": self.truncation,
            "metadata": self.metadata,
        }
        # The API description has `usage` as an object (never null): it appears once the model ran.
        if self.usage is not None:
            body["usage"] = self.usage
        return body


class ResponsesStore:
    """Responses, conversations and containers by id, and which response made each function call."""

    def __init__(self) -> None:
        self.responses: dict[str, ResponseRecord] = {}
        self.conversations: dict[str, ConversationRecord] = {}
        self.containers: dict[str, ContainerRecord] = {}
        self.call_origin: dict[str, str] = {}

    def response(self, response_id: str) -> ResponseRecord:
        found = self.responses.get(response_id)
        if found is None:
            raise not_found(f"Response with id '{response_id}' not found.")
        return found

    def conversation(self, conversation_id: str) -> ConversationRecord:
        found = self.conversations.get(conversation_id)
        if found is None:
            raise not_found(f"Conversation with id '{conversation_id}' not found.")
        return found

    def container(self, container_id: str) -> ContainerRecord:
        found = self.containers.get(container_id)
        if found is None:
            raise not_found(f"Container with id '{container_id}' not found.")
        return found


# --- items -----------------------------------------------------------------------------------------


def _content_parts(state: EmulatorState, item: Body, role: str) -> list[dict[str, Any]]:
    raw = item.raw("content")
    text_type = "output_text" if role == "assistant" else "input_text"
    if isinstance(raw, str):
        return [_text_part(text_type, raw)]
    if not isinstance(raw, list):
        raise bad_request(
            f"Invalid type for '{item.name('content')}': expected a string or an array of content parts.",
            param=item.name("content"),
        )
    parts = []
    for part in item.items("content"):
        kind = part.string("type", required=True)
        if kind in ("input_text", "output_text"):
            parts.append(_text_part(kind, part.string("text", required=True)))
        elif kind == "input_file":
            file_part: dict[str, Any] = {"type": "input_file"}
            for key in ("file_id", "file_data", "file_url", "filename"):
                if part.has(key):
                    file_part[key] = part.string(key)
            file_id = file_part.get("file_id")
            if file_id is not None and file_id not in state.files:
                raise bad_request(
                    f"Invalid '{part.name('file_id')}': no file found with id '{file_id}'.",
                    param=part.name("file_id"),
                )
            if len(file_part) == 1:
                raise bad_request(
                    f"Missing required parameter: '{part.name('file_id')}'.", param=part.name("file_id")
                )
            parts.append(file_part)
        elif kind == "input_image":
            image: dict[str, Any] = {
                "type": "input_image",
                "detail": part.choice("detail", ("low", "high", "auto", "original"), "auto"),
            }
            for key in ("image_url", "file_id"):
                if part.has(key):
                    image[key] = part.string(key)
            parts.append(image)
        else:
            raise bad_request(
                f"Invalid value for '{part.name('type')}': '{kind}' is not a supported content type.",
                param=part.name("type"),
            )
    return parts


def _text_part(kind: str, text: str) -> dict[str, Any]:
    if kind == "output_text":
        return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
    return {"type": "input_text", "text": text}


def parse_items(state: EmulatorState, items: list[Body]) -> list[dict[str, Any]]:
    """Input items as stored (with ids), from `input` or conversation `items`."""
    stored: list[dict[str, Any]] = []
    for item in items:
        kind = item.string("type", "message")
        if kind == "message":
            role = item.choice("role", INPUT_ROLES)
            if role is None:
                raise bad_request(
                    f"Missing required parameter: '{item.name('role')}'.", param=item.name("role")
                )
            stored.append(
                {
                    "id": _hex_id(state, "msg_"),
                    "type": "message",
                    "role": role,
                    "status": "completed",
                    "content": _content_parts(state, item, role),
                }
            )
        elif kind == "function_call_output":
            output = item.raw("output")
            if not isinstance(output, str):
                raise bad_request(
                    f"Invalid type for '{item.name('output')}': expected a string.", param=item.name("output")
                )
            stored.append(
                {
                    "id": _hex_id(state, "fco_"),
                    "type": "function_call_output",
                    "call_id": item.string("call_id", required=True),
                    "output": output,
                    "status": "completed",
                }
            )
        elif kind == "function_call":
            stored.append(
                {
                    "id": item.string("id") or _hex_id(state, "fc_"),
                    "type": "function_call",
                    "call_id": item.string("call_id", required=True),
                    "name": item.string("name", required=True),
                    "arguments": item.string("arguments", required=True),
                    "status": "completed",
                }
            )
        else:
            raise bad_request(
                f"Invalid value for '{item.name('type')}': '{kind}' is not supported by the emulator.",
                param=item.name("type"),
            )
    return stored


def _item_text(item: dict[str, Any]) -> str:
    return "\n".join(
        part["text"] for part in item.get("content", []) if part.get("type") in ("input_text", "output_text")
    )


def _count_user_messages(state: EmulatorState, items: list[dict[str, Any]]) -> None:
    state.stats.messages_created += sum(1 for i in items if i["type"] == "message" and i["role"] == "user")


def _pending_calls(history: list[dict[str, Any]]) -> list[str]:
    answered = {i["call_id"] for i in history if i["type"] == "function_call_output"}
    return [i["call_id"] for i in history if i["type"] == "function_call" and i["call_id"] not in answered]


def _check_outputs(history: list[dict[str, Any]], items: list[dict[str, Any]]) -> None:
    """Every pending function call is answered, and every output answers a call (as the real API checks)."""
    known = {i["call_id"] for i in history + items if i["type"] == "function_call"}
    for item in items:
        if item["type"] == "function_call_output" and item["call_id"] not in known:
            raise bad_request(
                f"No tool call found for function call output with call_id {item['call_id']}.", param="input"
            )
    given = {i["call_id"] for i in items if i["type"] == "function_call_output"}
    missing = [call_id for call_id in _pending_calls(history) if call_id not in given]
    if len(missing) == 1:
        raise bad_request(f"No tool output found for function call {missing[0]}.", param="input")
    if missing:
        raise bad_request(f"No tool output found for function calls {', '.join(missing)}.", param="input")


# --- tools -----------------------------------------------------------------------------------------


def parse_tools(state: EmulatorState, body: Body) -> list[dict[str, Any]]:
    tools = []
    for tool in body.items("tools"):
        kind = tool.string("type", required=True)
        if kind == "function":
            entry: dict[str, Any] = {"type": "function", "name": tool.string("name", required=True)}
            if tool.has("description"):
                entry["description"] = tool.string("description")
            parameters = tool.object("parameters")
            entry["parameters"] = dict(parameters.data) if parameters else None
            entry["strict"] = tool.boolean("strict", True)
            tools.append(entry)
        elif kind == "code_interpreter":
            container = tool.raw("container")
            if isinstance(container, str):
                state.responses.container(container)
                tools.append({"type": "code_interpreter", "container": container})
            elif isinstance(container, dict):
                spec = tool.object("container")
                assert spec is not None
                spec.choice("type", ("auto",), "auto")
                file_ids = [v for v in spec.array("file_ids") if isinstance(v, str)]
                for file_id in file_ids:
                    if file_id not in state.files:
                        raise bad_request(
                            f"Invalid '{spec.name('file_ids')}': no file found with id '{file_id}'.",
                            param=spec.name("file_ids"),
                        )
                tools.append(
                    {"type": "code_interpreter", "container": {"type": "auto", "file_ids": file_ids}}
                )
            else:
                raise bad_request(
                    f"Missing required parameter: '{tool.name('container')}'.", param=tool.name("container")
                )
        elif kind == "file_search":
            tools.append(_file_search_tool(state, tool))
        else:
            raise bad_request(
                f"Invalid value for '{tool.name('type')}': '{kind}' is not supported by the emulator.",
                param=tool.name("type"),
            )
    return tools


def _file_search_tool(state: EmulatorState, tool: Body) -> dict[str, Any]:
    """The file_search tool as the response echoes it; every vector store must exist."""
    key = tool.name("vector_store_ids")
    ids = tool.array("vector_store_ids", required=True)
    for index, store_id in enumerate(ids):
        if not isinstance(store_id, str):
            raise bad_request(f"Invalid type for '{key}[{index}]': expected a string.", param=key)
        if store_id not in state.vector_stores.stores:
            raise bad_request(f"Invalid '{key}': no vector store found with id '{store_id}'.", param=key)
    limit = tool.integer("max_num_results", DEFAULT_MAX_RESULTS, minimum=1)
    if limit > 50:
        raise bad_request(
            f"Invalid '{tool.name('max_num_results')}': integer above maximum value. Expected a value <= 50, "
            f"but got {limit} instead.",
            param=tool.name("max_num_results"),
        )
    ranking = tool.object("ranking_options")
    options: dict[str, Any] = {"ranker": "auto", "score_threshold": 0.0}
    if ranking is not None:
        options["ranker"] = ranking.choice("ranker", ("auto", "default-2024-11-15"), "auto")
        options["score_threshold"] = ranking.number("score_threshold", 0.0, low=0, high=1)
    return {
        "type": "file_search",
        "vector_store_ids": list(ids),
        "filters": parse_filters(tool),
        "max_num_results": limit,
        "ranking_options": options,
    }


def _searcher(state: EmulatorState, response: ResponseRecord) -> Callable[[str], list[SearchHit]] | None:
    tool = next((t for t in response.tools if t["type"] == "file_search"), None)
    if tool is None or not any(i in state.vector_stores.stores for i in tool["vector_store_ids"]):
        return None
    return lambda query: search(
        state,
        tool["vector_store_ids"],
        query,
        max_results=tool["max_num_results"],
        score_threshold=tool["ranking_options"]["score_threshold"],
        filters=tool["filters"],
    )


def _code_tool(response: ResponseRecord) -> dict[str, Any] | None:
    return next((t for t in response.tools if t["type"] == "code_interpreter"), None)


# --- the model's turn ---------------------------------------------------------------------------------


def _files_for(
    state: EmulatorState, response: ResponseRecord, items: list[dict[str, Any]]
) -> list[AttachedFile]:
    files: list[AttachedFile] = []
    seen: set[str] = set()

    def add(file_id: str) -> None:
        stored = state.files.get(file_id)
        if stored is not None and file_id not in seen:
            seen.add(file_id)
            files.append(AttachedFile(stored.filename, stored.data))

    tool = _code_tool(response)
    if tool is not None:
        container = tool["container"]
        if isinstance(container, dict):
            for file_id in container["file_ids"]:
                add(file_id)
        elif container in state.responses.containers:
            for cfile in state.responses.containers[container].files.values():
                if cfile.source == "user":
                    files.append(AttachedFile(cfile.path.rsplit("/", 1)[-1], cfile.data))
    for tool in response.tools:
        if tool["type"] == "file_search":
            for store_id in tool["vector_store_ids"]:
                for file_id in state.vector_stores.file_ids(store_id):
                    add(file_id)
    for item in items:
        for part in item.get("content", []) if item["type"] == "message" else []:
            if part.get("type") != "input_file":
                continue
            if "file_id" in part:
                add(part["file_id"])
            elif "file_data" in part:
                data = part["file_data"].split(",", 1)[-1]
                try:
                    files.append(AttachedFile(part.get("filename", "upload"), base64.b64decode(data)))
                except (binascii.Error, ValueError):
                    continue
    return files


def context_for(state: EmulatorState, response: ResponseRecord) -> TurnContext:
    items = response.history + response.input_items
    last_user = max(
        (i for i, item in enumerate(items) if item["type"] == "message" and item["role"] == "user"),
        default=-1,
    )
    outputs = {i["call_id"]: i["output"] for i in items if i["type"] == "function_call_output"}

    def outcomes(chosen: list[dict[str, Any]]) -> list[ToolOutcome]:
        return [
            ToolOutcome(i["name"], i["arguments"], outputs.get(i["call_id"]))
            for i in chosen
            if i["type"] == "function_call"
        ]

    functions = {t["name"]: t.get("parameters") or {} for t in response.tools if t["type"] == "function"}
    if response.tool_choice == "none":
        functions = {}
    instructions = response.instructions or ""
    instructions += "\n" + "\n".join(
        _item_text(i) for i in items if i["type"] == "message" and i["role"] in ("system", "developer")
    )
    return TurnContext(
        message=response.message_text,
        instructions=instructions,
        functions=functions,
        code_interpreter=_code_tool(response) is not None,
        files=_files_for(state, response, items),
        earlier=outcomes(items[:last_user]) if last_user >= 0 else [],
        outcomes=outcomes(items[last_user + 1 :] if last_user >= 0 else items),
        transcript=[(i["role"], _item_text(i)) for i in items[:last_user] if i["type"] == "message"],
        search=_searcher(state, response),
    )


def _container_for(state: EmulatorState, response: ResponseRecord) -> ContainerRecord:
    tool = _code_tool(response)
    container = tool["container"] if tool else {"type": "auto", "file_ids": []}
    if isinstance(container, str) and container in state.responses.containers:
        return state.responses.containers[container]
    now = state.now()
    record = ContainerRecord(_hex_id(state, "cntr_"), f"auto-{response.id}", now, now)
    for file_id in container.get("file_ids", []) if isinstance(container, dict) else []:
        stored = state.files.get(file_id)
        if stored is not None:
            cfile = ContainerFile(
                _hex_id(state, "cfile_", 32),
                record.id,
                now,
                f"/mnt/data/{stored.filename}",
                "user",
                stored.data,
            )
            record.files[cfile.id] = cfile
    state.responses.containers[record.id] = record
    return record


def _chart_items(
    state: EmulatorState, response: ResponseRecord, charts: tuple[ChartSpec, ...]
) -> tuple[list[dict[str, Any]], list[tuple[ChartSpec, ContainerFile]]]:
    container = _container_for(state, response)
    items, made = [], []
    for chart in charts:
        now = state.now()
        cfile = ContainerFile(
            _hex_id(state, "cfile_", 32),
            container.id,
            now,
            f"/mnt/data/{chart.filename}",
            "assistant",
            render_png(chart),
        )
        container.files[cfile.id] = cfile
        container.last_active_at = now
        outputs = None
        if "code_interpreter_call.outputs" in response.include:
            outputs = [{"type": "image", "url": f"/containers/{container.id}/files/{cfile.id}/content"}]
        items.append(
            {
                "id": _hex_id(state, "ci_"),
                "type": "code_interpreter_call",
                "status": "completed",
                "container_id": container.id,
                "code": chart.code(),
                "outputs": outputs,
            }
        )
        made.append((chart, cfile))
    return items, made


def _message_item(
    state: EmulatorState, answer: Answer, charts: list[tuple[ChartSpec, ContainerFile]], incomplete: bool
) -> dict[str, Any]:
    text = answer.text
    annotations: list[dict[str, Any]] = [
        {
            "type": "file_citation",
            "file_id": citation.hit.file_id,
            "filename": citation.hit.filename,
            "index": citation.index,
        }
        for citation in sorted(answer.citations, key=lambda c: c.index)
    ]
    for chart, cfile in charts:
        link = f"[{chart.filename}](sandbox:{cfile.path})"
        text += f"\n\n{link}"
        annotations.append(
            {
                "type": "container_file_citation",
                "container_id": cfile.container_id,
                "file_id": cfile.id,
                "start_index": len(text) - len(link),
                "end_index": len(text),
                "filename": chart.filename,
            }
        )
    return {
        "id": _hex_id(state, "msg_"),
        "type": "message",
        "role": "assistant",
        "status": "incomplete" if incomplete else "completed",
        "content": [{"type": "output_text", "text": text, "annotations": annotations, "logprobs": []}],
    }


def _search_item(state: EmulatorState, response: ResponseRecord, answer: Answer) -> dict[str, Any]:
    """The `file_search_call` output item; its results only when `include` asks for them."""
    assert answer.search is not None
    results = None
    if "file_search_call.results" in response.include:
        results = [
            {
                "file_id": hit.file_id,
                "filename": hit.filename,
                "score": hit.score,
                "text": hit.text,
                "attributes": dict(hit.attributes) if hit.attributes is not None else {},
            }
            for hit in answer.search.hits
        ]
    return {
        "id": _hex_id(state, "fs_"),
        "type": "file_search_call",
        "status": "completed",
        "queries": list(answer.search.queries),
        "results": results,
    }


def _usage(response: ResponseRecord) -> dict[str, Any]:
    prompt = (response.instructions or "") + "".join(
        _item_text(i) for i in response.history + response.input_items
    )
    completion = "".join(_item_text(i) + i.get("arguments", "") for i in response.output)
    input_tokens, output_tokens = estimate_tokens(prompt), estimate_tokens(completion)
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": input_tokens + output_tokens,
    }


def _complete(state: EmulatorState, response: ResponseRecord, step: ToolRound | Finish) -> None:
    now = state.now()
    if isinstance(step, ToolRound):
        calls = step.calls if response.parallel_tool_calls else step.calls[:1]
        for call in calls:
            call_id = state.new_id("call_")
            response.output.append(
                {
                    "id": _hex_id(state, "fc_"),
                    "type": "function_call",
                    "call_id": call_id,
                    "name": call.name,
                    "arguments": call.arguments,
                    "status": "completed",
                }
            )
            state.responses.call_origin[call_id] = response.id
        response.status = "completed"
    else:
        if step.answer is not None:
            if step.answer.search is not None:
                response.output.append(_search_item(state, response, step.answer))
            code_items, made = (
                _chart_items(state, response, step.answer.charts) if step.answer.charts else ([], [])
            )
            response.output.extend(code_items)
            response.output.append(_message_item(state, step.answer, made, step.status == "incomplete"))
        if step.status == "completed":
            response.status = "completed"
        elif step.status == "incomplete":
            response.status = "incomplete"
            response.incomplete_details = {"reason": "max_output_tokens"}
        else:
            # Responses have no `expired` status: an expired script ends the response as failed.
            assert step.error is not None
            code = step.error.code if step.error.code in RESPONSE_ERROR_CODES else "server_error"
            response.status = "failed"
            response.error = {"code": code, "message": step.error.message}
    if response.status == "completed":
        response.completed_at = now
    response.usage = _usage(response)
    conversation = state.responses.conversations.get(response.conversation_id or "")
    if conversation is not None:
        conversation.items.extend(response.output)


def poll(state: EmulatorState, response: ResponseRecord) -> None:
    """One retrieve of a background response: it moves on by one poll."""
    if response.status not in ("queued", "in_progress"):
        return
    if not response.pacing.tick():
        response.status = "in_progress"
        return
    step = response.held_finish or response.plan.next_step(lambda: context_for(state, response))
    response.held_finish = None
    if isinstance(step, Finish) and not response.pacing.may_finish(state.clock()):
        response.held_finish = step
        response.status = "in_progress"
        return
    _complete(state, response, step)


# --- handlers ----------------------------------------------------------------------------------------


def _state(request: web.Request) -> EmulatorState:
    return request.app[STATE]


async def create_response(request: web.Request) -> web.Response:
    state = _state(request)
    store = state.responses
    body = await read_json(request)
    if body.boolean("stream", False):
        raise bad_request(
            "The emulator does not stream responses; use background=true and poll.", param="stream"
        )
    model = body.string("model", required=True)
    background = body.boolean("background", False)
    keep = body.boolean("store", True)
    if background and not keep:
        raise bad_request("Background responses must be stored: set 'store' to true.", param="store")
    previous_id = body.string("previous_response_id")
    conversation_ref = body.raw("conversation")
    if previous_id and conversation_ref is not None:
        raise bad_request(
            "Mutually exclusive parameters: Ensure you are only providing one of: "
            "'previous_response_id' or 'conversation'."
        )
    conversation = None
    if conversation_ref is not None:
        conversation_id = (
            conversation_ref.get("id") if isinstance(conversation_ref, dict) else conversation_ref
        )
        if not isinstance(conversation_id, str):
            raise bad_request(
                "Invalid 'conversation': expected an id or an object with 'id'.", param="conversation"
            )
        conversation = store.conversation(conversation_id)
    history: list[dict[str, Any]] = []
    if previous_id:
        previous = store.responses.get(previous_id)
        if previous is None:
            raise bad_request(
                f"Previous response with id '{previous_id}' not found.", param="previous_response_id"
            )
        history = previous.history + previous.input_items + previous.output
    elif conversation is not None:
        history = list(conversation.items)

    raw_input = body.raw("input")
    if isinstance(raw_input, str):
        items = parse_items(state, [Body({"role": "user", "content": raw_input}, "input.")])
    elif isinstance(raw_input, list):
        items = parse_items(state, body.items("input"))
    else:
        raise bad_request("Missing required parameter: 'input'.", param="input")
    _check_outputs(history, items)
    tools = parse_tools(state, body)
    tool_choice = body.raw("tool_choice") if body.has("tool_choice") else "auto"
    metadata = body.metadata() or {}
    include = tuple(v for v in body.array("include") if isinstance(v, str))

    answered = [i["call_id"] for i in items if i["type"] == "function_call_output"]
    origin = next(
        (store.responses.get(store.call_origin.get(c, "")) for c in answered if c in store.call_origin), None
    )
    user_items = [i for i in items if i["type"] == "message" and i["role"] == "user"]
    now = state.clock()
    if origin is not None and not user_items:
        # Tool outputs continue the turn (and its script) of the response that asked for them; a copy of
        # its plan, so a retried continuation replays the same next step.
        plan, text = Plan(origin.plan.script, origin.plan.cursor), origin.message_text
        pacing = Pacing(
            origin.pacing.polls_before_done, origin.pacing.duration_seconds, origin.pacing.started
        )
    else:
        # No new user message (e.g. a new attempt after a failed response): the turn is about the latest
        # user message the conversation already holds, as a model would read it.
        asked = user_items or [i for i in history if i["type"] == "message" and i.get("role") == "user"]
        text = _item_text(asked[-1]) if asked else ""
        script = state.take_script(text)
        polls = (
            script.polls_before_done
            if script and script.polls_before_done is not None
            else state.config.polls_before_done
        )
        plan, pacing = Plan(script), Pacing(polls, script.duration_seconds if script else None, now)

    response = ResponseRecord(
        id=_hex_id(state, "resp_"),
        created_at=int(now),
        model=model,
        background=background,
        instructions=body.string("instructions"),
        tools=tools,
        tool_choice=tool_choice,
        parallel_tool_calls=body.boolean("parallel_tool_calls", True),
        metadata=metadata,
        temperature=body.number("temperature", 1.0, low=0, high=2),
        top_p=body.number("top_p", 1.0, low=0, high=1),
        previous_response_id=previous_id,
        conversation_id=conversation.id if conversation else None,
        history=history,
        input_items=items,
        pacing=pacing,
        plan=plan,
        message_text=text,
        store=keep,
        max_output_tokens=body.integer("max_output_tokens", minimum=16),
        max_tool_calls=body.integer("max_tool_calls", minimum=1),
        truncation=body.choice("truncation", ("auto", "disabled"), "disabled"),
        include=include,
    )
    text_config = body.object("text")
    if text_config is not None:
        response.text = {"format": {"type": "text"}, "verbosity": "medium", **text_config.data}
    state.stats.runs_started += 1
    state.stats.tool_outputs_received += len(answered)
    _count_user_messages(state, items)
    if conversation is not None:
        conversation.items.extend(items)
    if keep:
        store.responses[response.id] = response
    if not background:
        step = plan.next_step(lambda: context_for(state, response))
        _complete(state, response, step)
    return json_response(response.to_json())


async def retrieve_response(request: web.Request) -> web.Response:
    state = _state(request)
    response = state.responses.response(request.match_info["response_id"])
    if response.background:
        poll(state, response)
    return json_response(response.to_json(), headers=poll_headers(state))


async def cancel_response(request: web.Request) -> web.Response:
    state = _state(request)
    response = state.responses.response(request.match_info["response_id"])
    if not response.background:
        raise bad_request("Only responses created with background=true can be cancelled.")
    if response.status in ("queued", "in_progress"):
        response.status = "cancelled"
        response.held_finish = None
    elif response.status != "cancelled":
        raise bad_request(f"Cannot cancel a response with status '{response.status}'.")
    return json_response(response.to_json())


async def delete_response(request: web.Request) -> web.Response:
    state = _state(request)
    response = state.responses.response(request.match_info["response_id"])
    del state.responses.responses[response.id]
    return json_response({"id": response.id, "object": "response", "deleted": True})


async def list_input_items(request: web.Request) -> web.Response:
    state = _state(request)
    response = state.responses.response(request.match_info["response_id"])
    return json_response(page(response.input_items, Query(request), lambda i: i["id"], lambda i: i))


async def create_conversation(request: web.Request) -> web.Response:
    state = _state(request)
    body = await read_json(request)
    record = ConversationRecord(_hex_id(state, "conv_"), state.now(), body.metadata() or {})
    record.items = parse_items(state, body.items("items"))
    _count_user_messages(state, record.items)
    state.responses.conversations[record.id] = record
    return json_response(record.to_json())


async def retrieve_conversation(request: web.Request) -> web.Response:
    return json_response(
        _state(request).responses.conversation(request.match_info["conversation_id"]).to_json()
    )


async def update_conversation(request: web.Request) -> web.Response:
    state = _state(request)
    record = state.responses.conversation(request.match_info["conversation_id"])
    body = await read_json(request)
    raw = body.raw("metadata")
    if not isinstance(raw, dict):
        raise bad_request("Missing required parameter: 'metadata'.", param="metadata")
    record.metadata = check_metadata(raw)
    return json_response(record.to_json())


async def delete_conversation(request: web.Request) -> web.Response:
    state = _state(request)
    record = state.responses.conversation(request.match_info["conversation_id"])
    del state.responses.conversations[record.id]
    return json_response({"id": record.id, "object": "conversation.deleted", "deleted": True})


async def create_items(request: web.Request) -> web.Response:
    state = _state(request)
    record = state.responses.conversation(request.match_info["conversation_id"])
    body = await read_json(request)
    items = parse_items(state, body.items("items"))
    if not items:
        raise bad_request("Invalid 'items': expected at least one item.", param="items")
    _count_user_messages(state, items)
    record.items.extend(items)
    return json_response(
        {
            "object": "list",
            "data": items,
            "first_id": items[0]["id"],
            "last_id": items[-1]["id"],
            "has_more": False,
        }
    )


async def list_items(request: web.Request) -> web.Response:
    state = _state(request)
    record = state.responses.conversation(request.match_info["conversation_id"])
    # The real service finishes background responses on its own; here they move per read. Reading the
    # conversation counts as one, so a client that lost a response's id still sees its outputs arrive.
    for response in list(state.responses.responses.values()):
        if response.conversation_id == record.id and response.background:
            poll(state, response)
    return json_response(page(record.items, Query(request), lambda i: i["id"], lambda i: i))


def _item(record: ConversationRecord, item_id: str) -> dict[str, Any]:
    found = next((i for i in record.items if i["id"] == item_id), None)
    if found is None:
        raise not_found(f"Item with id '{item_id}' not found.")
    return found


async def retrieve_item(request: web.Request) -> web.Response:
    state = _state(request)
    record = state.responses.conversation(request.match_info["conversation_id"])
    return json_response(_item(record, request.match_info["item_id"]))


async def delete_item(request: web.Request) -> web.Response:
    state = _state(request)
    record = state.responses.conversation(request.match_info["conversation_id"])
    record.items.remove(_item(record, request.match_info["item_id"]))
    return json_response(record.to_json())


async def create_container(request: web.Request) -> web.Response:
    state = _state(request)
    body = await read_json(request)
    now = state.now()
    record = ContainerRecord(_hex_id(state, "cntr_"), body.string("name", required=True), now, now)
    expires = body.object("expires_after")
    if expires is not None:
        expires.choice("anchor", ("last_active_at",), "last_active_at")
        record.minutes = expires.integer("minutes", 20, minimum=1)
    record.memory_limit = body.choice("memory_limit", ("1g", "4g", "16g", "64g"), "1g")
    for index, file_id in enumerate(body.array("file_ids")):
        stored = state.files.get(file_id) if isinstance(file_id, str) else None
        if stored is None:
            raise bad_request(
                f"Invalid 'file_ids[{index}]': no file found with id '{file_id}'.", param="file_ids"
            )
        cfile = ContainerFile(
            _hex_id(state, "cfile_", 32), record.id, now, f"/mnt/data/{stored.filename}", "user", stored.data
        )
        record.files[cfile.id] = cfile
    state.responses.containers[record.id] = record
    return json_response(record.to_json())


async def list_containers(request: web.Request) -> web.Response:
    state = _state(request)
    return json_response(
        page(
            list(state.responses.containers.values()), Query(request), lambda c: c.id, ContainerRecord.to_json
        )
    )


async def retrieve_container(request: web.Request) -> web.Response:
    return json_response(_state(request).responses.container(request.match_info["container_id"]).to_json())


async def delete_container(request: web.Request) -> web.Response:
    state = _state(request)
    record = state.responses.container(request.match_info["container_id"])
    del state.responses.containers[record.id]
    return json_response({"id": record.id, "object": "container.deleted", "deleted": True})


def _container_file(record: ContainerRecord, file_id: str) -> ContainerFile:
    found = record.files.get(file_id)
    if found is None:
        raise not_found(f"Container file with id '{file_id}' not found.")
    return found


async def create_container_file(request: web.Request) -> web.Response:
    state = _state(request)
    record = state.responses.container(request.match_info["container_id"])
    now = state.now()
    if request.content_type.startswith("multipart/"):
        form = await request.post()
        upload = form.get("file")
        if upload is None or isinstance(upload, str | bytes | bytearray):
            raise bad_request("Missing required parameter: 'file'.", param="file")
        name, data = upload.filename or "upload", upload.file.read()
        state.stats.files_uploaded += 1
    else:
        body = await read_json(request)
        file_id = body.string("file_id", required=True)
        stored = state.files.get(file_id)
        if stored is None:
            raise bad_request(f"Invalid 'file_id': no file found with id '{file_id}'.", param="file_id")
        name, data = stored.filename, stored.data
    cfile = ContainerFile(_hex_id(state, "cfile_", 32), record.id, now, f"/mnt/data/{name}", "user", data)
    record.files[cfile.id] = cfile
    record.last_active_at = now
    return json_response(cfile.to_json())


async def list_container_files(request: web.Request) -> web.Response:
    state = _state(request)
    record = state.responses.container(request.match_info["container_id"])
    return json_response(
        page(list(record.files.values()), Query(request), lambda f: f.id, ContainerFile.to_json)
    )


async def retrieve_container_file(request: web.Request) -> web.Response:
    record = _state(request).responses.container(request.match_info["container_id"])
    return json_response(_container_file(record, request.match_info["file_id"]).to_json())


async def container_file_content(request: web.Request) -> web.Response:
    record = _state(request).responses.container(request.match_info["container_id"])
    cfile = _container_file(record, request.match_info["file_id"])
    content_type = mimetypes.guess_type(cfile.path)[0] or "application/octet-stream"
    return web.Response(body=cfile.data, content_type=content_type)


async def delete_container_file(request: web.Request) -> web.Response:
    record = _state(request).responses.container(request.match_info["container_id"])
    cfile = _container_file(record, request.match_info["file_id"])
    del record.files[cfile.id]
    return json_response({"id": cfile.id, "object": "container.file.deleted", "deleted": True})


def add_routes(router: web.UrlDispatcher, prefix: str) -> None:
    router.add_post(f"{prefix}/responses", create_response)
    router.add_get(f"{prefix}/responses/{{response_id}}", retrieve_response)
    router.add_delete(f"{prefix}/responses/{{response_id}}", delete_response)
    router.add_post(f"{prefix}/responses/{{response_id}}/cancel", cancel_response)
    router.add_get(f"{prefix}/responses/{{response_id}}/input_items", list_input_items)
    router.add_post(f"{prefix}/conversations", create_conversation)
    router.add_get(f"{prefix}/conversations/{{conversation_id}}", retrieve_conversation)
    router.add_post(f"{prefix}/conversations/{{conversation_id}}", update_conversation)
    router.add_delete(f"{prefix}/conversations/{{conversation_id}}", delete_conversation)
    router.add_post(f"{prefix}/conversations/{{conversation_id}}/items", create_items)
    router.add_get(f"{prefix}/conversations/{{conversation_id}}/items", list_items)
    router.add_get(f"{prefix}/conversations/{{conversation_id}}/items/{{item_id}}", retrieve_item)
    router.add_delete(f"{prefix}/conversations/{{conversation_id}}/items/{{item_id}}", delete_item)
    router.add_post(f"{prefix}/containers", create_container)
    router.add_get(f"{prefix}/containers", list_containers)
    router.add_get(f"{prefix}/containers/{{container_id}}", retrieve_container)
    router.add_delete(f"{prefix}/containers/{{container_id}}", delete_container)
    router.add_post(f"{prefix}/containers/{{container_id}}/files", create_container_file)
    router.add_get(f"{prefix}/containers/{{container_id}}/files", list_container_files)
    router.add_get(f"{prefix}/containers/{{container_id}}/files/{{file_id}}", retrieve_container_file)
    router.add_delete(f"{prefix}/containers/{{container_id}}/files/{{file_id}}", delete_container_file)
    router.add_get(f"{prefix}/containers/{{container_id}}/files/{{file_id}}/content", container_file_content)
