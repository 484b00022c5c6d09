"""Vector stores (both route families): stores, their files, file batches, search, and ingestion.

A file attached to a store is read and chunked at once (`retrieval`), but reports `in_progress` for
`EmulatorConfig.ingestion_polls` reads before it settles `completed` (or `failed` with `last_error`).
A read is a retrieve of the store, of the file or of a batch holding it, or a list of the store's or
batch's files. Only settled, completed files are searched.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

from .errors import bad_request, not_found
from .paging import page
from .params import Body, Query, read_json
from .policy import SearchHit
from .retrieval import (
    DEFAULT_CHUNK_OVERLAP_TOKENS,
    DEFAULT_MAX_CHUNK_TOKENS,
    Chunk,
    ExtractionError,
    chunk_text,
    extract_text,
    rank,
)
from .state import EmulatorState
from .web import STATE, json_response, poll_headers

FileStatus = Literal["in_progress", "completed", "cancelled", "failed"]
StoreStatus = Literal["expired", "in_progress", "completed"]
FILE_STATUSES: tuple[FileStatus, ...] = ("in_progress", "completed", "failed", "cancelled")
DAY_SECONDS = 86_400
# Thread stores made from message attachments expire this long after their last use, as the real ones.
THREAD_STORE_DAYS = 7
_OPERATORS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "nin")


# --- records -----------------------------------------------------------------------------------------


@dataclass
class StoreFileRecord:
    """A file attached to a vector store, with what ingestion made of it."""

    id: str
    vector_store_id: str
    created_at: int
    filename: str
    chunking_strategy: dict[str, Any]
    attributes: dict[str, str | float | bool] | None
    chunks: list[Chunk]
    text: str
    outcome: dict[str, str] | None  # the last_error the file settles with, or None when readable
    polls_left: int
    status: FileStatus = "in_progress"
    last_error: dict[str, str] | None = None

    @property
    def usage_bytes(self) -> int:
        return len(self.text.encode("utf-8")) if self.status == "completed" else 0

    def tick(self) -> None:
        """One read: the file spends `polls_left` reads in progress, then settles."""
        if self.status != "in_progress":
            return
        if self.polls_left > 0:
            self.polls_left -= 1
            return
        self.settle()

    def settle(self) -> None:
        """Finish ingestion now (a run waits for its thread's store this way)."""
        if self.status == "in_progress":
            self.status = "failed" if self.outcome else "completed"
            self.last_error = self.outcome

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "vector_store.file",
            "usage_bytes": self.usage_bytes,
            "created_at": self.created_at,
            "vector_store_id": self.vector_store_id,
            "status": self.status,
            "last_error": self.last_error,
            "chunking_strategy": self.chunking_strategy,
            "attributes": self.attributes,
        }


def _counts(files: Iterable[StoreFileRecord]) -> dict[str, int]:
    counts: dict[str, int] = {status: 0 for status in FILE_STATUSES}
    for record in files:
        counts[record.status] += 1
    return {**counts, "total": sum(counts.values())}


@dataclass
class VectorStoreRecord:
    id: str
    created_at: int
    name: str
    last_active_at: int
    metadata: dict[str, str] = field(default_factory=dict)
    description: str | None = None
    expires_after: dict[str, Any] | None = None
    files: dict[str, StoreFileRecord] = field(default_factory=dict)

    @property
    def expires_at(self) -> int | None:
        if self.expires_after is None:
            return None
        return self.last_active_at + int(self.expires_after["days"]) * DAY_SECONDS

    def expired(self, now: int) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    def status(self, now: int) -> StoreStatus:
        if self.expired(now):
            return "expired"
        if any(f.status == "in_progress" for f in self.files.values()):
            return "in_progress"
        return "completed"

    def to_json(self, now: int) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "object": "vector_store",
            "created_at": self.created_at,
            "name": self.name,
            "usage_bytes": sum(f.usage_bytes for f in self.files.values()),
            "file_counts": _counts(self.files.values()),
            "status": self.status(now),
            "expires_at": self.expires_at,
            "last_active_at": self.last_active_at,
            "metadata": self.metadata,
        }
        # The API description has `expires_after` as an object (never null): it appears only when set.
        if self.expires_after is not None:
            body["expires_after"] = self.expires_after
        return body


