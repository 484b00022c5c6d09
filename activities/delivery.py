"""Deliver a finished turn where the request asked: a reply queue (with its correlation id) and/or a webhook."""

from __future__ import annotations

import contextlib
import json
import os
from typing import Any

import azure.durable_functions as df

from activities.common import log, settings
from core import names
from core.signing import SIGNATURE_HEADER, sign
from store.connection import queue_client
from store.tables import open_store
from tools import http

bp = df.Blueprint()
WEBHOOK_TIMEOUT_SECONDS = 60.0
WEBHOOK_ATTEMPTS = 5


@bp.function_name(names.DELIVER_TURN)
@bp.activity_trigger(input_name="payload")
def deliver_turn(payload: dict) -> dict[str, Any]:
    """Send the turn on; the same delivery id on every retry lets receivers drop duplicates."""
    conversation_id, turn = payload["conversation_id"], int(payload["turn"])
    row = open_store().get_turn(conversation_id, turn)
    if row is None or row.result is None:
        return {"delivered": []}
    delivery_id = f"{conversation_id}:{turn}"
    delivered = []
    envelope = {**row.result.to_json(), "correlation_id": row.correlation_id}
    if row.reply_queue:
        queue = queue_client(os.environ, row.reply_queue)
        _ensure_queue(queue)
        queue.send_message(json.dumps(envelope).encode())
        delivered.append("queue")
    if row.callback_url:
        secret = settings().webhook_secret
        body = json.dumps(envelope).encode()
        headers = {"Content-Type": "application/json", "Idempotency-Key": delivery_id}
        if secret:
            headers[SIGNATURE_HEADER] = sign(body, secret)
        # The URL is never logged or echoed: a Logic App callback URL carries a sig.
        http.request("POST", row.callback_url, what="callback_url", content=body, headers=headers,
                     timeout=WEBHOOK_TIMEOUT_SECONDS, attempts=WEBHOOK_ATTEMPTS)
        delivered.append("webhook")
    log.info("turn %s delivered to %s", delivery_id, ", ".join(delivered) or "nobody")
    return {"delivered": delivered}


_created: set[str] = set()


def _ensure_queue(queue: Any) -> None:
    from azure.core.exceptions import ResourceExistsError

    if queue.queue_name not in _created:
        with contextlib.suppress(ResourceExistsError):
            queue.create_queue()
        _created.add(queue.queue_name)
