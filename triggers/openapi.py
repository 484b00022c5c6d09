"""GET /api/openapi.json: OpenAPI 3.1 of the HTTP API, generated from the models that validate requests."""

from __future__ import annotations

from functools import cache
from typing import Any

import azure.durable_functions as df
import azure.functions as func
from pydantic import BaseModel

from core import VERSION, limits
from core.records import Turn
from triggers.http import json_response
from triggers.schemas import ConversationView, Health, PostMessage, Problem, StartConversation, Transcript

bp = df.Blueprint()
REF = "#/components/schemas/{model}"
PROBLEM = "application/problem+json"


def _json(model: type[BaseModel]) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": REF.format(model=model.__name__)}}}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM: {"schema": {"$ref": REF.format(model="Problem")}}}}


def _unavailable(what: str) -> dict[str, Any]:
    return {**_problem(f"the model service is unavailable while {what}: retry after Retry-After"),
            "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds before retrying"}}}


def _turn_answers(created: bool, posted: bool = True) -> dict[str, Any]:
    headers = {"Location": {"schema": {"type": "string"}, "description": "GET this URL for the turn"},
               "Retry-After": {"schema": {"type": "integer"}, "description": "seconds before polling again"}}
    answers: dict[str, Any] = {
        "200": {"description": "the turn, final", "content": _json(Turn)},
        "202": {"description": "the turn is queued or running", "headers": headers, "content": _json(Turn)},
        "400": _problem("invalid input; `field` names it"),
        "404": _problem("no such conversation or turn"),
    }
    if created:
        answers["409"] = _problem("conversation_id exists")
    if posted:
        answers["502"] = _problem("the model service refused an attachment for a reason of its own")
        answers["503"] = _unavailable("uploading attachments (nothing was created)")
    return answers


def _path_param(name: str, pattern: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string", "pattern": pattern}}


CONVERSATION_ID = _path_param("conversation_id", limits.CONVERSATION_ID_PATTERN)
IDEMPOTENCY_KEY = {"name": "Idempotency-Key", "in": "header", "required": False,
                   "description": "A retried request with the same key answers with the turn the first one made",
                   "schema": {"type": "string", "minLength": 1, "maxLength": 200}}


@cache
def openapi_document() -> dict[str, Any]:
    """The document (built once per process)."""
    from pydantic.json_schema import models_json_schema  # only this route needs it: kept off the cold start

    models: list[type[BaseModel]] = [StartConversation, PostMessage, Turn, ConversationView, Transcript, Health,
                                     Problem]
    _, schemas = models_json_schema([(m, "validation" if m in (StartConversation, PostMessage) else "serialization")
                                     for m in models], ref_template=REF)
    turn_schema = {"type": "integer", "minimum": 1, "maximum": limits.MAX_TURN}
    turn_param = {"name": "turn", "in": "path", "required": True, "schema": turn_schema}
    file_param = _path_param("file_id", limits.FILE_ID_PATTERN)
    paths: dict[str, Any] = {
        "/api/conversations": {"post": {
            "operationId": "startConversation", "summary": "Start a conversation with its first message",
            "parameters": [IDEMPOTENCY_KEY],
            "requestBody": {"required": True, "content": _json(StartConversation)},
            "responses": _turn_answers(created=True)}},
        "/api/conversations/{conversation_id}": {
            "get": {"operationId": "getConversation", "parameters": [CONVERSATION_ID],
                    "responses": {"200": {"description": "the conversation", "content": _json(ConversationView)},
                                  "400": _problem("malformed id"), "404": _problem("no such conversation")}},
            "delete": {"operationId": "deleteConversation", "parameters": [CONVERSATION_ID],
                       "responses": {"204": {"description": "deleted with its backend data and history"},
                                     "400": _problem("malformed id"), "404": _problem("no such conversation")}}},
        "/api/conversations/{conversation_id}/messages": {
            "post": {"operationId": "postMessage", "parameters": [CONVERSATION_ID, IDEMPOTENCY_KEY],
                     "requestBody": {"required": True, "content": _json(PostMessage)},
                     "responses": _turn_answers(created=False)},
            "get": {"operationId": "getMessages", "parameters": [CONVERSATION_ID],
                    "responses": {"200": {"description": "the transcript, oldest first", "content": _json(Transcript)},
                                  "400": _problem("malformed id"), "404": _problem("no such conversation")}}},
        "/api/conversations/{conversation_id}/turns/{turn}": {"get": {
            "operationId": "getTurn", "parameters": [CONVERSATION_ID, turn_param],
            "responses": _turn_answers(created=False, posted=False)}},
        "/api/conversations/{conversation_id}/cancel": {"post": {
            "operationId": "cancelConversation", "parameters": [CONVERSATION_ID],
            "responses": {"202": {"description": "the running turn is being cancelled"},
                          "400": _problem("malformed id"), "404": _problem("no such conversation"),
                          "409": _problem("nothing is running")}}},
        "/api/files/{file_id}": {"get": {
            "operationId": "getFile", "parameters": [file_param],
            "responses": {"200": {"description": "the file's bytes",
                                  "content": {"image/png": {}, "application/octet-stream": {}}},
                          "400": _problem("malformed id"), "404": _problem("no such file"),
                          "502": _problem("the model service refused the download"),
                          "503": _unavailable("downloading the file")}}},
        "/api/openapi.json": {"get": {"operationId": "openapi", "summary": "This document",
                                      "responses": {"200": {"description": "OpenAPI 3.1 of this API",
                                                            "content": {"application/json": {}}}}}},
        "/api/health": {"get": {"operationId": "health", "security": [],
                                "responses": {"200": {"description": "up", "content": _json(Health)}}}},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Durable Assistants", "version": VERSION,
                 "description": "Assistant conversations run by Durable Functions over Azure OpenAI."},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": schemas["$defs"],
            "securitySchemes": {
                "functionKeyHeader": {"type": "apiKey", "in": "header", "name": "x-functions-key"},
                "functionKeyQuery": {"type": "apiKey", "in": "query", "name": "code"},
            },
        },
        "security": [{"functionKeyHeader": []}, {"functionKeyQuery": []}],
    }


@bp.route(route="openapi.json", methods=["GET"])
def openapi(req: func.HttpRequest) -> func.HttpResponse:
    """The OpenAPI 3.1 description of this API."""
    return json_response(openapi_document())
