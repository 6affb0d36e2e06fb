"""Scaled out on the real PostgreSQL: the API queues through procrastinate, `backgrid worker` processes run.

Each test has a schema of its own (procrastinate's tables too) and drops it after; without a PostgreSQL at
127.0.0.1:5432 the tests skip and say so.
"""

from __future__ import annotations

import itertools
import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from backgrid.service.app import create_app
from backgrid.service.jobs.scaled import MAINTENANCE, SWEEP_PRIORITY, make_app
from backgrid.service.schemas import RunIn
from backgrid.service.settings import Settings
from backgrid.service.store.models import Artifact, Run
from backgrid.strategy.library import load_library


def test_the_sweep_runs_every_five_seconds_first_in_line(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, database_url="postgresql+psycopg://nobody@127.0.0.1/none",
                        executor="procrastinate")
    (periodic,) = make_app(settings).periodic_registry.periodic_tasks.values()  # no connection is opened
    cron = periodic.croniter  # what procrastinate's deferrer reads
    cron.set_current(start_time=datetime(2026, 12, 4, 18, 41, 7, tzinfo=UTC).timestamp())  # minute 41: not a 5th
    ticks = [cron.get_next(ret_type=float) for _ in range(4)]
    assert [b - a for a, b in itertools.pairwise(ticks)] == [5.0, 5.0, 5.0]
    assert datetime.fromtimestamp(ticks[0], UTC) == datetime(2026, 12, 4, 18, 41, 10, tzinfo=UTC)
    sweep = periodic.task
    assert (sweep.name, sweep.queue, sweep.queueing_lock) == ("backgrid.sweep", MAINTENANCE, "backgrid.sweep")
    assert sweep.priority == SWEEP_PRIORITY > RunIn.model_fields["priority"].metadata[1].le  # before any run


class Workers:
    """`backgrid worker` processes of the procrastinate executor; a killed one is started again."""

    def __init__(self, home: Path, url: str, count: int) -> None:
        self.env = {**os.environ, "BACKGRID_HOME": str(home), "BACKGRID_DATABASE_URL": url,
                    "BACKGRID_EXECUTOR": "procrastinate", "BACKGRID_LEASE_SECONDS": "2",
                    "BACKGRID_HEARTBEAT_SECONDS": "0.3", "BACKGRID_LOG_LEVEL": "warning"}
        self.home = home
        self.processes = [self._start() for _ in range(count)]

    def _start(self) -> subprocess.Popen[bytes]:
        log = (self.home / f"worker-{time.time_ns()}.log").open("wb")
        process = subprocess.Popen([sys.executable, "-m", "backgrid", "worker", "--queue", "manual"], env=self.env,
                                   stdout=log, stderr=subprocess.STDOUT)
        log.close()  # the child holds its own copy
        return process

    def kill_one(self, pid: int) -> bool:
        for i, process in enumerate(self.processes):
            if process.pid == pid:
                process.send_signal(signal.SIGKILL)
                process.wait(10)
                self.processes[i] = self._start()
                return True
        return False

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()

    def output(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-2000:] for p in sorted(self.home.glob("worker-*.log")))


def _document() -> dict:
    doc = load_library("sma-cross").to_dict()
    doc["market"]["start"] = "2024-01-01"
    return doc


def _jobs(store: Any) -> list[tuple[str, str]]:
    with store.engine.connect() as connection:
        return [tuple(r) for r in connection.execute(sa.text("SELECT queueing_lock, status FROM procrastinate_jobs"))]


@pytest.mark.slow
def test_a_run_and_its_job_are_committed_together_or_not_at_all(tmp_path: Path, postgres_url: str) -> None:
    settings = Settings(home=tmp_path, database_url=postgres_url, executor="procrastinate", workers=0)
    app = create_app(settings)
    context = app.state.context
    with TestClient(app, raise_server_exceptions=False) as client:
        made = client.post("/api/v1/runs", json={"document": _document()})
        assert made.status_code == 202, made.text
        assert _jobs(context.store) == [(made.json()["id"], "todo")]  # its job, waiting, the run id its lock
        deliver = context.dispatch

        def then_fail(*args: Any) -> None:
            deliver(*args)
            msg = "the API process dies after writing the job, before its commit"
            raise RuntimeError(msg)

        context.dispatch = then_fail
        failed = client.post("/api/v1/runs", json={"document": _document()})
        context.dispatch = deliver
        assert failed.status_code == 500
        with context.store.session(write=False) as session:
            assert session.scalars(sa.select(Run.id)).all() == [made.json()["id"]]
        assert _jobs(context.store) == [(made.json()["id"], "todo")]  # no job for a run that was never made


@pytest.mark.slow
def test_kill_9_of_procrastinate_workers_loses_no_run(tmp_path: Path, postgres_url: str) -> None:
    database_url = postgres_url
    settings = Settings(home=tmp_path, database_url=database_url, executor="procrastinate", workers=0,
                        tiers={"free": {"concurrent_runs": 1000}, "pro": {"concurrent_runs": 1000}})
    app = create_app(settings)
    store = app.state.context.store
    workers = Workers(tmp_path, database_url, 2)
    kills = 0
    try:
        with TestClient(app) as client:
            ids = [client.post("/api/v1/runs", json={"document": _document()}).json()["id"] for _ in range(100)]
            deadline = time.monotonic() + 240
            rng = random.Random(7)  # noqa: S311  # which worker to kill, not a secret
            while time.monotonic() < deadline:
                with store.session(write=False) as session:
                    states = dict(session.execute(sa.select(Run.status, sa.func.count()).group_by(Run.status)).all())
                    # a first attempt only: a run killed max_attempts times is rightly dead, not what this tests
                    running = session.scalars(sa.select(Run.worker).where(Run.status == "running",
                                                                          Run.attempts == 1)).all()
                if states.get("succeeded", 0) + states.get("failed", 0) + states.get("dead", 0) == len(ids):
                    break
                if kills < 10 and running:  # SIGKILL a worker holding a run, mid-job
                    kills += workers.kill_one(int(rng.choice(running).rsplit(":", 1)[1]))
                time.sleep(0.1)  # often enough to catch ten runs mid-job (one takes about 0.2 s)
            else:
                pytest.fail(f"runs not finished in 240 s: {states}\n{workers.output()}")
            with store.session(write=False) as session:  # before the app's shutdown closes the store
                rows = session.execute(sa.select(Run.id, Run.status, Run.attempts)).all()
                artifacts = session.execute(sa.select(Artifact.run_id, Artifact.name, Artifact.path)).all()
    finally:
        workers.stop()
    assert kills >= 5, workers.output()
    assert sorted({r.status for r in rows}) == ["succeeded"], ([(r.id, r.status, r.attempts) for r in rows
                                                                if r.status != "succeeded"], states, workers.output())
    assert sum(r.attempts > 1 for r in rows) >= 5  # the killed attempts ran again
    per_run: dict[str, list[str]] = {}
    for run_id, name, path in artifacts:
        per_run.setdefault(run_id, []).append(name)
        attempts = next(r.attempts for r in rows if r.id == run_id)
        assert f"attempt-{attempts}/" in path  # published from the attempt that completed
    names = sorted(per_run[ids[0]])
    assert set(per_run) == set(ids)
    assert all(sorted(v) == names for v in per_run.values())  # one set per run, none twice
