"""Secret redaction for everything devhost logs: URL keys (`sig`, `code`, ...) and credential headers."""

from __future__ import annotations

import re
from collections.abc import Mapping

# Query parameters and headers that carry credentials on Azure (SAS sig, function keys, API keys).
_SECRET_PARAMS = ("sig", "code", "api-key", "api_key", "key", "x-functions-key", "token", "access_token")
_SECRET_HEADERS = frozenset(
    {
        "api-key",
        "x-functions-key",
        "authorization",
        "proxy-authorization",
        "cookie",
        "x-ms-client-secret",
        "ocp-apim-subscription-key",
    }
)
_PARAM_RE = re.compile(
    r"(?i)([?&;\s\"']|^)(" + "|".join(re.escape(p) for p in _SECRET_PARAMS) + r")=([^&\s\"']+)"
)
_HEADER_LINE_RE = re.compile(
    r"(?im)^(\s*(?:" + "|".join(re.escape(h) for h in sorted(_SECRET_HEADERS)) + r")\s*:\s*)(.+)$"
)
_BEARER_RE = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{8,}")
_ACCOUNT_KEY_RE = re.compile(r"(?i)(AccountKey=)([^;\s\"']+)")

MASK = "***"


def redact(text: str) -> str:
    """`text` with every credential-looking value masked."""
    text = _PARAM_RE.sub(lambda m: f"{m.group(1)}{m.group(2)}={MASK}", text)
    text = _HEADER_LINE_RE.sub(lambda m: f"{m.group(1)}{MASK}", text)
    text = _BEARER_RE.sub(lambda m: f"{m.group(1)}{MASK}", text)
    return _ACCOUNT_KEY_RE.sub(lambda m: f"{m.group(1)}{MASK}", text)


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """A copy of `headers` safe to log."""
    return {k: (MASK if k.lower() in _SECRET_HEADERS else redact(v)) for k, v in headers.items()}
