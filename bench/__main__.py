"""`python -m bench`: run every benchmark, print its tables, and write them to bench/results.md.

Each module runs in a fresh process (so a peak RSS or an import time is its own), its output streamed
here as it comes. The results file records the command, the date, the commit and the machine.
"""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.stack import machine

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results.md"
# (module, what it measures, the issue that asked for it)
MODULES = (
    ("polling", "Polling efficiency: calls per turn and detection delay", "#4, #7"),
    ("history", "History events and replay CPU per turn over 1,000 turns", "#7"),
    ("coldstart", "Cold import time of function_app", "#7"),
    ("throughput", "Local stack throughput: 200 conversations × 3 turns", "#7"),
    ("devhost", "devhost: 100-way fan-out/fan-in under the virtual clock", "#2"),
    ("emulator", "emulator: run retrieves per second", "#3"),
)


def run(module: str) -> tuple[int, str, float]:
    """Run `python -m bench.<module>`, echoing its output; (exit code, output, seconds)."""
    started = time.perf_counter()
    lines: list[str] = []
    with subprocess.Popen([sys.executable, "-m", f"bench.{module}"], cwd=ROOT, stdout=subprocess.PIPE,
                          text=True, bufsize=1) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            print(line, end="", flush=True)
            lines.append(line)
    return proc.returncode, "".join(lines), time.perf_counter() - started


def commit() -> str:
    """The checked-out commit (and whether the tree has changes)."""
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True,
                               check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{sha}{' (with uncommitted changes)' if dirty else ''}"


def section(module: str, title: str, issue: str, code: int, output: str, seconds: float) -> str:
    """One module's part of results.md: Markdown tables as they are, plain text in a code block."""
    status = "" if code == 0 else f" — **FAILED (exit {code})**"
    body = output.strip() if "\n|" in output or output.startswith("|") else f"```\n{output.rstrip()}\n```"
    return (f"## {title}{status}\n\n`python -m bench.{module}` (issue {issue}), {seconds:.0f} s\n\n{body}\n")


def main() -> int:
    """Run everything; exit non-zero if any benchmark failed."""
    started = datetime.now(UTC)
    host = machine()
    print(f"make bench · {started:%Y-%m-%d %H:%M} UTC · {host['cpu']}, {host['cores']} cores, "
          f"Python {host['python']}", flush=True)
    parts, failed = [], []
    for module, title, issue in MODULES:
        print(f"\n=== {title} (bench.{module}) ===\n", flush=True)
        code, output, seconds = run(module)
        if code:
            failed.append(module)
        parts.append(section(module, title, issue, code, output, seconds))
    header = (
        "# Benchmark results\n\n"
        f"- command: `make bench` (`python -m bench`)\n"
        f"- date: {started:%Y-%m-%d %H:%M} UTC\n"
        f"- commit: {commit()}\n"
        f"- machine: {host['cpu']}, {host['cores']} cores, {host['os']}; Python {host['python']}\n"
    )
    RESULTS.write_text(header + "\n" + "\n".join(parts))
    print(f"\nwrote {RESULTS.relative_to(ROOT)}" + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
