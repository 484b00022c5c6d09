"""get_stock_price: a quote from a pluggable source (an HTTP template in STOCK_QUOTES_URI)."""

from __future__ import annotations

import re
from typing import Any, Protocol
from urllib.parse import quote

from core.errors import ToolFailed
from tools import http
from tools.registry import REGISTRY, ToolContext

SYMBOL = re.compile(r"^[A-Za-z][A-Za-z0-9.\-]{0,9}$")


class QuoteSource(Protocol):
    """Where prices come from."""

    def price(self, symbol: str, timeout: float) -> float:
        """The latest price of `symbol`."""
        ...


class HttpQuoteSource:
    """GET a URL template with `{symbol}`; the answer is JSON with a numeric `price`."""

    def __init__(self, template: str) -> None:
        self.template = template

    def price(self, symbol: str, timeout: float) -> float:
        """The latest price of `symbol` from the endpoint."""
        reply = http.request("GET", self.template.replace("{symbol}", quote(symbol)), what="quote source",
                             timeout=timeout)
        try:
            return float(reply.json()["price"])
        except (ValueError, KeyError, TypeError):
            raise ToolFailed("quote source answered without a numeric price") from None


def quote_source(ctx: ToolContext) -> QuoteSource:
    """The configured source; a missing one is a tool failure the model is told about."""
    if not ctx.settings.stock_quotes_uri:
        raise ToolFailed("no quote source is configured (STOCK_QUOTES_URI is unset)")
    return HttpQuoteSource(ctx.settings.stock_quotes_uri)


@REGISTRY.tool(
    name="get_stock_price",
    description="Retrieve the latest closing price of a stock using its ticker symbol.",
    parameters={
        "type": "object",
        "properties": {"symbol": {"type": "string", "description": "The ticker symbol of the stock",
                                  "pattern": SYMBOL.pattern}},
        "required": ["symbol"],
        "additionalProperties": False,
    },
)
def get_stock_price(args: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
    """The latest price of one symbol."""
    symbol = args["symbol"].upper()
    return {"symbol": symbol, "price": quote_source(ctx).price(symbol, ctx.timeout_seconds)}
