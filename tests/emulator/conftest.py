"""Fixtures for the emulator's tests: a running emulator, real SDK clients whose every answer is validated."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from openai import AzureOpenAI, OpenAI

from emulator.testing import EmulatorHandle, run_emulator
from emulator.validation import check_object, check_response

DATA = Path(__file__).parent / "data"
SEED_DATA = Path(__file__).resolve().parents[2] / "assistants" / "data"


def data(name: str) -> Path:
    """A test file: the emulator's own (tests/emulator/data), else a seed file shipped with the sample assistants."""
    own = DATA / name
    return own if own.exists() else next(SEED_DATA.rglob(name))
API_VERSION = "2024-05-01-preview"


class FakeClock:
    """A clock the test moves by hand (seconds since the epoch)."""

    def __init__(self, start: float = 1_760_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class ObjectChecker:
    """Validates every JSON object the emulator answers; problems are collected, not raised mid-request."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.checked = 0

    def response(self, request: httpx2.Request, response: httpx2.Response) -> None:
        if response.status_code >= 400:
            self.error_shape(response)
            return
        if not response.headers.get("content-type", "").startswith("application/json"):
            return
        problems = check_response(request.method, request.url.path, response.json(), concrete=True)
        self.checked += 1
        self.problems += [f"{request.method} {request.url.path}: {p}" for p in problems]

    def error_shape(self, response: httpx2.Response) -> None:
        """Every error is `{"error": {"code", "message", "param", "type"}}`."""
        try:
            body = response.json()
        except ValueError:
            self.problems.append(f"{response.status_code}: error body is not JSON: {response.text[:100]!r}")
            return
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict) or set(error) != {"code", "message", "param", "type"}:
            self.problems.append(f"{response.status_code}: error shape {body!r}")
        elif not isinstance(error["message"], str) or not isinstance(error["type"], str):
            self.problems.append(f"{response.status_code}: error message/type not strings: {error!r}")

    def object(self, obj: Any, kind: str) -> None:
        """Validate an object a test holds (e.g. an SDK model's JSON) as `kind`."""
        self.checked += 1
        self.problems += check_object(obj, kind)


class _CheckingTransport(httpx2.HTTPTransport):
    def __init__(self, checker: ObjectChecker) -> None:
        super().__init__()
        self.checker = checker

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        response = super().handle_request(request)
        response.read()
        self.checker.response(request, response)
        return response


@pytest.fixture
def checker() -> Iterator[ObjectChecker]:
    """Collects schema/SDK problems of everything the SDK clients receive; the test fails if any."""
    found = ObjectChecker()
    yield found
    assert not found.problems, "invalid objects:\n" + "\n".join(found.problems)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def emulator(clock: FakeClock) -> Iterator[EmulatorHandle]:
    """A fresh emulator on a free port, on the test's clock, answering runs after one in-progress poll."""
    with run_emulator(clock=clock, poll_after_ms=1) as handle:
        yield handle


def _http(checker: ObjectChecker) -> httpx2.Client:
    return httpx2.Client(transport=_CheckingTransport(checker))


@pytest.fixture
def azure(emulator: EmulatorHandle, checker: ObjectChecker) -> Iterator[AzureOpenAI]:
    """`AzureOpenAI` with the API key (the assistants backend's client)."""
    client = AzureOpenAI(
        azure_endpoint=emulator.url,
        api_version=API_VERSION,
        api_key=emulator.api_key,
        http_client=_http(checker),
    )
    yield client
    client.close()


def entra_token() -> str:
    """An Entra-shaped access token: a JWT (header.payload.signature, base64url)."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    claims = {"aud": "https://cognitiveservices.azure.com", "oid": "00000000-0000-0000-0000-000000000000"}
    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


@pytest.fixture
def token_calls() -> list[str]:
    return []


@pytest.fixture
def token_provider(token_calls: list[str]) -> Callable[[], str]:
    """A token provider like azure-identity's `get_bearer_token_provider`, counting its calls."""

    def provide() -> str:
        token = entra_token()
        token_calls.append(token)
        return token

    return provide


@pytest.fixture
def azure_entra(
    emulator: EmulatorHandle, checker: ObjectChecker, token_provider: Callable[[], str]
) -> Iterator[AzureOpenAI]:
    """`AzureOpenAI` authenticated with `azure_ad_token_provider` (managed identity in production)."""
    client = AzureOpenAI(
        azure_endpoint=emulator.url,
        api_version=API_VERSION,
        azure_ad_token_provider=token_provider,
        http_client=_http(checker),
    )
    yield client
    client.close()


@pytest.fixture
def v1(emulator: EmulatorHandle, checker: ObjectChecker) -> Iterator[OpenAI]:
    """`OpenAI` on Azure's v1 routes with the API key (the responses backend's client)."""
    client = OpenAI(
        base_url=f"{emulator.url}/openai/v1/", api_key=emulator.api_key, http_client=_http(checker)
    )
    yield client
    client.close()


@pytest.fixture
def v1_entra(
    emulator: EmulatorHandle, checker: ObjectChecker, token_provider: Callable[[], str]
) -> Iterator[OpenAI]:
    """`OpenAI` on the v1 routes with a token-provider callable as `api_key` (Entra ID)."""
    client = OpenAI(base_url=f"{emulator.url}/openai/v1/", api_key=token_provider, http_client=_http(checker))
    yield client
    client.close()


@pytest.fixture
def control(emulator: EmulatorHandle) -> Iterator[httpx2.Client]:
    """Plain HTTP to the control API and the stand-ins."""
    with httpx2.Client(base_url=emulator.url) as client:
        yield client


def stats(control: httpx2.Client) -> dict[str, Any]:
    response = control.get("/_emulator/stats")
    assert response.status_code == 200
    return response.json()


def upload(client: AzureOpenAI | OpenAI, name: str, purpose: str = "assistants") -> str:
    """Upload a test or seed file under its own name; its file id."""
    with data(name).open("rb") as handle:
        return client.files.create(file=(name, handle), purpose=purpose).id  # type: ignore[arg-type]


PRICE_TOOL = {
    "type": "function",
    "function": {
        "name": "get_stock_price",
        "description": "Latest price of a stock.",
        "parameters": {
            "type": "object",
            "properties": {"symbol": {"type": "string"}},
            "required": ["symbol"],
        },
    },
}
EMAIL_TOOL = {
    "type": "function",
    "function": {
        "name": "send_email",
        "description": "Send an HTML email.",
        "parameters": {
            "type": "object",
            "properties": {"to": {"type": "string"}, "content": {"type": "string"}},
            "required": ["to", "content"],
        },
    },
}


def v1_tool(tool: dict[str, Any]) -> dict[str, Any]:
    """The Responses-API form of an Assistants function tool."""
    return {"type": "function", **tool["function"]}


# --- vector stores ---------------------------------------------------------------------------------

HANDBOOK = ("vacation.md", "expenses.md")
VACATION_QUESTION = "How many vacation days do full-time employees get?"
VACATION_QUOTE = (
    "Full-time employees earn 25 days of paid vacation per calendar year. Part-time employees earn "
    "vacation in proportion to their contracted hours."
)
MEALS_QUESTION = "How much are meals reimbursed on business trips?"
MEALS_QUOTE = "Meals on business trips are reimbursed up to 60 euros per day, with itemised receipts."
# Shares only "policy" with the handbook: the search finds weak matches, none that supports an answer.
UNSUPPORTED_QUESTION = "What is the policy on remote work?"


@dataclass(frozen=True)
class Handbook:
    """A vector store holding the two handbook pages, ingested; file ids by file name."""

    store_id: str
    files: dict[str, str]


def handbook(client: AzureOpenAI | OpenAI) -> Handbook:
    """Upload the handbook pages, put them in a new vector store and poll each file to `completed`."""
    files = {name: upload(client, name) for name in HANDBOOK}
    store = client.vector_stores.create(name="handbook", file_ids=list(files.values()))
    for file_id in files.values():
        done = client.vector_stores.files.poll(file_id, vector_store_id=store.id)
        assert done.status == "completed", done.last_error
    return Handbook(store.id, files)


def pdf_bytes(*lines: str) -> bytes:
    """A one-page PDF showing `lines` in Helvetica (with a valid cross-reference table)."""
    escaped = [line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") for line in lines]
    shown = " T* ".join(f"({line}) Tj" for line in escaped)
    stream = f"BT /F1 12 Tf 14 TL 72 720 Td {shown} ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> "
        b"/Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n%b\nendstream" % (len(stream), stream),
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%b\nendobj\n" % (number, body)
    table = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, table)
    return out
