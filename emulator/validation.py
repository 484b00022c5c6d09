"""Strict checks of the objects the emulator sends: the official API description and the SDK's models.

`check_object(obj, kind)` and `check_response(method, route, body)` return a list of problems
(empty when the object is valid). Two checks apply:

- JSON Schema: the object validates against its component schema in the OpenAI API description
  (a subset of `openai-openapi.json` ships in `emulator/schemas/`; OpenAPI 3.0's `nullable` is read
  as "or null").
- SDK: the SDK's typed model validates it (no missing required field) and every key, at any depth,
  is a field the model declares (no unknown field).

`python -m emulator.validation SPEC` regenerates the schema subset from the full description.
"""

from __future__ import annotations

import functools
import json
import sys
import typing
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SUBSET_PATH = Path(__file__).parent / "schemas" / "openai-openapi.subset.json"
_BASE = "urn:openai-openapi"


@dataclass(frozen=True)
class Kind:
    """One kind of object: its component schema and the SDK type that models it."""

    schema: str
    sdk: str  # "module:attribute"


KINDS: dict[str, Kind] = {
    "assistant": Kind("AssistantObject", "openai.types.beta:Assistant"),
    "assistant.deleted": Kind("DeleteAssistantResponse", "openai.types.beta:AssistantDeleted"),
    "thread": Kind("ThreadObject", "openai.types.beta:Thread"),
    "thread.deleted": Kind("DeleteThreadResponse", "openai.types.beta:ThreadDeleted"),
    "message": Kind("MessageObject", "openai.types.beta.threads:Message"),
    "message.deleted": Kind("DeleteMessageResponse", "openai.types.beta.threads:MessageDeleted"),
    "run": Kind("RunObject", "openai.types.beta.threads:Run"),
    "run.step": Kind("RunStepObject", "openai.types.beta.threads.runs:RunStep"),
    "file": Kind("OpenAIFile", "openai.types:FileObject"),
    "file.deleted": Kind("DeleteFileResponse", "openai.types:FileDeleted"),
    "response": Kind("Response", "openai.types.responses:Response"),
    "response.item": Kind("ItemResource", "openai.types.responses:ResponseItem"),
    "conversation": Kind("ConversationResource", "openai.types.conversations:Conversation"),
    "conversation.deleted": Kind(
        "DeletedConversationResource", "openai.types.conversations:ConversationDeletedResource"
    ),
    "conversation.item": Kind("ConversationItem", "openai.types.conversations:ConversationItem"),
    "conversation.item_list": Kind("ConversationItemList", "openai.types.conversations:ConversationItemList"),
    "container": Kind("ContainerResource", "openai.types:ContainerRetrieveResponse"),
    "container.file": Kind("ContainerFileResource", "openai.types.containers:FileRetrieveResponse"),
    "vector_store": Kind("VectorStoreObject", "openai.types:VectorStore"),
    "vector_store.deleted": Kind("DeleteVectorStoreResponse", "openai.types:VectorStoreDeleted"),
    "vector_store.file": Kind("VectorStoreFileObject", "openai.types.vector_stores:VectorStoreFile"),
    "vector_store.file.deleted": Kind(
        "DeleteVectorStoreFileResponse", "openai.types.vector_stores:VectorStoreFileDeleted"
    ),
    "vector_store.file_batch": Kind(
        "VectorStoreFileBatchObject", "openai.types.vector_stores:VectorStoreFileBatch"
    ),
}

# List wrappers: list schema and the kind of each item.
LISTS: dict[str, tuple[str, str]] = {
    "assistant": ("ListAssistantsResponse", "assistant"),
    "message": ("ListMessagesResponse", "message"),
    "run": ("ListRunsResponse", "run"),
    "run.step": ("ListRunStepsResponse", "run.step"),
    "file": ("ListFilesResponse", "file"),
    "response.item": ("ResponseItemList", "response.item"),
    "conversation.item": ("ConversationItemList", "conversation.item"),
    "container": ("ContainerListResource", "container"),
    "container.file": ("ContainerFileListResource", "container.file"),
    "vector_store": ("ListVectorStoresResponse", "vector_store"),
    "vector_store.file": ("ListVectorStoreFilesResponse", "vector_store.file"),
}
_LIST_KEYS = frozenset({"object", "data", "first_id", "last_id", "has_more"})
# Pages without cursors (`next_page` instead of ids): page schema, and the SDK model of each `data` item
# (the SDK parses these pages itself and models only their items).
PAGES: dict[str, tuple[str, str]] = {
    "vector_store.search_result": ("VectorStoreSearchResultsPage", "openai.types:VectorStoreSearchResponse"),
    "vector_store.file_content": (
        "VectorStoreFileContentResponse",
        "openai.types.vector_stores:FileContentResponse",
    ),
}

