"""The conversations HTTP API (contract: DESIGN.md): start, continue, and read conversations and turns."""

from __future__ import annotations

from urllib.parse import urlencode

import azure.durable_functions as df
import azure.functions as func

from core import limits, routes
from core.errors import InvalidRequest
from core.records import FINAL_TURN_STATUSES, Turn
from triggers.http import handle_errors, json_response, parse_body
from triggers.schemas import PostMessage, StartConversation
from triggers.service import ConversationService

bp = df.Blueprint()


def _conversation_id(req: func.HttpRequest) -> str:
    import re

    value = req.route_params.get("conversation_id", "")
    if not re.match(limits.CONVERSATION_ID_PATTERN, value):
        raise InvalidRequest(f"conversation id {value[:120]!r} is malformed", field="conversation_id")
    return value


def _turn_number(req: func.HttpRequest) -> int:
    value = req.route_params.get("turn", "")
    if not (value.isascii() and value.isdigit()) or not 0 < int(value) <= limits.MAX_TURN:
        raise InvalidRequest(f"turn {value[:20]!r} must be a positive integer", field="turn")
    return int(value)


def _idempotency_key(req: func.HttpRequest) -> str | None:
    key = req.headers.get("Idempotency-Key")
    if key is not None and not (0 < len(key) <= 200 and key.isprintable()):
        raise InvalidRequest("Idempotency-Key must be 1-200 printable characters", field="Idempotency-Key")
    return key


def _location(req: func.HttpRequest, conversation_id: str, turn: int) -> str:
    """The turn's URL. A caller that put its function key in the URL (`?code=`) gets it back there, as Durable's
    status URLs do, because Logic Apps re-sends only the action's `authentication` when it polls `Location`.
    A key sent as a header stays in headers: copying it into a URL would spread it to logs and run history."""
    url = routes.turn_url(conversation_id, turn)
    key = req.params.get("code")
    return f"{url}?{urlencode({'code': key})}" if key else url


def turn_response(req: func.HttpRequest, turn: Turn) -> func.HttpResponse:
    """200 with a final turn; 202 + Location + Retry-After while it is queued or running."""
    if turn.status in FINAL_TURN_STATUSES:
        return json_response(turn)
    headers = {"Location": _location(req, turn.conversation_id, turn.turn),
               "Retry-After": str(limits.RETRY_AFTER_SECONDS)}
    return json_response(turn, status=202, headers=headers)


@bp.route(route="conversations", methods=["POST"])
@bp.durable_client_input(client_name="client")
@handle_errors
async def start_conversation(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Start a conversation with its first message."""
    body = parse_body(req, StartConversation)
    service = ConversationService(client)
    conversation_id, turn = await service.start(
        body.message, assistant=body.assistant, conversation_id=body.conversation_id, attachments=body.attachments,
        metadata=body.metadata, callback_url=body.callback_url, dedupe_key=_idempotency_key(req))
    return turn_response(req, await service.wait_for_turn(conversation_id, turn, body.wait))


@bp.route(route="conversations/{conversation_id}/messages", methods=["POST"])
@bp.durable_client_input(client_name="client")
@handle_errors
async def post_message(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Send the next message; turns of one conversation run one at a time, in order."""
    conversation_id = _conversation_id(req)
    body = parse_body(req, PostMessage)
    service = ConversationService(client)
    turn = await service.post(conversation_id, body.message, attachments=body.attachments,
                              callback_url=body.callback_url, dedupe_key=_idempotency_key(req))
    return turn_response(req, await service.wait_for_turn(conversation_id, turn, body.wait))


@bp.route(route="conversations/{conversation_id}", methods=["GET"])
@bp.durable_client_input(client_name="client")
@handle_errors
async def get_conversation(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """The conversation and its turns' statuses."""
    return json_response(await ConversationService(client).view(_conversation_id(req)))


@bp.route(route="conversations/{conversation_id}/turns/{turn}", methods=["GET"])
@bp.durable_client_input(client_name="client")
@handle_errors
async def get_turn(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """One turn: 202 while queued or running (the Logic Apps async pattern), 200 when final."""
    return turn_response(req, await ConversationService(client).turn(_conversation_id(req), _turn_number(req)))


@bp.route(route="conversations/{conversation_id}/messages", methods=["GET"])
@bp.durable_client_input(client_name="client")
@handle_errors
async def get_messages(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """The whole transcript, oldest first."""
    return json_response(await ConversationService(client).transcript(_conversation_id(req)))


@bp.route(route="files/{file_id}", methods=["GET"])
@bp.durable_client_input(client_name="client")
@handle_errors
async def get_file(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """The bytes of a file produced in a conversation (image/png for charts)."""
    import re

    file_id = req.route_params.get("file_id", "")
    if not re.match(limits.FILE_ID_PATTERN, file_id):
        raise InvalidRequest(f"file id {file_id[:120]!r} is malformed", field="file_id")
    data, content_type = await ConversationService(client).file(file_id)
    return func.HttpResponse(data, status_code=200, mimetype=content_type)


@bp.route(route="conversations/{conversation_id}/cancel", methods=["POST"])
@bp.durable_client_input(client_name="client")
@handle_errors
async def cancel_conversation(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Cancel the running turn (its run is cancelled at the service); 409 when the conversation is idle."""
    conversation_id = _conversation_id(req)
    service = ConversationService(client)
    turn = await service.turn(conversation_id, await service.cancel(conversation_id))
    # 202 with the turn as it is now (the run is being cancelled); its Location answers 200 once it is final.
    headers = {"Location": _location(req, conversation_id, turn.turn), "Retry-After": str(limits.RETRY_AFTER_SECONDS)}
    return json_response(turn, status=202, headers=headers)


@bp.route(route="conversations/{conversation_id}", methods=["DELETE"])
@bp.durable_client_input(client_name="client")
@handle_errors
async def delete_conversation(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Delete the conversation: backend thread/conversation, files it uploaded, durable history."""
    await ConversationService(client).delete(_conversation_id(req))
    return func.HttpResponse(status_code=204)
