"""Redaction of credentials in anything devhost logs."""

from __future__ import annotations

from devhost.redact import MASK, redact, redact_headers


def test_url_keys_are_masked() -> None:
    """sig, code and api-key values in URLs are replaced; other parameters stay readable."""
    text = redact("GET https://la.example/x?sv=1&sig=SIG%2B1&code=C0DE&api-key=K3Y&name=ok")
    assert "SIG" not in text
    assert "C0DE" not in text
    assert "K3Y" not in text
    assert "name=ok" in text
    assert f"sig={MASK}" in text


def test_credential_headers_are_masked() -> None:
    """api-key, x-functions-key and Authorization header values are masked."""
    masked = redact_headers(
        {"api-key": "a", "X-Functions-Key": "b", "Authorization": "Bearer c", "Accept": "x"}
    )
    assert masked == {"api-key": MASK, "X-Functions-Key": MASK, "Authorization": MASK, "Accept": "x"}


def test_bearer_tokens_and_account_keys_in_text_are_masked() -> None:
    """Bearer tokens and storage AccountKey values inside free text are masked."""
    text = redact("auth failed: Bearer abcdefghijklmnop; AccountKey=SECRETKEY==;")
    assert "abcdefghijklmnop" not in text
    assert "SECRETKEY" not in text
