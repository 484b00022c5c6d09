"""The emulator's default "model": deterministic rules that play the seed's scenarios.

`decide(context)` sees what a model would see for one turn (instructions, the tools offered, the
attached files, the conversation so far and this turn's tool results) and returns either one round
of tool calls or the final answer. The rules, in order:

1. A question about value/price/worth with a `get_stock_price` tool → one call per ticker (tickers
   named in the message, else the `Symbol` column of an attached portfolio), all in one round.
2. An email address and the word "email"/"mail" with a `send_email` tool → `send_email` with an
   HTML report of the latest results (some entities escaped, as models do).
3. Otherwise the answer, built from every part that applies: a linear equation solved step by step,
   this turn's prices (with quantity × price and the total for an attached portfolio), the email
   outcome reported honestly, a chart when asked and code interpreter is offered, holdings,
   answers computed from attached CSVs (failed banks, sales).
4. When nothing above answers and `file_search` can search vector stores: one search with the user's
   message; the best chunk, if it scores at least `SUPPORT_THRESHOLD`, is quoted and cited, else the
   answer says the documents do not say (no citation).
5. Else a short reply quoting the message.
   Run/response instructions such as "address the user as Jane Doe" set how the answer addresses the user.

A function tool that fits no rule is not called.
"""

from __future__ import annotations

import html
import json
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from .charts import ChartSpec
from .csvdata import Table, number, parse_table


@dataclass(frozen=True)
class AttachedFile:
    """A file the model can read: its name and bytes."""

    name: str
    data: bytes


@dataclass(frozen=True)
class ToolOutcome:
    """One function call the model made and the output it received (None while pending)."""

    name: str
    arguments: str
    output: str | None


@dataclass(frozen=True)
class SearchHit:
    """One chunk a file search found: where it comes from, how well it matches, and its text."""

    file_id: str
    filename: str
    score: float
    text: str
    attributes: Mapping[str, str | float | bool] | None = None


Searcher = Callable[[str], list[SearchHit]]


@dataclass
class TurnContext:
    """Everything the model sees when it decides the next step of one turn.

    `search` is set when the `file_search` tool can search at least one vector store this turn.
    """

    message: str
    instructions: str = ""
    functions: dict[str, dict[str, Any]] = field(default_factory=dict)
    code_interpreter: bool = False
    files: list[AttachedFile] = field(default_factory=list)
    earlier: list[ToolOutcome] = field(default_factory=list)
    outcomes: list[ToolOutcome] = field(default_factory=list)
    transcript: list[tuple[str, str]] = field(default_factory=list)
    search: Searcher | None = None


@dataclass(frozen=True)
class ToolCall:
    """A function call the model asks the client to run; `arguments` is JSON text."""

    name: str
    arguments: str


@dataclass(frozen=True)
class ToolRound:
    """One round of (parallel) tool calls: the run waits for all of their outputs."""

    calls: tuple[ToolCall, ...]


@dataclass(frozen=True)
class FileSearch:
    """The file_search call the model made for its answer: the queries and the hits, best first."""

    queries: tuple[str, ...]
    hits: tuple[SearchHit, ...]


@dataclass(frozen=True)
class Citation:
    """A hit the answer quotes; its citation belongs at `index` of the answer's text (after the quote)."""

    index: int
    hit: SearchHit


@dataclass(frozen=True)
class Answer:
    """The final answer of a turn: text, the charts code interpreter drew, the file search and citations."""

    text: str
    charts: tuple[ChartSpec, ...] = ()
    search: FileSearch | None = None
    citations: tuple[Citation, ...] = ()


