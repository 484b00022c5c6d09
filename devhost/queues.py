"""Queue triggers and queue output bindings against Storage queues (Azurite locally), as the host runs them.

Messages are base64-encoded (the host's default `messageEncoding`); a failed invocation makes the message
visible again after host.json `visibilityTimeout`, and after `maxDequeueCount` attempts it moves to
`<queue>-poison`; a success deletes it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
import os
import re
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from devhost.azurite import expand_connection
from devhost.loader import FunctionSpec, LoadError
from devhost.redact import redact

if TYPE_CHECKING:
    from devhost.host import DevHost

log = logging.getLogger("devhost.queues")
_QUEUE_NAME = re.compile(r"^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$")


def _iso(when: datetime | None) -> str | None:
    return when.isoformat() if when is not None else None


def connection_for(spec: FunctionSpec, binding: dict[str, Any]) -> str:
    """The connection string named by the binding's `connection` (default AzureWebJobsStorage)."""
    setting = binding.get("connection") or "AzureWebJobsStorage"
    value = os.environ.get(setting) or os.environ.get(f"{setting}__queueServiceUri")
    if not value:
        raise LoadError(f"function {spec.name!r}: app setting {setting} (the queue connection) is not set")
    return expand_connection(value)


def check_queue_name(spec: FunctionSpec, name: str) -> str:
    """Azure queue names: 3-63 lowercase letters, digits, single hyphens."""
    if not _QUEUE_NAME.match(name):
        raise LoadError(
            f"function {spec.name!r}: {name!r} is not a valid queue name "
            "(3-63 lowercase letters, digits and single hyphens)"
        )
    return name


def encode_message(text: str | bytes) -> str:
    """Base64 text of a message body, as the host writes queue messages."""
    raw = text.encode("utf-8") if isinstance(text, str) else text
    return base64.b64encode(raw).decode("ascii")


def trigger_datum(
    body: str,
    message_id: str,
    dequeue_count: int,
    inserted: datetime | None,
    expires: datetime | None,
    next_visible: datetime | None,
    pop_receipt: str | None,
) -> tuple[Any, dict[str, Any]]:
    """The queueTrigger Datum and trigger metadata the host sends the worker."""
    from azure.functions import meta

    def s(value: str | None) -> Any:
        return meta.Datum(type="string", value=value)

    metadata = {
        "Id": s(message_id),
        "DequeueCount": meta.Datum(type="int", value=dequeue_count),
        "InsertionTime": s(_iso(inserted)),
        "ExpirationTime": s(_iso(expires)),
        "NextVisibleTime": s(_iso(next_visible)),
        "PopReceipt": s(pop_receipt),
    }
    return meta.Datum(type="string", value=body), metadata


def admin_message(text: str, now: datetime) -> tuple[Any, dict[str, Any]]:
    """A queue message made up from an admin-API input (no real queue involved)."""
    return trigger_datum(text, str(uuid.uuid4()), 1, now, now + timedelta(days=7), now, str(uuid.uuid4()))


def _messages_from_datum(datum: Any) -> list[str]:
    """Queue message bodies from an encoded output binding value (str, bytes, or the JSON list form)."""
    if datum is None:
        return []
    if datum.type == "string":
        return [datum.value]
    if datum.type == "bytes":
        return [datum.value.decode("utf-8")]
    if datum.type == "json":
        value = json.loads(datum.value)
        items = value if isinstance(value, list) else [value]
        return [i if isinstance(i, str) else str(i.get("body", "")) for i in items]
    raise ValueError(f"unsupported queue output type {datum.type!r}")


async def write_outputs(
    host: DevHost, spec: FunctionSpec, result: Any, clients: dict[str, Any] | None = None
) -> None:
    """Send an invocation's queue output bindings ($return and func.Out), creating queues as needed."""
    from azure.core.exceptions import ResourceExistsError
    from azure.storage.queue.aio import QueueClient

    for b in spec.bindings:
        if b.type != "queue" or b.direction != "OUT":
            continue
        datum = result.return_datum if b.name == "$return" else result.outputs.get(b.name)
        bodies = _messages_from_datum(datum)
        if not bodies:
            continue
        queue = check_queue_name(spec, b.data["queueName"])
        client = QueueClient.from_connection_string(connection_for(spec, b.data), queue)
        async with client:
            with contextlib.suppress(ResourceExistsError):
                await client.create_queue()
            for body in bodies:
                await client.send_message(encode_message(body))


