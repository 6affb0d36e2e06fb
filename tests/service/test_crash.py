"""Crashes: workers killed with SIGKILL mid-job lose no run and publish one artifact set each; a worker stopped
past its lease (SIGSTOP) finds its late completion refused."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from backgrid.service.jobs.pool import WorkerPool
from backgrid.service.jobs.worker import Worker
from backgrid.service.settings import Settings
from backgrid.service.store.db import Store
from backgrid.service.store.models import FINISHED_STATES, Run
from tests.service.conftest import artifact_rows, insert_run, run_row, sleepy, stall, threads

pytestmark = pytest.mark.slow

RUNS = 100
KILLS = 25


def _running_pids(store: Store) -> set[int]:
    """The processes of the workers that hold a running run now (their names are host:pid)."""
    table = Run.__table__
    with store.engine.connect() as conn:
        names = conn.execute(sa.select(table.c.worker).where(table.c.status == "running")).scalars()
        return {int(name.rsplit(":", 1)[1]) for name in names if name}


def _until(done: Callable[[], bool], seconds: float, every: float, say: Callable[[], str] = str) -> None:
    """Wait until ``done()``, looking every ``every`` seconds; fail with ``say()`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, say()
        time.sleep(every)


def _finished(store: Store) -> int:
    table = Run.__table__
    with store.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).where(table.c.status.in_(FINISHED_STATES))).scalar_one()


def test_kill_9_mid_job_loses_no_run_and_duplicates_no_artifact(store: Store, settings: Settings) -> None:
    runs = [insert_run(store, kind="fake", request={"seconds": 0.1}, max_attempts=KILLS + 5) for _ in range(RUNS)]
    rng = random.Random(7)  # noqa: S311  # which worker to kill, not a secret
    kills = 0
    deadline = time.monotonic() + 90
    with WorkerPool(settings, processes=2, execute=sleepy) as pool:
        while _finished(store) < RUNS:
            assert time.monotonic() < deadline, f"{_finished(store)} of {RUNS} runs finished"
            time.sleep(0.2)
            victims = sorted(_running_pids(store) & set(pool.pids))
            if kills < KILLS and victims:
                os.kill(rng.choice(victims), signal.SIGKILL)
                kills += 1
        restarts = pool.restarts
    assert kills == KILLS
    assert restarts >= KILLS
    retried = 0
    for run_id in runs:
        row = run_row(store, run_id)
        assert row.status == "succeeded", (row.status, row.error)
        assert row.summary["attempt"] == row.attempts
        retried += row.attempts - 1
        paths = [a.path for a in artifact_rows(store, run_id)]
        assert paths == [f"{run_id}/attempt-{row.attempts}/a.json", f"{run_id}/attempt-{row.attempts}/b.txt"]
    assert retried >= KILLS // 2  # most kills hit a run mid-job (some land just after it ended), which ran again
    print(f"{kills} kills, {restarts} restarts, {retried} attempts run again")  # noqa: T201  # seen with -s
    assert len(artifact_rows(store)) == 2 * RUNS


def _one_run(settings: Settings, results: Any) -> None:
    """A worker process that runs one claim with the stalling kind and says how its attempt ended."""
    worker = Worker(settings, execute=stall)
    while not worker.run_once():
        time.sleep(0.01)
    results.put(dict(worker.outcomes))


def test_a_worker_stopped_past_its_lease_cannot_complete_late(store: Store, settings: Settings) -> None:
    run_id = insert_run(store, kind="fake", request={"seconds": 2.0})
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    stalled = context.Process(target=_one_run, args=(settings, results))
    stalled.start()
    try:
        _until(lambda: run_row(store, run_id).status == "running", 30, every=0.005)
        os.kill(stalled.pid, signal.SIGSTOP)
        assert run_row(store, run_id).worker.endswith(f":{stalled.pid}")
        while run_row(store, run_id).lease_expires_at >= time.time():
            time.sleep(0.05)
        assert Worker(settings, execute=sleepy, store=store, name="rescuer").run_once()
        os.kill(stalled.pid, signal.SIGCONT)
        assert results.get(timeout=30) == {"fenced": 1}
    finally:
        os.kill(stalled.pid, signal.SIGCONT)
        stalled.join(10)
    row = run_row(store, run_id)
    assert (row.status, row.attempts, row.worker) == ("succeeded", 2, "rescuer")
    assert row.summary == {"pid": os.getpid(), "attempt": 2}
    assert (settings.artifacts / run_id / "attempt-1" / "finished").read_text() == str(stalled.pid)  # it did finish
    assert [a.path for a in artifact_rows(store, run_id)] == [f"{run_id}/attempt-2/a.json",
                                                              f"{run_id}/attempt-2/b.txt"]


def test_a_thousand_queued_runs_with_four_workers_give_a_thousand_results(store: Store, settings: Settings) -> None:
    runs = {insert_run(store, kind="fake", request={"seconds": 0.0}) for _ in range(1000)}
    with WorkerPool(settings, processes=4, execute=sleepy) as pool:
        _until(lambda: _finished(store) == len(runs), 120, every=0.2,
               say=lambda: f"{_finished(store)} of {len(runs)} runs finished")
        assert pool.restarts == 0
    table = Run.__table__
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(table.c.id, table.c.status, table.c.attempts, table.c.summary)).all()
    assert {r.id for r in rows} == runs
    assert {(r.status, r.attempts) for r in rows} == {("succeeded", 1)}  # each ran once, none failed
    assert len({r.summary["pid"] for r in rows}) == 4  # all four workers took runs
    artifacts = artifact_rows(store)
    assert len(artifacts) == 2 * len(runs)
    assert {a.path for a in artifacts} == {f"{r}/attempt-1/{n}" for r in runs for n in ("a.json", "b.txt")}


def test_the_workers_of_serve_run_below_the_api_on_one_thread_each(store: Store, settings: Settings) -> None:
    run_id = insert_run(store, kind="fake", request={})
    ours = os.getpriority(os.PRIO_PROCESS, 0)
    with WorkerPool(settings.model_copy(update={"worker_nice": 3, "worker_threads": 1}), processes=1,
                    execute=threads):
        _until(lambda: run_row(store, run_id).status == "succeeded", 60, every=0.05)
    summary = run_row(store, run_id).summary
    assert summary["pid"] != os.getpid()
    assert (summary["nice"], summary["numba_threads"], summary["numba_threads_elsewhere"]) == (min(ours + 3, 19), 1, 1)
