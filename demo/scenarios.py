"""What the demo plays: each scenario is one assistant and what its users ask it, in order."""

from __future__ import annotations

from dataclasses import dataclass

# local.settings.json.example allows @example.com in EMAIL_ALLOWED_RECIPIENTS (the allowlist is default deny).
EMAIL_TO = "jane@example.com"


@dataclass(frozen=True)
class Ask:
    """One message from one user; each user of a scenario talks in a conversation of their own."""

    message: str
    user: str = "you"


@dataclass(frozen=True)
class Scenario:
    """An assistant (a TOML file in assistants/), what the demo shows with it, and the messages sent to it."""

    assistant: str
    shows: str
    asks: tuple[Ask, ...]


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "portfolio",
        "holdings from portfolio.csv, a get_stock_price round, a chart, an email via the Logic App",
        (
            Ask("What stocks do I own?"),
            Ask("What is the current value of my portfolio?"),
            Ask("Chart the gains of my stocks"),
            Ask(f"Send an HTML email report to {EMAIL_TO}"),
        ),
    ),
    Scenario(
        "math-tutor",
        "code interpreter, and per-run instructions (address the user as Jane Doe)",
        (Ask("I need to solve the equation `3x + 11 = 14`. Can you help me?"),),
    ),
    Scenario(
        "failed-banks",
        "an answer computed from failed_banks.csv (whose header is not UTF-8)",
        (Ask("What State had the most bank failures?"),),
    ),
    Scenario(
        "handbook",
        "file_search over the company's own documents: a quoted, cited answer, and one it cannot find",
        (
            Ask("How many days of paid annual leave do I get?"),
            Ask("Does the company pay for pet insurance?"),
        ),
    ),
    Scenario(
        "sales",
        "two users, each in a conversation of their own, over four related CSV files",
        (
            Ask("Which seller has the highest sales?", user="ana"),
            Ask("What did Jane Smith order?", user="bob"),
            Ask("What are our sales by customer state?", user="ana"),
            Ask("What is our total revenue?", user="bob"),
        ),
    ),
)
