"""Attached CSVs are decoded tolerantly and recognised by their columns."""

from __future__ import annotations

from emulator.csvdata import decode_text, number, parse_table
from tests.emulator.conftest import data


def test_failed_banks_header_is_cleaned() -> None:
    """The cp1252 header with non-breaking spaces becomes plain column names; the table is "banks"."""
    table = parse_table("failed_banks.csv", data("failed_banks.csv").read_bytes())
    assert table is not None
    assert table.header == [
        "Bank Name",
        "City",
        "State",
        "Cert",
        "Acquiring Institution",
        "Closing Date",
        "Fund",
    ]
    assert table.kind == "banks"
    assert len(table.rows) == 568
    assert "First–Citizens Bank & Trust Company" in table.values("acquiring institution")


def test_kinds_by_columns() -> None:
    """Each seed CSV is recognised by its columns, not its name."""
    kinds = {
        name: parse_table("x.csv", data(name).read_bytes())
        for name in ("portfolio.csv", "orders.csv", "sellers.csv")
    }
    assert {name: t.kind for name, t in kinds.items() if t} == {
        "portfolio.csv": "portfolio",
        "orders.csv": "orders",
        "sellers.csv": "sellers",
    }


def test_decoding_falls_back() -> None:
    """UTF-8 (with BOM) first, then Windows-1252."""
    assert decode_text("\ufeffa,b".encode()) == "a,b"
    assert decode_text(b"caf\xe9") == "café"


def test_not_a_table() -> None:
    """Binary data and one-line files are not tables; numbers parse with separators."""
    assert parse_table("x.png", b"\x89PNG\r\n\x00\x00") is None
    assert parse_table("x.csv", b"only,a,header\n") is None
    assert number("$1,234.50") == 1234.5
    assert number("n/a") is None
