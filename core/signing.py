"""Webhook signatures: `X-Signature-SHA256: sha256=<hex HMAC-SHA256 of the body under WEBHOOK_SECRET>`."""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Signature-SHA256"


def sign(body: bytes, secret: str) -> str:
    """The header value for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, secret: str, header: str | None) -> bool:
    """True when `header` is the signature of `body` (constant-time comparison)."""
    return header is not None and hmac.compare_digest(sign(body, secret), header)