Decision = ToolRound | Answer

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_TICKER = re.compile(r"\b[A-Z]{1,5}\b")
# Upper-case words that are not tickers.
_NOT_TICKERS = frozenset(
    re.findall(
        r"\w+",
        "I A AN THE AND OR OF TO IN ON MY ME IS IT US USD EUR GBP "
        "CSV PNG PDF HTML API AI ID OK CEO FAQ PM AM",
    )
)
_ADDRESS_AS = re.compile(r"address (?:the user|them|him|her|me|users?) as ([^.,;:!\n]+)", re.IGNORECASE)
_NUMBER = re.compile(r"-?\d+(?:,\d{3})*(?:\.\d+)?")
_TERM = r"(?:\d+(?:\.\d+)?\s*\*?\s*[a-z](?![a-z])|\d+(?:\.\d+)?|(?<![a-z])[a-z](?![a-z]))"
_EXPR = rf"[+-]?\s*{_TERM}(?:\s*[+-]\s*{_TERM})*"
_EQUATION = re.compile(rf"(?<![\w.])({_EXPR})\s*=\s*({_EXPR})(?!\w|\.\d)")
_SIGNED_TERM = re.compile(r"([+-]?)\s*(\d+(?:\.\d+)?)?\s*\*?\s*([a-z])?")


def _words(text: str, *options: str) -> bool:
    lowered = text.lower()
    return any(re.search(rf"\b{re.escape(option)}", lowered) for option in options)


def _param(schema: dict[str, Any], candidates: tuple[str, ...]) -> str:
    """The parameter of a function schema that plays a role (e.g. the ticker), by name."""
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if isinstance(properties, dict):
        for candidate in candidates:
            if candidate in properties:
                return candidate
        required = schema.get("required")
        if isinstance(required, list) and len(required) == 1 and isinstance(required[0], str):
            return required[0]
    return candidates[0]


def _money(value: float) -> str:
    return f"${value:,.2f}"


def _qty(value: float) -> str:
    return f"{value:g}"


# --- what the conversation holds -----------------------------------------------------------------


@dataclass(frozen=True)
class Quote:
    symbol: str
    price: float | None
    problem: str | None


def _output_problem(output: str) -> str | None:
    """Why a tool failed, when its output says so (a JSON error, a failed status, or error words)."""
    try:
        value = json.loads(output)
    except ValueError:
        value = None
    if isinstance(value, dict):
        error = value.get("error")
        if error:
            if isinstance(error, dict):
                return str(error.get("message") or error.get("code") or error)
            return str(error)
        status = str(value.get("status", "")).lower()
        if status in ("failed", "error", "rejected", "denied") or value.get("ok") is False:
            return str(value.get("message") or value.get("reason") or status)
        return None
    if re.search(
        r"\b(error|failed|denied|not allowed|rejected|refused|unknown tool|invalid)\b", output, re.IGNORECASE
    ):
        return output.strip()
    return None


def _quote(outcome: ToolOutcome) -> Quote:
    try:
        arguments = json.loads(outcome.arguments)
    except ValueError:
        arguments = {}
    symbol = ""
    if isinstance(arguments, dict):
        symbol = str(next((v for k, v in arguments.items() if isinstance(v, str)), "")).upper()
    output = outcome.output or ""
    problem = _output_problem(output)
    if problem:
        return Quote(symbol, None, problem)
    price: float | None = None
    try:
        value = json.loads(output)
    except ValueError:
        value = None
    if isinstance(value, dict):
        symbol = str(value.get("symbol") or symbol).upper()
        raw = value.get("price")
        price = float(raw) if isinstance(raw, int | float) and not isinstance(raw, bool) else None
    elif isinstance(value, int | float) and not isinstance(value, bool):
        price = float(value)
    if price is None:
        found = _NUMBER.findall(output)
        price = float(found[-1].replace(",", "")) if found else None
    return Quote(
        symbol, price, None if price is not None else f"no price in the tool output {output.strip()!r}"
    )


def _quotes(outcomes: list[ToolOutcome]) -> list[Quote]:
    return [_quote(o) for o in outcomes if o.name == "get_stock_price" and o.output is not None]


@dataclass(frozen=True)
class Holding:
    symbol: str
    quantity: float
    average_cost: float | None


def _holdings(tables: list[Table]) -> list[Holding]:
    for table in tables:
        if table.kind == "portfolio":
            holdings = []
            symbol_col, qty_col, cost_col = (
                table.column("symbol"),
                table.column("qty"),
                table.column("average_cost"),
            )
            for row in table.rows:
                quantity = number(row.get(qty_col or "", ""))
                if quantity is None:
                    continue
                cost = number(row.get(cost_col or "", "")) if cost_col else None
                holdings.append(Holding(row.get(symbol_col or "", "").upper(), quantity, cost))
            return holdings
    return []


