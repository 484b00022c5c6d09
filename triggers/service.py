"""What the HTTP and queue triggers do with a valid request: store the message, start or wake the orchestration."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import azure.durable_functions as df

from assistants.catalog import load_assistant
from backends.content import content_type
from backends.factory import get_backend
from core import names
from core.errors import BackendError, Conflict, InvalidRequest, NotFound, RequestError, ServiceUnavailable
from core.records import (
    FINAL_TURN_STATUSES,
    Attachment,
    ConversationState,
    FileRef,
    Message,
    TextContent,
    Turn,
    TurnConfig,
)
from core.settings import Backend, Settings, load_settings
from store.records import ConversationRecord, TurnRecord
from store.tables import ConversationStore, open_store
from triggers.schemas import AttachmentIn, ConversationView, Transcript, TurnSummary

log = logging.getLogger("durable_assistants")
# The service judged the file itself (type, size, content): the caller's to fix, not a retry's.
REFUSED_UPLOAD_STATUSES = frozenset({400, 413, 415, 422})
# ContinuedAsNew is the moment between two executions of a live instance.
RUNNING = (df.OrchestrationRuntimeStatus.Running, df.OrchestrationRuntimeStatus.Pending,
           df.OrchestrationRuntimeStatus.ContinuedAsNew)
WAIT_POLL_SECONDS = 0.25
STOP_TIMEOUT_SECONDS = 20.0


def _now() -> str:
    return datetime.now(UTC).isoformat()


def knowledge_document(assistant: str, filename: str) -> tuple[bytes, str]:
    """The bytes of one of an assistant's knowledge documents."""
    try:
        spec = load_assistant(assistant)
    except RequestError:
        raise NotFound(f"file of assistant {assistant!r} is no longer available") from None
    path = next((p for p in spec.knowledge if p.name == filename), None)
    if path is None:
        raise NotFound(f"document {filename!r} is no longer in assistant {assistant!r}")
    return path.read_bytes(), content_type(filename, b"")


def keyed_conversation_id(dedupe_key: str) -> str:
    """A new conversation's id derived from its dedupe key, so a repeated start finds the same one."""
    return "k-" + hashlib.sha256(dedupe_key.encode()).hexdigest()[:32]


def turn_config(settings: Settings) -> TurnConfig:
    """The limits a conversation's turns run under, from settings."""
    return TurnConfig(poll_min_seconds=settings.poll_min_seconds, poll_max_seconds=settings.poll_max_seconds,
                      turn_timeout_seconds=settings.turn_timeout_seconds)


