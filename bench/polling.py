"""Polling efficiency: model API calls (retrieves) per turn and detection delay, ours vs two baselines.

Runs of 2, 10, 60 and 300 s are played by the emulator (script `duration_seconds`) on the devhost's
virtual clock. Each nominal duration D is played by RUNS runs whose durations are spread evenly over
D ± max(0.5 s, 25 %), so their ends fall at every phase of each poller's cycle and p95 means something.

- ours: the conversation orchestration through devhost (durable timers: POLL_MIN + 10 % of the time
  waited, capped at POLL_MAX, honouring `openai-poll-after-ms`), on each backend. Calls = `poll_run`
  activities of the turn; detection = the virtual time of the poll that saw the run finished.
- seed: the seed's loop, `runs.retrieve` then `time.sleep(5)`, through the real `openai` SDK.
- create_and_poll: the SDK's `runs.create_and_poll` (1 s, honouring `openai-poll-after-ms`).
The baselines' sleeps are patched to advance the same virtual clock (the seed loop's sleep is passed in;
the SDK's `SyncAPIResource._sleep` is patched). The emulator answers `openai-poll-after-ms: 1000`.

Run as `python -m bench.polling` from the repo root.
"""

from __future__ import annotations

import statistics
import time
import uuid
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from unittest import mock

from bench.report import percentile, ratio, table
from bench.stack import API_KEY, LocalStack, environment, local_stack, parse_time

NOMINAL = (2, 10, 60, 300)
RUNS = 20
POLL_AFTER_MS = 1000
SEED_SLEEP_SECONDS = 5.0
API_VERSION = "2024-05-01-preview"
RETRIEVE = "GET /openai/threads/{thread_id}/runs/{run_id}"
TERMINAL = {"completed", "failed", "cancelled", "expired", "incomplete", "requires_action"}
POLLERS = ("ours (responses)", "ours (assistants)", "seed loop (sleep 5 s)", "create_and_poll (1 s)")
BASELINE = "create_and_poll (1 s)"


@dataclass(frozen=True)
class Sample:
    """One run: how long it took, how many retrieves the poller made, how late it saw the end."""

    nominal: int
    duration: float
    calls: int
    delay: float

    @property
    def goal(self) -> float:
        """The detection goal for this run: 1 s + 10 % of its duration."""
        return 1.0 + 0.1 * self.duration


def durations(nominal: float) -> list[float]:
    """RUNS durations spread evenly over nominal ± max(0.5 s, 25 %)."""
    spread = max(0.5, 0.25 * nominal)
    return [nominal - spread + 2 * spread * (k + 0.5) / RUNS for k in range(RUNS)]


def tag() -> str:
    """A unique word a script matches on."""
    return f"bench-{uuid.uuid4().hex[:12]}"


def script(stack: LocalStack, word: str, seconds: float) -> None:
    """The next run whose message holds `word` finishes `seconds` after it was created, whatever the polls."""
    stack.emulator.add_script({"match": {"contains": word}, "steps": [{"message": "done"}],
                               "polls_before_done": 0, "duration_seconds": seconds})


def run_started(stack: LocalStack, conversation_id: str) -> float:
    """When the emulator created the run/response of our conversation's turn (its clock, seconds)."""

    def read(state: Any) -> list[float]:
        records = [*state.assistants.runs.values(), *state.responses.responses.values()]
        return [r.pacing.started for r in records if (r.metadata or {}).get("conversation_id") == conversation_id]

    found = stack.emulator.call(read)
    if len(found) != 1:
        raise RuntimeError(f"expected one run, found {len(found)}")
    return float(found[0])


# --- ours -----------------------------------------------------------------------------------------


def ours(stack: LocalStack, backend: str, nominal: int) -> list[Sample]:
    """RUNS conversations at once, one turn each; calls and detection read from each turn's history."""
    plan = [(tag(), d) for d in durations(nominal)]
    for word, seconds in plan:
        script(stack, word, seconds)

    def start(word: str) -> str:
        resp = stack.http.post("/api/conversations", json={"message": f"What is 2 + 2? {word}",
                                                            "assistant": "math-tutor"})
        resp.raise_for_status()
        return str(resp.json()["conversation_id"])

    with environment({"ASSISTANTS_BACKEND": backend}), ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(start, [w for w, _ in plan]))
    for cid in ids:
        turn = stack.wait_turn(cid)
        if turn["status"] != "completed":
            raise RuntimeError(f"{cid}: {turn['status']} {turn.get('error')}")
    stack.host.wait_idle(120)  # every execution that ran a turn has ended (continued as new)
    samples = []
    for cid, (_, seconds) in zip(ids, plan, strict=True):
        calls, seen_at = polls(stack, cid)
        started = run_started(stack, cid)
        samples.append(Sample(nominal, seconds, calls, seen_at - (started + seconds)))
    return samples


def polls(stack: LocalStack, conversation_id: str) -> tuple[int, float]:
    """The turn's `poll_run` calls and the virtual time the last one answered."""
    execution = next(e for e in stack.host.executions(conversation_id, with_history=True) if e["episodes"] > 2)
    history = execution["history"]
    scheduled = {e["EventId"]: e.get("Name") for e in history if e["EventType"] == 4}  # TaskScheduled
    done = [e for e in history if e["EventType"] == 5 and scheduled.get(e["TaskScheduledId"]) == "poll_run"]
    return len(done), parse_time(done[-1]["Timestamp"])


# --- baselines -------------------------------------------------------------------------------------