def _table(tables: list[Table], kind: str) -> Table | None:
    return next((table for table in tables if table.kind == kind), None)


# --- the rules ---------------------------------------------------------------------------------------


def decide(context: TurnContext) -> Decision:
    """The next step of the turn: a round of tool calls, or the final answer."""
    tables = [t for t in (parse_table(f.name, f.data) for f in context.files) if t is not None]
    message = context.message
    called = {outcome.name for outcome in context.outcomes}

    price_tool = "get_stock_price" in context.functions
    if price_tool and _words(message, "value", "price", "worth", "quote", "how much"):
        priced = {quote.symbol for quote in _quotes(context.outcomes)}
        tickers = [t for t in _tickers(message, tables) if t not in priced]
        if tickers:
            key = _param(context.functions["get_stock_price"], ("symbol", "ticker", "stock_symbol", "stock"))
            return ToolRound(tuple(ToolCall("get_stock_price", json.dumps({key: t})) for t in tickers))

    address = _EMAIL.search(message)
    if (
        "send_email" in context.functions
        and "send_email" not in called
        and address
        and _words(message, "email", "e-mail", "mail")
    ):
        schema = context.functions["send_email"]
        to_key = _param(schema, ("to", "recipient", "email", "address"))
        content_key = _param(schema, ("content", "body", "html", "message"))
        arguments = {to_key: address.group(0), content_key: _email_report(context, tables)}
        return ToolRound((ToolCall("send_email", json.dumps(arguments)),))

    return _answer(context, tables)


def _tickers(message: str, tables: list[Table]) -> list[str]:
    named = [t for t in dict.fromkeys(_TICKER.findall(message)) if t not in _NOT_TICKERS]
    if named:
        return named
    return [h.symbol for h in _holdings(tables) if h.symbol]


def _latest_quotes(context: TurnContext) -> list[Quote]:
    """The most recent price of each symbol, this turn's first, then earlier turns'."""
    latest: dict[str, Quote] = {}
    for quote in _quotes(context.earlier) + _quotes(context.outcomes):
        if quote.price is not None:
            latest[quote.symbol] = quote
    return list(latest.values())


def _value_lines(quotes: list[Quote], holdings: list[Holding]) -> list[str]:
    owned = {h.symbol: h for h in holdings}
    lines: list[str] = []
    total = 0.0
    for quote in quotes:
        if quote.price is None:
            lines.append(f"- {quote.symbol or 'unknown'}: price unavailable ({quote.problem})")
            continue
        holding = owned.get(quote.symbol)
        if holding is None:
            lines.append(f"- {quote.symbol}: {_money(quote.price)}")
            continue
        value = holding.quantity * quote.price
        total += value
        lines.append(f"- {quote.symbol}: {_qty(holding.quantity)} × {_money(quote.price)} = {_money(value)}")
    if holdings and any(q.symbol in owned and q.price is not None for q in quotes):
        lines.append(f"Total portfolio value: {_money(total)}")
    return lines


def _email_report(context: TurnContext, tables: list[Table]) -> str:
    """An HTML report of the latest results; `&amp;`/`&times;` stay escaped the way models write them."""
    quotes = _latest_quotes(context)
    holdings = {h.symbol: h for h in _holdings(tables)}
    parts = ["<html><body>", "<h2>Portfolio prices &amp; values</h2>"]
    if quotes:
        parts.append("<table><tr><th>Symbol</th><th>Price</th><th>Quantity</th><th>Value</th></tr>")
        total = 0.0
        for quote in quotes:
            assert quote.price is not None
            holding = holdings.get(quote.symbol)
            quantity = _qty(holding.quantity) if holding else "-"
            value = holding.quantity * quote.price if holding else None
            total += value or 0.0
            shown = _money(value) if value is not None else "-"
            parts.append(
                f"<tr><td>{quote.symbol}</td><td>{_money(quote.price)}</td><td>{quantity}</td><td>{shown}</td></tr>"
            )
        parts.append("</table>")
        if total:
            parts.append(f"<p>Total value: {_money(total)} (quantity &times; price).</p>")
    else:
        last = next((text for role, text in reversed(context.transcript) if role == "assistant"), "")
        parts.append(f"<p>{html.escape(last) if last else 'No results yet.'}</p>")
    parts.append("</body></html>")
    return "".join(parts)


