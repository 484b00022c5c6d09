"""Knowledge for file_search: an assistant's documents in one vector store, synced idempotently.

Both APIs share the Vector Stores API, so both backends use this module. The store is found again by
the ledger (or by its metadata), a changed document replaces only itself, and nothing this service did
not create is detached or deleted.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from assistants.catalog import AssistantSpec
from backends import files as file_sync
from backends.base import CREATED_BY, META_CREATED_BY, META_HASH, META_NAME, SyncLedger
from backends.client import delete_quietly, translated_errors
from core.records import FileRef


class Knowledge:
    """The outcome of a sync: the store, the documents in it, and whether ingestion is still running."""

    def __init__(self, vector_store_ids: list[str], files: list[FileRef], ingesting: bool) -> None:
        self.vector_store_ids = vector_store_ids
        self.files = files
        self.ingesting = ingesting


def sync_knowledge(backend: str, client: Any, spec: AssistantSpec, ledger: SyncLedger,
                   upload: Callable[[str, bytes], str], file_exists: Callable[[str], bool]) -> Knowledge:
    """Upload new or changed documents, keep them (and only them) attached to the assistant's vector store."""
    if not spec.knowledge:
        return Knowledge([], [], False)
    with translated_errors():
        store_key = f"{backend}:vector_store:{spec.name}"
        known = ledger.get(store_key) or {}
        store_id = known.get("id") if known.get("id") and _exists(client, known["id"]) else None
        store_id = store_id or _find(client, spec.name) or _create(client, spec.name)

        def replace(old_id: str) -> None:
            # The old version was ours (it is in our ledger): detach it, then delete it.
            delete_quietly(lambda: client.vector_stores.files.delete(old_id, vector_store_id=store_id))
            delete_quietly(lambda: client.files.delete(old_id))

        ids = file_sync.sync_files(backend, spec, ledger, upload, replace, file_exists, paths=spec.knowledge,
                                   kind="knowledge")
        digest = file_sync.digest(store_id, ids)
        ingesting = False
        if not (known.get("ready") and known.get("hash") == digest and known.get("id") == store_id):
            attached = {f.id: f.status for f in client.vector_stores.files.list(store_id, limit=100)}
            for stale in set(attached) - set(ids):
                # Left in our store by an earlier sync whose ledger is gone: detach it so answers cite the
                # current pages only (the file itself is not deleted: we cannot be sure we made it).
                delete_quietly(partial(client.vector_stores.files.delete, stale, vector_store_id=store_id))
                attached.pop(stale)
            for file_id in ids:
                if file_id not in attached:
                    attached[file_id] = client.vector_stores.files.create(store_id, file_id=file_id).status
            ingesting = any(attached[i] == "in_progress" for i in ids)
        ledger.put(store_key, {"id": store_id, "hash": digest, "ready": not ingesting})
    files = [FileRef(file_id=i, filename=p.name) for i, p in zip(ids, spec.knowledge, strict=True)]
    return Knowledge([store_id], files, ingesting)


def _exists(client: Any, store_id: str) -> bool:
    def probe() -> None:
        with translated_errors():
            client.vector_stores.retrieve(store_id)

    return file_sync.EXISTING.check("vector_store", store_id, probe)


def _find(client: Any, name: str) -> str | None:
    # Only a store this service created for this assistant is adopted.
    for store in client.vector_stores.list(limit=100, order="desc"):
        meta = store.metadata or {}
        if meta.get(META_NAME) == name and meta.get(META_CREATED_BY) == CREATED_BY:
            return str(store.id)
    return None


def _create(client: Any, name: str) -> str:
    store = client.vector_stores.create(name=f"{name} knowledge",
                                        metadata={META_NAME: name, META_CREATED_BY: CREATED_BY, META_HASH: ""})
    return str(store.id)


def conversation_store(client: Any, conversation_id: str) -> str:
    """A vector store for the files users attach to one conversation's messages (Responses API)."""
    with translated_errors():
        store = client.vector_stores.create(
            name=f"conversation {conversation_id[:40]}",
            metadata={META_CREATED_BY: CREATED_BY, "conversation": conversation_id[:500]})
    return str(store.id)


def attach(client: Any, store_id: str, file_ids: list[str]) -> bool:
    """Attach files to a vector store, skipping those already there; True while any is still being indexed."""
    if not file_ids:
        return False
    with translated_errors():
        present = {f.id: f.status for f in client.vector_stores.files.list(store_id, limit=100)}
        for file_id in file_ids:
            if file_id not in present:
                present[file_id] = client.vector_stores.files.create(store_id, file_id=file_id).status
    return any(present[i] == "in_progress" for i in file_ids)


def delete_store(client: Any, store_id: str) -> None:
    """Delete a vector store this service created (its files are deleted separately)."""
    delete_quietly(lambda: client.vector_stores.delete(store_id))
