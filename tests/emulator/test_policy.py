"""The default policy's rules, one scenario of the seed each."""

from __future__ import annotations

import html
import json

import pytest

from emulator.policy import (
    NOT_FOUND,
    SUPPORT_THRESHOLD,
    Answer,
    AttachedFile,
    Citation,
    FileSearch,
    Searcher,
    SearchHit,
    ToolOutcome,
    ToolRound,
    TurnContext,
    decide,
    solve_linear,
)
from tests.emulator.conftest import EMAIL_TOOL, PRICE_TOOL, data

FUNCTIONS = {t["function"]["name"]: t["function"]["parameters"] for t in (PRICE_TOOL, EMAIL_TOOL)}


def _file(name: str) -> AttachedFile:
    return AttachedFile(name, data(name).read_bytes())


def _prices(*symbols: str, price: float = 100.0) -> list[ToolOutcome]:
    return [
        ToolOutcome("get_stock_price", json.dumps({"symbol": s}), json.dumps({"symbol": s, "price": price}))
        for s in symbols
    ]


def _answer(context: TurnContext) -> str:
    decision = decide(context)
    assert isinstance(decision, Answer)
    return decision.text


def test_portfolio_value_calls_every_ticker_in_one_round() -> None:
    """A value question with a portfolio attached calls get_stock_price once per holding, in parallel."""
    decision = decide(
        TurnContext("What is my portfolio worth?", functions=FUNCTIONS, files=[_file("portfolio.csv")])
    )
    assert isinstance(decision, ToolRound)
    assert [json.loads(c.arguments) for c in decision.calls] == [
        {"symbol": s} for s in ("MSFT", "AAPL", "AMZN", "TSLA", "NFLX", "NVDA")
    ]


def test_tickers_named_in_the_message_win() -> None:
    """Upper-case tickers in the message are the ones priced; the ticker parameter is read from the schema."""
    functions = {
        "get_stock_price": {
            "type": "object",
            "properties": {"ticker": {"type": "string"}},
            "required": ["ticker"],
        }
    }
    decision = decide(
        TurnContext(
            "What is the price of MSFT and IBM today?", functions=functions, files=[_file("portfolio.csv")]
        )
    )
    assert isinstance(decision, ToolRound)
    assert [c.arguments for c in decision.calls] == ['{"ticker": "MSFT"}', '{"ticker": "IBM"}']


def test_prices_arrived_answer_uses_quantities_and_total() -> None:
    """With outputs in, the answer shows quantity × price per holding and the total value."""
    text = _answer(
        TurnContext(
            "What is my portfolio worth?",
            functions=FUNCTIONS,
            files=[_file("portfolio.csv")],
            outcomes=_prices("MSFT", "AAPL", "AMZN", "TSLA", "NFLX", "NVDA"),
        )
    )
    assert "MSFT: 300 × $100.00 = $30,000.00" in text
    assert "AAPL: 200 × $100.00 = $20,000.00" in text
    assert "Total portfolio value: $78,000.00" in text


def test_failed_price_is_reported() -> None:
    """A tool error for one ticker is said, not hidden."""
    outcome = ToolOutcome("get_stock_price", '{"symbol": "XYZ"}', '{"error": {"message": "unknown symbol"}}')
    text = _answer(TurnContext("price of XYZ", functions=FUNCTIONS, outcomes=[outcome]))
    assert "XYZ: price unavailable (unknown symbol)" in text


def test_email_after_prices_sends_an_html_report() -> None:
    """An address and "email" call send_email with an HTML report; entities are escaped like models do."""
    context = TurnContext(
        "Value my portfolio and email it to bob@example.com",
        functions=FUNCTIONS,
        files=[_file("portfolio.csv")],
        outcomes=_prices("MSFT", "AAPL", "AMZN", "TSLA", "NFLX", "NVDA"),
    )
    decision = decide(context)
    assert isinstance(decision, ToolRound)
    (call,) = decision.calls
    arguments = json.loads(call.arguments)
    assert call.name == "send_email"
    assert arguments["to"] == "bob@example.com"
    assert "&amp;" in arguments["content"]
    assert "Portfolio prices & values" in html.unescape(arguments["content"])
    assert "<td>MSFT</td><td>$100.00</td><td>300</td><td>$30,000.00</td>" in arguments["content"]


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ('{"status": "sent"}', "I sent the report by email to bob@example.com."),
        (
            '{"error": "recipient not allowed"}',
            "I could not send the email to bob@example.com: recipient not allowed",
        ),
        ("Error: SMTP down", "I could not send the email to bob@example.com: Error: SMTP down"),
    ],
)
def test_email_outcome_is_reported_honestly(output: str, expected: str) -> None:
    """The final message says whether the email went out, and why not."""
    outcome = ToolOutcome("send_email", json.dumps({"to": "bob@example.com", "content": "x"}), output)
    assert expected in _answer(
        TurnContext("email bob@example.com the report", functions=FUNCTIONS, outcomes=[outcome])
    )


def test_chart_of_gains_with_prices_in_the_conversation() -> None:
    """ "Chart" with code interpreter charts (price − Average_Cost) × QTY per symbol from earlier prices."""
    decision = decide(
        TurnContext(
            "Plot a chart of my gains",
            code_interpreter=True,
            files=[_file("portfolio.csv")],
            earlier=_prices("MSFT", "TSLA", price=250.0),
        )
    )
    assert isinstance(decision, Answer)
    (chart,) = decision.charts
    assert chart.labels == ("MSFT", "TSLA")
    assert chart.values == ((250 - 200) * 300, (250 - 900) * 100)
    assert "gains" in chart.title.lower()


