"""send_email's recipient allowlist (the HTTP path is covered end to end through devhost)."""

from __future__ import annotations

import pytest

from tools.email import recipient_allowed


@pytest.mark.parametrize(("address", "allowed", "expected"), [
    ("ana@example.com", ("ana@example.com",), True),
    ("ANA@Example.com", ("ana@example.com",), True),
    ("bob@example.com", ("@example.com",), True),
    ("bob@evil.example.com", ("@example.com",), False),
    ("bob@example.com.evil", ("@example.com",), False),
    ("bob@example.com", (), False),
    ("not-an-address", ("@example.com",), False),
])
def test_allowlist_matches_addresses_and_domains(address: str, allowed: tuple[str, ...], expected: bool) -> None:
    """Exact addresses and @domains are allowed; subdomains, look-alikes and an empty list are not."""
    assert recipient_allowed(address, allowed) is expected
