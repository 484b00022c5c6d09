"""Conversation requests from a Storage queue; what can never succeed goes to the rejected queue at once."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime

import azure.durable_functions as df
import azure.functions as func

from assistants.catalog import load_assistant
from core.errors import InvalidRequest, RequestError
from core.settings import load_settings
from triggers.http import validate
from triggers.schemas import QueueRequest
from triggers.service import ConversationService

bp = df.Blueprint()
log = logging.getLogger("durable_assistants")


def dedupe_key(request: QueueRequest, message_id: str | None, raw: bytes) -> str:
    """What makes two deliveries one request: the same correlation_id with the same content, else the same
    queue message (a redelivery after a failed try). A correlation id reused for another message is not a dupe."""
    if request.correlation_id:
        return "request:" + hashlib.sha256(request.model_dump_json().encode()).hexdigest()
    return "message:" + (message_id or hashlib.sha256(raw).hexdigest())


def _utf8(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRequest("the message is not UTF-8 text", field="body") from None


def parse_request(text: str) -> QueueRequest:
    """The queued request, checked as strictly as the HTTP API checks its bodies."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise InvalidRequest(f"the message is not valid JSON: {exc}", field="body") from None
    if not isinstance(data, dict):
        raise InvalidRequest("the message must be a JSON object", field="body")
    return validate(QueueRequest, data)


@bp.function_name("conversation_requests")
@bp.queue_trigger(arg_name="msg", queue_name="%REQUESTS_QUEUE%", connection="AzureWebJobsStorage")
@bp.queue_output(arg_name="rejected", queue_name="%REQUESTS_QUEUE%-rejected", connection="AzureWebJobsStorage")
@bp.durable_client_input(client_name="client")
async def conversation_requests(msg: func.QueueMessage, rejected: func.Out[str],
                                client: df.DurableOrchestrationClient) -> None:
    """Start or continue a conversation; the finished turn goes to reply_queue with its correlation_id.

    Bad input is rejected on the first try with the reason and the original text. Anything else that
    fails raises, so the host retries the message and, after maxDequeueCount, moves it to -poison.
    """
    raw = msg.get_body()
    text = raw.decode("utf-8", errors="replace")
    settings = load_settings()
    try:
        request = parse_request(_utf8(raw))
        load_assistant(request.assistant or settings.default_assistant)
        if request.reply_queue in (settings.requests_queue, settings.rejected_queue):
            raise InvalidRequest("reply_queue must not be the requests queue or its rejected queue",
                                 field="reply_queue")
        service = ConversationService(client, settings=settings)
        service.check_callback(request.callback_url)
    except RequestError as exc:
        log.warning("queue message %s rejected: %s", msg.id, exc.detail)
        rejected.set(json.dumps({"reason": exc.detail, "field": exc.field, "original": text, "message_id": msg.id,
                                 "dequeue_count": msg.dequeue_count, "rejected_at": datetime.now(UTC).isoformat()}))
        return
    dedupe = dedupe_key(request, msg.id, raw)
    reply_queue = request.reply_queue or settings.replies_queue
    if request.conversation_id and await service.exists(request.conversation_id):
        conversation_id = request.conversation_id
        turn = await service.post(conversation_id, request.message, attachments=[],
                                  callback_url=request.callback_url, correlation_id=request.correlation_id,
                                  reply_queue=reply_queue, metadata=request.metadata, dedupe_key=dedupe)
    else:
        # A new conversation (named by the request, else by its dedupe key, so a redelivery finds it).
        conversation_id, turn = await service.start(
            request.message, assistant=request.assistant, conversation_id=request.conversation_id, attachments=[],
            metadata=request.metadata, callback_url=request.callback_url, correlation_id=request.correlation_id,
            reply_queue=reply_queue, dedupe_key=dedupe)
    log.info("queue message %s → conversation %s turn %d", msg.id, conversation_id, turn)
