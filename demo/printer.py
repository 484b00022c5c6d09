"""How the demo shows what happens: turns with live progress, answers, tool calls, files, and a summary table."""

from __future__ import annotations

import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from demo.scenarios import Ask, Scenario
from demo.stack import Stack

SHORT = 100  # characters of a tool call's arguments or output shown


@dataclass(frozen=True)
class Row:
    """One line of the summary table."""

    assistant: str
    turn: int
    status: str
    tool_calls: int
    seconds: float


def describe(status: dict[str, Any] | None, turn: int) -> str | None:
    """One line from the orchestration's custom status; None once the conversation is idle after `turn`."""
    if not status or status.get("turn") != turn:
        return "queued"
    if status.get("phase") == "idle":
        return None
    parts = [str(status.get("phase"))]
    for key, value in status.items():
        if key in ("conversation_id", "turn", "phase"):
            continue
        if isinstance(value, list):
            value = ", ".join(f"{name} ×{n}" if n > 1 else str(name) for name, n in Counter(value).items())
        parts.append(f"{key.replace('_', ' ')} {value}")
    return " · ".join(parts)


def _short(text: str, limit: int = SHORT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Printer:
    """Writes to `out`; on a terminal progress is one updating line, elsewhere one line per change."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.tty = out.isatty()
        self.shown: str | None = None

    @staticmethod
    def path(path: Path) -> str:
        """`path` relative to the working directory when it is below it."""
        try:
            return str(path.resolve().relative_to(Path.cwd()))
        except ValueError:
            return str(path)

    def line(self, text: str = "") -> None:
        """One line, flushed so that a reader sees it at once."""
        self.out.write(text + "\n")
        self.out.flush()

    def banner(self, stack: Stack, output: Path) -> None:
        """Where the local stack runs."""
        ports = " · ".join(f"{service} {port}" for service, port in sorted(stack.azurite_ports.items()))
        self.line(f"Durable Assistants demo · backend {stack.backend}")
        self.line(f"  devhost   {stack.url}/api (log: {self.path(stack.log)})")
        self.line(f"  emulator  {stack.emulator_url} (started by devhost)")
        self.line(f"  Azurite   127.0.0.1 {ports}")
        self.line(f"  output    {self.path(output)}/")

    def scenario(self, scenario: Scenario) -> None:
        """A scenario's heading."""
        self.line()
        self.line(f"━━ {scenario.assistant} ━━ {scenario.shows}")

    def ask(self, ask: Ask) -> None:
        """The user's message, before it is sent."""
        self.line(f"{ask.user} › {ask.message}")

    def accepted(self, conversation_id: str, turn: int) -> None:
        """Which conversation and turn the message became."""
        self.line(f"  → conversation {conversation_id[:8]}…, turn {turn}")
        self.shown = None

    def progress(self, seconds: float, text: str | None) -> None:
        """The turn's progress while it runs."""
        if text is None:
            return
        if self.tty:  # one line, cut to the terminal's width so that \r can rewrite it
            width = shutil.get_terminal_size().columns - 1
            self.out.write("\r\x1b[K" + f"  … {seconds:4.1f} s  {text}"[:width])
            self.out.flush()
        elif text != self.shown:
            self.line(f"  … {seconds:4.1f} s  {text}")
        self.shown = text

    def finished(self, row: Row, turn: dict[str, Any] | None) -> None:
        """How the turn ended, then its tool calls and its answer."""
        if self.tty:
            self.out.write("\r\x1b[K")
        mark = "✓" if row.status == "completed" else "✗"
        self.line(f"  {mark} {row.status} in {row.seconds:.1f} s")
        if turn is None:
            return
        for call in turn["tool_calls"]:
            self.line(f"  tool {call['name']} {_short(call['arguments'])} → {call['status']}: "
                      f"{_short(call['output'] or '')}")
        if turn.get("error"):
            self.line(f"  error {turn['error']['code']}: {turn['error']['message']}")
        for message in turn["messages"]:
            for part in message["content"]:
                if part["type"] == "text":
                    head, *rest = part["text"].splitlines() or [""]
                    self.line(f"  assistant › {head}")
                    for more in rest:
                        self.line(f"              {more}".rstrip())
                    for note in part.get("annotations", []):
                        if note["type"] == "file_citation":
                            source = note.get("filename") or note.get("text") or note["file_id"]
                            self.line(f"  cited {source} → {note['url']}")

    def saved(self, path: Path, size: int, content_type: str) -> None:
        """A file of the turn, downloaded from /api/files/{id}."""
        self.line(f"  image saved → {self.path(path)} ({size / 1024:.0f} KB, {content_type})")

    def received(self, entry: dict[str, Any]) -> None:
        """What the email Logic App stand-in received."""
        headers = {k.lower(): v for k, v in entry["headers"].items()}
        body = entry["body"] if isinstance(entry["body"], dict) else {}
        self.line(f"  Logic App stand-in received: to {body.get('to')} · "
                  f"Idempotency-Key {headers.get('idempotency-key')}")
        self.line(f"    {_short(str(body.get('content', '')), 110)}")

    def table(self, rows: list[Row], seconds: float, backend: str, output: Path) -> None:
        """The summary: assistant, turn, status, tool calls, seconds."""
        width = max(len("assistant"), *(len(r.assistant) for r in rows)) if rows else len("assistant")
        self.line()
        self.line(f"{'assistant':<{width}}  turn  {'status':<10}  tool calls  seconds")
        for r in rows:
            self.line(f"{r.assistant:<{width}}  {r.turn:>4}  {r.status:<10}  {r.tool_calls:>10}  {r.seconds:>7.1f}")
        done = sum(r.status == "completed" for r in rows)
        self.line(f"{len(rows)} turns, {done} completed, in {seconds:.1f} s on the {backend} backend; "
                  f"files in {self.path(output)}/")
