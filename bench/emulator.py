"""Benchmark: run-retrieve (and response-retrieve) requests per second against the emulator over real HTTP.

The emulator runs as its own process (`python -m emulator`), as the local stack runs it; clients are
a thread pool of keep-alive HTTP connections in this process. Target: >= 500 run retrieves/s on 2 cores.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import httpx2

API_KEY = "bench-key"
API_VERSION = "2024-05-01-preview"
SECONDS = 3.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def emulator_process() -> Iterator[str]:
    """`python -m emulator` on a free port; its URL once it answers."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        sys.executable,
        "-m",
        "emulator",
        "--port",
        str(port),
        "--api-key",
        API_KEY,
        "--polls",
        "0",
        "--quiet",
    ]
    with subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as process:
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    httpx2.get(f"{url}/_emulator/stats", timeout=1)
                    break
                except httpx2.TransportError:
                    if time.monotonic() > deadline or process.poll() is not None:
                        raise RuntimeError("the emulator did not start") from None
                    time.sleep(0.05)
            yield url
        finally:
            process.terminate()
            process.wait(timeout=10)


def _completed_run(url: str) -> str:
    """A finished run; the path that retrieves it."""
    headers = {"api-key": API_KEY}
    query = {"api-version": API_VERSION}
    with httpx2.Client(base_url=f"{url}/openai", headers=headers, params=query) as client:
        assistant = client.post("/assistants", json={"model": "gpt-4o"}).json()["id"]
        run = client.post(
            "/threads/runs",
            json={"assistant_id": assistant, "thread": {"messages": [{"role": "user", "content": "hi"}]}},
        ).json()
        path = f"/openai/threads/{run['thread_id']}/runs/{run['id']}?api-version={API_VERSION}"
        assert client.get(path.removeprefix("/openai")).json()["status"] == "completed"
        return path


def _completed_response(url: str) -> str:
    with httpx2.Client(base_url=f"{url}/openai/v1", headers={"api-key": API_KEY}) as client:
        response = client.post(
            "/responses", json={"model": "gpt-4o", "input": "hi", "background": True}
        ).json()
        return f"/openai/v1/responses/{response['id']}"


def measure(url: str, path: str, workers: int, seconds: float = SECONDS) -> tuple[float, float, float]:
    """Requests per second, p50 and p95 latency (ms) of GET `path` from `workers` keep-alive connections."""
    stop = threading.Event()
    latencies: list[list[float]] = [[] for _ in range(workers)]

    def worker(index: int) -> None:
        with httpx2.Client(base_url=url, headers={"api-key": API_KEY}) as client:
            mine = latencies[index]
            while not stop.is_set():
                started = time.perf_counter()
                response = client.get(path)
                mine.append(time.perf_counter() - started)
                if response.status_code != 200:
                    raise RuntimeError(f"GET {path}: {response.status_code} {response.text[:200]}")

    with ThreadPoolExecutor(workers) as pool:
        futures = [pool.submit(worker, i) for i in range(workers)]
        started = time.perf_counter()
        time.sleep(seconds)
        stop.set()
        for future in futures:
            future.result()
        elapsed = time.perf_counter() - started
    every = sorted(x for mine in latencies for x in mine)
    p95 = every[int(len(every) * 0.95)] if every else 0.0
    return len(every) / elapsed, statistics.median(every) * 1000, p95 * 1000


def main() -> None:
    seconds = float(os.environ.get("BENCH_SECONDS", SECONDS))
    with emulator_process() as url:
        run_path = _completed_run(url)
        response_path = _completed_response(url)
        rows = [
            ("run retrieve", 1, measure(url, run_path, 1, seconds)),
            ("run retrieve", 8, measure(url, run_path, 8, seconds)),
            ("response retrieve", 8, measure(url, response_path, 8, seconds)),
        ]
    print("emulator (python -m emulator, separate process; keep-alive HTTP clients in a thread pool)")
    print(f"{'request':<20}{'connections':>12}{'req/s':>10}{'p50 ms':>9}{'p95 ms':>9}")
    for name, workers, (rate, p50, p95) in rows:
        print(f"{name:<20}{workers:>12}{rate:>10.0f}{p50:>9.2f}{p95:>9.2f}")
    target = rows[1][2][0]
    print(f"target >= 500 run retrieves/s: {'met' if target >= 500 else 'NOT met'} ({target:.0f}/s)")


if __name__ == "__main__":
    main()