class ConversationService:
    """Conversations as the API sees them: the store is the truth, the orchestration does the work."""

    def __init__(self, client: df.DurableOrchestrationClient, settings: Settings | None = None,
                 store: ConversationStore | None = None) -> None:
        self.client = client
        self.settings = settings or load_settings()
        self.store = store or open_store()

    async def _io(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        # The storage and model SDKs are synchronous: keep them off the event loop.
        return await asyncio.to_thread(fn, *args, **kwargs)

    # --- writing ----------------------------------------------------------------------------------

    async def start(self, message: str, *, assistant: str | None, conversation_id: str | None,
                    attachments: list[AttachmentIn], metadata: dict[str, str], callback_url: str | None = None,
                    correlation_id: str | None = None, reply_queue: str | None = None,
                    dedupe_key: str | None = None) -> tuple[str, int]:
        """Create a conversation with its first message and start its orchestration; (id, turn).

        With a dedupe key, a repeat of the same start answers with the turn the first one made (and makes
        sure it runs) instead of Conflict; without a conversation id, the key names the conversation.
        """
        name = assistant or self.settings.default_assistant
        load_assistant(name)  # unknown assistant → 400 before anything is created
        self.check_callback(callback_url)
        if conversation_id is None:
            conversation_id = keyed_conversation_id(dedupe_key) if dedupe_key else uuid.uuid4().hex
        existing = await self._io(self.store.get_conversation, conversation_id)
        if existing is not None:
            known = await self._io(self.store.turn_for_key, conversation_id, dedupe_key) if dedupe_key else None
            if known is not None:
                await self._wake(existing, turn=int(known))  # the first try may have stopped before waking it
                return conversation_id, known
            if not (dedupe_key and conversation_id == keyed_conversation_id(dedupe_key)):
                raise Conflict(f"conversation {conversation_id} already exists", field="conversation_id")
            # This key made the conversation, and the try that made it stopped before storing the message.
        # Upload first: if the service fails or refuses a file, nothing has been created and a retry is clean.
        uploaded = await self._upload(existing.backend if existing else self.settings.backend, attachments)
        record = existing or ConversationRecord(conversation_id=conversation_id, assistant=name,
                                                backend=self.settings.backend, created_at=_now(),
                                                updated_at=_now(), metadata=metadata)
        if existing is None:
            try:
                await self._io(self.store.create_conversation, record)
            except Conflict:
                # Another delivery of the same request created it meanwhile: answer as that one does.
                await self._discard(record.backend, uploaded)
                known = await self._io(self.store.turn_for_key, conversation_id, dedupe_key) if dedupe_key else None
                if known is None:
                    raise
                return conversation_id, known
        await self._io(self.store.add_files, conversation_id, [ref for _, ref in uploaded])
        turn, _ = await self._io(self.store.add_message, self._turn_record(
            conversation_id, message, [a for a, _ in uploaded], metadata, callback_url, correlation_id, reply_queue),
            dedupe_key)
        await self._wake(record)
        return conversation_id, turn

    async def post(self, conversation_id: str, message: str, *, attachments: list[AttachmentIn],
                   callback_url: str | None = None, correlation_id: str | None = None,
                   reply_queue: str | None = None, metadata: dict[str, str] | None = None,
                   dedupe_key: str | None = None) -> int:
        """Queue the next message of a conversation and wake its orchestration; the turn number.

        A known dedupe key answers with its turn; the orchestration is still started if it is not running,
        since the first try may have stopped between storing the message and starting it.
        """
        self.check_callback(callback_url)
        record = await self.conversation_record(conversation_id)
        if dedupe_key:
            known = await self._io(self.store.turn_for_key, conversation_id, dedupe_key)
            if known is not None:
                await self._wake(record, turn=int(known))  # the first try may have stopped before waking it
                return int(known)
        uploaded = await self._upload(record.backend, attachments)
        await self._io(self.store.add_files, conversation_id, [ref for _, ref in uploaded])
        turn, created = await self._io(self.store.add_message, self._turn_record(
            conversation_id, message, [a for a, _ in uploaded], metadata or {}, callback_url, correlation_id,
            reply_queue), dedupe_key)
        await self._wake(record, hint=created, turn=int(turn))
        return int(turn)

    def check_callback(self, callback_url: str | None) -> None:
        """A callback needs WEBHOOK_SECRET, or its receiver could not tell our POSTs from forgeries."""
        if callback_url and not self.settings.webhook_secret:
            raise InvalidRequest("callback_url needs the WEBHOOK_SECRET setting so that deliveries can be signed",
                                 field="callback_url")

    def _turn_record(self, conversation_id: str, message: str, attachments: list[Attachment],
                     metadata: dict[str, str], callback_url: str | None, correlation_id: str | None,
                     reply_queue: str | None) -> TurnRecord:
        return TurnRecord(conversation_id=conversation_id, message=message, attachments=attachments,
                          metadata=metadata, callback_url=callback_url, correlation_id=correlation_id,
                          reply_queue=reply_queue, created_at=_now())

    async def _upload(self, backend: Backend, attachments: list[AttachmentIn]) -> list[tuple[Attachment, FileRef]]:
        """Upload a message's attachments; a file the service refuses is a 400 naming it."""
        if not attachments:
            return []
        model = get_backend(self.settings, backend)
        uploaded: list[tuple[Attachment, FileRef]] = []
        for i, a in enumerate(attachments):
            try:
                ref = await self._io(model.upload, a.filename, a.data())
            except BackendError as exc:
                await self._discard(backend, uploaded)
                if not exc.retryable and exc.status in REFUSED_UPLOAD_STATUSES:
                    raise InvalidRequest(f"the model service refused attachments[{i}] ({a.filename!r}): "
                                         f"{exc.message[:300]}", field=f"attachments[{i}]") from None
                raise
            uploaded.append((Attachment(file_id=ref.file_id, filename=a.filename, tools=a.tools), ref))
        return uploaded

    async def _discard(self, backend: Backend, uploaded: list[tuple[Attachment, FileRef]]) -> None:
        """Delete files uploaded for a request that then failed (best effort: the request's error matters more)."""
        if not uploaded:
            return
        files = [ref for _, ref in uploaded]
        try:
            await self._io(get_backend(self.settings, backend).delete_conversation, None, files)
        except BackendError as exc:
            log.warning("could not delete files %s of a failed request (%s); they stay at the service",
                        ", ".join(f.file_id for f in files), exc.code)

    async def _wake(self, record: ConversationRecord, *, hint: bool = True, turn: int | None = None) -> None:
        # The event is only a hint (the orchestration reads the store); `hint=False` just ensures it runs.
        status = await self.client.get_status(record.conversation_id)
        if status is not None and status.runtime_status in RUNNING:
            if hint and not await self._busy_before(record.conversation_id, turn, status.custom_status):
                await self.client.raise_event(record.conversation_id, names.MESSAGE_EVENT, {})
            return
        # Not running (never started, or it failed): start again from the first unfinished turn.
        turns = await self._io(self.store.list_turns, record.conversation_id)
        cursor = 0
        for t in turns:
            if t.status not in FINAL_TURN_STATUSES:
                break
            cursor = t.turn
        try:
            await self._run(record, cursor)
        except Exception:
            # Another request restarted it first (the host refuses to start a running id): wake that one.
            status = await self.client.get_status(record.conversation_id)
            if status is None or status.runtime_status not in RUNNING:
                raise
            await self.client.raise_event(record.conversation_id, names.MESSAGE_EVENT, {})

    async def _busy_before(self, conversation_id: str, turn: int | None, custom_status: Any) -> bool:
        """Whether the orchestration will read `turn` from the store by itself, so the wake-up event (an
        episode and history) is not needed: it is running the turn before, or that one is queued and the
        orchestration is not idle. An idle one with a queued turn before ours may have missed that turn's
        event (its request failed midway): our event wakes it for both."""
        if turn is None or turn <= 1:
            return False
        previous = await self._io(self.store.get_turn, conversation_id, turn - 1)
        if previous is None or previous.status in FINAL_TURN_STATUSES:
            return False
        idle = isinstance(custom_status, dict) and custom_status.get("phase") == "idle"
        return previous.status != "queued" or not idle

    async def _run(self, record: ConversationRecord, cursor: int) -> None:
        state = ConversationState(conversation_id=record.conversation_id, assistant=record.assistant,
                                  backend=record.backend, backend_conversation=record.backend_conversation,
                                  cursor=cursor, config=turn_config(self.settings))
        await self.client.start_new(names.CONVERSATION_ORCHESTRATOR, instance_id=record.conversation_id,
                                    client_input=state.to_json())

    # --- cancelling and deleting ------------------------------------------------------------------

    async def cancel(self, conversation_id: str) -> int:
        """Cancel the conversation's current turn; Conflict when there is none. The turn number."""
        record = await self.conversation_record(conversation_id)
        turns = await self._io(self.store.list_turns, conversation_id)
        current = next((t for t in turns if t.status not in FINAL_TURN_STATUSES), None)
        if current is None:
            raise Conflict(f"conversation {conversation_id} is idle: no turn to cancel")
        cancelled = Turn(conversation_id=conversation_id, turn=current.turn, status="cancelled",
                         backend=record.backend, error=None)
        # Not started yet: cancel it in the store (the orchestration skips final turns). Started: tell the
        # orchestration, which cancels the run at the service.
        if not await self._io(self.store.cancel_if_queued, conversation_id, current.turn, cancelled):
            # An orchestration that stopped (terminated, failed) is started again first: it takes the turn up
            # where it was, run included, and the event reaches it.
            await self._wake(record, hint=False)
            await self.client.raise_event(conversation_id, names.cancel_event(current.turn), {})
        return current.turn

    async def delete(self, conversation_id: str) -> None:
        """Remove everything: the orchestration, the backend thread/conversation and files, the store rows."""
        record = await self.conversation_record(conversation_id)
        await self._stop(conversation_id)
        files = await self._io(self.store.files_of, conversation_id)
        if record.backend_conversation or files:
            model = get_backend(self.settings, record.backend)
            await self._io(model.delete_conversation, record.backend_conversation, files)
        await self._io(self.store.delete_conversation, conversation_id)
        await self.client.purge_instance_history(conversation_id)

    async def _stop(self, conversation_id: str) -> None:
        # Purging needs a terminal instance: terminate, then wait (briefly) until the host says so.
        status = await self.client.get_status(conversation_id)
        if status is None or status.runtime_status not in RUNNING:
            return
        await self.client.terminate(conversation_id, "conversation deleted")
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            status = await self.client.get_status(conversation_id)
            if status is None or status.runtime_status not in RUNNING:
                return
            await asyncio.sleep(WAIT_POLL_SECONDS)
        # Deleting under a live orchestration would have its activities write rows back: delete nothing yet.
        raise ServiceUnavailable(f"conversation {conversation_id} is still stopping; try the DELETE again shortly")

    # --- reading ----------------------------------------------------------------------------------

    async def exists(self, conversation_id: str) -> bool:
        """Whether the conversation exists."""
        return await self._io(self.store.get_conversation, conversation_id) is not None

    async def conversation_record(self, conversation_id: str) -> ConversationRecord:
        """The conversation, or NotFound."""
        record = await self._io(self.store.get_conversation, conversation_id)
        if record is None:
            raise NotFound(f"conversation {conversation_id} does not exist")
        return record

    async def view(self, conversation_id: str) -> ConversationView:
        """The conversation with its turns' statuses."""
        record = await self.conversation_record(conversation_id)
        turns = await self._io(self.store.list_turns, conversation_id)
        running = any(t.status not in FINAL_TURN_STATUSES for t in turns)
        return ConversationView(conversation_id=conversation_id, assistant=record.assistant, backend=record.backend,
                                status="running" if running else "idle",
                                turns=[TurnSummary(turn=t.turn, status=t.status) for t in turns])

    async def turn(self, conversation_id: str, turn: int) -> Turn:
        """One turn: the final result, or its status while queued or running."""
        row = await self._io(self.store.get_turn, conversation_id, turn)
        if row is None:
            await self.conversation_record(conversation_id)
            raise NotFound(f"conversation {conversation_id} has no turn {turn}")
        if row.result is not None:
            return row.result
        record = await self.conversation_record(conversation_id)
        return Turn(conversation_id=conversation_id, turn=turn, status=row.status, backend=record.backend)

    async def wait_for_turn(self, conversation_id: str, turn: int, seconds: float) -> Turn:
        """The turn once final, or as it is after `seconds`."""
        deadline = time.monotonic() + seconds
        while True:
            current = await self.turn(conversation_id, turn)
            if current.status in FINAL_TURN_STATUSES or time.monotonic() >= deadline:
                return current
            await asyncio.sleep(min(WAIT_POLL_SECONDS, max(0.0, deadline - time.monotonic())))

    async def transcript(self, conversation_id: str) -> Transcript:
        """Every user message and every assistant message, oldest first."""
        await self.conversation_record(conversation_id)
        messages: list[Message] = []
        for t in await self._io(self.store.list_turns, conversation_id):
            created = int(datetime.fromisoformat(t.created_at).timestamp())
            messages.append(Message(id=f"{conversation_id}-turn-{t.turn}", role="user", created_at=created,
                                    content=[TextContent(text=t.message)]))
            if t.result is not None:
                messages.extend(t.result.messages)
        return Transcript(conversation_id=conversation_id, messages=messages)

    async def file(self, file_id: str) -> tuple[bytes, str]:
        """A file produced in (or attached to) a conversation; NotFound for any other id."""
        found = await self._io(self.store.find_file, file_id)
        if found is None:
            raise NotFound(f"file {file_id} does not exist")
        if found.conversation_id is None:
            # An assistant's knowledge document: served from this app's own copy (the service does not
            # let files uploaded for assistants be downloaded).
            return knowledge_document(found.assistant or "", found.file.filename)
        record = await self.conversation_record(found.conversation_id)
        model = get_backend(self.settings, record.backend)
        try:
            data, kind = await self._io(model.download, found.file)
        except BackendError as exc:
            if exc.status == 404:  # e.g. its code-interpreter container expired
                raise NotFound(f"file {file_id} is no longer available at the model service") from None
            raise
        return data, kind