def _answer(context: TurnContext, tables: list[Table]) -> Answer:
    message = context.message
    parts: list[str] = []
    charts: list[ChartSpec] = []

    solution = solve_linear(message)
    if solution:
        parts.append(solution)

    this_turn = _quotes(context.outcomes)
    holdings = _holdings(tables)
    if this_turn:
        parts.append("Here are the latest prices:\n" + "\n".join(_value_lines(this_turn, holdings)))

    for outcome in context.outcomes:
        if outcome.name == "send_email" and outcome.output is not None:
            parts.append(_email_outcome(outcome))

    if context.code_interpreter and _words(message, "chart", "plot", "graph"):
        chart = chart_for(context, tables)
        if chart is None:
            parts.append("I could not find numbers in the conversation or the attached files to chart.")
        else:
            charts.append(chart)
            parts.append(f"Here is the chart: {chart.title.lower()}.")

    if (
        not this_turn
        and holdings
        and _words(message, "own", "holding", "my stocks", "my shares", "in my portfolio")
    ):
        listed = ", ".join(f"{h.symbol} ({_qty(h.quantity)} shares)" for h in holdings)
        parts.append(f"You own {len(holdings)} holdings: {listed}.")

    parts.extend(_table_answers(message, tables))

    search: FileSearch | None = None
    cited: SearchHit | None = None
    if not parts and context.search is not None:
        search, cited, found = _from_documents(message, context.search)
        parts.append(found)
    if not parts:
        parts.append(f'You said: "{message.strip()}"')
    text = "\n\n".join(parts)
    name = _ADDRESS_AS.search(context.instructions)
    if name:
        text = f"Hello {name.group(1).strip()}! {text}"
    # The quote is the whole answer (after any greeting), so its citation goes at the end.
    citations = (Citation(len(text), cited),) if cited is not None else ()
    return Answer(text=text, charts=tuple(charts), search=search, citations=citations)


NOT_FOUND = "I could not find anything about that in the documents I can search."
SUPPORT_THRESHOLD = 0.5


def _from_documents(message: str, search: Searcher) -> tuple[FileSearch, SearchHit | None, str]:
    """One file search with the user's message: the best hit quoted if it supports the answer."""
    query = message.strip()
    hits = tuple(search(query))
    best = hits[0] if hits and hits[0].score >= SUPPORT_THRESHOLD else None
    if best is None:
        return FileSearch((query,), hits), None, NOT_FOUND
    return FileSearch((query,), hits), best, f'According to {best.filename}: "{best.text}"'


def _email_outcome(outcome: ToolOutcome) -> str:
    try:
        arguments = json.loads(outcome.arguments)
    except ValueError:
        arguments = {}
    to = (
        next((v for v in arguments.values() if isinstance(v, str) and "@" in v), "the recipient")
        if isinstance(arguments, dict)
        else "the recipient"
    )
    problem = _output_problem(outcome.output or "")
    if problem:
        return f"I could not send the email to {to}: {problem}"
    return f"I sent the report by email to {to}."