@dataclass
class FileBatchRecord:
    id: str
    vector_store_id: str
    created_at: int
    file_ids: list[str]
    cancelled: bool = False

    def files(self, store: VectorStoreRecord) -> list[StoreFileRecord]:
        return [store.files[i] for i in self.file_ids if i in store.files]

    def to_json(self, store: VectorStoreRecord) -> dict[str, Any]:
        files = self.files(store)
        counts = _counts(files)
        status: FileStatus
        if counts["in_progress"]:
            status = "in_progress"
        elif self.cancelled:
            status = "cancelled"
        elif counts["failed"] and counts["failed"] == counts["total"]:
            status = "failed"
        else:
            status = "completed"
        return {
            "id": self.id,
            "object": "vector_store.files_batch",
            "created_at": self.created_at,
            "vector_store_id": self.vector_store_id,
            "status": status,
            "file_counts": counts,
        }


class VectorStoresStore:
    """Vector stores and file batches by id."""

    def __init__(self) -> None:
        self.stores: dict[str, VectorStoreRecord] = {}
        self.batches: dict[str, FileBatchRecord] = {}

    def store(self, store_id: str) -> VectorStoreRecord:
        found = self.stores.get(store_id)
        if found is None:
            raise not_found(f"No vector store found with id '{store_id}'.")
        return found

    def file_ids(self, store_id: str) -> list[str]:
        """The ids of the files attached to a store (none for an unknown store)."""
        found = self.stores.get(store_id)
        return list(found.files) if found else []


# --- ingestion and search ----------------------------------------------------------------------------


def _default_chunking() -> dict[str, Any]:
    # The real service reports its `auto` strategy as the static one it stands for.
    return {
        "type": "static",
        "static": {
            "max_chunk_size_tokens": DEFAULT_MAX_CHUNK_TOKENS,
            "chunk_overlap_tokens": DEFAULT_CHUNK_OVERLAP_TOKENS,
        },
    }


def new_store(
    state: EmulatorState,
    *,
    name: str = "",
    metadata: dict[str, str] | None = None,
    expires_after: dict[str, Any] | None = None,
    description: str | None = None,
) -> VectorStoreRecord:
    now = state.now()
    store = VectorStoreRecord(
        id=state.new_id("vs_"),
        created_at=now,
        name=name,
        last_active_at=now,
        metadata=metadata or {},
        description=description,
        expires_after=expires_after,
    )
    state.vector_stores.stores[store.id] = store
    state.stats.vector_stores_created += 1
    return store


def attach(
    state: EmulatorState,
    store: VectorStoreRecord,
    file_id: str,
    *,
    chunking: dict[str, Any] | None = None,
    attributes: dict[str, str | float | bool] | None = None,
) -> StoreFileRecord:
    """Attach an uploaded file (ingested at once, settled after polls); attaching it again is a no-op."""
    existing = store.files.get(file_id)
    if existing is not None:
        return existing
    stored = state.files[file_id]
    strategy = chunking or _default_chunking()
    chunks: list[Chunk] = []
    text = ""
    outcome: dict[str, str] | None = None
    try:
        text = extract_text(stored.filename, stored.data)
        chunks = chunk_text(text, strategy["static"]["max_chunk_size_tokens"])
    except ExtractionError as error:
        outcome = {"code": error.code, "message": error.message}
    record = StoreFileRecord(
        id=file_id,
        vector_store_id=store.id,
        created_at=state.now(),
        filename=stored.filename,
        chunking_strategy=strategy,
        attributes=attributes,
        chunks=chunks,
        text=text,
        outcome=outcome,
        polls_left=state.config.ingestion_polls,
    )
    store.files[file_id] = record
    state.stats.vector_store_files_added += 1
    return record


