"""The service over loopback: ``python -m benchmarks --suite service [--rows JOBS]``.

``backgrid serve`` runs as its own process with a fresh home (SQLite store, 4 workers, local mode); a
load generator in this process talks HTTP to it, as a user's scripts would.

* S1: JOBS backtest runs (default 1,000), each one year of hourly bars (the ready ``sma-cross`` on
  DEMO-BTC 1h, ``period: 1y``), submitted through the API as fast as it answers; jobs per second from the
  first submission to the last result (target: 50/s on this 2-core machine; seed 001: 10/s). Then the same
  scaled out, where PostgreSQL answers at 127.0.0.1:5432 (database ``test``, a schema of its own, dropped
  after): ``serve`` with the procrastinate executor and no workers of its own, beside ``backgrid worker
  --processes 4``.
* S2: ``GET /api/v1/runs/{id}`` at 200 requests per second for 10 s; p50 and p99 latency (target: p99 <
  20 ms; seed 004: < 100 ms). The load tool is ``hey`` (Debian's package ``hey``) where it is on the PATH, at
  two pacings: one connection sending every 5 ms, and four connections of 50/s each (they fire together:
  bursts of four). Without it, an open-loop generator in this process (a slow answer does not slow the
  senders) measures it, and says so: its own client costs about a millisecond of the same two cores per
  request, which the server's tail then shows.
* S3: a run's submission to its first progress event on ``/events`` and to the event that shows a worker
  running it (target: < 100 ms).
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

from backgrid.strategy.library import load_library
from backgrid.testing import postgres_schema

PORT = 8765
BASE = f"http://127.0.0.1:{PORT}"
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
WORKERS = 4
READ_RATE = 200
READ_SECONDS = 10.0


def _document() -> dict[str, Any]:
    doc = load_library("sma-cross").to_dict()
    doc["market"] = {"symbols": ["DEMO-BTC"], "timeframe": "1h", "period": "1y"}
    return doc


def _environment(home: Path, **settings: str) -> dict[str, str]:
    tiers = {"free": {"runs_per_hour": 1_000_000, "concurrent_runs": 1_000_000,
                      "requests_per_minute": 10_000_000}}
    return {**os.environ, "BACKGRID_HOME": str(home), "BACKGRID_WORKERS": str(WORKERS), "BACKGRID_PORT": str(PORT),
            "BACKGRID_TIERS": json.dumps({**tiers, "pro": tiers["free"]}), "BACKGRID_LOG_LEVEL": "warning",
            **{f"BACKGRID_{name.upper()}": value for name, value in settings.items()}}


def _start(home: Path, command: str = "serve", **settings: str) -> subprocess.Popen[bytes]:
    """``backgrid serve`` (or ``worker``) with ``settings``; serve is started once its API is ready."""
    log = (home / f"{command}.log").open("wb")  # a pipe nobody reads would fill and stall the server
    arguments = ["--processes", str(WORKERS)] if command == "worker" else []
    process = subprocess.Popen([sys.executable, "-m", "backgrid", command, *arguments],  # noqa: S603  # our CLI
                               env=_environment(home, **settings), stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 60
    while command == "serve" and time.time() < deadline:
        try:
            if httpx.get(f"{BASE}/ready", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.2)
    if command == "serve":
        process.kill()
        raise RuntimeError((home / "serve.log").read_text()[-3000:])
    return process


#: how often S1 asks how many runs are done: each answer counts the finished runs, so asking every 50 ms took
#: a fifth of a core from the jobs measured; a quarter second costs 1 % of the 20 s measured at most
POLL_SECONDS = 0.25


def _wait(client: httpx.Client, ids: list[str], timeout: float = 600) -> None:
    pending = set(ids)
    deadline = time.time() + timeout
    while pending and time.time() < deadline:
        done = client.get("/api/v1/runs", params={"limit": 1, "status": "succeeded"}).json()["total"]
        failed = client.get("/api/v1/runs", params={"limit": 1, "status": "failed"}).json()["total"]
        if failed:
            msg = f"{failed} runs failed"
            raise RuntimeError(msg)
        if done >= len(ids):
            return
        time.sleep(POLL_SECONDS)
    msg = f"runs not finished after {timeout} s"
    raise RuntimeError(msg)


def s1(client: httpx.Client, jobs: int) -> dict[str, Any]:
    doc = _document()
    warm = client.post("/api/v1/runs", json={"document": doc}).json()["id"]  # demo bars built, kernels loaded
    _wait(client, [warm])
    started = time.perf_counter()
    ids = [client.post("/api/v1/runs", json={"document": doc}).json()["id"] for _ in range(jobs)]
    submitted = time.perf_counter() - started
    _wait(client, [warm, *ids])
    elapsed = time.perf_counter() - started
    return {"jobs": jobs, "seconds": elapsed, "jobs_per_second": jobs / elapsed,
            "submissions_per_second": jobs / submitted}


async def _reads(run_id: str) -> list[float]:
    latencies: list[float] = []
    async with httpx.AsyncClient(base_url=BASE, limits=httpx.Limits(max_connections=64)) as client:
        async def one() -> None:
            t = time.perf_counter()
            response = await client.get(f"/api/v1/runs/{run_id}")
            response.raise_for_status()
            latencies.append(time.perf_counter() - t)

        tasks = []
        start = time.perf_counter()
        for i in range(int(READ_RATE * READ_SECONDS)):
            delay = start + i / READ_RATE - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one()))
        await asyncio.gather(*tasks)
    return latencies


def _percentiles(latencies: list[float], tool: str) -> dict[str, Any]:
    latencies = sorted(latencies)
    n = len(latencies)
    return {"tool": tool, "requests": n, "rate": n / READ_SECONDS, "p50_ms": 1000 * latencies[n // 2],
            "p99_ms": 1000 * latencies[max(int(n * 0.99) - 1, 0)]}


def _hey(hey: str, run_id: str, connections: int) -> dict[str, Any]:
    """``hey`` for READ_SECONDS at READ_RATE in all over ``connections`` connections: its per-request CSV."""
    command = [hey, "-z", f"{READ_SECONDS:.0f}s", "-c", str(connections), "-q", str(READ_RATE // connections),
               "-o", "csv", f"{BASE}/api/v1/runs/{run_id}"]
    answer = subprocess.run(command, capture_output=True, text=True, check=True)  # noqa: S603  # hey, found on PATH
    rows = list(csv.DictReader(io.StringIO(answer.stdout)))
    if not rows or any(row["status-code"] != "200" for row in rows):
        msg = f"hey: {len(rows)} answers, not all 200"
        raise RuntimeError(msg)
    return _percentiles([float(row["response-time"]) for row in rows], f"hey -c {connections}")


def s2(run_id: str) -> list[dict[str, Any]]:
    hey = shutil.which("hey")
    if hey is None:
        return [_percentiles(asyncio.run(_reads(run_id)), "in-process httpx (no hey on PATH)")]
    return [_hey(hey, run_id, connections) for connections in (1, 4)]


def s3(client: httpx.Client) -> dict[str, Any]:
    first, running = [], []
    for _ in range(20):
        t = time.perf_counter()
        run_id = client.post("/api/v1/runs", json={"document": _document()}).json()["id"]
        seen_first = None
        with client.stream("GET", f"/api/v1/runs/{run_id}/events") as stream:
            for line in stream.iter_lines():
                if not line.startswith("data:"):
                    continue
                state = json.loads(line[5:])
                seen_first = seen_first or time.perf_counter() - t
                if state["status"] != "queued":
                    running.append(time.perf_counter() - t)
                    break
        first.append(seen_first or float("nan"))
        _wait(client, [run_id])
    first.sort()
    running.sort()
    return {"first_event_ms": 1000 * first[len(first) // 2], "running_event_ms": 1000 * running[len(running) // 2]}


def _scaled_s1(rows: int) -> dict[str, Any] | None:
    """S1 with the procrastinate executor on PostgreSQL; None when PostgreSQL does not answer."""
    import sqlalchemy as sa  # noqa: PLC0415  # a dependency of the service

    with ExitStack() as stack:
        try:
            url = stack.enter_context(postgres_schema(POSTGRES, prefix="bench"))
        except sa.exc.OperationalError:
            return None
        home = stack.enter_context(tempfile.TemporaryDirectory())
        scaled = {"database_url": url, "executor": "procrastinate"}
        serve = _start(Path(home), workers="0", **scaled)
        workers = _start(Path(home), "worker", **scaled)
        try:
            with httpx.Client(base_url=BASE, timeout=30) as client:
                return s1(client, rows)
        except Exception:
            print(*((Path(home) / f"{name}.log").read_text()[-3000:] for name in ("serve", "worker")), file=sys.stderr)
            raise
        finally:
            for process in (workers, serve):
                process.terminate()
                process.wait(60)


def run(rows: int = 1000, repeat: int = 1) -> None:  # noqa: ARG001  # one pass: each figure is many samples already
    with tempfile.TemporaryDirectory() as home:
        process = _start(Path(home))
        try:
            with httpx.Client(base_url=BASE, timeout=30) as client:
                one = s1(client, rows)
                last = client.get("/api/v1/runs", params={"limit": 1}).json()["items"][0]["id"]
                reads = s2(last)
                events = s3(client)
        except Exception:
            print((Path(home) / "serve.log").read_text()[-3000:], file=sys.stderr)
            raise
        finally:
            process.terminate()
            process.wait(60)
    scaled = _scaled_s1(rows)
    print(f"service over loopback ({WORKERS} workers, SQLite, {os.cpu_count()} cores)")
    print(f"S1 {one['jobs']:,} one-year hourly backtests: {one['jobs_per_second']:.1f} jobs/s "
          f"({one['seconds']:.1f} s; submissions {one['submissions_per_second']:.0f}/s)  target >= 50/s")
    if scaled is None:
        print(f"S1 scaled out: not measured (no PostgreSQL at {POSTGRES})")
    else:
        print(f"S1 scaled out (PostgreSQL, procrastinate, `backgrid worker --processes {WORKERS}`): "
              f"{scaled['jobs_per_second']:.1f} jobs/s ({scaled['seconds']:.1f} s; submissions "
              f"{scaled['submissions_per_second']:.0f}/s)  target >= 50/s")
    for read in reads:
        print(f"S2 GET a run at {READ_RATE}/s for {READ_SECONDS:.0f} s ({read['tool']}, {read['rate']:.0f}/s "
              f"served): p50 {read['p50_ms']:.1f} ms, p99 {read['p99_ms']:.1f} ms  target p99 < 20 ms")
    print(f"S3 submission to first event {events['first_event_ms']:.1f} ms, to 'running' "
          f"{events['running_event_ms']:.1f} ms (medians of 20)  target < 100 ms")