def chart_for(context: TurnContext, tables: list[Table]) -> ChartSpec | None:
    """The chart the conversation calls for.

    Gains when prices and an attached portfolio are known, else prices, quantities, bank failures by
    state, revenue by seller, or the numbers in the message.
    """
    quotes = _latest_quotes(context)
    holdings = _holdings(tables)
    owned = {h.symbol: h for h in holdings}
    gains = [
        (q.symbol, (q.price - owned[q.symbol].average_cost) * owned[q.symbol].quantity)  # type: ignore[operator]
        for q in quotes
        if q.symbol in owned and owned[q.symbol].average_cost is not None and q.price is not None
    ]
    if gains:
        return _spec("Portfolio gains by holding", gains, "Gain (USD)", "portfolio_gains.png")
    if quotes:
        return _spec(
            "Stock prices", [(q.symbol, q.price or 0.0) for q in quotes], "Price (USD)", "stock_prices.png"
        )
    if holdings:
        return _spec(
            "Shares held by symbol", [(h.symbol, h.quantity) for h in holdings], "Shares", "holdings.png"
        )
    banks = _table(tables, "banks")
    if banks is not None:
        top = Counter(banks.values("state")).most_common(10)
        return _spec(
            "Bank failures by state (top 10)",
            [(s, float(n)) for s, n in top],
            "Failed banks",
            "bank_failures.png",
        )
    revenue = _revenue_by(tables, "sellers", "sellerid")
    if revenue:
        return _spec("Revenue by seller", revenue, "Revenue (USD)", "revenue_by_seller.png")
    numbers = [float(n.replace(",", "")) for n in _NUMBER.findall(context.message)]
    if numbers:
        return _spec(
            "Values from your message",
            [(str(i + 1), n) for i, n in enumerate(numbers)],
            "Value",
            "values.png",
        )
    return None


def _spec(title: str, pairs: list[tuple[str, float]], ylabel: str, filename: str) -> ChartSpec:
    return ChartSpec(
        title=title,
        labels=tuple(label for label, _ in pairs),
        values=tuple(value for _, value in pairs),
        ylabel=ylabel,
        filename=filename,
    )


# --- attached CSVs --------------------------------------------------------------------------------


def _revenue_by(tables: list[Table], kind: str, key: str) -> list[tuple[str, float]]:
    """Revenue (Qty × Price of orders) per seller or customer name."""
    orders, people = _table(tables, "orders"), _table(tables, kind)
    if orders is None or people is None:
        return []
    names = {
        row.get(people.column(key) or "", ""): row.get(people.column("name") or "", "") for row in people.rows
    }
    totals: dict[str, float] = {}
    for row in orders.rows:
        who = names.get(row.get(orders.column(key) or "", ""), row.get(orders.column(key) or "", ""))
        amount = (number(row.get(orders.column("qty") or "", "")) or 0.0) * (
            number(row.get(orders.column("price") or "", "")) or 0.0
        )
        totals[who] = totals.get(who, 0.0) + amount
    return sorted(totals.items(), key=lambda item: -item[1])


def _table_answers(message: str, tables: list[Table]) -> list[str]:
    answers: list[str] = []
    banks = _table(tables, "banks")
    if banks is not None and _words(message, "bank", "fail", "state"):
        answers.append(_banks_answer(message, banks))
    if _table(tables, "orders") is not None:
        sales = _sales_answer(message, tables)
        if sales:
            answers.append(sales)
    return answers


def _banks_answer(message: str, banks: Table) -> str:
    states = Counter(banks.values("state"))
    total = sum(states.values())
    named = [s for s in _TICKER.findall(message) if len(s) == 2 and s in states]
    if named and _words(message, "how many"):
        return (
            "; ".join(f"{states[s]} banks failed in {s}" for s in named) + f" (of {total} in {banks.name})."
        )
    (top, count), *rest = states.most_common()
    runner_up = f" Next are {', '.join(f'{s} ({n})' for s, n in rest[:2])}." if rest else ""
    return (
        f"{top} had the most bank failures: {count} of the {total} banks listed in {banks.name}.{runner_up}"
    )


