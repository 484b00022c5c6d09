"""The Assistants API backend (threads, runs, submit_tool_outputs): the seed's API, sunset 2026-08-26."""

from __future__ import annotations

import email.utils
import time
import warnings
from functools import cache, partial
from typing import TYPE_CHECKING, Any

from assistants.catalog import AssistantSpec
from backends import files as file_sync
from backends.base import CREATED_BY, META_CREATED_BY, META_HASH, META_NAME, META_TURN_KEY, SyncLedger
from backends.client import assistants_client, delete_quietly, header_int, translated_errors
from backends.content import content_type, file_url, image, text
from backends.knowledge import delete_store, sync_knowledge
from core.errors import BackendError
from core.records import (
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
    from openai import AzureOpenAI

# openai 3.x marks every Assistants method deprecated (beta.assistants.* with the bare message
# "deprecated"); this backend exists to serve resources that still use the API, so exactly these
# warnings are expected here.
_DEPRECATIONS = ("The Assistants API is deprecated in favor of the Responses API", "deprecated$")


@cache
def _expect_deprecations() -> None:
    # Once per process, when the backend is first used (not at import).
    for message in _DEPRECATIONS:
        warnings.filterwarnings("ignore", message=message, category=DeprecationWarning)


class AssistantsBackend:
    """Threads and runs on Azure's `/openai/...?api-version=` routes."""

    name: Backend = "assistants"

    def __init__(self, settings: Settings, client: AzureOpenAI | None = None) -> None:
        _expect_deprecations()
        self.settings = settings
        self.client = client or assistants_client(settings)
        self.files = file_sync.ServiceFiles(self.client, self._scope)

    # --- assistants and files -------------------------------------------------------------------

    def prepare(self, spec: AssistantSpec, ledger: SyncLedger) -> PreparedAssistant:
        """Upload changed files, then find (by name + hash in metadata), update or create the assistant."""
        with translated_errors():
            file_ids = file_sync.sync_files(self.name, spec, ledger, self.files.upload,
                                            self.files.delete, self.files.exists)
            knowledge = sync_knowledge(self.name, self.client, spec, ledger, self.files.upload,
                                       self.files.exists)
            resources: dict[str, Any] = {}
            if spec.code_interpreter:
                resources["code_interpreter"] = {"file_ids": file_ids}
            if knowledge.vector_store_ids:
                resources["file_search"] = {"vector_store_ids": knowledge.vector_store_ids}
            definition: dict[str, Any] = {
                "name": spec.display_name,
                "instructions": spec.instructions,
                "model": self.settings.openai_deployment,
                "tools": self._tools(spec),
                "tool_resources": resources,
            }
            digest = file_sync.digest(spec.definition_hash(), file_ids, knowledge.vector_store_ids,
                                      self.settings.openai_deployment)
            metadata = {META_NAME: spec.name, META_HASH: digest, META_CREATED_BY: CREATED_BY}
            key = f"{self.name}:assistant:{spec.name}"
            known = ledger.get(key)
            if known and not file_sync.EXISTING.check(self._scope, known["id"], partial(self._retrieve, known["id"])):
                known = None  # deleted behind our back: find or create it again
            assistant_id = known["id"] if known else self._find_assistant(spec.name)
            if assistant_id is None:
                assistant_id = self.client.beta.assistants.create(metadata=metadata, **definition).id
            elif not known or known.get("hash") != digest:
                self.client.beta.assistants.update(assistant_id, metadata=metadata, **definition)
            ledger.put(key, {"id": assistant_id, "hash": digest})
        return PreparedAssistant(name=spec.name, backend=self.name, assistant_id=assistant_id, file_ids=file_ids,
                                 vector_store_ids=knowledge.vector_store_ids, knowledge_files=knowledge.files,
                                 ingesting=knowledge.ingesting, tool_activities=spec.tool_activities(),
                                 run_instructions=spec.run_instructions)

    def _tools(self, spec: AssistantSpec) -> list[dict[str, Any]]:
        tools: list[dict[str, Any]] = [t.schema() for t in spec.function_tools()]
        if spec.code_interpreter:
            tools.insert(0, {"type": "code_interpreter"})
        if spec.file_search:
            tools.insert(0, {"type": "file_search"})
        return tools

    def _find_assistant(self, name: str) -> str | None:
        # Only assistants this service created (tagged with its name) are adopted, never others.
        for assistant in self.client.beta.assistants.list(limit=100, order="desc"):
            meta = assistant.metadata or {}
            if meta.get(META_NAME) == name and meta.get(META_CREATED_BY) == CREATED_BY:
                return str(assistant.id)
        return None

    @property
    def _scope(self) -> str:
        return f"{self.name}:{self.settings.openai_endpoint}"

    def _retrieve(self, assistant_id: str) -> None:
        with translated_errors():
            self.client.beta.assistants.retrieve(assistant_id)

    def upload(self, filename: str, data: bytes) -> FileRef:
        """Upload a user's attachment with purpose `assistants`."""
        with translated_errors():
            return FileRef(file_id=self.files.upload(filename, data), filename=filename)

    # --- turns ------------------------------------------------------------------------------------

    def create_conversation(self, metadata: dict[str, str]) -> str:
        """A new thread."""
        with translated_errors():
            return str(self.client.beta.threads.create(metadata={**metadata, META_CREATED_BY: CREATED_BY}).id)

    def start_turn(self, request: StartTurn) -> RunState:
        """Create the message and the run in one call, unless a run with this key already exists."""
        thread = request.conversation
        with translated_errors():
            # The newest page only (iterating the page itself would walk every run of the thread).
            for run in self.client.beta.threads.runs.list(thread, limit=20, order="desc").data:
                if (run.metadata or {}).get(META_TURN_KEY) == request.key:
                    return self.poll(RunRef(backend=self.name, conversation=thread, run_id=run.id))
            message: dict[str, Any] = {"role": "user", "content": request.message}
            if request.attachments:
                message["attachments"] = [
                    {"file_id": a.file_id, "tools": [{"type": t} for t in a.tools]} for a in request.attachments
                ]
            assert request.assistant.assistant_id, "prepare() gives the assistants backend an assistant id"
            run = self.client.beta.threads.runs.create(
                thread,
                assistant_id=request.assistant.assistant_id,
                # One call adds the message and starts the run, so a retry can never add the message twice;
                # a later attempt (after a failed run) finds the message in the thread already.
                additional_messages=[message] if request.first_attempt else None,  # type: ignore[list-item]
                additional_instructions=request.instructions or None,
                metadata={**request.metadata, META_TURN_KEY: request.key},
            )
        return self._state(run, server_now=None)

    def poll(self, ref: RunRef) -> RunState:
        """Retrieve the run, with the service's `openai-poll-after-ms` hint."""
        with translated_errors():
            raw = self.client.beta.threads.runs.with_raw_response.retrieve(ref.run_id, thread_id=ref.conversation)
            run = raw.parse()
        return self._state(run, server_now=_server_time(raw.headers.get("date")),
                           poll_after_ms=header_int(raw.headers.get("openai-poll-after-ms")))

    def submit_tool_outputs(self, request: SubmitToolOutputs) -> RunState:
        """All outputs in one call; a retry after the run moved on is recognised and not resent."""
        ref = request.ref
        with translated_errors():
            current = self.poll(ref)
            pending = {c.id for c in current.tool_calls}
            answered = {o.call_id for o in request.outputs}
            if current.status != "requires_action" or not pending <= answered:
                return current  # already submitted by an earlier attempt
            run = self.client.beta.threads.runs.submit_tool_outputs(
                ref.run_id, thread_id=ref.conversation,
                tool_outputs=[{"tool_call_id": o.call_id, "output": o.output} for o in request.outputs
                              if o.call_id in pending],
            )
        return self._state(run, server_now=None)

    def cancel(self, ref: RunRef) -> RunState:
        """Cancel the run (it goes through `cancelling`); cancelling a finished run is a no-op."""
        with translated_errors():
            state = self.poll(ref)
            if state.status in ("queued", "in_progress", "requires_action"):
                run = self.client.beta.threads.runs.cancel(ref.run_id, thread_id=ref.conversation)
                return self._state(run, server_now=None)
            return state

    def collect(self, refs: list[RunRef]) -> TurnOutput:
        """The assistant messages of the turn's runs, oldest first, with usage summed."""
        messages: list[Message] = []
        files: list[FileRef] = []
        usage: dict[str, int] = {}
        seen: set[str] = set()
        with translated_errors():
            for ref in refs:
                if ref.run_id in seen:
                    continue
                seen.add(ref.run_id)
                for msg in self.client.beta.threads.messages.list(ref.conversation, run_id=ref.run_id,
                                                                  order="asc", limit=100):
                    content, produced = _message_content(msg)
                    files += produced
                    messages.append(Message(id=msg.id, role="assistant", created_at=int(msg.created_at),
                                            content=content))
                run = self.client.beta.threads.runs.retrieve(ref.run_id, thread_id=ref.conversation)
                if run.usage is not None:
                    for ours, theirs in (("input_tokens", "prompt_tokens"), ("output_tokens", "completion_tokens"),
                                         ("total_tokens", "total_tokens")):
                        usage[ours] = usage.get(ours, 0) + int(getattr(run.usage, theirs, 0) or 0)
        return TurnOutput(messages=messages, files=files, usage=usage or None)

    def download(self, file: FileRef) -> tuple[bytes, str]:
        """A file's bytes; PNG for charts."""
        with translated_errors():
            data = self.client.files.content(file.file_id).content
        return data, content_type(file.filename, data)

    def delete_conversation(self, conversation: str | None, files: list[FileRef]) -> None:
        """Delete the thread, the vector store its attachments made, and its files; already gone is fine."""
        stores: list[str] = []
        if conversation is None:  # its first turn failed before the thread was made: only files remain
            for f in files:
                delete_quietly(partial(self.client.files.delete, f.file_id))
            return
        try:
            with translated_errors():
                thread = self.client.beta.threads.retrieve(conversation)
            search = getattr(thread.tool_resources, "file_search", None) if thread.tool_resources else None
            stores = list(getattr(search, "vector_store_ids", None) or [])
        except BackendError as exc:
            if exc.status != 404:
                raise
        for store in stores:  # made by the service for files attached to our messages
            delete_store(self.client, store)
        delete_quietly(lambda: self.client.beta.threads.delete(conversation))
        for f in files:
            delete_quietly(lambda f=f: self.client.files.delete(f.file_id))  # type: ignore[misc]

    def forget_assistant(self, name: str, ledger: SyncLedger) -> list[str]:
        """Delete the assistant object, its vector store and its files (those the ledger records)."""
        deleted = file_sync.forget(self.name, name, ledger, self.files.delete,
                                   lambda store: delete_store(self.client, store))
        known = ledger.get(f"{self.name}:assistant:{name}")
        if known and known.get("id"):
            delete_quietly(lambda: self.client.beta.assistants.delete(known["id"]))
            deleted.append(str(known["id"]))
        ledger.delete(f"{self.name}:assistant:{name}")
        return deleted

    # --- mapping ----------------------------------------------------------------------------------

    def _state(self, run: Any, *, server_now: float | None, poll_after_ms: int | None = None) -> RunState:
        calls = []
        action = getattr(run, "required_action", None)
        if run.status == "requires_action" and action is not None:
            calls = [ToolCall(id=c.id, name=c.function.name, arguments=c.function.arguments or "{}")
                     for c in action.submit_tool_outputs.tool_calls if c.type == "function"]
        expires_in = None
        if run.expires_at:
            expires_in = float(run.expires_at) - (server_now if server_now is not None else time.time())
        error = ErrorInfo(code=run.last_error.code, message=run.last_error.message) if run.last_error else None
        reason = getattr(run.incomplete_details, "reason", None) if run.incomplete_details else None
        return RunState(ref=RunRef(backend=self.name, conversation=run.thread_id, run_id=run.id),
                        status=run.status, tool_calls=calls, poll_after_ms=poll_after_ms,
                        expires_in_seconds=expires_in, error=error, incomplete_reason=reason)


def _message_content(msg: Any) -> tuple[list[Content], list[FileRef]]:
    content: list[Content] = []
    files: list[FileRef] = []
    for part in msg.content:
        if part.type == "text":
            annotations = []
            for a in part.text.annotations or []:
                if a.type == "file_path":
                    fid = a.file_path.file_id
                    files.append(FileRef(file_id=fid, filename=a.text.rsplit("/", 1)[-1]))
                    annotations.append({"type": "file_path", "text": a.text, "file_id": fid, "url": file_url(fid),
                                        "start_index": a.start_index, "end_index": a.end_index})
                elif a.type == "file_citation":
                    annotations.append({"type": "file_citation", "text": a.text, "file_id": a.file_citation.file_id,
                                        "quote": getattr(a.file_citation, "quote", None),
                                        "url": file_url(a.file_citation.file_id),
                                        "start_index": a.start_index, "end_index": a.end_index})
            content.append(text(part.text.value, annotations))
        elif part.type == "image_file":
            fid = part.image_file.file_id
            files.append(FileRef(file_id=fid, filename=f"{fid}.png"))
            content.append(image(fid))
    return content, files


def _server_time(date_header: str | None) -> float | None:
    if not date_header:
        return None
    try:
        return email.utils.parsedate_to_datetime(date_header).timestamp()
    except (TypeError, ValueError):
        return None
