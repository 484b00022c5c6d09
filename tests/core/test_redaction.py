"""Secrets in logged URLs and headers are replaced before any handler sees them."""

from __future__ import annotations

import logging

import pytest

from core.redaction import RedactingFilter, install, redact


@pytest.mark.parametrize(("text", "secret"), [
    ('HTTP Request: POST https://la.example/workflows/x/invoke?api-version=2016&sp=%2F&sig=AbC123 "HTTP/1.1 202"',
     "AbC123"),
    ("GET /api/conversations/c1/turns/1?code=fnkey== 200", "fnkey=="),
    ("headers: {'api-key': 'sk-live-123', 'accept': 'json'}", "sk-live-123"),
    ("Authorization: Bearer eyJhbGciOi.xyz.abc", "eyJhbGciOi.xyz.abc"),
])
def test_credentials_are_redacted(text: str, secret: str) -> None:
    """A sig, a function key, an api-key header and a bearer token never survive redaction."""
    cleaned = redact(text)
    assert secret not in cleaned
    assert "REDACTED" in cleaned


def test_ordinary_text_is_untouched() -> None:
    """Text without credentials comes out as it went in."""
    text = "POST /openai/v1/responses?api-version=2025 200 key_points=3"
    assert redact(text) == text


def test_filter_redacts_records_of_installed_loggers(caplog: pytest.LogCaptureFixture) -> None:
    """A library logging a URL with a sig is redacted in what handlers receive."""
    install(("example.sdk",))
    install(("example.sdk",))  # idempotent
    logger = logging.getLogger("example.sdk")
    assert sum(isinstance(f, RedactingFilter) for f in logger.filters) == 1
    with caplog.at_level(logging.INFO, logger="example.sdk"):
        logger.info("HTTP Request: %s %s", "POST", "https://la.example/invoke?sig=TOPSECRET")
    assert "TOPSECRET" not in caplog.text
    assert "sig=REDACTED" in caplog.text
