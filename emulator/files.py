"""Files API (shared by the Assistants routes and the v1 routes): upload, list, retrieve, content, delete."""

from __future__ import annotations

import mimetypes

from aiohttp import web

from .errors import bad_request, not_found
from .paging import page
from .params import Query
from .state import EmulatorState, StoredFile
from .web import STATE, json_response

# Purposes a client may upload with; `*_output` purposes are what the service itself creates.
UPLOAD_PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data")


def get_file(state: EmulatorState, file_id: str) -> StoredFile:
    stored = state.files.get(file_id)
    if stored is None:
        raise not_found(f"No such File object: {file_id}", param="id")
    return stored


async def upload(request: web.Request) -> web.Response:
    state = request.app[STATE]
    if not request.content_type.startswith("multipart/"):
        raise bad_request("Invalid request: expected a multipart/form-data upload with 'file' and 'purpose'.")
    form = await request.post()
    purpose = form.get("purpose")
    if not isinstance(purpose, str) or not purpose:
        raise bad_request("Missing required parameter: 'purpose'.", param="purpose")
    if purpose not in UPLOAD_PURPOSES:
        allowed = ", ".join(f"'{p}'" for p in UPLOAD_PURPOSES)
        raise bad_request(
            f"Invalid value for 'purpose': expected one of {allowed}, but got '{purpose}' instead.",
            param="purpose",
        )
    field = form.get("file")
    if field is None or isinstance(field, str | bytes | bytearray):
        raise bad_request("Missing required parameter: 'file'.", param="file")
    data = field.file.read()
    stored = state.add_file(field.filename or "upload", purpose, data)
    state.stats.files_uploaded += 1
    return json_response(stored.to_json())


async def list_files(request: web.Request) -> web.Response:
    state = request.app[STATE]
    query = Query(request, default_limit=10000, max_limit=10000)
    purpose = request.query.get("purpose")
    files = [f for f in state.files.values() if purpose is None or f.purpose == purpose]
    return json_response(page(files, query, lambda f: f.id, StoredFile.to_json))


async def retrieve(request: web.Request) -> web.Response:
    return json_response(get_file(request.app[STATE], request.match_info["file_id"]).to_json())


async def content(request: web.Request) -> web.Response:
    stored = get_file(request.app[STATE], request.match_info["file_id"])
    content_type = mimetypes.guess_type(stored.filename)[0] or "application/octet-stream"
    return web.Response(body=stored.data, content_type=content_type)


async def delete(request: web.Request) -> web.Response:
    state = request.app[STATE]
    stored = get_file(state, request.match_info["file_id"])
    del state.files[stored.id]
    return json_response({"id": stored.id, "object": "file", "deleted": True})


def add_routes(router: web.UrlDispatcher, prefix: str) -> None:
    router.add_post(f"{prefix}/files", upload)
    router.add_get(f"{prefix}/files", list_files)
    router.add_get(f"{prefix}/files/{{file_id}}", retrieve)
    router.add_delete(f"{prefix}/files/{{file_id}}", delete)
    router.add_get(f"{prefix}/files/{{file_id}}/content", content)
