"""Idempotent file sync: upload an assistant's files once, replace only the ones that changed."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from assistants.catalog import AssistantSpec, file_hash
from backends.base import SyncLedger
from backends.client import delete_quietly, translated_errors
from core.errors import BackendError


def sync_files(backend: str, spec: AssistantSpec, ledger: SyncLedger, upload: Callable[[str, bytes], str],
               delete: Callable[[str], None], exists: Callable[[str], bool], *,
               paths: tuple[Path, ...] | None = None, kind: str = "file") -> list[str]:
    """File ids for the assistant's files (or `paths`), uploading only new, changed or vanished ones.

    Each file is uploaded under its own name; `delete` gets the id of a version that was replaced.
    """
    ids = []
    for path in spec.files if paths is None else paths:
        key = f"{backend}:{kind}:{spec.name}:{path.name}"
        digest = file_hash(path)
        known = ledger.get(key)
        if known and known.get("hash") == digest and exists(str(known["id"])):
            ids.append(str(known["id"]))
            continue
        file_id = upload(path.name, path.read_bytes())
        ledger.put(key, {"id": file_id, "hash": digest})
        if known:
            # The old copy was ours (it is in our ledger): remove it, or it would linger unused.
            with contextlib.suppress(BackendError):
                delete(str(known["id"]))
        ids.append(file_id)
    return ids


class ExistenceCache:
    """Remembers ids the service confirmed, so each is checked once per process, not once per turn."""

    def __init__(self) -> None:
        self._seen: set[tuple[str, str]] = set()

    def check(self, scope: str, object_id: str, probe: Callable[[], object]) -> bool:
        """True if the object exists (asked once per scope and id); a 404 means it is gone."""
        if (scope, object_id) in self._seen:
            return True
        try:
            probe()
        except BackendError as exc:
            if exc.status == 404:
                return False
            raise
        self._seen.add((scope, object_id))
        return True


EXISTING = ExistenceCache()


class ServiceFiles:
    """Files at the model service (both APIs share the Files API): upload, exists (asked once), delete."""

    def __init__(self, client: Any, scope: str) -> None:
        self.client = client
        self.scope = scope

    def upload(self, filename: str, data: bytes) -> str:
        """Upload under the file's own name (code interpreter and file_search show it); its id."""
        return str(self.client.files.create(file=(filename, data), purpose="assistants").id)

    def exists(self, file_id: str) -> bool:
        """Whether the service still has the file (checked once per process)."""

        def probe() -> None:
            with translated_errors():
                self.client.files.retrieve(file_id)

        return EXISTING.check(self.scope, file_id, probe)

    def delete(self, file_id: str) -> None:
        """Delete it; already gone is fine."""
        delete_quietly(lambda: self.client.files.delete(file_id))


def digest(*parts: object) -> str:
    """A short stable hash of the given parts."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:32]


def forget(backend: str, name: str, ledger: SyncLedger, delete_file: Callable[[str], None],
           delete_store: Callable[[str], None]) -> list[str]:
    """Delete the files and vector store the ledger says this service made for an assistant."""
    deleted = []
    store = ledger.get(f"{backend}:vector_store:{name}")
    if store and store.get("id"):
        delete_store(str(store["id"]))
        deleted.append(str(store["id"]))
    ledger.delete(f"{backend}:vector_store:{name}")
    for kind in ("file", "knowledge"):
        for key in ledger.keys(f"{backend}:{kind}:{name}:"):
            known = ledger.get(key)
            if known and known.get("id"):
                delete_file(str(known["id"]))
                deleted.append(str(known["id"]))
            ledger.delete(key)
    return deleted