class QueueTriggers:
    """Polls every queue-triggered function's queue and runs it, with the host's retry and poison rules."""

    def __init__(self, host: DevHost) -> None:
        self.host = host
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    async def start(self) -> None:
        """Check connections and queue names (loudly), then start polling."""
        for spec in self.host.loaded.by_trigger("queueTrigger"):
            connection = connection_for(spec, spec.trigger.data)
            queue = check_queue_name(spec, spec.trigger.data["queueName"])
            for b in spec.bindings:
                if b.type == "queue":
                    connection_for(spec, b.data)
                    check_queue_name(spec, b.data["queueName"])
            self._tasks.append(
                asyncio.create_task(self._poll(spec, connection, queue), name=f"queue-{spec.name}")
            )

    async def stop(self) -> None:
        """Stop polling."""
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def write_outputs(self, spec: FunctionSpec, result: Any) -> None:
        """Send output bindings (used by the admin endpoint too)."""
        await write_outputs(self.host, spec, result)

    async def _poll(self, spec: FunctionSpec, connection: str, queue: str) -> None:
        from azure.core.exceptions import AzureError, ResourceExistsError
        from azure.storage.queue.aio import QueueClient

        config = self.host.host_config
        client = QueueClient.from_connection_string(connection, queue)
        poison = QueueClient.from_connection_string(connection, f"{queue}-poison")
        delay = 0.05
        async with client, poison:
            while not self._stopping:
                try:
                    with contextlib.suppress(ResourceExistsError):
                        await client.create_queue()
                    break
                except AzureError as exc:
                    log.warning("queue %s not reachable yet (%s); retrying", queue, redact(str(exc)))
                    await asyncio.sleep(1.0)
            while not self._stopping:
                handled = 0
                try:
                    pager = client.receive_messages(
                        messages_per_page=config.queue_batch_size,
                        visibility_timeout=600,
                        max_messages=config.queue_batch_size,
                    )
                    batch = [m async for m in pager]
                    for message in batch:
                        handled += 1
                        await self._handle(spec, client, poison, queue, message)
                except AzureError as exc:
                    log.warning("polling queue %s failed: %s", queue, redact(str(exc)))
                if handled:
                    delay = 0.05
                    continue
                await asyncio.sleep(delay)
                delay = min(delay * 2, max(config.max_polling_interval_s, 0.05))

    async def _handle(self, spec: FunctionSpec, client: Any, poison: Any, queue: str, message: Any) -> None:
        from azure.core.exceptions import ResourceExistsError

        max_dequeue = self.host.host_config.max_dequeue_count
        if message.dequeue_count > max_dequeue:
            await self._to_poison(poison, client, queue, message, "dequeued more often than maxDequeueCount")
            return
        ok = False
        try:
            body = base64.b64decode(message.content, validate=True).decode("utf-8")
        except (binascii.Error, ValueError, UnicodeDecodeError):
            log.error(
                "queue %s message %s is not base64 (the host's messageEncoding): it fails", queue, message.id
            )
            body = None
        if body is not None:
            datum, metadata = trigger_datum(
                body,
                message.id,
                message.dequeue_count,
                message.inserted_on,
                message.expires_on,
                message.next_visible_on,
                message.pop_receipt,
            )
            try:
                result = await self.host.run_function(spec, datum, metadata)
                await write_outputs(self.host, spec, result)
                ok = True
            except Exception:
                ok = False  # run_function logged it
        if ok:
            await client.delete_message(message.id, message.pop_receipt)
            return
        if message.dequeue_count >= max_dequeue:
            with contextlib.suppress(ResourceExistsError):
                await poison.create_queue()
            await self._to_poison(poison, client, queue, message, f"failed {message.dequeue_count} time(s)")
            return
        visibility = int(self.host.host_config.visibility_timeout_s)
        await client.update_message(message.id, message.pop_receipt, visibility_timeout=visibility)

    async def _to_poison(self, poison: Any, client: Any, queue: str, message: Any, why: str) -> None:
        from azure.core.exceptions import ResourceExistsError

        with contextlib.suppress(ResourceExistsError):
            await poison.create_queue()
        await poison.send_message(message.content)
        await client.delete_message(message.id, message.pop_receipt)
        log.warning("queue %s message %s moved to %s-poison: %s", queue, message.id, queue, why)