def baselines(stack: LocalStack, nominal: int) -> dict[str, list[Sample]]:
    """The seed's loop and `create_and_poll`, one run at a time, sleeping on the virtual clock."""
    from openai import AzureOpenAI
    from openai._resource import SyncAPIResource

    clock = stack.host.clock

    def sleep(seconds: float) -> None:
        clock.advance(seconds)  # type: ignore[attr-defined]

    client = AzureOpenAI(azure_endpoint=stack.emulator.url, api_version=API_VERSION, api_key=API_KEY,
                         max_retries=0)
    runs = client.beta.threads.runs
    assistant = client.beta.assistants.create(model="gpt-4o", name="bench-baseline")
    out: dict[str, list[Sample]] = {"seed loop (sleep 5 s)": [], BASELINE: []}
    for seconds in durations(nominal):
        for name in out:
            word = tag()
            script(stack, word, seconds)
            thread = client.beta.threads.create(messages=[{"role": "user", "content": f"What is 2 + 2? {word}"}])
            before = retrieves(stack)
            if name == BASELINE:
                with mock.patch.object(SyncAPIResource, "_sleep", lambda _, s: sleep(s)):
                    run = runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
            else:
                run = seed_loop(client, thread.id, assistant.id, sleep)
            seen_at = clock.now().timestamp()
            calls = retrieves(stack) - before
            started = run_start(stack, run.id)
            out[name].append(Sample(nominal, seconds, calls, seen_at - (started + seconds)))
    return out


def seed_loop(client: Any, thread_id: str, assistant_id: str, sleep: Callable[[float], None]) -> Any:
    """The seed's polling: create the run, then retrieve it every 5 s until it stops."""
    run = client.beta.threads.runs.create(thread_id=thread_id, assistant_id=assistant_id)
    while True:
        run = client.beta.threads.runs.retrieve(thread_id=thread_id, run_id=run.id)
        if run.status in TERMINAL:
            return run
        sleep(SEED_SLEEP_SECONDS)


def retrieves(stack: LocalStack) -> int:
    """Run retrieves the emulator has served."""
    return int(stack.emulator.stats()["requests"].get(RETRIEVE, 0))


def run_start(stack: LocalStack, run_id: str) -> float:
    """When the emulator created run `run_id`."""
    return float(stack.emulator.call(lambda state: state.assistants.runs[run_id].pacing.started))


# --- the table -------------------------------------------------------------------------------------


def measure() -> dict[str, list[Sample]]:
    """Every poller on every nominal duration."""
    results: dict[str, list[Sample]] = {p: [] for p in POLLERS}
    with warnings.catch_warnings(), local_stack(poll_after_ms=POLL_AFTER_MS) as stack:
        warnings.simplefilter("ignore", DeprecationWarning)  # the Assistants API is sunset; the seed used it
        for nominal in NOMINAL:
            results["ours (responses)"] += ours(stack, "responses", nominal)
            results["ours (assistants)"] += ours(stack, "assistants", nominal)
            for name, samples in baselines(stack, nominal).items():
                results[name] += samples
    return results


def rows(results: dict[str, list[Sample]], nominal: int | None) -> list[list[object]]:
    """Table rows for one nominal duration (None: all runs)."""

    def pick(name: str) -> list[Sample]:
        return [s for s in results[name] if nominal is None or s.nominal == nominal]

    base_calls = statistics.fmean(s.calls for s in pick(BASELINE))
    out: list[list[object]] = []
    for name in POLLERS:
        samples = pick(name)
        calls = statistics.fmean(s.calls for s in samples)
        delays = [s.delay for s in samples]
        within = sum(s.delay <= s.goal + 1e-6 for s in samples)
        p95 = percentile(delays, 95)
        goal = f"≤ {1 + 0.1 * nominal:.1f}" if nominal is not None else "1 s + 10 %"
        calls_ok = "met" if calls <= base_calls / 3 + 1e-9 else "NOT met"
        delay_ok = "met" if within >= 0.95 * len(samples) else "NOT met"
        label = f"{nominal} s" if nominal is not None else "all"
        out.append([label, name, len(samples), f"{calls:.1f}", ratio(calls, base_calls),
                    calls_ok if name.startswith("ours") else "", f"{percentile(delays, 50):.2f}", f"{p95:.2f}",
                    goal, f"{within}/{len(samples)}", delay_ok if name.startswith("ours") else ""])
    return out


def main() -> None:
    """Print the polling table."""
    started = time.perf_counter()
    results = measure()
    print(f"Polling efficiency: retrieves per turn and detection delay (virtual clock, {RUNS} runs per duration, "
          f"durations spread over D ± max(0.5 s, 25 %); the emulator sends openai-poll-after-ms: {POLL_AFTER_MS})")
    print("Baselines through the real openai SDK; their sleeps advance the virtual clock (seed loop: sleep passed "
          "in; create_and_poll: SyncAPIResource._sleep patched).")
    print()
    headers = ["run", "poller", "runs", "calls/turn", "vs create_and_poll", "calls ≤ ⅓", "delay p50 s",
               "delay p95 s", "goal p95 s", "within own goal", "delay goal"]
    body = [r for nominal in NOMINAL for r in rows(results, nominal)] + rows(results, None)
    print(table(headers, body))
    print()
    print("Why the ⅓-of-calls goal fails for short runs: to see a run end within 1 s + 10 % of its duration, "
          "the wait after a poll at elapsed t can be at most 1 + 0.1·t s; ours waits exactly that (POLL_MIN 1 s + "
          "10 %), so no poller meeting the delay goal makes fewer calls. That is about log₁.₁(1 + D/10) polls "
          "against create_and_poll's D + 1: under a third only from about 70 s on (300 s is capped by "
          "POLL_MAX 15 s). For 2-60 s runs the two goals cannot both be met; we keep the delay goal.")
    print(f"({time.perf_counter() - started:.0f} s wall)")


if __name__ == "__main__":
    main()
