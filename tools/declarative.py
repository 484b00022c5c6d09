"""Declarative HTTP tools: an assistant's TOML names an endpoint (by app setting) and its schema."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from core.errors import ToolFailed
from tools import http
from tools.registry import Tool, ToolContext

NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
SETTING = re.compile(r"^[A-Z][A-Z0-9_]{1,99}$")


@dataclass(frozen=True)
class HttpToolSpec:
    """`[[http_tools]]` in an assistant file: POST (or GET) the arguments to the URL in `url_setting`."""

    name: str
    description: str
    url_setting: str
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})
    method: Literal["POST", "GET"] = "POST"

    def __post_init__(self) -> None:
        if not NAME.match(self.name):
            raise ValueError(f"http tool name {self.name!r} must match {NAME.pattern}")
        if not SETTING.match(self.url_setting):
            raise ValueError(f"http tool {self.name}: url_setting must be an app setting name, not a URL")
        if self.method not in ("POST", "GET"):
            raise ValueError(f"http tool {self.name}: method must be POST or GET")

    def tool(self) -> Tool:
        """The registry entry: same schema for the model, a handler that calls the endpoint."""

        def handler(args: dict[str, Any], ctx: ToolContext) -> Any:
            # Read when the tool runs, not at import: the URL (and its sig) lives in app settings.
            url = os.environ.get(self.url_setting, "").strip()
            if not url:
                raise ToolFailed(f"tool {self.name} is not configured (app setting {self.url_setting} is unset)")
            reply = http.request(
                self.method, url, what=f"{self.name} endpoint",
                json_body=args if self.method == "POST" else None,
                headers={"Idempotency-Key": ctx.idempotency_key}, timeout=ctx.timeout_seconds,
            )
            try:
                return reply.json()
            except ValueError:
                return reply.body.decode("utf-8", "replace")

        return Tool(self.name, self.description, self.parameters, handler)
