"""Attached CSV files as the model reads them: decoded tolerantly, headers cleaned, kind recognised."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Literal

TableKind = Literal["portfolio", "banks", "customers", "orders", "sellers", "inventory", "other"]

# A table is recognised by the columns it has (lower case), never by its file name.
_KINDS: tuple[tuple[TableKind, frozenset[str]], ...] = (
    ("portfolio", frozenset({"symbol", "qty"})),
    ("banks", frozenset({"bank name", "state"})),
    ("orders", frozenset({"orderid", "customerid", "sellerid", "itemid", "qty", "price"})),
    ("customers", frozenset({"customerid", "name", "state"})),
    ("sellers", frozenset({"sellerid", "name", "state"})),
    ("inventory", frozenset({"itemid", "description"})),
)


def decode_text(data: bytes) -> str:
    """UTF-8 when it is, else Windows-1252 (what Excel exports), else Latin-1 (never fails)."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _clean(cell: str) -> str:
    # Spreadsheet exports pad cells with non-breaking spaces.
    return cell.replace("\xa0", " ").strip()


@dataclass
class Table:
    """A parsed CSV: cleaned header and rows as dicts keyed by header name."""

    name: str
    header: list[str]
    rows: list[dict[str, str]] = field(default_factory=list)

    @property
    def kind(self) -> TableKind:
        columns = {column.lower() for column in self.header}
        for kind, required in _KINDS:
            if required <= columns:
                return kind
        return "other"

    def column(self, name: str) -> str | None:
        """The header spelled as in the file for a case-insensitive `name`."""
        for column in self.header:
            if column.lower() == name.lower():
                return column
        return None

    def values(self, name: str) -> list[str]:
        column = self.column(name)
        return [] if column is None else [row.get(column, "") for row in self.rows]


def parse_table(name: str, data: bytes) -> Table | None:
    """The file as a table, or None when it is not a CSV with a header and at least one row."""
    text = decode_text(data)
    if "\x00" in text:
        return None
    try:
        reader = csv.reader(io.StringIO(text))
        lines = [row for row in reader if any(cell.strip() for cell in row)]
    except csv.Error:
        return None
    if len(lines) < 2 or len(lines[0]) < 2:
        return None
    header = [_clean(cell) for cell in lines[0]]
    rows = [{header[i]: _clean(cell) for i, cell in enumerate(row) if i < len(header)} for row in lines[1:]]
    return Table(name=name, header=header, rows=rows)


def number(text: str) -> float | None:
    """A number written in a cell ("1,234.50", "$12", "7")."""
    cleaned = text.replace(",", "").replace("$", "").strip()
    try:
        return float(cleaned)
    except ValueError:
        return None
