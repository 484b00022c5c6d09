"""Routes and URLs of this service's HTTP API, built in one place."""

from __future__ import annotations

API_PREFIX = "/api"


def conversation_url(conversation_id: str) -> str:
    """GET the conversation."""
    return f"{API_PREFIX}/conversations/{conversation_id}"


def turn_url(conversation_id: str, turn: int) -> str:
    """GET one turn (the Location of a 202)."""
    return f"{API_PREFIX}/conversations/{conversation_id}/turns/{turn}"


def messages_url(conversation_id: str) -> str:
    """GET the transcript."""
    return f"{API_PREFIX}/conversations/{conversation_id}/messages"


def file_url(file_id: str) -> str:
    """GET a file produced in a conversation."""
    return f"{API_PREFIX}/files/{file_id}"