# (method, route without the /openai or /openai/v1 prefix) → kind, or "list:<kind>".
ROUTES: dict[tuple[str, str], str] = {
    ("POST", "/assistants"): "assistant",
    ("GET", "/assistants"): "list:assistant",
    ("GET", "/assistants/{assistant_id}"): "assistant",
    ("POST", "/assistants/{assistant_id}"): "assistant",
    ("DELETE", "/assistants/{assistant_id}"): "assistant.deleted",
    ("POST", "/threads"): "thread",
    ("POST", "/threads/runs"): "run",
    ("GET", "/threads/{thread_id}"): "thread",
    ("POST", "/threads/{thread_id}"): "thread",
    ("DELETE", "/threads/{thread_id}"): "thread.deleted",
    ("POST", "/threads/{thread_id}/messages"): "message",
    ("GET", "/threads/{thread_id}/messages"): "list:message",
    ("GET", "/threads/{thread_id}/messages/{message_id}"): "message",
    ("POST", "/threads/{thread_id}/messages/{message_id}"): "message",
    ("DELETE", "/threads/{thread_id}/messages/{message_id}"): "message.deleted",
    ("POST", "/threads/{thread_id}/runs"): "run",
    ("GET", "/threads/{thread_id}/runs"): "list:run",
    ("GET", "/threads/{thread_id}/runs/{run_id}"): "run",
    ("POST", "/threads/{thread_id}/runs/{run_id}"): "run",
    ("POST", "/threads/{thread_id}/runs/{run_id}/cancel"): "run",
    ("POST", "/threads/{thread_id}/runs/{run_id}/submit_tool_outputs"): "run",
    ("GET", "/threads/{thread_id}/runs/{run_id}/steps"): "list:run.step",
    ("GET", "/threads/{thread_id}/runs/{run_id}/steps/{step_id}"): "run.step",
    ("POST", "/files"): "file",
    ("GET", "/files"): "list:file",
    ("GET", "/files/{file_id}"): "file",
    ("DELETE", "/files/{file_id}"): "file.deleted",
    ("POST", "/responses"): "response",
    ("GET", "/responses/{response_id}"): "response",
    ("POST", "/responses/{response_id}/cancel"): "response",
    ("GET", "/responses/{response_id}/input_items"): "list:response.item",
    ("POST", "/conversations"): "conversation",
    ("GET", "/conversations/{conversation_id}"): "conversation",
    ("POST", "/conversations/{conversation_id}"): "conversation",
    ("DELETE", "/conversations/{conversation_id}"): "conversation.deleted",
    ("POST", "/conversations/{conversation_id}/items"): "conversation.item_list",
    ("GET", "/conversations/{conversation_id}/items"): "list:conversation.item",
    ("GET", "/conversations/{conversation_id}/items/{item_id}"): "conversation.item",
    ("DELETE", "/conversations/{conversation_id}/items/{item_id}"): "conversation",
    ("POST", "/containers"): "container",
    ("GET", "/containers"): "list:container",
    ("GET", "/containers/{container_id}"): "container",
    ("POST", "/containers/{container_id}/files"): "container.file",
    ("GET", "/containers/{container_id}/files"): "list:container.file",
    ("GET", "/containers/{container_id}/files/{file_id}"): "container.file",
    ("POST", "/vector_stores"): "vector_store",
    ("GET", "/vector_stores"): "list:vector_store",
    ("GET", "/vector_stores/{vector_store_id}"): "vector_store",
    ("POST", "/vector_stores/{vector_store_id}"): "vector_store",
    ("DELETE", "/vector_stores/{vector_store_id}"): "vector_store.deleted",
    ("POST", "/vector_stores/{vector_store_id}/search"): "page:vector_store.search_result",
    ("POST", "/vector_stores/{vector_store_id}/files"): "vector_store.file",
    ("GET", "/vector_stores/{vector_store_id}/files"): "list:vector_store.file",
    ("GET", "/vector_stores/{vector_store_id}/files/{file_id}"): "vector_store.file",
    ("POST", "/vector_stores/{vector_store_id}/files/{file_id}"): "vector_store.file",
    ("DELETE", "/vector_stores/{vector_store_id}/files/{file_id}"): "vector_store.file.deleted",
    ("GET", "/vector_stores/{vector_store_id}/files/{file_id}/content"): "page:vector_store.file_content",
    ("POST", "/vector_stores/{vector_store_id}/file_batches"): "vector_store.file_batch",
    ("GET", "/vector_stores/{vector_store_id}/file_batches/{batch_id}"): "vector_store.file_batch",
    ("POST", "/vector_stores/{vector_store_id}/file_batches/{batch_id}/cancel"): "vector_store.file_batch",
    ("GET", "/vector_stores/{vector_store_id}/file_batches/{batch_id}/files"): "list:vector_store.file",
}


