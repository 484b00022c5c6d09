"""Settings: aliases, defaults, and one clear error naming a bad setting."""

from __future__ import annotations

import pytest

from core.settings import SETTINGS, SettingsError, load_settings

BASE = {"AZURE_OPENAI_ENDPOINT": "https://example.openai.azure.com", "AZURE_OPENAI_DEPLOYMENT": "gpt-4o"}


def test_defaults_apply_when_only_required_settings_are_set() -> None:
    """With only the endpoint and deployment, the documented defaults are used."""
    s = load_settings(BASE)
    assert s.backend == "responses"
    assert s.default_assistant == "portfolio"
    assert (s.requests_queue, s.replies_queue, s.rejected_queue) == (
        "conversation-requests", "conversation-replies", "conversation-requests-rejected")
    assert s.email_allowed_recipients == ()
    assert s.openai_api_key is None


def test_seed_aliases_are_accepted() -> None:
    """The seed's OPENAI_URI / OPENAI_KEY / OPENAI_GPT_DEPLOYMENT / OPENAI_VERSION still work."""
    s = load_settings({"OPENAI_URI": "https://seed.openai.azure.com", "OPENAI_KEY": "k" * 32,
                       "OPENAI_GPT_DEPLOYMENT": "gpt-35", "OPENAI_VERSION": "2024-02-15-preview"})
    assert (s.openai_endpoint, s.openai_deployment, s.openai_api_version) == (
        "https://seed.openai.azure.com", "gpt-35", "2024-02-15-preview")
    assert s.openai_api_key == "k" * 32


def test_missing_required_setting_names_it_and_its_alias() -> None:
    """A missing endpoint fails with a message naming the setting and the seed's alias."""
    with pytest.raises(SettingsError, match=r"AZURE_OPENAI_ENDPOINT \(or OPENAI_URI\) is required"):
        load_settings({"AZURE_OPENAI_DEPLOYMENT": "gpt-4o"})


@pytest.mark.parametrize(("name", "value", "message"), [
    ("ASSISTANTS_BACKEND", "chat", "ASSISTANTS_BACKEND must be one of responses, assistants"),
    ("POLL_MIN_SECONDS", "soon", "POLL_MIN_SECONDS must be a number"),
    ("TURN_TIMEOUT_SECONDS", "-5", "TURN_TIMEOUT_SECONDS must be greater than 0"),
    ("STOCK_QUOTES_URI", "https://quotes.example/q", "STOCK_QUOTES_URI must contain {symbol}"),
    ("REQUESTS_QUEUE", "Bad_Queue", "REQUESTS_QUEUE must be a valid Azure queue name"),
])
def test_malformed_setting_is_named(name: str, value: str, message: str) -> None:
    """Each malformed value is rejected with the setting's name and what it must be."""
    with pytest.raises(SettingsError, match=message):
        load_settings({**BASE, name: value})


def test_malformed_secret_is_not_echoed() -> None:
    """A malformed EMAIL_URI (it carries a sig) is named but its value never appears in the error."""
    with pytest.raises(SettingsError) as info:
        load_settings({**BASE, "EMAIL_URI": "not-a-url?sig=SECRETSIG"})
    assert "EMAIL_URI" in str(info.value)
    assert "SECRETSIG" not in str(info.value)


def test_secrets_stay_out_of_repr() -> None:
    """repr(settings) — what a log line would show — holds no key, sig or webhook secret."""
    s = load_settings({**BASE, "AZURE_OPENAI_API_KEY": "KEY123", "EMAIL_URI": "https://la.example/x?sig=SIG9",
                       "WEBHOOK_SECRET": "HOOK7"})
    shown = repr(s)
    assert not any(secret in shown for secret in ("KEY123", "SIG9", "HOOK7"))


def test_poll_bounds_must_be_ordered() -> None:
    """POLL_MIN_SECONDS above POLL_MAX_SECONDS is a configuration error."""
    with pytest.raises(SettingsError, match="POLL_MIN_SECONDS must not exceed POLL_MAX_SECONDS"):
        load_settings({**BASE, "POLL_MIN_SECONDS": "20", "POLL_MAX_SECONDS": "10"})


def test_every_setting_is_documented_once() -> None:
    """Names are unique and each setting has a description."""
    names = [s.name for s in SETTINGS]
    assert len(names) == len(set(names))
    assert all(s.description for s in SETTINGS)
