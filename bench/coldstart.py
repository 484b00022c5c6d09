"""Cold import time of `function_app` against a minimal Functions app (`python -X importtime`, fresh processes).

A cold start on Flex Consumption pays the app's import before the first invocation. Each app is imported
in ROUNDS fresh processes (interleaved, so drift hits all alike); the number is the median cumulative
import time of the app module. Baseline: a minimal Functions app importing only `azure.functions`.
Also shown: a minimal Durable Functions app (one orchestrator, one activity) — the floor for any app
built on `azure-functions-durable` — and what ours adds over it, by top-level package.

Run as `python -m bench.coldstart` from the repo root.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from bench.report import ratio, table

ROUNDS = 9
TARGET = 1.5
ROOT = Path(__file__).resolve().parent.parent
LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")

MINIMAL_APP = '''
import azure.functions as func

app = func.FunctionApp()


@app.route(route="health")
def health(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("ok")
'''

MINIMAL_DURABLE_APP = '''
import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)


@app.orchestration_trigger(context_name="context")
def hello(context):
    return (yield context.call_activity("say", "hello"))


@app.activity_trigger(input_name="name")
def say(name: str) -> str:
    return name
'''

# What function_app needs to import (it checks its settings at start-up); values never used.
SETTINGS = {"AZURE_OPENAI_ENDPOINT": "http://127.0.0.1:9", "AZURE_OPENAI_DEPLOYMENT": "gpt-4o"}


def import_profile(module: str, cwd: Path) -> dict[str, tuple[int, int]]:
    """{module: (self µs, cumulative µs)} from one fresh `python -X importtime -c 'import module'`."""
    env = {**os.environ, **SETTINGS, "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"], cwd=cwd, env=env,
                          capture_output=True, text=True, check=True)
    profile: dict[str, tuple[int, int]] = {}
    for line in done.stderr.splitlines():
        m = LINE.match(line)
        if m:
            profile[m.group(4)] = (int(m.group(1)), int(m.group(2)))
    return profile


def added_by_package(ours: dict[str, tuple[int, int]], floor: dict[str, tuple[int, int]]) -> list[tuple[str, float]]:
    """Self time (ms) of the modules ours imports that the Durable floor does not, by top-level package."""
    added: Counter[str] = Counter()
    for name, (self_us, _) in ours.items():
        if name not in floor:
            added[name.split(".")[0]] += self_us
    return [(pkg, us / 1000) for pkg, us in added.most_common()]


def main() -> None:
    """Print the table."""
    apps = [("minimal Functions app (azure.functions only)", "minimal_app"),
            ("minimal Durable Functions app", "minimal_durable_app"),
            ("function_app (ours)", "function_app")]
    times: dict[str, list[float]] = {m: [] for _, m in apps}
    profiles: dict[str, dict[str, tuple[int, int]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        (scratch / "minimal_app.py").write_text(MINIMAL_APP)
        (scratch / "minimal_durable_app.py").write_text(MINIMAL_DURABLE_APP)
        for _ in range(ROUNDS):
            for _, module in apps:
                profile = import_profile(module, ROOT if module == "function_app" else scratch)
                times[module].append(profile[module][1] / 1000)
                profiles[module] = profile
    median = {m: statistics.median(v) for m, v in times.items()}
    base = median["minimal_app"]
    print(f"Cold import time (python -X importtime, median of {ROUNDS} fresh processes each; baseline: the minimal "
          f"Functions app, same run). Target: ours ≤ {TARGET}× the baseline.")
    print()
    rows = [[label, f"{median[m]:.0f}", f"{min(times[m]):.0f}", f"{max(times[m]):.0f}", ratio(median[m], base)]
            for label, m in apps]
    print(table(["app", "median ms", "min ms", "max ms", "vs minimal Functions app"], rows))
    ours, floor = median["function_app"], median["minimal_durable_app"]
    print()
    print(f"target ≤ {TARGET}×: {'met' if ours <= TARGET * base else 'NOT met'} ({ours / base:.2f}×). "
          f"The Durable SDK alone costs {floor / base:.2f}× (azure.durable_functions imports aiohttp, and DFApp "
          f"and its blueprints must exist when the worker indexes the app), so no Durable Functions app can "
          f"meet {TARGET}×; ours adds {ours - floor:.0f} ms ({ours / floor:.2f}×) over that floor.")
    added = added_by_package(profiles["function_app"], profiles["minimal_durable_app"])
    top = ", ".join(f"{pkg} {ms:.1f}" for pkg, ms in added[:10])
    print(f"What ours adds over the floor (self ms, one run, by top-level package): {top}")


if __name__ == "__main__":
    main()
