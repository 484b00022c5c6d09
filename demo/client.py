"""A small client of the app's HTTP API, the Durable HTTP API's instance status, and the email stand-in."""

from __future__ import annotations

from typing import Any

import httpx2


class ApiError(RuntimeError):
    """The API answered something other than what the contract promises."""


class Client:
    """Talks to the app at `base_url` (devhost, or a function app on Azure)."""

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        self.http = httpx2.Client(base_url=base_url, timeout=timeout)

    def close(self) -> None:
        """Close the connections."""
        self.http.close()

    def _json(self, resp: httpx2.Response, *ok: int) -> Any:
        if resp.status_code not in ok:
            raise ApiError(f"{resp.request.method} {resp.request.url.path} answered {resp.status_code}: "
                           f"{resp.text[:300]}")
        return resp.json()

    def send(self, message: str, assistant: str, conversation_id: str | None) -> tuple[str, int]:
        """Start a conversation, or post the next message to one; (conversation id, turn number)."""
        if conversation_id is None:
            resp = self.http.post("/api/conversations", json={"message": message, "assistant": assistant})
        else:
            resp = self.http.post(f"/api/conversations/{conversation_id}/messages", json={"message": message})
        body = self._json(resp, 200, 202)
        return str(body["conversation_id"]), int(body["turn"])

    def turn(self, conversation_id: str, turn: int) -> dict[str, Any] | None:
        """The turn once final (200); None while it is queued or running (202)."""
        resp = self.http.get(f"/api/conversations/{conversation_id}/turns/{turn}")
        body = self._json(resp, 200, 202)
        return body if resp.status_code == 200 else None

    def progress(self, conversation_id: str) -> dict[str, Any] | None:
        """The orchestration's custom status (phase, run status, tools in flight, polls), as on Azure."""
        resp = self.http.get(f"/runtime/webhooks/durabletask/instances/{conversation_id}",
                             params={"showInput": "false"})
        if resp.status_code == 404:  # not started yet
            return None
        status = self._json(resp, 200, 202).get("customStatus")
        return status if isinstance(status, dict) else None

    def download(self, url: str) -> tuple[bytes, str]:
        """A file of the conversation (`/api/files/{id}`): its bytes and content type."""
        resp = self.http.get(url)
        if resp.status_code != 200:
            raise ApiError(f"GET {url} answered {resp.status_code}: {resp.text[:300]}")
        return resp.content, resp.headers.get("content-type", "")

    def inbox(self, emulator_url: str, name: str = "email") -> list[dict[str, Any]]:
        """What the emulator's Logic App stand-in `name` received: `{body, headers, received_at}` each."""
        return list(self._json(self.http.get(f"{emulator_url}/_emulator/inbox/{name}"), 200))
