"""App settings: the one list of what the code reads from the environment, and its validation."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

Backend = Literal["responses", "assistants"]
BACKENDS: tuple[Backend, ...] = ("responses", "assistants")


class SettingsError(ValueError):
    """A required setting is missing or a setting is malformed; the message names it."""


def _url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise ValueError("must be an http(s) URL")
    return value


def _backend(value: str) -> str:
    if value not in BACKENDS:
        raise ValueError(f"must be one of {', '.join(BACKENDS)}")
    return value


def _positive_number(value: str) -> str:
    try:
        number = float(value)
    except ValueError:
        raise ValueError("must be a number") from None
    if number <= 0:
        raise ValueError("must be greater than 0")
    return value


def _quote_template(value: str) -> str:
    _url(value.replace("{symbol}", "X"))
    if "{symbol}" not in value:
        raise ValueError("must contain {symbol}")
    return value


def _queue_name(value: str) -> str:
    # Azure queue names: 3-63 lowercase letters, digits and single hyphens.
    ok = 3 <= len(value) <= 63 and value[0].isalnum() and value[-1].isalnum() and "--" not in value
    if not ok or not all(c.islower() or c.isdigit() or c == "-" for c in value):
        raise ValueError("must be a valid Azure queue name (3-63 lowercase letters, digits, hyphens)")
    return value


@dataclass(frozen=True)
class Setting:
    """One app setting: its name, the seed's aliases, default, and how to check it."""

    name: str
    description: str
    default: str | None = None
    aliases: tuple[str, ...] = ()
    required: bool = False
    secret: bool = False
    example: str = ""
    check: Callable[[str], str] | None = field(default=None, repr=False, compare=False)


# Every setting the app code reads. infra/ provisions each, local.settings.json.example lists each
# (tests/infra checks both against this tuple).
SETTINGS: tuple[Setting, ...] = (
    Setting("AZURE_OPENAI_ENDPOINT", "Azure OpenAI endpoint, e.g. https://<name>.openai.azure.com",
            aliases=("OPENAI_URI",), required=True, example="http://127.0.0.1:8181", check=_url),
    Setting("AZURE_OPENAI_API_KEY", "API key; leave unset to use Entra ID (managed identity)",
            aliases=("OPENAI_KEY",), secret=True, example=""),
    Setting("AZURE_OPENAI_DEPLOYMENT", "model deployment name", aliases=("OPENAI_GPT_DEPLOYMENT",),
            required=True, example="gpt-4o"),
    Setting("OPENAI_API_VERSION", "api-version for the assistants backend", aliases=("OPENAI_VERSION",),
            default="2024-05-01-preview", example="2024-05-01-preview"),
    Setting("AZURE_CLIENT_ID", "client id of a user-assigned managed identity (unset: system-assigned)",
            example=""),
    Setting("ASSISTANTS_BACKEND", "model API: responses (default) or assistants (sunset 2026-08-26)",
            default="responses", example="responses", check=_backend),
    Setting("EMAIL_URI", "email Logic App HTTP trigger URL (holds a sig: a secret)", secret=True,
            example="http://127.0.0.1:8181/_emulator/inbox/email", check=_url),
    Setting("EMAIL_ALLOWED_RECIPIENTS", "comma list of addresses and @domains send_email may write to",
            default="", example="@example.com"),
    Setting("STOCK_QUOTES_URI", "quote source URL template with {symbol}",
            example="http://127.0.0.1:8181/_emulator/quotes/{symbol}", check=_quote_template),
    Setting("DEFAULT_ASSISTANT", "assistant used when a request names none", default="portfolio",
            example="portfolio"),
    Setting("REQUESTS_QUEUE", "queue of conversation requests", default="conversation-requests",
            example="conversation-requests", check=_queue_name),
    Setting("REPLIES_QUEUE", "default queue for finished turns", default="conversation-replies",
            example="conversation-replies", check=_queue_name),
    Setting("WEBHOOK_SECRET", "HMAC-SHA256 key signing callback_url POSTs", secret=True, example=""),
    Setting("RETENTION_DAYS", "idle conversations older than this are deleted", default="30",
            example="30", check=_positive_number),
    Setting("POLL_MIN_SECONDS", "shortest wait between run polls", default="1", example="1",
            check=_positive_number),
    Setting("POLL_MAX_SECONDS", "longest wait between run polls", default="15", example="15",
            check=_positive_number),
    Setting("TURN_TIMEOUT_SECONDS", "a turn running longer is cancelled", default="600", example="600",
            check=_positive_number),
)