def _matches(condition: Mapping[str, Any] | None, attributes: Mapping[str, Any] | None) -> bool:
    """Whether a file's attributes pass a comparison or compound filter (already validated)."""
    if condition is None:
        return True
    kind = condition["type"]
    if kind in ("and", "or"):
        results = (_matches(part, attributes) for part in condition["filters"])
        return all(results) if kind == "and" else any(results)
    value = (attributes or {}).get(condition["key"])
    wanted = condition["value"]
    if kind == "in":
        return value in wanted
    if kind == "nin":
        return value not in wanted
    if kind == "eq":
        return bool(value == wanted)
    if kind == "ne":
        return bool(value != wanted)
    if value is None or isinstance(value, bool) != isinstance(wanted, bool):
        return False
    try:
        if kind == "gt":
            return bool(value > wanted)
        if kind == "gte":
            return bool(value >= wanted)
        if kind == "lt":
            return bool(value < wanted)
        return bool(value <= wanted)
    except TypeError:
        return False


def search(
    state: EmulatorState,
    store_ids: Iterable[str],
    query: str,
    *,
    max_results: int,
    score_threshold: float = 0.0,
    filters: Mapping[str, Any] | None = None,
) -> list[SearchHit]:
    """The chunks of the stores' completed files that share a term with `query`, best first.

    Unknown and expired stores are skipped; searching counts as activity on each store searched.
    """
    now = state.now()
    pool: list[tuple[StoreFileRecord, Chunk]] = []
    seen: set[str] = set()
    for store_id in dict.fromkeys(store_ids):
        store = state.vector_stores.stores.get(store_id)
        if store is None or store.expired(now):
            continue
        store.last_active_at = now
        for record in store.files.values():
            if record.status != "completed" or record.id in seen or not _matches(filters, record.attributes):
                continue
            seen.add(record.id)
            pool.extend((record, chunk) for chunk in record.chunks)
    hits = []
    for score, position in rank(query, [chunk for _, chunk in pool]):
        if score < score_threshold:
            break
        record, chunk = pool[position]
        hits.append(SearchHit(record.id, record.filename, score, chunk.text, record.attributes))
        if len(hits) >= max_results:
            break
    return hits


# --- request parsing ---------------------------------------------------------------------------------


def _check_file(state: EmulatorState, file_id: Any, param: str) -> str:
    if not isinstance(file_id, str):
        raise bad_request(f"Invalid type for '{param}': expected a string.", param=param)
    if file_id not in state.files:
        raise bad_request(f"Invalid '{param}': no file found with id '{file_id}'.", param=param)
    return file_id


def file_id_list(state: EmulatorState, body: Body, key: str, *, max_items: int) -> list[str]:
    values = body.array(key)
    if len(values) > max_items:
        raise bad_request(
            f"Invalid '{body.name(key)}': array too long. Expected an array with maximum length {max_items}, "
            f"but got an array with length {len(values)} instead.",
            param=body.name(key),
        )
    return [_check_file(state, value, f"{body.name(key)}[{i}]") for i, value in enumerate(values)]


def parse_chunking(body: Body) -> dict[str, Any] | None:
    """`chunking_strategy` as the file reports it: `auto` → static 800/400, `static` echoed."""
    strategy = body.object("chunking_strategy")
    if strategy is None:
        return None
    kind = strategy.choice("type", ("auto", "static"))
    if kind is None:
        raise bad_request(f"Missing required parameter: '{strategy.name('type')}'.", param=strategy.name("type"))
    if kind == "auto":
        return _default_chunking()
    static = strategy.object("static", required=True)
    assert static is not None
    size = static.integer("max_chunk_size_tokens", minimum=100)
    overlap = static.integer("chunk_overlap_tokens", minimum=0)
    if size is None or overlap is None:
        missing = "max_chunk_size_tokens" if size is None else "chunk_overlap_tokens"
        raise bad_request(f"Missing required parameter: '{static.name(missing)}'.", param=static.name(missing))
    if size > 4096:
        raise bad_request(
            f"Invalid '{static.name('max_chunk_size_tokens')}': integer above maximum value. Expected a value "
            f"<= 4096, but got {size} instead.",
            param=static.name("max_chunk_size_tokens"),
        )
    if overlap > size // 2:
        raise bad_request(
            f"Invalid '{static.name('chunk_overlap_tokens')}': the overlap must not exceed half of "
            "max_chunk_size_tokens.",
            param=static.name("chunk_overlap_tokens"),
        )
    return {"type": "static", "static": {"max_chunk_size_tokens": size, "chunk_overlap_tokens": overlap}}


