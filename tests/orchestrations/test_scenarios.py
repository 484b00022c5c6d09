"""The seed's scenarios end to end: HTTP API → devhost → orchestration → emulator, on both backends."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from pathlib import Path
from typing import Any

from PIL import Image

from tests.conftest import Stack

DATA = Path(__file__).resolve().parents[2] / "assistants" / "data"


def text_of(turn: dict[str, Any]) -> str:
    """All text of the turn's messages."""
    return "\n".join(p["text"] for m in turn["messages"] for p in m["content"] if p["type"] == "text")


def images_of(turn: dict[str, Any]) -> list[dict[str, Any]]:
    """The image parts of the turn's messages."""
    return [p for m in turn["messages"] for p in m["content"] if p["type"] == "image"]


def test_portfolio_holdings_value_chart_and_email(stack: Stack, backend: str) -> None:
    """Holdings from the CSV; a parallel price round whose outputs reach the total; a PNG chart; an HTML email."""
    first = stack.start("What stocks do I own?", assistant="portfolio", wait=30)
    assert first.status_code == 200, first.text
    owned = first.json()
    cid = owned["conversation_id"]
    assert owned["status"] == "completed"
    assert owned["backend"] == backend
    assert all(symbol in text_of(owned) for symbol in ("MSFT", "AAPL", "AMZN", "TSLA", "NFLX", "NVDA"))

    value = stack.turn(cid, stack.post(cid, "What is the current value of my portfolio?").json()["turn"])
    assert value["status"] == "completed"
    prices = {json.loads(c["arguments"])["symbol"]: json.loads(c["output"])["price"] for c in value["tool_calls"]}
    assert sorted(prices) == ["AAPL", "AMZN", "MSFT", "NFLX", "NVDA", "TSLA"]
    assert all(c["name"] == "get_stock_price" and c["status"] == "succeeded" for c in value["tool_calls"])
    rows = csv.DictReader(io.StringIO((DATA / "finance/portfolio.csv").read_text()))
    holdings = {row["Symbol"]: int(row["QTY"]) for row in rows}
    total = sum(prices[s] * q for s, q in holdings.items())
    assert f"{total:,.2f}" in text_of(value)

    chart = stack.turn(cid, stack.post(cid, "Chart the gains of my stocks").json()["turn"])
    assert chart["status"] == "completed"
    (image,) = images_of(chart)
    png = stack.http.get(image["url"])
    assert png.status_code == 200
    assert png.headers["content-type"] == "image/png"
    with Image.open(io.BytesIO(png.content)) as picture:
        assert picture.format == "PNG"
        assert picture.size[0] > 200

    inbox_before = len(stack.http.get(f"{stack.emulator.url}/_emulator/inbox/email").json())
    email = stack.turn(cid, stack.post(cid, "Send an HTML email report to jane@example.com").json()["turn"])
    (call,) = email["tool_calls"]
    assert (call["name"], call["status"]) == ("send_email", "succeeded")
    received = stack.http.get(f"{stack.emulator.url}/_emulator/inbox/email").json()[inbox_before:]
    assert len(received) == 1
    body, headers = received[0]["body"], {k.lower(): v for k, v in received[0]["headers"].items()}
    assert body["to"] == "jane@example.com"
    assert "<table>" in body["content"]
    assert "&amp;" not in body["content"]  # html.unescape, as the seed did
    assert headers["idempotency-key"] == f"{cid}:{call['id']}"


def test_math_tutor_solves_and_follows_run_instructions(stack: Stack, backend: str) -> None:
    """`3x + 11 = 14` is solved, and the per-run instructions (address the user as Jane Doe) are followed."""
    turn = stack.converse("I need to solve the equation `3x + 11 = 14`. Can you help me?", assistant="math-tutor")
    assert turn["status"] == "completed"
    assert "x = 1" in text_of(turn)
    assert "Jane Doe" in text_of(turn)


def test_failed_banks_answers_from_the_file(stack: Stack, backend: str) -> None:
    """The state with most failures, counted from failed_banks.csv (whose header is not UTF-8)."""
    rows = csv.reader(io.StringIO((DATA / "banking/failed_banks.csv").read_bytes().decode("cp1252")))
    header = [h.replace("\xa0", "").strip() for h in next(rows)]
    state, count = Counter(r[header.index("State")] for r in rows).most_common(1)[0]
    turn = stack.converse("What State had the most bank failures?", assistant="failed-banks")
    assert turn["status"] == "completed"
    assert state in text_of(turn)
    assert str(count) in text_of(turn)


def test_sales_users_get_separate_conversations(stack: Stack, backend: str) -> None:
    """Two users ask the sales assistant; each conversation holds only its own messages."""
    ana = stack.start("Which seller has the highest sales?", assistant="sales").json()["conversation_id"]
    bob = stack.start("What did customer 1001 order?", assistant="sales").json()["conversation_id"]
    assert ana != bob
    assert stack.turn(ana)["status"] == stack.turn(bob)["status"] == "completed"
    ana_messages = stack.http.get(f"/api/conversations/{ana}/messages").json()["messages"]
    assert [m["role"] for m in ana_messages] == ["user", "assistant"]
    assert ana_messages[0]["content"][0]["text"] == "Which seller has the highest sales?"
    assert "customer 1001" not in json.dumps(ana_messages)


def test_handbook_answers_with_a_citation_or_says_it_cannot_find(stack: Stack, backend: str) -> None:
    """A question answered by one handbook page quotes and cites it; the cited page downloads; no support, no cite."""
    turn = stack.converse("How many days of paid annual leave do I get?", assistant="handbook")
    assert turn["status"] == "completed"
    text = text_of(turn)
    assert "25 days of paid annual leave" in text
    citations = [a for m in turn["messages"] for p in m["content"] if p["type"] == "text"
                 for a in p["annotations"] if a["type"] == "file_citation"]
    assert len(citations) == 1
    page = stack.http.get(citations[0]["url"])
    assert page.status_code == 200
    assert "# Leave policy" in page.text
    unsupported = stack.post(turn["conversation_id"], "Does the company pay for pet insurance?").json()["turn"]
    answer = stack.turn(turn["conversation_id"], unsupported)
    assert "could not find" in text_of(answer).lower()
    assert not [a for m in answer["messages"] for p in m["content"] if p["type"] == "text" for a in p["annotations"]]


def test_a_file_attached_for_file_search_is_searched(stack: Stack, backend: str) -> None:
    """A document sent with the message (tools: file_search) answers the question, cited."""
    import base64

    doc = b"# Parking\n\nVisitors park in garage B, levels 2 and 3, for up to four hours free of charge.\n"
    turn = stack.converse("Where do visitors park?", assistant="handbook", attachments=[
        {"filename": "parking.md", "content_base64": base64.b64encode(doc).decode(), "tools": ["file_search"]}])
    assert turn["status"] == "completed"
    assert "garage B" in text_of(turn)