_BY_NAME = {s.name: s for s in SETTINGS}


@dataclass(frozen=True)
class Settings:
    """Validated settings; secrets are kept out of repr."""

    openai_endpoint: str
    openai_deployment: str
    openai_api_version: str
    backend: Backend
    default_assistant: str
    requests_queue: str
    replies_queue: str
    retention_days: float
    poll_min_seconds: float
    poll_max_seconds: float
    turn_timeout_seconds: float
    email_allowed_recipients: tuple[str, ...]
    stock_quotes_uri: str | None
    azure_client_id: str | None
    openai_api_key: str | None = field(default=None, repr=False)
    email_uri: str | None = field(default=None, repr=False)
    webhook_secret: str | None = field(default=None, repr=False)

    @property
    def rejected_queue(self) -> str:
        """Queue for requests that can never succeed."""
        return f"{self.requests_queue}-rejected"


def read(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The raw value of a setting (its name first, then the seed's aliases), validated; None if unset."""
    env = os.environ if environ is None else environ
    spec = _BY_NAME[name]
    for key in (spec.name, *spec.aliases):
        value = env.get(key, "").strip()
        if value:
            if spec.check is not None:
                try:
                    spec.check(value)
                except ValueError as exc:
                    # Name the setting, never echo a secret's value.
                    shown = "" if spec.secret else f" (got {value!r})"
                    raise SettingsError(f"setting {key} {exc}{shown}") from None
            return value
    if spec.required:
        alias = f" (or {', '.join(spec.aliases)})" if spec.aliases else ""
        raise SettingsError(f"setting {spec.name}{alias} is required: {spec.description}")
    return spec.default


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and check every setting; raise SettingsError naming the first bad one."""

    def value(name: str) -> str:
        got = read(name, environ)
        assert got is not None, name  # required or defaulted
        return got

    poll_min, poll_max = float(value("POLL_MIN_SECONDS")), float(value("POLL_MAX_SECONDS"))
    if poll_min > poll_max:
        raise SettingsError("setting POLL_MIN_SECONDS must not exceed POLL_MAX_SECONDS")
    recipients = tuple(r.strip().lower() for r in value("EMAIL_ALLOWED_RECIPIENTS").split(",") if r.strip())
    backend = value("ASSISTANTS_BACKEND")
    return Settings(
        openai_endpoint=value("AZURE_OPENAI_ENDPOINT"),
        openai_deployment=value("AZURE_OPENAI_DEPLOYMENT"),
        openai_api_version=value("OPENAI_API_VERSION"),
        backend="assistants" if backend == "assistants" else "responses",
        default_assistant=value("DEFAULT_ASSISTANT"),
        requests_queue=value("REQUESTS_QUEUE"),
        replies_queue=value("REPLIES_QUEUE"),
        retention_days=float(value("RETENTION_DAYS")),
        poll_min_seconds=poll_min,
        poll_max_seconds=poll_max,
        turn_timeout_seconds=float(value("TURN_TIMEOUT_SECONDS")),
        email_allowed_recipients=recipients,
        stock_quotes_uri=read("STOCK_QUOTES_URI", environ),
        azure_client_id=read("AZURE_CLIENT_ID", environ),
        openai_api_key=read("AZURE_OPENAI_API_KEY", environ),
        email_uri=read("EMAIL_URI", environ),
        webhook_secret=read("WEBHOOK_SECRET", environ),
    )
