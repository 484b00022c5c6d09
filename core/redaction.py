"""Keeping secrets out of logs: SDKs log full request URLs, and a Logic App URL carries its `sig`."""

from __future__ import annotations

import logging
import re

# Query parameters and headers that carry credentials (Logic App sig, function key, api keys, tokens).
_SECRET_PARAM = re.compile(r"(?i)([?&;](?:sig|code|api-key|api_key|key|token|access_token|secret)=)[^&\s\"'<>]+")
_SECRET_HEADER = re.compile(
    r"(?i)((?:api-key|x-functions-key|authorization)[\"']?\s*[:=]\s*[\"']?)(?:Bearer\s+)?[^\s\"',}]+")
REDACTED = "REDACTED"
# Loggers of libraries that log request URLs or headers.
NOISY_LOGGERS = ("httpx2", "httpx", "openai", "azure")


def redact(text: str) -> str:
    """`text` with credential values in URLs and header dumps replaced."""
    return _SECRET_HEADER.sub(rf"\1{REDACTED}", _SECRET_PARAM.sub(rf"\1{REDACTED}", text))


class RedactingFilter(logging.Filter):
    """Rewrites each record's message through `redact` before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Always keep the record, redacted."""
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


# The Azure SDK logs every request and response (URL and headers) at INFO: a flood of noise per storage call.
REQUEST_DUMP_LOGGER = "azure.core.pipeline.policies.http_logging_policy"


def install(names: tuple[str, ...] = NOISY_LOGGERS) -> None:
    """Attach the filter to the libraries' loggers and quiet the Azure SDK's request dumps (idempotent)."""
    for name in names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())
    logging.getLogger(REQUEST_DUMP_LOGGER).setLevel(logging.WARNING)