def parse_attributes(body: Body, key: str = "attributes") -> dict[str, str | float | bool] | None:
    raw = body.raw(key)
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise bad_request(f"Invalid type for '{body.name(key)}': expected an object.", param=body.name(key))
    if len(raw) > 16:
        raise bad_request(
            f"Invalid '{body.name(key)}': too many properties. Expected at most 16.", param=body.name(key)
        )
    for name, value in raw.items():
        if (
            len(name) > 64
            or not isinstance(value, str | int | float | bool)
            or (isinstance(value, str) and len(value) > 512)
        ):
            raise bad_request(
                f"Invalid '{body.name(key)}.{name}': expected a string (at most 512 characters), a number or "
                "a boolean, under a key of at most 64 characters.",
                param=f"{body.name(key)}.{name}",
            )
    return dict(raw)


def parse_expires_after(body: Body) -> dict[str, Any] | None:
    expires = body.object("expires_after")
    if expires is None:
        return None
    anchor = expires.choice("anchor", ("last_active_at",))
    days = expires.integer("days", minimum=1)
    if anchor is None or days is None:
        missing = "anchor" if anchor is None else "days"
        raise bad_request(f"Missing required parameter: '{expires.name(missing)}'.", param=expires.name(missing))
    if days > 365:
        raise bad_request(
            f"Invalid '{expires.name('days')}': integer above maximum value. Expected a value <= 365, but got "
            f"{days} instead.",
            param=expires.name("days"),
        )
    return {"anchor": anchor, "days": days}


def parse_filters(body: Body, key: str = "filters") -> dict[str, Any] | None:
    """A comparison or compound attribute filter, checked; None when absent."""
    condition = body.object(key)
    return None if condition is None else _condition(condition)


def _condition(condition: Body) -> dict[str, Any]:
    kind = condition.choice("type", (*_OPERATORS, "and", "or"))
    if kind is None:
        raise bad_request(f"Missing required parameter: '{condition.name('type')}'.", param=condition.name("type"))
    if kind in ("and", "or"):
        return {"type": kind, "filters": [_condition(part) for part in condition.items("filters")]}
    name = condition.string("key", required=True)
    value = condition.raw("value")
    if kind in ("in", "nin"):
        if not isinstance(value, list):
            raise bad_request(f"Invalid '{condition.name('value')}': expected an array.", param=condition.name("value"))
    elif not isinstance(value, str | int | float | bool):
        raise bad_request(
            f"Invalid '{condition.name('value')}': expected a string, a number or a boolean.",
            param=condition.name("value"),
        )
    return {"type": kind, "key": name, "value": value}


# --- handlers ----------------------------------------------------------------------------------------


def _state(request: web.Request) -> EmulatorState:
    return request.app[STATE]


def _store(request: web.Request) -> VectorStoreRecord:
    return _state(request).vector_stores.store(request.match_info["vector_store_id"])


def _store_file(store: VectorStoreRecord, file_id: str) -> StoreFileRecord:
    found = store.files.get(file_id)
    if found is None:
        raise not_found(f"No file found with id '{file_id}' in vector store '{store.id}'.")
    return found


def _batch(state: EmulatorState, store: VectorStoreRecord, batch_id: str) -> FileBatchRecord:
    found = state.vector_stores.batches.get(batch_id)
    if found is None or found.vector_store_id != store.id:
        raise not_found(f"No file batch found with id '{batch_id}' in vector store '{store.id}'.")
    return found


def _status_filter(request: web.Request) -> str | None:
    wanted = request.query.get("filter")
    if wanted is not None and wanted not in FILE_STATUSES:
        allowed = ", ".join(f"'{s}'" for s in FILE_STATUSES)
        raise bad_request(
            f"Invalid value for 'filter': expected one of {allowed}, but got '{wanted}' instead.", param="filter"
        )
    return wanted


def _file_page(request: web.Request, files: list[StoreFileRecord]) -> web.Response:
    """A list of store files: each read counts as one ingestion poll, then `filter` applies."""
    wanted = _status_filter(request)
    query = Query(request)
    for record in files:
        record.tick()
    chosen = [f for f in files if wanted is None or f.status == wanted]
    return json_response(
        page(chosen, query, lambda f: f.id, StoreFileRecord.to_json), headers=poll_headers(_state(request))
    )


