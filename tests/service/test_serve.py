"""`backgrid serve` as a user starts it: a real process on a port, its workers, its SQLite store under a home.

A run goes through HTTP and comes back with the statistics the library computes for the same document; a
serve killed with runs queued and running, and started again on the same home, finishes every one of them.
"""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pandas as pd
import pytest

from backgrid.data.sources.demo import DemoSource
from backgrid.strategy import run as run_strategy
from backgrid.strategy.document import parse
from backgrid.strategy.library import load_library

pytestmark = pytest.mark.slow


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _document() -> dict:
    doc = load_library("sma-cross").to_dict()
    doc["market"]["start"] = "2023-01-01"
    return doc


class Serve:
    """A `backgrid serve` process (its own process group, so a kill takes its workers too)."""

    def __init__(self, home: Path, port: int, workers: int = 2) -> None:
        self.home, self.port, self.base = home, port, f"http://127.0.0.1:{port}"
        env = {**os.environ, "BACKGRID_HOME": str(home), "BACKGRID_PORT": str(port),
               "BACKGRID_WORKERS": str(workers), "BACKGRID_LEASE_SECONDS": "2", "BACKGRID_HEARTBEAT_SECONDS": "0.3"}
        self.log = (home / f"serve-{time.time_ns()}.log").open("wb")
        self.process = subprocess.Popen([sys.executable, "-m", "backgrid", "serve"], env=env, stdout=self.log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/ready", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        self.kill()
        pytest.fail(f"serve did not start:\n{self.output()}")

    def output(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in sorted(self.home.glob("serve-*.log")))

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)
        self.log.close()

    def stop(self) -> float:
        """SIGTERM, as Ctrl-C or a service manager would; the seconds it took to exit."""
        started = time.monotonic()
        self.process.terminate()
        self.process.wait(30)
        self.log.close()
        return time.monotonic() - started


def _left(group: int, seconds: float = 10) -> list[int]:
    """The processes of process group ``group`` still alive (zombies aside) after up to ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        alive = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                state, _parent, pgrp = stat.read_text().rpartition(")")[2].split()[:3]
            except (OSError, ValueError):
                continue  # gone meanwhile
            if int(pgrp) == group and state != "Z":
                alive.append(int(stat.parent.name))
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.1)


def _finished(client: httpx.Client, ids: list[str], timeout: float = 180) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = [client.get(f"/api/v1/runs/{i}").json() for i in ids]
        if all(r["status"] in ("succeeded", "failed", "dead", "cancelled") for r in rows):
            return rows
        time.sleep(0.2)
    pytest.fail(f"runs not finished: {[r['status'] for r in rows]}")


def test_a_run_through_http_has_the_librarys_numbers(tmp_path: Path) -> None:
    serve = Serve(tmp_path, _port())
    try:
        with httpx.Client(base_url=serve.base, timeout=30) as client:
            made = client.post("/api/v1/runs", json={"document": _document()})
            assert made.status_code == 202, made.text
            (row,) = _finished(client, [made.json()["id"]])
            assert row["status"] == "succeeded", row
            stats = client.get(f"/api/v1/runs/{row['id']}/results").json()["stats"][0]
            trades = client.get(f"/api/v1/runs/{row['id']}/trades", params={"limit": 500}).json()
            csv = client.get(f"/api/v1/runs/{row['id']}/artifacts/trades.csv")  # made from trades.parquet
    finally:
        seconds = serve.stop()
    spec = parse(_document())
    data = {"DEMO-SPY": DemoSource().fetch("DEMO-SPY", spec.market.timeframe)}
    expected = run_strategy(spec, data)
    assert stats["total_return"] == float(expected.stats["total_return"])
    assert stats["sharpe_ratio"] == float(expected.stats["sharpe_ratio"])
    assert trades["total"] == len(expected.trades)
    assert [t["pnl"] for t in trades["items"]] == expected.trades["pnl"].tolist()
    assert csv.headers["content-type"].startswith("text/csv")
    table = pd.read_csv(io.StringIO(csv.text))  # CSV keeps every digit: the numbers read back are the same
    assert table["pnl"].tolist() == expected.trades["pnl"].tolist()
    assert seconds < 15, f"serve took {seconds:.1f} s to stop"
    if sys.platform == "linux":  # /proc names each process's group
        assert _left(serve.process.pid, seconds=5) == [], "SIGTERM of serve left its workers running"


@pytest.mark.skipif(sys.platform != "linux", reason="reads the process table from /proc")
def test_the_workers_of_a_killed_serve_stop_by_themselves(tmp_path: Path) -> None:
    serve = Serve(tmp_path, _port())
    assert len(_left(serve.process.pid, seconds=0)) >= 3  # serve, its two workers and the scheduled queue's
    os.kill(serve.process.pid, signal.SIGKILL)  # serve alone, not its group: its workers are orphaned
    serve.process.wait(10)
    serve.log.close()
    assert _left(serve.process.pid) == [], serve.output()


def test_serve_killed_and_started_again_finishes_every_run(tmp_path: Path) -> None:
    port = _port()
    serve = Serve(tmp_path, port)
    with httpx.Client(base_url=serve.base, timeout=30) as client:
        ids = [client.post("/api/v1/runs", json={"document": _document()}).json()["id"] for _ in range(12)]
        deadline = time.monotonic() + 60
        while client.get("/api/v1/runs", params={"status": "running"}).json()["total"] == 0:
            assert time.monotonic() < deadline, serve.output()
            time.sleep(0.05)
        serve.kill()  # the API and its workers, mid-run, with runs still queued
        serve = Serve(tmp_path, port)
        try:
            rows = _finished(client, ids)
            files = {i: [a["name"] for a in client.get(f"/api/v1/runs/{i}/artifacts").json()] for i in ids}
        finally:
            serve.stop()
    assert [r["status"] for r in rows] == ["succeeded"] * len(ids), serve.output()
    assert any(r["attempts"] > 1 for r in rows)  # the runs the kill interrupted ran again
    names = set(files[ids[0]])
    assert {"result.npz", "run.json"} <= names
    assert all(set(f) == names and len(f) == len(names) for f in files.values())  # one set each, no duplicates
    summaries = {json.dumps(r["summary"]["stats"], sort_keys=True) for r in rows}
    assert len(summaries) == 1  # the same document on the same data: the same numbers, whichever attempt