# --- JSON Schema -------------------------------------------------------------------------------------


def _nullable(node: Any) -> Any:
    """OpenAPI 3.0's `nullable: true` (also inside `allOf`) as JSON Schema's "or null"."""
    if isinstance(node, list):
        return [_nullable(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _nullable(value) for key, value in node.items()}
    members = node.get("allOf")
    if isinstance(members, list) and any(m == {"nullable": True} for m in members):
        rest = [m for m in members if m != {"nullable": True}]
        node = {k: v for k, v in node.items() if k != "allOf"}
        return {"anyOf": [{**node, "allOf": rest}, {"type": "null"}]}
    if node.pop("nullable", False) is True:
        return {"anyOf": [node, {"type": "null"}]}
    return node


@functools.cache
def _registry() -> Any:
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    document = _nullable(json.loads(SUBSET_PATH.read_text(encoding="utf-8")))
    return Registry().with_resource(
        _BASE, Resource.from_contents(document, default_specification=DRAFT202012)
    )


@functools.cache
def _validator(schema: str) -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator({"$ref": f"{_BASE}#/components/schemas/{schema}"}, registry=_registry())


def schema_problems(obj: Any, schema: str) -> list[str]:
    """Where `obj` breaks the component schema `schema` (best-matching error per failure)."""
    from jsonschema.exceptions import best_match

    errors = list(_validator(schema).iter_errors(obj))
    if not errors:
        return []
    best = best_match(errors)
    path = "/".join(str(p) for p in best.absolute_path) or "(root)"
    return [f"{schema} at {path}: {best.message[:300]}"]


# --- SDK models --------------------------------------------------------------------------------------


@functools.cache
def _sdk_type(reference: str) -> Any:
    import importlib

    module, _, name = reference.partition(":")
    return getattr(importlib.import_module(module), name)


def _union_members(annotation: Any) -> list[Any]:
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return [m for m in typing.get_args(annotation) if m is not type(None)]
    return [annotation]


def _type_literal(model: Any) -> tuple[Any, ...]:
    field = getattr(model, "model_fields", {}).get("type")
    return typing.get_args(field.annotation) if field is not None else ()


def _extra_fields(value: Any, path: str) -> Iterable[str]:
    from pydantic import BaseModel

    if isinstance(value, BaseModel):
        for key in value.model_extra or {}:
            yield f"{path}.{key}: not a field of {type(value).__name__}"
        for name in type(value).model_fields:
            yield from _extra_fields(getattr(value, name), f"{path}.{name}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _extra_fields(item, f"{path}[{index}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _extra_fields(item, f"{path}.{key}")


def sdk_problems(obj: Any, reference: str) -> list[str]:
    """Where the SDK type rejects `obj` (missing or mistyped fields) or does not declare one of its keys."""
    from pydantic import BaseModel, ValidationError

    annotation = _sdk_type(reference)
    members = _union_members(annotation)
    if len(members) > 1 and isinstance(obj, dict):
        chosen = [m for m in members if obj.get("type") in _type_literal(m)] or members
    else:
        chosen = members
    first: list[str] | None = None
    for model in chosen:
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return []
        try:
            parsed = model.model_validate(obj)
        except ValidationError as error:
            problems = [f"{model.__name__}: {e['loc']}: {e['msg']}" for e in error.errors()[:5]]
        else:
            problems = list(_extra_fields(parsed, model.__name__))
        if not problems:
            return []
        first = first if first is not None else problems
    return first or []


# --- public checks -------------------------------------------------------------------------------------


def check_object(obj: Any, kind: str) -> list[str]:
    """Problems of one object of `kind` (a key of `KINDS`) under both checks."""
    spec = KINDS[kind]
    return schema_problems(obj, spec.schema) + sdk_problems(obj, spec.sdk)


def check_list(obj: Any, kind: str) -> list[str]:
    """Problems of a list page whose items are of `kind`."""
    schema, item_kind = LISTS[kind]
    problems = schema_problems(obj, schema)
    if isinstance(obj, dict):
        problems += [f"list: unknown key {key!r}" for key in obj if key not in _LIST_KEYS]
        for index, item in enumerate(obj.get("data") or []):
            problems += [f"data[{index}]: {p}" for p in sdk_problems(item, KINDS[item_kind].sdk)]
    return problems


def check_page(obj: Any, kind: str) -> list[str]:
    """Problems of a cursor-less page (`next_page`), such as vector store search results."""
    schema, item_model = PAGES[kind]
    problems = schema_problems(obj, schema)
    if isinstance(obj, dict):
        for index, item in enumerate(obj.get("data") or []):
            problems += [f"data[{index}]: {p}" for p in sdk_problems(item, item_model)]
    return problems


def _strip_prefix(path: str) -> str:
    for prefix in ("/openai/v1", "/openai"):
        if path.startswith(prefix + "/"):
            return path[len(prefix) :]
    return path


def route_kind(method: str, route: str) -> str | None:
    """The kind an API route template (e.g. `/openai/threads/{thread_id}`) answers with, if known."""
    return ROUTES.get((method.upper(), _strip_prefix(route)))


@functools.cache
def _route_patterns() -> list[tuple[str, Any, str]]:
    import re

    patterns = []
    # Literal routes win over templated ones (`/threads/runs` before `/threads/{thread_id}`).
    for (method, route), kind in sorted(ROUTES.items(), key=lambda item: item[0][1].count("{")):
        regex = re.compile("^" + re.sub(r"\\{[a-z_]+\\}", "[^/]+", re.escape(route)) + "$")
        patterns.append((method, regex, kind))
    return patterns


def path_kind(method: str, path: str) -> str | None:
    """The kind a concrete request path (e.g. `/openai/threads/thread_abc`) answers with, if known."""
    path = _strip_prefix(path)
    for route_method, regex, kind in _route_patterns():
        if route_method == method.upper() and regex.match(path):
            return kind
    return None


def check_response(method: str, route: str, body: Any, *, concrete: bool = False) -> list[str]:
    """Problems of the JSON body a route answered with (empty when the route answers no object).

    `route` is the route template, or with `concrete` the request's path.
    """
    kind = path_kind(method, route) if concrete else route_kind(method, route)
    if kind is None:
        return []
    if kind.startswith("list:"):
        return check_list(body, kind.removeprefix("list:"))
    if kind.startswith("page:"):
        return check_page(body, kind.removeprefix("page:"))
    return check_object(body, kind)


# --- the schema subset ---------------------------------------------------------------------------------


def extract_subset(spec_path: Path, out_path: Path = SUBSET_PATH) -> int:
    """Write the component schemas the checks use, and all they reference, from the full description."""
    document = json.loads(spec_path.read_text(encoding="utf-8"))
    schemas = document["components"]["schemas"]
    roots = (
        {kind.schema for kind in KINDS.values()}
        | {schema for schema, _ in LISTS.values()}
        | {schema for schema, _ in PAGES.values()}
    )
    seen: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$ref" and isinstance(value, str) and value.startswith("#/components/schemas/"):
                    name = value.rsplit("/", 1)[-1]
                    if name not in seen:
                        seen.add(name)
                        walk(schemas[name])
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for root in sorted(roots):
        seen.add(root)
        walk(schemas[root])
    subset = {
        "openapi": document["openapi"],
        "info": {
            **document["info"],
            "description": "Subset of the OpenAI API description used by emulator.validation.",
        },
        "components": {"schemas": {name: schemas[name] for name in sorted(seen)}},
    }
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(subset, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return len(seen)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m emulator.validation PATH/TO/openai-openapi.json")
    print(f"{extract_subset(Path(sys.argv[1]))} schemas written to {SUBSET_PATH}")