async def create_store(request: web.Request) -> web.Response:
    state = _state(request)
    body = await read_json(request)
    file_ids = file_id_list(state, body, "file_ids", max_items=500)
    chunking = parse_chunking(body)
    store = new_store(
        state,
        name=body.string("name", ""),
        metadata=body.metadata() or {},
        expires_after=parse_expires_after(body),
        description=body.string("description"),
    )
    for file_id in file_ids:
        attach(state, store, file_id, chunking=chunking)
    return json_response(store.to_json(state.now()))


async def list_stores(request: web.Request) -> web.Response:
    state = _state(request)
    now = state.now()
    stores = list(state.vector_stores.stores.values())
    return json_response(page(stores, Query(request), lambda s: s.id, lambda s: s.to_json(now)))


async def retrieve_store(request: web.Request) -> web.Response:
    state = _state(request)
    store = _store(request)
    for record in store.files.values():
        record.tick()
    return json_response(store.to_json(state.now()), headers=poll_headers(state))


async def update_store(request: web.Request) -> web.Response:
    state = _state(request)
    store = _store(request)
    body = await read_json(request)
    if body.has("name"):
        store.name = body.string("name")
    if body.has("metadata"):
        store.metadata = body.metadata() or {}
    if "expires_after" in body.data:
        store.expires_after = parse_expires_after(body)
    return json_response(store.to_json(state.now()))


async def delete_store(request: web.Request) -> web.Response:
    state = _state(request)
    store = _store(request)
    del state.vector_stores.stores[store.id]
    for batch_id in [b.id for b in state.vector_stores.batches.values() if b.vector_store_id == store.id]:
        del state.vector_stores.batches[batch_id]
    return json_response({"id": store.id, "object": "vector_store.deleted", "deleted": True})


async def search_store(request: web.Request) -> web.Response:
    state = _state(request)
    store = _store(request)
    body = await read_json(request)
    raw = body.raw("query")
    queries = [raw] if isinstance(raw, str) else raw
    if not isinstance(queries, list) or not queries or not all(isinstance(q, str) and q for q in queries):
        raise bad_request(
            "Invalid 'query': expected a non-empty string or a non-empty array of strings.", param="query"
        )
    limit = body.integer("max_num_results", 10, minimum=1)
    if limit > 50:
        raise bad_request(
            f"Invalid 'max_num_results': integer above maximum value. Expected a value <= 50, but got {limit} instead.",
            param="max_num_results",
        )
    body.boolean("rewrite_query", False)
    ranking = body.object("ranking_options")
    threshold = 0.0
    if ranking is not None:
        ranking.choice("ranker", ("none", "auto", "default-2024-11-15"), "auto")
        threshold = ranking.number("score_threshold", 0.0, low=0, high=1)
    filters = parse_filters(body)
    hits = search(state, [store.id], " ".join(queries), max_results=limit, score_threshold=threshold, filters=filters)
    return json_response(
        {
            "object": "vector_store.search_results.page",
            "search_query": queries,
            "data": [
                {
                    "file_id": hit.file_id,
                    "filename": hit.filename,
                    "score": hit.score,
                    "attributes": dict(hit.attributes) if hit.attributes is not None else None,
                    "content": [{"type": "text", "text": hit.text}],
                }
                for hit in hits
            ],
            "has_more": False,
            "next_page": None,
        }
    )


async def create_file(request: web.Request) -> web.Response:
    state = _state(request)
    store = _store(request)
    body = await read_json(request)
    file_id = _check_file(state, body.string("file_id", required=True), "file_id")
    record = attach(state, store, file_id, chunking=parse_chunking(body), attributes=parse_attributes(body))
    return json_response(record.to_json())


async def list_files(request: web.Request) -> web.Response:
    return _file_page(request, list(_store(request).files.values()))


async def retrieve_file(request: web.Request) -> web.Response:
    record = _store_file(_store(request), request.match_info["file_id"])
    record.tick()
    return json_response(record.to_json(), headers=poll_headers(_state(request)))


async def update_file(request: web.Request) -> web.Response:
    record = _store_file(_store(request), request.match_info["file_id"])
    body = await read_json(request)
    if "attributes" not in body.data:
        raise bad_request("Missing required parameter: 'attributes'.", param="attributes")
    record.attributes = parse_attributes(body)
    return json_response(record.to_json())