def _sales_answer(message: str, tables: list[Table]) -> str | None:
    orders = _table(tables, "orders")
    assert orders is not None
    customers, inventory = _table(tables, "customers"), _table(tables, "inventory")
    lowered = message.lower()
    if customers is not None:
        for row in customers.rows:
            name = row.get(customers.column("name") or "", "")
            if name and name.lower() in lowered:
                return _customer_orders(
                    name, row.get(customers.column("customerid") or "", ""), orders, inventory
                )
    if _words(message, "seller", "salesperson", "sales rep"):
        revenue = _revenue_by(tables, "sellers", "sellerid")
        if revenue:
            (top, amount), *_ = revenue
            listed = ", ".join(f"{who} {_money(value)}" for who, value in revenue)
            return f"The top seller by revenue is {top} with {_money(amount)} (revenue by seller: {listed})."
    if customers is not None and _words(message, "state"):
        state_of = {
            row.get(customers.column("customerid") or "", ""): row.get(customers.column("state") or "", "")
            for row in customers.rows
        }
        totals: dict[str, float] = {}
        for row in orders.rows:
            state = state_of.get(row.get(orders.column("customerid") or "", ""), "unknown")
            totals[state] = totals.get(state, 0.0) + (
                number(row.get(orders.column("qty") or "", "")) or 0.0
            ) * (number(row.get(orders.column("price") or "", "")) or 0.0)
        listed = ", ".join(
            f"{state} {_money(value)}" for state, value in sorted(totals.items(), key=lambda i: -i[1])
        )
        return f"Sales by customer state: {listed}."
    if _words(message, "sales", "revenue", "total", "orders"):
        total = sum(
            (number(row.get(orders.column("qty") or "", "")) or 0.0)
            * (number(row.get(orders.column("price") or "", "")) or 0.0)
            for row in orders.rows
        )
        return f"There are {len(orders.rows)} orders with total revenue of {_money(total)}."
    return None


def _customer_orders(name: str, customer_id: str, orders: Table, inventory: Table | None) -> str:
    items = {}
    if inventory is not None:
        items = {
            row.get(inventory.column("itemid") or "", ""): row.get(inventory.column("description") or "", "")
            for row in inventory.rows
        }
    bought = []
    for row in orders.rows:
        if row.get(orders.column("customerid") or "", "") != customer_id:
            continue
        item = row.get(orders.column("itemid") or "", "")
        quantity = number(row.get(orders.column("qty") or "", "")) or 0.0
        price = number(row.get(orders.column("price") or "", "")) or 0.0
        bought.append(f"{_qty(quantity)} × {items.get(item, 'item ' + item)} at {_money(price)} each")
    if not bought:
        return f"{name} has no orders."
    return f"{name} ordered " + "; ".join(bought) + "."


# --- algebra ----------------------------------------------------------------------------------------


def _linear(side: str) -> tuple[Fraction, Fraction, set[str]]:
    """`side` as coefficient·x + constant, and the variable letters it uses."""
    coefficient, constant, variables = Fraction(0), Fraction(0), set()
    for sign, digits, variable in _SIGNED_TERM.findall(side.replace(" ", "")):
        if not digits and not variable:
            continue
        value = Fraction(digits) if digits else Fraction(1)
        if sign == "-":
            value = -value
        if variable:
            coefficient += value
            variables.add(variable)
        else:
            constant += value
    return coefficient, constant, variables


def _show(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def _term(coefficient: Fraction, variable: str) -> str:
    if coefficient == 1:
        return variable
    if coefficient == -1:
        return f"-{variable}"
    return f"{_show(coefficient)}{variable}"


def solve_linear(message: str) -> str | None:
    """A linear equation in one variable found in `message`, solved step by step; None if there is none."""
    for match in _EQUATION.finditer(message.lower()):
        left, right = match.group(1), match.group(2)
        a, b, left_vars = _linear(left)
        c, d, right_vars = _linear(right)
        variables = left_vars | right_vars
        if len(variables) != 1 or a == c:
            continue
        x = variables.pop()
        steps = []
        coefficient = a - c
        if c != 0:
            left_now = _term(coefficient, x) + (
                f" + {_show(b)}" if b > 0 else f" - {_show(-b)}" if b < 0 else ""
            )
            steps.append(f"Subtract {_term(c, x)} from both sides: {left_now} = {_show(d)}.")
        if b != 0:
            verb = f"Subtract {_show(b)} from" if b > 0 else f"Add {_show(-b)} to"
            steps.append(f"{verb} both sides: {_term(coefficient, x)} = {_show(d - b)}.")
        if coefficient != 1:
            steps.append(f"Divide both sides by {_show(coefficient)}: {x} = {_show((d - b) / coefficient)}.")
        solution = (d - b) / coefficient
        numbered = "\n".join(f"{i}. {step}" for i, step in enumerate(steps, start=1))
        equation = f"{left.strip()} = {right.strip()}"
        return f"Let's solve {equation} step by step:\n{numbered}\nSo {x} = {_show(solution)}."
    return None
