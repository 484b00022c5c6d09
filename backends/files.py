"""Idempotent file sync: upload an assistant's files once, replace only the ones that changed."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable

from assistants.catalog import AssistantSpec, file_hash
from backends.base import SyncLedger
from core.errors import BackendError


def sync_files(backend: str, spec: AssistantSpec, ledger: SyncLedger,
               upload: Callable[[str, bytes], str], delete: Callable[[str], None]) -> list[str]:
    """File ids for the assistant's files, uploading only new or changed ones (each under its own name)."""
    ids = []
    for path in spec.files:
        key = f"{backend}:file:{spec.name}:{path.name}"
        digest = file_hash(path)
        known = ledger.get(key)
        if known and known.get("hash") == digest:
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


def digest(*parts: object) -> str:
    """A short stable hash of the given parts."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:32]
