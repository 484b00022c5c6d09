"""devhost benchmark: a 100-way fan-out/fan-in under the virtual clock (episodes, replay CPU, wall time).

Run as `python -m bench.devhost` from the repo root.
"""

from __future__ import annotations

import json
import tempfile
import time
import urllib.request
from pathlib import Path

from devhost.testing import run_devhost

APPS = Path(__file__).resolve().parent.parent / "tests" / "devhost" / "apps"


def _call(method: str, url: str, body: object = None) -> tuple[int, dict]:
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    req = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310 - loopback
    with urllib.request.urlopen(req, timeout=60) as resp:  # noqa: S310 - loopback http
        return resp.status, json.loads(resp.read() or b"null")


def fan_out(width: int, state: Path | None = None) -> dict[str, object]:
    """Run one fan-out of `width` activities on a fresh devhost; return its numbers."""
    with run_devhost("durable_app", app_dir=APPS, clock="virtual", state_path=state) as host:
        base = f"{host.url}/runtime/webhooks/durabletask"
        started = time.perf_counter()
        _, created = _call("POST", f"{base}/orchestrators/fan_out", {"n": width})
        host.wait_idle(120)
        wall = time.perf_counter() - started
        _, status = _call("GET", f"{base}/instances/{created['id']}")
        assert status["runtimeStatus"] == "Completed", status
        assert status["output"] == sum(2 * i for i in range(width)), status
        stats = host.stats()
    return {
        "width": width,
        "state": "sqlite" if state else "memory",
        "episodes": stats["episodes"],
        "replay_cpu_ms": stats["replay_cpu_ms"],
        "activities": stats["activities_run"],
        "wall_ms": wall * 1000,
    }


def main() -> None:
    """Print a table for fan-outs of 10 and 100 activities (and 100 with SQLite state)."""
    with tempfile.TemporaryDirectory() as tmp:
        rows = [fan_out(10), fan_out(100), fan_out(100, Path(tmp) / "state.sqlite")]
    print("devhost fan-out/fan-in under the virtual clock")
    header = (
        ("width", 6),
        ("state", 7),
        ("episodes", 9),
        ("replay CPU ms", 14),
        ("activities", 11),
        ("wall ms", 9),
    )
    print(" ".join(f"{name:>{width}}" for name, width in header))
    for r in rows:
        print(
            f"{r['width']:>6} {r['state']:>7} {r['episodes']:>9} {r['replay_cpu_ms']:>14.1f} "
            f"{r['activities']:>11} {r['wall_ms']:>9.1f}"
        )


if __name__ == "__main__":
    main()
