"""send_email: the seed's email Logic App call, with an allowlist and an idempotency key."""

from __future__ import annotations

import html
from typing import Any

from core.errors import ToolFailed, ToolRejected
from tools import http
from tools.registry import REGISTRY, ToolContext


def recipient_allowed(address: str, allowed: tuple[str, ...]) -> bool:
    """True if the address is listed, or its domain is listed as `@domain`. Empty list: nobody."""
    address = address.strip().lower()
    domain = "@" + address.rsplit("@", 1)[-1] if "@" in address else None
    return address in allowed or (domain is not None and domain in allowed)


@REGISTRY.tool(
    name="send_email",
    description="Sends an email to the recipient with the content. The content may be HTML.",
    parameters={
        "type": "object",
        "properties": {
            "to": {"type": "string", "description": "The email address of the recipient",
                   "pattern": r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$"},
            "content": {"type": "string", "description": "The content of the email", "minLength": 1,
                        "maxLength": 100_000},
        },
        "required": ["to", "content"],
        "additionalProperties": False,
    },
)
def send_email(args: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
    """POST {"to", "content"} to the Logic App, as the seed did; refuse recipients not on the allowlist."""
    to = args["to"].strip()
    if not recipient_allowed(to, ctx.settings.email_allowed_recipients):
        raise ToolRejected(f"recipient {to} is not allowed by EMAIL_ALLOWED_RECIPIENTS; the email was not sent")
    if not ctx.settings.email_uri:
        raise ToolFailed("email is not configured (EMAIL_URI is unset); the email was not sent")
    reply = http.request(
        "POST", ctx.settings.email_uri, what="email endpoint",
        # Models escape HTML in JSON arguments; the seed unescaped it before sending.
        json_body={"to": to, "content": html.unescape(args["content"])},
        # The same key on every retry, so the Logic App (or whatever is behind it) can drop duplicates.
        headers={"Idempotency-Key": ctx.idempotency_key},
        timeout=ctx.timeout_seconds,
    )
    return {"status": "sent", "to": to, "http_status": reply.status}
