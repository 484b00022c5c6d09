"""`python -m demo` for real: the local stack starts, every scenario's turns complete, nothing is left behind."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from demo.scenarios import SCENARIOS

ROOT = Path(__file__).resolve().parents[2]
BACKENDS = ("responses", "assistants")
RUN_SECONDS = 240.0
# A row of the summary table: columns are at least two spaces apart.
_ROW = re.compile(r"^(?P<assistant>.+?) {2,}(?P<turn>\d+) {2,}(?P<status>.+?) {2,}(?P<calls>\d+) {2,}[\d.]+$")


@dataclass
class DemoRun:
    """One `python -m demo` process, its output folder and a marker in its environment."""

    process: subprocess.Popen[bytes]
    output: Path
    marker: str

    @property
    def stdout(self) -> str:
        """What it printed so far."""
        return (self.output / "stdout.txt").read_text(encoding="utf-8")

    @property
    def stderr(self) -> str:
        """What it printed to stderr so far."""
        return (self.output / "stderr.txt").read_text(encoding="utf-8")

    def table(self) -> list[tuple[str, int, str, int]]:
        """The summary table's rows: assistant, turn, status, tool calls."""
        lines = self.stdout.splitlines()
        start = next(i for i, line in enumerate(lines) if re.match(r"assistant\s+turn\s+status", line))
        rows = [m for line in lines[start + 1:] if (m := _ROW.match(line))]
        return [(m["assistant"], int(m["turn"]), m["status"], int(m["calls"])) for m in rows]

    def ports(self) -> list[int]:
        """Every port the banner says the stack listened on (devhost, emulator, Azurite)."""
        banner = self.stdout.split("━━", 1)[0]
        found = re.findall(r"127\.0\.0\.1:(\d+)|(?:blob|queue|table) (\d+)", banner)
        return [int(url_port or azurite_port) for url_port, azurite_port in found]

    def survivors(self) -> list[str]:
        """Command lines of processes that still carry this run's marker in their environment."""
        found = []
        for proc in Path("/proc").iterdir():
            try:
                if proc.name.isdigit() and self.marker.encode() in (proc / "environ").read_bytes():
                    found.append((proc / "cmdline").read_bytes().replace(b"\0", b" ").decode())
            except OSError:  # gone meanwhile, or not ours
                continue
        return found


def start_demo(output: Path, **env: str) -> DemoRun:
    """Start `python -m demo` in a session of its own (as a terminal would run it), output into files."""
    output.mkdir(parents=True, exist_ok=True)
    marker = f"demo-test-{uuid.uuid4().hex}"
    with (output / "stdout.txt").open("wb") as out, (output / "stderr.txt").open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "demo", "--output", str(output)],
            cwd=ROOT, env={**os.environ, "DEMO_TEST_MARKER": marker, **env},
            stdout=out, stderr=err, start_new_session=True,
        )
    return DemoRun(process=process, output=output, marker=marker)


def stop(run: DemoRun) -> None:
    """Make sure a run is over, whatever the test did."""
    if run.process.poll() is None:
        os.killpg(run.process.pid, signal.SIGKILL)
    run.process.wait(timeout=30)