async def delete_file(request: web.Request) -> web.Response:
    store = _store(request)
    record = _store_file(store, request.match_info["file_id"])
    del store.files[record.id]
    return json_response({"id": record.id, "object": "vector_store.file.deleted", "deleted": True})


async def file_content(request: web.Request) -> web.Response:
    record = _store_file(_store(request), request.match_info["file_id"])
    parts = [{"type": "text", "text": chunk.text} for chunk in record.chunks] if record.status == "completed" else []
    return json_response(
        {"object": "vector_store.file_content.page", "data": parts, "has_more": False, "next_page": None}
    )


async def create_batch(request: web.Request) -> web.Response:
    state = _state(request)
    store = _store(request)
    body = await read_json(request)
    if body.has("file_ids") == body.has("files"):
        raise bad_request("Provide exactly one of 'file_ids' or 'files'.", param="file_ids")
    wanted: list[tuple[str, dict[str, Any] | None, dict[str, str | float | bool] | None]] = []
    if body.has("file_ids"):
        chunking, attributes = parse_chunking(body), parse_attributes(body)
        ids = file_id_list(state, body, "file_ids", max_items=2000)
        wanted = [(file_id, chunking, attributes) for file_id in ids]
    else:
        items = body.items("files")
        if len(items) > 2000:
            raise bad_request("Invalid 'files': array too long. Expected at most 2000 files.", param="files")
        for item in items:
            file_id = _check_file(state, item.string("file_id", required=True), item.name("file_id"))
            wanted.append((file_id, parse_chunking(item), parse_attributes(item)))
    if not wanted:
        raise bad_request("Invalid 'file_ids': expected at least one file.", param="file_ids")
    for file_id, chunking, attributes in wanted:
        attach(state, store, file_id, chunking=chunking, attributes=attributes)
    batch = FileBatchRecord(state.new_id("vsfb_"), store.id, state.now(), list(dict.fromkeys(w[0] for w in wanted)))
    state.vector_stores.batches[batch.id] = batch
    return json_response(batch.to_json(store))


async def retrieve_batch(request: web.Request) -> web.Response:
    state = _state(request)
    store = _store(request)
    batch = _batch(state, store, request.match_info["batch_id"])
    for record in batch.files(store):
        record.tick()
    return json_response(batch.to_json(store), headers=poll_headers(state))


async def cancel_batch(request: web.Request) -> web.Response:
    state = _state(request)
    store = _store(request)
    batch = _batch(state, store, request.match_info["batch_id"])
    pending = [record for record in batch.files(store) if record.status == "in_progress"]
    if not pending:
        raise bad_request("Cannot cancel a file batch that is not in progress.")
    for record in pending:
        record.status = "cancelled"
    batch.cancelled = True
    return json_response(batch.to_json(store))


async def list_batch_files(request: web.Request) -> web.Response:
    state = _state(request)
    store = _store(request)
    batch = _batch(state, store, request.match_info["batch_id"])
    return _file_page(request, batch.files(store))


def add_routes(router: web.UrlDispatcher, prefix: str) -> None:
    stores = f"{prefix}/vector_stores"
    one = f"{stores}/{{vector_store_id}}"
    router.add_post(stores, create_store)
    router.add_get(stores, list_stores)
    router.add_get(one, retrieve_store)
    router.add_post(one, update_store)
    router.add_delete(one, delete_store)
    router.add_post(f"{one}/search", search_store)
    router.add_post(f"{one}/files", create_file)
    router.add_get(f"{one}/files", list_files)
    router.add_get(f"{one}/files/{{file_id}}", retrieve_file)
    router.add_post(f"{one}/files/{{file_id}}", update_file)
    router.add_delete(f"{one}/files/{{file_id}}", delete_file)
    router.add_get(f"{one}/files/{{file_id}}/content", file_content)
    router.add_post(f"{one}/file_batches", create_batch)
    router.add_get(f"{one}/file_batches/{{batch_id}}", retrieve_batch)
    router.add_post(f"{one}/file_batches/{{batch_id}}/cancel", cancel_batch)
    router.add_get(f"{one}/file_batches/{{batch_id}}/files", list_batch_files)