def test_no_chart_without_code_interpreter() -> None:
    """Without the code interpreter tool there is no image."""
    decision = decide(TurnContext("Plot a chart of my holdings", files=[_file("portfolio.csv")]))
    assert isinstance(decision, Answer)
    assert decision.charts == ()


@pytest.mark.parametrize(
    ("message", "solution"),
    [
        ("I need to solve the equation `3x + 11 = 14`. Can you help me?", "So x = 1."),
        ("solve 2y - 4 = y + 6", "So y = 10."),
        ("What is 5z = 2?", "So z = 2/5."),
    ],
)
def test_linear_equations_are_solved_step_by_step(message: str, solution: str) -> None:
    """A linear equation in one variable is solved with numbered steps."""
    text = solve_linear(message)
    assert text is not None
    assert text.endswith(solution)
    assert "1. " in text


def test_instructions_name_the_user() -> None:
    """ "Address the user as Jane Doe" in the instructions makes the answer address Jane Doe."""
    text = _answer(
        TurnContext("hi", instructions="Please address the user as Jane Doe. The user has a premium account.")
    )
    assert text.startswith("Hello Jane Doe! ")


def test_failed_banks_question_is_computed_from_the_file() -> None:
    """The state with most failures comes from failed_banks.csv (non-UTF-8 header) with its count."""
    text = _answer(TurnContext("What State had the most bank failures?", files=[_file("failed_banks.csv")]))
    assert text.startswith("GA had the most bank failures: 93 of the 568 banks listed in failed_banks.csv.")
    count = _answer(TurnContext("How many banks failed in CA?", files=[_file("failed_banks.csv")]))
    assert "banks failed in CA" in count


SALES = ["customers.csv", "inventory.csv", "orders.csv", "sellers.csv"]


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("Who is the top seller by revenue?", "The top seller by revenue is Deepak Usman with $5,010.00"),
        ("Show sales by state", "Sales by customer state: NY $5,010.00, FL $1,502.50."),
        ("What did Jane Smith order?", "Jane Smith ordered 20 × AMD Ryzen 7 Desktop at $250.50 each."),
        ("What are total sales?", "There are 2 orders with total revenue of $6,512.50."),
    ],
)
def test_sales_questions(question: str, answer: str) -> None:
    """Sales questions are answered by joining the four sales CSVs."""
    assert answer in _answer(TurnContext(question, files=[_file(n) for n in SALES]))


def test_holdings_are_listed() -> None:
    """ "What do I own" lists symbols and quantities."""
    text = _answer(TurnContext("What do I own?", files=[_file("portfolio.csv")]))
    assert "MSFT (300 shares)" in text
    assert "NVDA (50 shares)" in text


def test_fallback_quotes_the_message_and_unfit_tools_are_not_called() -> None:
    """A message no rule fits gets a short reply quoting it, even with function tools offered."""
    decision = decide(TurnContext("Tell me a joke", functions=FUNCTIONS))
    assert decision == Answer('You said: "Tell me a joke"')


HIT = SearchHit("file-1", "vacation.md", 1.0, "Employees earn 25 vacation days.")
WEAK = SearchHit("file-2", "expenses.md", 0.2, "Meals are reimbursed.")


def _searcher(*hits: SearchHit) -> tuple[Searcher, list[str]]:
    """A search returning `hits`, and the queries it was asked."""
    asked: list[str] = []

    def search(query: str) -> list[SearchHit]:
        asked.append(query)
        return list(hits)

    return search, asked


def test_file_search_quotes_the_best_supporting_hit() -> None:
    """With file_search and nothing else answering, the best hit is quoted and cited at the quote's end."""
    search, asked = _searcher(HIT, WEAK)
    decision = decide(TurnContext(" How many vacation days? ", search=search))
    text = 'According to vacation.md: "Employees earn 25 vacation days."'
    assert decision == Answer(
        text,
        search=FileSearch(("How many vacation days?",), (HIT, WEAK)),
        citations=(Citation(len(text), HIT),),
    )
    assert asked == ["How many vacation days?"]


def test_file_search_below_the_threshold_says_it_cannot_find() -> None:
    """Only weak hits (below SUPPORT_THRESHOLD): the answer says so and cites nothing; no hits alike."""
    assert WEAK.score < SUPPORT_THRESHOLD
    weak = decide(TurnContext("Can I work remotely?", search=_searcher(WEAK)[0]))
    assert weak == Answer(NOT_FOUND, search=FileSearch(("Can I work remotely?",), (WEAK,)))
    none = decide(TurnContext("Can I work remotely?", search=_searcher()[0]))
    assert isinstance(none, Answer)
    assert none.text == NOT_FOUND
    assert none.citations == ()


def test_other_rules_win_over_file_search() -> None:
    """An equation is solved, not searched; the greeting from instructions moves the citation with it."""
    search, asked = _searcher(HIT)
    assert "So x = 1." in _answer(TurnContext("Solve 3x + 11 = 14", search=search))
    assert asked == []
    greeted = decide(TurnContext("vacation days?", instructions="Address the user as Jane.", search=search))
    assert isinstance(greeted, Answer)
    assert greeted.text.startswith("Hello Jane! According to vacation.md")
    assert greeted.citations == (Citation(len(greeted.text), HIT),)
