"""History per turn: events, episodes and orchestrator replay CPU at turns 1, 10, 100 and 1,000 of one conversation.

One conversation gets 1,000 messages (all queued as fast as the API takes them) and plays them on the
virtual clock; `host.executions()` says what each execution (one turn each: the orchestration continues
as new after every turn) cost. Flat is the goal: turn 1,000 within 20 % of turn 1, the baseline.
Replay CPU of one turn is a few milliseconds, so next to each turn's own number the table gives the
median of the ten turns ending there (turn 1 has no earlier turns).

Run as `python -m bench.history` from the repo root.
"""

from __future__ import annotations

import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench.report import ratio, table
from bench.stack import local_stack

TURNS = 1_000
MARKS = (1, 10, 100, 1_000)
WINDOW = 10


def play(turns: int = TURNS) -> list[dict[str, Any]]:
    """Play `turns` turns in one conversation; the executions that ran a turn, in turn order."""
    with local_stack() as stack:
        first = stack.http.post("/api/conversations", json={"message": "What is 1 + 1?", "assistant": "math-tutor"})
        first.raise_for_status()
        cid = first.json()["conversation_id"]

        def post(n: int) -> int:
            resp = stack.http.post(f"/api/conversations/{cid}/messages", json={"message": f"What is {n} + {n}?"})
            resp.raise_for_status()
            return int(resp.json()["turn"])

        with ThreadPoolExecutor(4) as pool:
            numbers = sorted(pool.map(post, range(2, turns + 1)))
        assert numbers == list(range(2, turns + 1)), "turn numbers must be contiguous"
        last = stack.wait_turn(cid, turns, timeout=1200)
        assert last["status"] == "completed", last
        stack.host.wait_idle(120)
        executions = [e for e in stack.host.executions(cid) if e["status"] == "ContinuedAsNew"]
    # An execution that found no message waiting only slept until one came (two episodes): not a turn.
    ran = [e for e in executions if e["episodes"] > 2]
    assert len(ran) == turns, f"{len(ran)} executions ran a turn, expected {turns}"
    return ran


def main() -> None:
    """Print the table."""
    started = time.perf_counter()
    ran = play()
    wall = time.perf_counter() - started
    base = ran[0]
    print(f"History per turn in one {TURNS:,}-turn conversation (devhost, virtual clock; baseline: turn 1, the "
          f"same run). Goal: turn {TURNS:,} within 20 % of turn 1.")
    print()
    rows = []
    for mark in MARKS:
        e = ran[mark - 1]
        window = [x["replay_cpu_ms"] for x in ran[max(0, mark - WINDOW):mark]]
        median = statistics.median(window)
        rows.append([mark, e["events"], ratio(e["events"], base["events"]), e["episodes"],
                     f"{e['replay_cpu_ms']:.2f}", ratio(e["replay_cpu_ms"], base["replay_cpu_ms"]),
                     f"{median:.2f}" if mark > 1 else "", ratio(median, base["replay_cpu_ms"]) if mark > 1 else ""])
    print(table(["turn", "history events", "vs turn 1", "episodes", "replay CPU ms", "vs turn 1",
                 f"median CPU ms, {WINDOW} turns to here", "vs turn 1"], rows))
    last = ran[-1]
    window = statistics.median(x["replay_cpu_ms"] for x in ran[-WINDOW:])
    events_ok = last["events"] <= 1.2 * base["events"]
    cpu_ok = window <= 1.2 * base["replay_cpu_ms"]
    print()
    print(f"turn {TURNS:,} vs turn 1: events {'met' if events_ok else 'NOT met'} "
          f"({last['events']} vs {base['events']}), replay CPU {'met' if cpu_ok else 'NOT met'} "
          f"(median of the last {WINDOW} turns {window:.2f} ms vs {base['replay_cpu_ms']:.2f} ms); "
          f"every turn's events: min {min(e['events'] for e in ran)}, max {max(e['events'] for e in ran)} "
          f"({wall:.0f} s wall)")


if __name__ == "__main__":
    main()
