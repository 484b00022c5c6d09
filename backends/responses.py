"""The Responses API backend: background responses in a conversation, polled by id (the default)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from assistants.catalog import AssistantSpec, load_assistant
from backends import files as file_sync
from backends.base import (
    CREATED_BY,
    META_CREATED_BY,
    META_LAST_KEY,
    META_LAST_RESPONSE,
    META_PENDING_AFTER,
    META_PENDING_KEY,
    META_VECTOR_STORE,
    SyncLedger,
)
from backends.client import delete_quietly, header_int, responses_client, translated_errors
from backends.content import content_type, file_url, image, text
from backends.knowledge import attach, conversation_store, delete_store, sync_knowledge
from core.errors import BackendError
from core.records import (
    Attachment,
    Content,
    ErrorInfo,
    FileRef,
    Message,
    PreparedAssistant,
    RunRef,
    RunState,
    StartTurn,
    SubmitToolOutputs,
    ToolCall,
    TurnOutput,
)
from core.settings import Backend, Settings

if TYPE_CHECKING:
    from openai import OpenAI

# run_id of a response adopted through the conversation: its create was answered too late to learn its id.
ORPHAN_PREFIX = "orphan:"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp")
# Said to the model for calls left unanswered when a turn is cancelled or runs out of time, so the
# conversation stays usable (the next response must answer every open call).
ABANDONED_OUTPUT = '{"error": "cancelled", "message": "the turn ended before this tool call was answered"}'


class ResponsesBackend:
    """Conversations + background responses on Azure's `/openai/v1/` surface."""

    name: Backend = "responses"

    def __init__(self, settings: Settings, client: OpenAI | None = None) -> None:
        self.settings = settings
        self.client = client or responses_client(settings)
        self.files = file_sync.ServiceFiles(self.client, f"{self.name}:{settings.openai_endpoint}")

    # --- assistants and files ---------------------------------------------------------------------

    def prepare(self, spec: AssistantSpec, ledger: SyncLedger) -> PreparedAssistant:
        """Upload new or changed files; the Responses API has no assistant object to keep."""
        with translated_errors():
            file_ids = file_sync.sync_files(self.name, spec, ledger, self.files.upload, self.files.delete,
                                            self.files.exists)
        knowledge = sync_knowledge(self.name, self.client, spec, ledger, self.files.upload, self.files.exists)
        return PreparedAssistant(name=spec.name, backend=self.name, file_ids=file_ids,
                                 vector_store_ids=knowledge.vector_store_ids, knowledge_files=knowledge.files,
                                 ingesting=knowledge.ingesting, tool_activities=spec.tool_activities(),
                                 run_instructions=spec.run_instructions)

    def upload(self, filename: str, data: bytes) -> FileRef:
        """Upload a user's attachment."""
        with translated_errors():
            return FileRef(file_id=self.files.upload(filename, data), filename=filename)

    # --- turns ------------------------------------------------------------------------------------

    def create_conversation(self, metadata: dict[str, str]) -> str:
        """A new conversation."""
        with translated_errors():
            conv = self.client.conversations.create(metadata={**metadata, META_CREATED_BY: CREATED_BY})
        return str(conv.id)

    def start_turn(self, request: StartTurn) -> RunState:
        """A background response to the user's message, unless one with this key exists."""
        spec = load_assistant(request.assistant.name)
        user = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": request.message}]}
        # A response's input joins the conversation when it is created, even if the response then fails:
        # a new attempt answers the conversation as it stands instead of repeating the message.
        items = [user] if request.first_attempt else []
        return self._respond(request.conversation, request.key, spec, request.assistant, items,
                             request.instructions, request.metadata, request.attachments)

    def submit_tool_outputs(self, request: SubmitToolOutputs) -> RunState:
        """A new background response carrying every `function_call_output` of the round."""
        spec = load_assistant(request.assistant.name)
        outputs = [{"type": "function_call_output", "call_id": o.call_id, "output": o.output}
                   for o in request.outputs]
        return self._respond(request.ref.conversation, request.key, spec, request.assistant, outputs,
                             request.instructions, {}, [])

    def _respond(self, conversation: str, key: str, spec: AssistantSpec, prepared: PreparedAssistant,
                 items: list[dict[str, Any]], run_instructions: str, metadata: dict[str, str],
                 attachments: list[Attachment]) -> RunState:
        # The Responses API cannot list responses and takes no idempotency key, so the conversation's metadata
        # is the ledger: a retry with the same key finds the response its first attempt created. The key is
        # written as pending before the create, so a retry after a create whose answer was lost (the
        # service acted, the reply never came) can recognise that response by its input in the conversation.
        with translated_errors():
            meta = self._metadata(conversation)
            if meta.get(META_LAST_KEY) == key and meta.get(META_LAST_RESPONSE):
                return self.poll(RunRef(backend=self.name, conversation=conversation,
                                        run_id=meta[META_LAST_RESPONSE]))
            if meta.get(META_PENDING_KEY) == key:
                orphan = self._find_orphan(conversation, meta.get(META_PENDING_AFTER, ""), items)
                if orphan is not None:
                    meta = {**meta, META_LAST_KEY: key, META_LAST_RESPONSE: str(orphan)}
                    meta.pop(META_PENDING_KEY, None)
                    meta.pop(META_PENDING_AFTER, None)
                    self.client.conversations.update(conversation, metadata=meta)
                    return self.poll(RunRef(backend=self.name, conversation=conversation, run_id=orphan))
            searchable = [a.file_id for a in attachments if "file_search" in a.tools]
            if searchable and not meta.get(META_VECTOR_STORE):
                # Files attached for file_search go to a vector store of the conversation (the Assistants API
                # makes one per thread by itself; here it is ours to make, remember and delete).
                meta[META_VECTOR_STORE] = conversation_store(self.client, conversation)
                self.client.conversations.update(conversation, metadata=meta)
            if searchable and attach(self.client, meta[META_VECTOR_STORE], searchable):
                # A response searches only indexed files: ask the orchestration to come back shortly.
                raise BackendError("indexing", "the attached files are still being indexed", retryable=True,
                                   retry_after=1.0)
            stores = [*prepared.vector_store_ids, *([meta[META_VECTOR_STORE]] if meta.get(META_VECTOR_STORE) else [])]
            newest = self.client.conversations.items.list(conversation, limit=1, order="desc").data
            meta = {**meta, META_PENDING_KEY: key, META_PENDING_AFTER: str(newest[0].id) if newest else ""}
            self.client.conversations.update(conversation, metadata=meta)
            response = self.client.responses.create(
                model=self.settings.openai_deployment,
                conversation=conversation,
                input=items,  # type: ignore[arg-type]
                instructions="\n\n".join(p for p in (spec.instructions, run_instructions) if p),
                tools=self._tools(spec, prepared, attachments, stores),  # type: ignore[arg-type]
                background=True,
                store=True,
                metadata={**metadata, META_LAST_KEY: key},
            )
            meta = {**meta, META_LAST_KEY: key, META_LAST_RESPONSE: response.id}
            meta.pop(META_PENDING_KEY, None)
            meta.pop(META_PENDING_AFTER, None)
            self.client.conversations.update(conversation, metadata=meta)
        return self._state(response, conversation)

    # --- responses created but never answered ----------------------------------------------------

    def _items_after(self, conversation: str, after: str) -> list[Any]:
        """The conversation's items after item `after` (all, when empty), oldest first."""
        found: list[Any] = []
        from openai import omit

        page = self.client.conversations.items.list(conversation, order="asc", limit=100, after=after or omit)
        for item in page:  # the SDK's page iterates on through every page
            found.append(item)
        return found

    def _find_orphan(self, conversation: str, after: str, sent: list[dict[str, Any]]) -> str | None:
        """The response an earlier attempt created, known by its input now in the conversation; its pseudo id."""
        if not sent:
            return None
        for item in self._items_after(conversation, after):
            if _same_input(item, sent[0]):
                return ORPHAN_PREFIX + item.id
        return None

    def _orphan_state(self, ref: RunRef) -> RunState:
        """An adopted response seen through the items that follow its input (outputs join at completion)."""
        outputs = _outputs(self._items_after(ref.conversation, ref.run_id.removeprefix(ORPHAN_PREFIX)))
        answered = {i.call_id for i in outputs if i.type == "function_call_output"}
        calls = [ToolCall(id=i.call_id, name=i.name, arguments=i.arguments or "{}")
                 for i in outputs if i.type == "function_call" and i.call_id not in answered]
        if calls:
            return RunState(ref=ref, status="requires_action", tool_calls=calls)
        done = any(i.type == "message" for i in outputs)
        return RunState(ref=ref, status="completed" if done else "in_progress")

    def _metadata(self, conversation: str) -> dict[str, str]:
        return dict(self.client.conversations.retrieve(conversation).metadata or {})  # type: ignore[call-overload]

    def _tools(self, spec: AssistantSpec, prepared: PreparedAssistant, attachments: list[Attachment],
               vector_stores: list[str]) -> list[dict[str, Any]]:
        tools: list[dict[str, Any]] = [
            {"type": "function", "name": t.name, "description": t.description, "parameters": t.parameters,
             "strict": False}
            for t in spec.function_tools()
        ]
        if spec.code_interpreter:
            extra = [a.file_id for a in attachments if "code_interpreter" in a.tools]
            tools.append({"type": "code_interpreter",
                          "container": {"type": "auto", "file_ids": [*prepared.file_ids, *extra]}})
        if vector_stores:
            tools.append({"type": "file_search", "vector_store_ids": vector_stores})
        return tools

    def poll(self, ref: RunRef) -> RunState:
        """Retrieve the response, with the service's `openai-poll-after-ms` hint."""
        with translated_errors():
            if ref.run_id.startswith(ORPHAN_PREFIX):
                return self._orphan_state(ref)
            raw = self.client.responses.with_raw_response.retrieve(ref.run_id)
            response = raw.parse()
        hint = header_int(raw.headers.get("openai-poll-after-ms"))
        return self._state(response, ref.conversation, poll_after_ms=hint)

    def cancel(self, ref: RunRef) -> RunState:
        """Cancel a background response; a finished one with open tool calls gets those calls closed."""
        with translated_errors():
            state = self.poll(ref)
            if state.status in ("queued", "in_progress") and ref.run_id.startswith(ORPHAN_PREFIX):
                return state.model_copy(update={"status": "cancelled"})  # no id to cancel it by
            if state.status in ("queued", "in_progress"):
                return self._state(self.client.responses.cancel(ref.run_id), ref.conversation)
            if state.status == "requires_action":
                self.abandon_tool_calls(ref, [c.id for c in state.tool_calls])
                return state.model_copy(update={"status": "cancelled", "tool_calls": []})
        return state

    def abandon_tool_calls(self, ref: RunRef, call_ids: list[str]) -> None:
        """Answer open calls with a 'cancelled' output directly in the conversation (no new response)."""
        if call_ids:
            self.client.conversations.items.create(
                ref.conversation,
                items=[{"type": "function_call_output", "call_id": c, "output": ABANDONED_OUTPUT} for c in call_ids],
            )

    def collect(self, refs: list[RunRef]) -> TurnOutput:
        """Output messages of the turn's responses, oldest first; images from code interpreter citations."""
        messages: list[Message] = []
        files: list[FileRef] = []
        usage: dict[str, int] = {}
        seen: set[str] = set()
        with translated_errors():
            for ref in refs:
                if ref.run_id in seen:
                    continue
                seen.add(ref.run_id)
                if ref.run_id.startswith(ORPHAN_PREFIX):
                    for item in _outputs(self._items_after(ref.conversation, ref.run_id.removeprefix(ORPHAN_PREFIX))):
                        if item.type == "message":
                            content, produced = _message_content(item)
                            files += produced
                            messages.append(Message(id=item.id, role="assistant", created_at=0, content=content))
                    continue
                response = self.client.responses.retrieve(ref.run_id)
                for item in response.output or []:
                    if item.type != "message":
                        continue
                    content, produced = _message_content(item)
                    files += produced
                    messages.append(Message(id=item.id, role="assistant", created_at=int(response.created_at),
                                            content=content))
                if response.usage is not None:
                    for key in ("input_tokens", "output_tokens", "total_tokens"):
                        usage[key] = usage.get(key, 0) + int(getattr(response.usage, key, 0) or 0)
        return TurnOutput(messages=messages, files=files, usage=usage or None)

    def download(self, file: FileRef) -> tuple[bytes, str]:
        """A file's bytes: container files for code interpreter output, else the Files API."""
        with translated_errors():
            if file.container:
                data = self.client.containers.files.content.retrieve(file.file_id, container_id=file.container).read()
            else:
                data = self.client.files.content(file.file_id).content
        return data, content_type(file.filename, data)

    def delete_conversation(self, conversation: str | None, files: list[FileRef]) -> None:
        """Delete the conversation, its vector store, its uploaded files and its generated container files."""
        store = None
        if conversation is not None:  # None: its first turn failed before the conversation was made
            try:
                with translated_errors():
                    store = self._metadata(conversation).get(META_VECTOR_STORE)
            except BackendError as exc:
                if exc.status != 404:
                    raise
            if store:
                delete_store(self.client, store)
            delete_quietly(lambda: self.client.conversations.delete(conversation))
        for f in files:
            if f.container:
                delete_quietly(lambda f=f: self.client.containers.files.delete(  # type: ignore[misc]
                    f.file_id, container_id=f.container))
            else:
                delete_quietly(lambda f=f: self.client.files.delete(f.file_id))  # type: ignore[misc]

    def forget_assistant(self, name: str, ledger: SyncLedger) -> list[str]:
        """Delete the assistant's vector store and files (those the ledger records)."""
        return file_sync.forget(self.name, name, ledger, self.files.delete,
                                lambda store: delete_store(self.client, store))

    # --- mapping ----------------------------------------------------------------------------------

    def _state(self, response: Any, conversation: str, poll_after_ms: int | None = None) -> RunState:
        ref = RunRef(backend=self.name, conversation=conversation, run_id=response.id)
        status = response.status
        calls: list[ToolCall] = []
        if status == "completed":
            calls = [ToolCall(id=i.call_id, name=i.name, arguments=i.arguments or "{}")
                     for i in response.output or [] if i.type == "function_call"]
            if calls:
                status = "requires_action"
        error = ErrorInfo(code=str(response.error.code), message=response.error.message) if response.error else None
        reason = getattr(response.incomplete_details, "reason", None) if response.incomplete_details else None
        if status not in ("queued", "in_progress", "requires_action", "cancelled", "failed", "completed",
                          "incomplete"):
            status = "in_progress"  # e.g. a future intermediate status: keep polling
        return RunState(ref=ref, status=status, tool_calls=calls, poll_after_ms=poll_after_ms, error=error,
                        incomplete_reason=reason)


