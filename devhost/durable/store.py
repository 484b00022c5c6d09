"""Durable state: instances (with their histories) and pending work, in memory or in a SQLite file."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

WorkKind = Literal["message", "activity", "timer"]


@dataclass
class RetryState:
    """An activity or sub-orchestration scheduled with retry options, between attempts."""

    kind: Literal["activity", "suborch"]
    name: str
    input: str | None
    max_attempts: int
    interval_ms: int
    attempt: int = 1
    instance_id: str | None = None


@dataclass
class Instance:
    """One orchestration instance: status, current execution, its history and bookkeeping."""

    instance_id: str
    name: str
    execution_id: str
    status: str
    input: str | None
    created: str
    last_updated: str
    version: str = ""
    output: str | None = None
    custom_status: str | None = None
    parent: dict[str, Any] | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    next_id: int = 0
    actions: list[dict[str, Any]] = field(default_factory=list)
    retries: dict[int, RetryState] = field(default_factory=dict)

    def to_json(self) -> str:
        """Serialise for the store."""
        data = asdict(self)
        data["retries"] = {str(k): asdict(v) for k, v in self.retries.items()}
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> Instance:
        """Read back what `to_json` wrote."""
        data = json.loads(text)
        data["retries"] = {int(k): RetryState(**v) for k, v in data.get("retries", {}).items()}
        return cls(**data)


@dataclass
class WorkItem:
    """Pending work: a message for an instance's inbox, an activity to run, or a timer to fire."""

    id: int
    kind: WorkKind
    instance_id: str
    payload: dict[str, Any]
    due: str | None = None


class MemoryStore:
    """No persistence: state lives only in the engine's memory."""

    def load(self) -> tuple[list[Instance], list[WorkItem]]:
        """Nothing to resume."""
        return [], []

    def save_instance(self, inst: Instance) -> None:
        """No-op."""

    def delete_instance(self, instance_id: str) -> None:
        """No-op."""

    def add_work(self, item: WorkItem) -> None:
        """No-op."""

    def delete_work(self, work_id: int) -> None:
        """No-op."""

    def commit(self) -> None:
        """No-op."""

    def close(self) -> None:
        """No-op."""


class SqliteStore(MemoryStore):
    """Instances and work in a SQLite file; changes become durable at `commit()`."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level="DEFERRED")
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(
            """
            CREATE TABLE IF NOT EXISTS instances (
                instance_id TEXT PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL,
                created TEXT NOT NULL, data TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS work (
                id INTEGER PRIMARY KEY, kind TEXT NOT NULL, instance_id TEXT NOT NULL,
                due TEXT, payload TEXT NOT NULL);
            """
        )
        self._db.commit()

    def load(self) -> tuple[list[Instance], list[WorkItem]]:
        """Everything persisted, work in creation order."""
        instances = [Instance.from_json(row[0]) for row in self._db.execute("SELECT data FROM instances")]
        work = [
            WorkItem(id=row[0], kind=row[1], instance_id=row[2], due=row[3], payload=json.loads(row[4]))
            for row in self._db.execute("SELECT id, kind, instance_id, due, payload FROM work ORDER BY id")
        ]
        return instances, work

    def save_instance(self, inst: Instance) -> None:
        """Insert or replace the instance."""
        self._db.execute(
            "INSERT OR REPLACE INTO instances VALUES (?, ?, ?, ?, ?)",
            (inst.instance_id, inst.name, inst.status, inst.created, inst.to_json()),
        )

    def delete_instance(self, instance_id: str) -> None:
        """Remove the instance and its pending work."""
        self._db.execute("DELETE FROM instances WHERE instance_id = ?", (instance_id,))
        self._db.execute("DELETE FROM work WHERE instance_id = ?", (instance_id,))

    def add_work(self, item: WorkItem) -> None:
        """Persist a work item."""
        self._db.execute(
            "INSERT INTO work VALUES (?, ?, ?, ?, ?)",
            (item.id, item.kind, item.instance_id, item.due, json.dumps(item.payload)),
        )

    def delete_work(self, work_id: int) -> None:
        """Forget a work item (done or dropped)."""
        self._db.execute("DELETE FROM work WHERE id = ?", (work_id,))

    def commit(self) -> None:
        """Make the changes so far durable."""
        self._db.commit()

    def close(self) -> None:
        """Close the file."""
        self._db.close()
