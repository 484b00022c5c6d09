"""Storage clients on the app's own account, configured as the Functions host reads AzureWebJobsStorage."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from azure.data.tables import TableServiceClient
    from azure.storage.queue import QueueClient, QueueServiceClient

CONNECTION = "AzureWebJobsStorage"
Service = Literal["table", "queue"]

_clients: dict[tuple[str, str], Any] = {}
_lock = threading.Lock()


def _credential(env: Mapping[str, str]) -> Any:
    from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

    client_id = env.get(f"{CONNECTION}__clientId")
    return ManagedIdentityCredential(client_id=client_id) if client_id else DefaultAzureCredential()


def _endpoint(env: Mapping[str, str], service: Service) -> str:
    uri = env.get(f"{CONNECTION}__{service}ServiceUri")
    if uri:
        return uri
    account = env.get(f"{CONNECTION}__accountName")
    if account:
        return f"https://{account}.{service}.core.windows.net"
    raise RuntimeError(f"setting {CONNECTION} (a connection string) or {CONNECTION}__{service}ServiceUri "
                       f"(identity-based) is required")


def _key(env: Mapping[str, str]) -> str:
    return "|".join(f"{k}={v}" for k, v in sorted(env.items()) if k.startswith(CONNECTION))


def table_service(env: Mapping[str, str]) -> TableServiceClient:
    """Table service client (connection string, or managed identity via AzureWebJobsStorage__*)."""
    from azure.data.tables import TableServiceClient

    def build() -> TableServiceClient:
        conn = env.get(CONNECTION, "").strip()
        if conn:
            return TableServiceClient.from_connection_string(conn)
        return TableServiceClient(endpoint=_endpoint(env, "table"), credential=_credential(env))

    return _cached(("table", _key(env)), build)


def queue_service(env: Mapping[str, str]) -> QueueServiceClient:
    """Queue service client; messages are base64 as the Functions queue trigger expects."""
    from azure.storage.queue import BinaryBase64DecodePolicy, BinaryBase64EncodePolicy, QueueServiceClient

    def build() -> QueueServiceClient:
        policies: dict[str, Any] = {"message_encode_policy": BinaryBase64EncodePolicy(),
                    "message_decode_policy": BinaryBase64DecodePolicy()}
        conn = env.get(CONNECTION, "").strip()
        if conn:
            return QueueServiceClient.from_connection_string(conn, **policies)
        return QueueServiceClient(account_url=_endpoint(env, "queue"), credential=_credential(env), **policies)

    return _cached(("queue", _key(env)), build)


def queue_client(env: Mapping[str, str], queue: str) -> QueueClient:
    """A client for one queue, base64 in and out like the service's (`get_queue_client` does not pass the
    service client's encode/decode policies on, and the Functions queue trigger expects base64)."""
    from azure.storage.queue import BinaryBase64DecodePolicy, BinaryBase64EncodePolicy

    return queue_service(env).get_queue_client(queue, message_encode_policy=BinaryBase64EncodePolicy(),
                                               message_decode_policy=BinaryBase64DecodePolicy())


def _cached(key: tuple[str, str], build: Any) -> Any:
    with _lock:
        if key not in _clients:
            _clients[key] = build()
        return _clients[key]