def _same_input(item: Any, sent: dict[str, Any]) -> bool:
    """Whether a conversation item is the input item we sent (a user message, or a tool output)."""
    if sent.get("type") == "function_call_output":
        return bool(item.type == "function_call_output" and item.call_id == sent["call_id"])
    if item.type != "message" or getattr(item, "role", None) != "user":
        return False
    text = "".join(getattr(p, "text", "") or "" for p in item.content or [])
    return text == "".join(p.get("text", "") for p in sent.get("content", []))


def _outputs(items: list[Any]) -> list[Any]:
    """The items a response produced: those after its input, up to the next input we sent."""
    inputs = ("function_call_output",)
    start = 0
    while start < len(items) and items[start].type in inputs:  # the rest of a round's outputs we sent
        start += 1
    out = []
    for item in items[start:]:
        if item.type in inputs or (item.type == "message" and getattr(item, "role", None) == "user"):
            break
        out.append(item)
    return out


def _message_content(item: Any) -> tuple[list[Content], list[FileRef]]:
    content: list[Content] = []
    files: list[FileRef] = []
    for part in item.content:
        if part.type != "output_text":
            continue
        annotations: list[dict[str, Any]] = []
        images: list[Content] = []
        for a in part.annotations or []:
            if a.type == "container_file_citation":
                ref = FileRef(file_id=a.file_id, filename=a.filename, container=a.container_id)
                files.append(ref)
                annotations.append({"type": "file_path", "text": a.filename, "file_id": a.file_id,
                                    "url": image(a.file_id).url, "start_index": a.start_index,
                                    "end_index": a.end_index})
                if a.filename.lower().endswith(IMAGE_SUFFIXES):
                    images.append(image(a.file_id))
            elif a.type == "file_citation":
                annotations.append({"type": "file_citation", "file_id": a.file_id, "url": file_url(a.file_id),
                                    "filename": getattr(a, "filename", None), "index": getattr(a, "index", None)})
            elif a.type == "url_citation":
                annotations.append({"type": "url_citation", "url": a.url, "title": a.title})
        content.append(text(part.text, annotations))
        content.extend(images)
    return content, files
