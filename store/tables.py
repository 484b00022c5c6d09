"""The conversation store: conversations, their inbox of messages and finished turns, in Table storage.

Why a store beside Durable state: a message must never be lost, and on Azure `continue_as_new` from
Python drops external events the orchestration had not yet processed. So a message is written here
first (turn numbers are assigned by atomic insert, so they are contiguous and in arrival order), and
the event that wakes the orchestration is only a hint: after every turn the orchestration reads the
next message from here.

Rows (one table, partitioned by conversation id):
  (conv, "conversation")    the conversation: assistant, backend, backend id, turn count
  (conv, "turn-000000042")  one message and, once final, its turn
  (conv, "key-<sha256>")    the turn a dedupe key (queue message, Idempotency-Key) already made
  ("~files", <file id>)     which conversation a produced or uploaded file belongs to
  ("~ledger", <key>)        what the backends synced (assistants, files), for idempotent re-syncs
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from core.errors import Conflict
from core.records import FINAL_TURN_STATUSES, FileRef, Record, Turn
from store.connection import table_service
from store.records import ConversationRecord, TurnRecord

if TYPE_CHECKING:
    from azure.data.tables import TableClient

TABLE = "conversations"
FILES = "~files"
LEDGER = "~ledger"
CONVERSATION_ROW = "conversation"
# Table storage caps a string property at 64 KiB and an entity at 1 MiB: long text is split into
# chunks that stay under 64 KiB even in UTF-16 with characters outside the BMP.
CHUNK = 16_000
MAX_CHUNKS = 30
# Record fields kept as JSON text in one property.
JSON_FIELDS = frozenset({"metadata", "attachments"})


def turn_row(turn: int) -> str:
    """Row key of a turn; zero-padded so rows sort in turn order."""
    return f"turn-{turn:09d}"


def dedupe_row(key: str) -> str:
    """Row key of a dedupe key: hashed, since a caller's key may hold characters a row key may not (/ # ?)."""
    return "key-" + hashlib.sha256(key.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


class ConversationStore:
    """Typed access to the conversations table."""

    def __init__(self, table: TableClient) -> None:
        self.table = table

    # --- conversations ------------------------------------------------------------------------

    def create_conversation(self, record: ConversationRecord) -> None:
        """Insert a new conversation; Conflict (409) if the id exists."""
        from azure.core.exceptions import ResourceExistsError

        try:
            self.table.create_entity(_entity(record.conversation_id, CONVERSATION_ROW, record))
        except ResourceExistsError:
            raise Conflict(f"conversation {record.conversation_id} already exists",
                           field="conversation_id") from None

    def get_conversation(self, conversation_id: str) -> ConversationRecord | None:
        """The conversation, or None."""
        entity = self._get(conversation_id, CONVERSATION_ROW)
        return ConversationRecord.from_json(_record(entity)) if entity else None

    def set_backend_conversation(self, conversation_id: str, backend_conversation: str) -> None:
        """Remember the thread/conversation id the backend gave."""
        self._merge(conversation_id, CONVERSATION_ROW, {"backend_conversation": backend_conversation})

    def touch(self, conversation_id: str) -> None:
        """Mark activity now (retention counts idleness from here)."""
        self._merge(conversation_id, CONVERSATION_ROW, {"updated_at": _now().isoformat()})

    def delete_conversation(self, conversation_id: str) -> list[FileRef]:
        """Remove every row of the conversation and its file index; the files it had, to delete upstream."""
        files = self.files_of(conversation_id)
        for f in files:
            self._delete(FILES, f.file_id)
        for entity in self.table.query_entities("PartitionKey eq @pk", parameters={"pk": conversation_id},
                                                select=["PartitionKey", "RowKey"]):
            self._delete(conversation_id, entity["RowKey"])
        return files

    def idle_conversations(self, older_than: timedelta) -> list[str]:
        """Conversations with no activity for `older_than`."""
        cutoff = (_now() - older_than).isoformat()
        rows = self.table.query_entities("RowKey eq @rk and updated_at lt @cutoff",
                                         parameters={"rk": CONVERSATION_ROW, "cutoff": cutoff},
                                         select=["PartitionKey"])
        return [r["PartitionKey"] for r in rows]

    # --- the inbox and turns ------------------------------------------------------------------

    def add_message(self, record: TurnRecord, dedupe_key: str | None = None) -> tuple[int, bool]:
        """Append a message as the next turn; (turn, created). A known dedupe key returns its turn."""
        from azure.core.exceptions import ResourceExistsError
        from azure.data.tables import TableTransactionError

        conv = record.conversation_id
        key_row = dedupe_row(dedupe_key) if dedupe_key else None
        if dedupe_key:
            known = self.turn_for_key(conv, dedupe_key)
            if known is not None:
                return known, False
        conversation = self.get_conversation(conv)
        turn = (conversation.turns if conversation else 0) + 1
        while True:
            # Insert-if-absent is atomic: two writers racing for a number get distinct, contiguous ones. The
            # turn and its dedupe key are written in one transaction (same partition): both or neither.
            row = _entity(conv, turn_row(turn), record.model_copy(update={"turn": turn}))
            operations: list[Any] = [("create", row)]
            if key_row:
                operations.append(("create", {"PartitionKey": conv, "RowKey": key_row, "turn": turn}))
            try:
                self.table.submit_transaction(operations)
                break
            except (ResourceExistsError, TableTransactionError) as exc:
                if getattr(exc, "status_code", 409) != 409:
                    raise  # not a taken row (e.g. too large): no point trying the next number
                if dedupe_key:
                    known = self.turn_for_key(conv, dedupe_key)
                    if known is not None:  # a duplicate won the race: answer with its turn
                        return known, False
                turn += 1
        self._raise_turn_count(conv, turn)
        return turn, True

    def turn_for_key(self, conversation_id: str, dedupe_key: str) -> int | None:
        """The turn a dedupe key already made in the conversation, or None."""
        known = self._get(conversation_id, dedupe_row(dedupe_key))
        return int(known["turn"]) if known else None

    def _raise_turn_count(self, conv: str, turn: int) -> None:
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceModifiedError
        from azure.data.tables import UpdateMode

        for _ in range(10):
            entity = self._get(conv, CONVERSATION_ROW)
            if entity is None or int(entity.get("turns", 0)) >= turn:
                return
            entity["turns"] = turn
            entity["updated_at"] = _now().isoformat()
            try:
                self.table.update_entity(entity, mode=UpdateMode.MERGE, etag=entity.metadata["etag"],
                                         match_condition=MatchConditions.IfNotModified)
                return
            except ResourceModifiedError:
                continue

    def get_turn(self, conversation_id: str, turn: int) -> TurnRecord | None:
        """One turn's row, or None."""
        entity = self._get(conversation_id, turn_row(turn))
        return TurnRecord.from_json(_record(entity)) if entity else None

    def list_turns(self, conversation_id: str) -> list[TurnRecord]:
        """Every turn, in order."""
        rows = self.table.query_entities("PartitionKey eq @pk and RowKey ge @lo and RowKey lt @hi",
                                         parameters={"pk": conversation_id, "lo": "turn-", "hi": "turn."})
        return sorted((TurnRecord.from_json(_record(e)) for e in rows), key=lambda t: t.turn)

    def cancel_if_queued(self, conversation_id: str, turn: int, result: Turn) -> bool:
        """Cancel a turn that has not started (atomically: False if it started meanwhile)."""
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceModifiedError
        from azure.data.tables import UpdateMode

        entity = self._get(conversation_id, turn_row(turn))
        if entity is None or entity.get("status") != "queued":
            return False
        fields = {"PartitionKey": conversation_id, "RowKey": turn_row(turn), "status": result.status,
                  "updated_at": _now().isoformat(), "result": result.model_dump_json()}
        try:
            self.table.update_entity(_split(fields), mode=UpdateMode.MERGE, etag=entity.metadata["etag"],
                                     match_condition=MatchConditions.IfNotModified)
        except ResourceModifiedError:
            return False
        return True

    def claim_turn(self, conversation_id: str, turn: int) -> bool:
        """Move a queued turn to running, atomically; True if this turn is (now, or already) ours to run.

        False when it was cancelled (or otherwise finished) before it started: a cancel of a queued turn and
        this claim cannot both succeed.
        """
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceModifiedError
        from azure.data.tables import UpdateMode

        for _ in range(10):
            entity = self._get(conversation_id, turn_row(turn))
            if entity is None or entity.get("status") in FINAL_TURN_STATUSES:
                return False
            if entity.get("status") != "queued":
                return True  # a retry of the claim that already moved it
            fields = {"PartitionKey": conversation_id, "RowKey": turn_row(turn), "status": "running",
                      "updated_at": _now().isoformat()}
            try:
                self.table.update_entity(fields, mode=UpdateMode.MERGE, etag=entity.metadata["etag"],
                                         match_condition=MatchConditions.IfNotModified)
                return True
            except ResourceModifiedError:
                continue
        raise RuntimeError(f"turn {turn} of {conversation_id} kept changing while it was claimed")

    def set_turn_status(self, conversation_id: str, turn: int, status: str) -> None:
        """Show a running turn's status (running / requires_action); a finished turn is left as it is."""
        entity = self._get(conversation_id, turn_row(turn))
        if entity is not None and entity.get("status") not in FINAL_TURN_STATUSES:
            self._merge(conversation_id, turn_row(turn), {"status": status, "updated_at": _now().isoformat()})

    def mark_replied(self, conversation_id: str, turn: int) -> None:
        """Note that the turn's queue reply was sent."""
        self._merge(conversation_id, turn_row(turn), {"replied_at": _now().isoformat()})

    def save_turn(self, result: Turn) -> None:
        """Store a finished turn (split across properties when long)."""
        fields = {"status": result.status, "updated_at": _now().isoformat(), "result": result.model_dump_json()}
        self._merge(result.conversation_id, turn_row(result.turn), _split(fields))
        self.touch(result.conversation_id)

    # --- files and the sync ledger --------------------------------------------------------------

    def add_files(self, conversation_id: str, files: list[FileRef]) -> None:
        """Record files that belong to the conversation (so /api/files serves them, delete removes them)."""
        for f in files:
            self.table.upsert_entity({"PartitionKey": FILES, "RowKey": f.file_id, "conversation_id": conversation_id,
                                      "data": f.model_dump_json()})

    def add_assistant_files(self, assistant: str, backend: str, files: list[FileRef]) -> None:
        """Record an assistant's knowledge documents (cited in answers, so /api/files serves them)."""
        for f in files:
            self.table.upsert_entity({"PartitionKey": FILES, "RowKey": f.file_id, "conversation_id": "",
                                      "assistant": assistant, "backend": backend, "data": f.model_dump_json()})

    def find_file(self, file_id: str) -> FileOwner | None:
        """Whose a file is (a conversation's, or an assistant's knowledge) and the file."""
        entity = self._get(FILES, file_id) if _valid_key(file_id) else None
        if entity is None:
            return None
        return FileOwner(conversation_id=entity.get("conversation_id") or None, assistant=entity.get("assistant"),
                         file=FileRef.model_validate_json(entity["data"]))

    def files_of(self, conversation_id: str) -> list[FileRef]:
        """Every file recorded for the conversation."""
        rows = self.table.query_entities("PartitionKey eq @pk and conversation_id eq @conv",
                                         parameters={"pk": FILES, "conv": conversation_id})
        return [FileRef.model_validate_json(r["data"]) for r in rows]

    def ledger(self) -> TableLedger:
        """The backends' sync ledger."""
        return TableLedger(self)

    # --- plumbing -----------------------------------------------------------------------------

    def _get(self, pk: str, rk: str) -> Any:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return self.table.get_entity(pk, rk)
        except ResourceNotFoundError:
            return None

    def _merge(self, pk: str, rk: str, fields: Mapping[str, Any]) -> None:
        from azure.data.tables import UpdateMode

        self.table.upsert_entity({"PartitionKey": pk, "RowKey": rk, **fields}, mode=UpdateMode.MERGE)

    def _delete(self, pk: str, rk: str) -> None:
        self.table.delete_entity(pk, rk)


@dataclass(frozen=True)
class FileOwner:
    """A file and what it belongs to: a conversation, or an assistant (knowledge)."""

    conversation_id: str | None
    assistant: str | None
    file: FileRef


class TableLedger:
    """SyncLedger on the `~ledger` partition."""

    def __init__(self, store: ConversationStore) -> None:
        self.store = store

    def get(self, key: str) -> dict[str, Any] | None:
        """The record under `key`."""
        entity = self.store._get(LEDGER, _safe_key(key))
        return json.loads(entity["value"]) if entity else None

    def put(self, key: str, value: dict[str, Any]) -> None:
        """Store `value` under `key`."""
        self.store._merge(LEDGER, _safe_key(key), {"value": json.dumps(value)})

    def keys(self, prefix: str) -> list[str]:
        """Every key starting with `prefix`."""
        low = _safe_key(prefix)
        rows = self.store.table.query_entities("PartitionKey eq @pk and RowKey ge @lo and RowKey lt @hi",
                                               parameters={"pk": LEDGER, "lo": low, "hi": low + "\uffff"},
                                               select=["RowKey"])
        return sorted(r["RowKey"] for r in rows)

    def delete(self, key: str) -> None:
        """Forget `key`."""
        self.store._delete(LEDGER, _safe_key(key))


def _safe_key(key: str) -> str:
    # Row keys may not hold / \ # ? or control characters.
    return "".join(c if c.isprintable() and c not in "/\\#?" else "_" for c in key)


def _valid_key(key: str) -> bool:
    return bool(key) and len(key) <= 255 and _safe_key(key) == key


def _entity(pk: str, rk: str, record: Record) -> dict[str, Any]:
    data = record.to_json()
    data.pop("result", None)  # written by save_turn
    flat = {k: (json.dumps(v) if k in JSON_FIELDS else v) for k, v in data.items() if v is not None}
    return {"PartitionKey": pk, "RowKey": rk, **_split(flat)}


def _split(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Long strings become `name__0..n` plus `name__chunks`: a property holds at most 64 KiB."""
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if isinstance(value, str) and len(value) > CHUNK:
            chunks = [value[i:i + CHUNK] for i in range(0, len(value), CHUNK)]
            if len(chunks) > MAX_CHUNKS:
                raise ValueError(f"{key} is too large to store ({len(value)} chars)")
            out[f"{key}__chunks"] = len(chunks)
            out |= {f"{key}__{i}": c for i, c in enumerate(chunks)}
        else:
            out[key] = value
    return out


def _join(entity: Mapping[str, Any]) -> dict[str, Any]:
    data = {k: v for k, v in entity.items() if "__" not in k}
    for key in [k[: -len("__chunks")] for k in entity if k.endswith("__chunks")]:
        count = int(entity[f"{key}__chunks"] or 0)
        if count:
            data[key] = "".join(entity.get(f"{key}__{i}", "") for i in range(count))
    return data


def _record(entity: Mapping[str, Any]) -> dict[str, Any]:
    data = _join(entity)
    for k in ("PartitionKey", "RowKey"):
        data.pop(k, None)
    data = {k: v for k, v in data.items() if v is not None}
    for k in JSON_FIELDS & data.keys():
        data[k] = json.loads(data[k])
    if "result" in data:
        data["result"] = json.loads(data["result"])
    return data


def open_store(environ: Mapping[str, str] | None = None) -> ConversationStore:
    """The store on the app's storage account (AzureWebJobsStorage: a connection string or identity)."""
    from azure.core.exceptions import ResourceExistsError

    env = os.environ if environ is None else environ
    service = table_service(env)
    key = id(service)
    if key not in _ready:
        with contextlib.suppress(ResourceExistsError):
            service.create_table(TABLE)
        _ready.add(key)
    return ConversationStore(service.get_table_client(TABLE))


_ready: set[int] = set()