def listening(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:port."""
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def expected_rows() -> list[tuple[str, int]]:
    """(assistant, turn) for every message of every scenario, in order."""
    rows, turns = [], {}
    for scenario in SCENARIOS:
        for ask in scenario.asks:
            key = (scenario.assistant, ask.user)
            turns[key] = turns.get(key, 0) + 1
            label = scenario.assistant if ask.user == "you" else f"{scenario.assistant} ({ask.user})"
            rows.append((label, turns[key]))
    return rows


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, DemoRun]]:
    """The demo on each backend, to the end; side by side (each stack on its own free ports) to save time."""
    started = {b: start_demo(tmp_path_factory.mktemp(b), ASSISTANTS_BACKEND=b) for b in BACKENDS}
    try:
        for run in started.values():
            run.process.wait(timeout=RUN_SECONDS)
        yield started
    finally:
        for run in started.values():
            stop(run)


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_turn_of_every_scenario_completes(runs: dict[str, DemoRun], backend: str) -> None:
    """Exit status 0 and a table row per message, each completed, with the portfolio's tool rounds."""
    run = runs[backend]
    assert run.process.returncode == 0, run.stdout + run.stderr
    assert f"backend {backend}" in run.stdout
    table = run.table()
    assert [(a, t) for a, t, _, _ in table] == expected_rows()
    assert {s for _, _, s, _ in table} == {"completed"}
    calls = {(a, t): c for a, t, _, c in table}
    assert calls[("portfolio", 2)] == 6  # one get_stock_price per holding, in one round
    assert calls[("portfolio", 4)] == 1  # send_email


@pytest.mark.parametrize("backend", BACKENDS)
def test_progress_and_answers_are_printed(runs: dict[str, DemoRun], backend: str) -> None:
    """Progress from the custom status while turns run, then the answers the scenarios are about."""
    out = runs[backend].stdout
    assert re.search(r"… +[\d.]+ s  polling · run status in_progress · polls \d", out)
    # (the tools phase lasts a fraction of a poll, so whether the demo catches it is chance: not asserted)
    assert "tool get_stock_price {\"symbol\": \"MSFT\"} → succeeded" in out
    assert "Total portfolio value: $" in out
    assert "Hello Jane Doe!" in out
    assert "x = 1" in out
    assert re.search(r"assistant › [A-Z]{2} had the most bank failures: \d+ of the \d+ banks", out)
    assert "Jane Smith ordered" in out
    assert "25 days of paid annual leave" in out
    assert re.search(r"cited \S*leave-policy\.md\S* → /api/files/\S+|cited 【\S+】 → /api/files/\S+", out)
    assert "could not find anything about that" in out


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_chart_is_saved_as_a_png(runs: dict[str, DemoRun], backend: str) -> None:
    """The chart turn's image is downloaded from /api/files/{id} and saved as a real PNG."""
    run = runs[backend]
    (chart,) = run.output.glob("portfolio-turn3*.png")
    assert f"image saved → {chart}" in run.stdout
    with Image.open(chart) as picture:
        assert picture.format == "PNG"
        assert picture.size[0] > 200


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_email_logic_app_stand_in_received_the_report(runs: dict[str, DemoRun], backend: str) -> None:
    """The stand-in got the HTML report for the allowed address, with an Idempotency-Key."""
    out = runs[backend].stdout
    assert re.search(r"Logic App stand-in received: to jane@example\.com · Idempotency-Key [0-9a-f]+:\S+", out)
    assert "<html><body>" in out


@pytest.mark.parametrize("backend", BACKENDS)
def test_nothing_is_left_running(runs: dict[str, DemoRun], backend: str) -> None:
    """After the demo, no process of its stack is alive and every port it used is free."""
    run = runs[backend]
    assert len(run.ports()) == 5  # devhost, emulator, Azurite blob/queue/table
    assert [p for p in run.ports() if listening(p)] == []
    assert run.survivors() == []


@pytest.mark.parametrize(
    ("signum", "group"),
    [(signal.SIGINT, True), (signal.SIGTERM, False)],
    ids=["ctrl-c", "sigterm"],
)
def test_an_interrupted_demo_stops_the_whole_stack(tmp_path: Path, signum: int, group: bool) -> None:
    """Ctrl-C (SIGINT to the foreground group) or SIGTERM while a turn runs: exit 130, nothing left alive."""
    run = start_demo(tmp_path)
    try:
        deadline = time.monotonic() + RUN_SECONDS
        while "polling · run status" not in run.stdout:
            assert run.process.poll() is None, run.stdout + run.stderr
            assert time.monotonic() < deadline, run.stdout
            time.sleep(0.1)
        assert all(listening(p) for p in run.ports())
        assert len(run.survivors()) >= 4  # the demo, Azurite, devhost, the emulator: the marker finds them
        if group:
            os.killpg(run.process.pid, signum)  # what a terminal sends its foreground process group
        else:
            run.process.send_signal(signum)
        assert run.process.wait(timeout=60) == 130
    finally:
        stop(run)
    assert "interrupted" in run.stderr
    assert [p for p in run.ports() if listening(p)] == []
    assert run.survivors() == []


def test_a_stack_that_cannot_start_is_reported_and_stopped(tmp_path: Path) -> None:
    """A malformed setting: devhost refuses to start, the demo says why, exits 2, leaves nothing behind."""
    run = start_demo(tmp_path, POLL_MIN_SECONDS="soon")
    try:
        assert run.process.wait(timeout=RUN_SECONDS) == 2
    finally:
        stop(run)
    assert "the local stack did not start" in run.stderr
    assert "POLL_MIN_SECONDS" in run.stderr
    assert run.survivors() == []
