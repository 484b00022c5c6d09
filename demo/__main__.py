"""`python -m demo [--output DIR]` (what `make demo` runs): the seed's scenarios on the local stack.

Starts Azurite and devhost (which starts the emulator) on free loopback ports, plays every scenario in
`demo.scenarios` through the HTTP API with progress read from the orchestration's custom status, saves
charts, shows what the email Logic App stand-in received, and ends with a table. Exit status 0 when every
turn completed, 1 when one did not, 2 when the stack did not start, 130 when interrupted.
"""

from __future__ import annotations

import argparse
import io
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any

import httpx2

from demo.client import ApiError, Client
from demo.printer import Printer, Row, describe
from demo.scenarios import SCENARIOS, Ask, Scenario
from demo.stack import ROOT, Stack, StackError, running_stack

POLL_SECONDS = 0.2  # how often the demo looks at a running turn (the app's own polling is POLL_MIN_SECONDS)
TURN_SECONDS = 120.0  # the demo gives up waiting on a turn after this


class Demo:
    """Plays the scenarios against a running stack."""

    def __init__(self, client: Client, stack: Stack, printer: Printer, output: Path) -> None:
        self.client = client
        self.stack = stack
        self.printer = printer
        self.output = output

    def play(self) -> list[Row]:
        """Every scenario, in order; one row per turn."""
        rows = []
        for scenario in SCENARIOS:
            self.printer.scenario(scenario)
            conversations: dict[str, str] = {}  # user → conversation id
            for ask in scenario.asks:
                rows.append(self.play_turn(scenario, ask, conversations))
        return rows

    def play_turn(self, scenario: Scenario, ask: Ask, conversations: dict[str, str]) -> Row:
        """Send one message, follow its turn to the end, and show the result."""
        one_user = ask.user == "you"
        label = scenario.assistant if one_user else f"{scenario.assistant} ({ask.user})"
        stem = scenario.assistant if one_user else f"{scenario.assistant}-{ask.user}"
        self.printer.ask(ask)
        started = time.monotonic()
        number = 0
        try:
            emails_before = len(self.client.inbox(self.stack.emulator_url))
            cid, number = self.client.send(ask.message, scenario.assistant, conversations.get(ask.user))
            conversations[ask.user] = cid
            self.printer.accepted(cid, number)
            turn = self.follow(cid, number, started)
            status, calls = (turn["status"], len(turn["tool_calls"])) if turn else ("timed out", 0)
            row = Row(label, number, status, calls, time.monotonic() - started)
            self.printer.finished(row, turn)
            if turn is not None:
                self.save_images(turn, stem)
                for entry in self.client.inbox(self.stack.emulator_url)[emails_before:]:
                    self.printer.received(entry)
            return row
        except (ApiError, httpx2.HTTPError) as exc:
            row = Row(label, number, "error", 0, time.monotonic() - started)
            self.printer.finished(row, None)
            self.printer.line(f"  {exc}")
            return row

    def follow(self, conversation_id: str, number: int, started: float) -> dict[str, Any] | None:
        """Poll the turn until it is final, showing the orchestration's progress; None if it takes too long."""
        while (turn := self.client.turn(conversation_id, number)) is None:
            elapsed = time.monotonic() - started
            if elapsed > TURN_SECONDS:
                return None
            self.printer.progress(elapsed, describe(self.client.progress(conversation_id), number))
            time.sleep(POLL_SECONDS)
        return turn

    def save_images(self, turn: dict[str, Any], label: str) -> None:
        """Download the turn's images from /api/files/{id} into the output folder."""
        images = [p for m in turn["messages"] for p in m["content"] if p["type"] == "image"]
        for i, image in enumerate(images, start=1):
            data, content_type = self.client.download(image["url"])
            suffix = f"-{i}" if len(images) > 1 else ""
            path = self.output / f"{label}-turn{turn['turn']}{suffix}.png"
            path.write_bytes(data)
            self.printer.saved(path, len(data), content_type)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo; the exit status says whether every turn completed."""
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, default=ROOT / "demo-output",
                        help="folder for charts and the devhost log (default: demo-output/)")
    args = parser.parse_args(argv)
    output: Path = args.output
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(errors="replace")  # answers hold × and ›: never crash on a narrow terminal
    signal.signal(signal.SIGTERM, _interrupt)  # so that `finally` stops the stack on SIGTERM too
    printer = Printer(sys.stdout)
    started = time.monotonic()
    try:
        with running_stack(output) as stack:
            printer.banner(stack, output)
            client = Client(stack.url)
            try:
                rows = Demo(client, stack, printer, output).play()
            finally:
                client.close()
    except StackError as exc:
        print(f"demo: the local stack did not start: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ndemo: interrupted; the local stack is stopped", file=sys.stderr)
        return 130
    printer.table(rows, time.monotonic() - started, stack.backend, output)
    return 0 if all(r.status == "completed" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
