"""The worker: its loop, heartbeat, retries and dead letter, and its command line, with fake kinds."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from backgrid.service.jobs.context import JobContext, Outcome
from backgrid.service.jobs.lease import Claim
from backgrid.service.jobs.worker import Worker, main
from backgrid.service.settings import Settings
from backgrid.service.store.db import Store
from backgrid.service.store.models import Run
from tests.service.conftest import artifact_rows, insert_run, run_row, sleepy, stall


def flaky(claim: Claim, ctx: JobContext) -> Outcome:
    """Fails its first two attempts as a crashed dependency would, then works."""
    if claim.attempt < 3:
        msg = f"the broker went away (attempt {claim.attempt})"
        raise ConnectionError(msg)
    return sleepy(claim, ctx)


def broken(claim: Claim, ctx: JobContext) -> Outcome:
    """Always fails with an error a retry might fix."""
    del ctx  # the kind's signature; it fails before any work
    msg = f"attempt {claim.attempt} ran out of disk"
    raise OSError(msg)


def spinning(claim: Claim, ctx: JobContext) -> Outcome:
    """Checks in every 10 ms without progress (nothing to store: only the heartbeat sees a cancel) for 20 s."""
    for _ in range(2000):
        time.sleep(0.01)
        ctx.progress(0.0)
    return sleepy(claim, ctx)


def _spinning(store: Store, settings: Settings) -> tuple[str, Worker, threading.Thread]:
    """A run being worked by a kind that spins until it is stopped."""
    run_id = insert_run(store, kind="fake")
    worker = Worker(settings, execute=spinning, store=store)
    thread = threading.Thread(target=worker.run_once)
    thread.start()
    while run_row(store, run_id).status != "running":
        time.sleep(0.005)
    return run_id, worker, thread


def test_the_heartbeat_sees_a_cancel_within_a_second(store: Store, settings: Settings) -> None:
    run_id, worker, thread = _spinning(store, settings)
    time.sleep(0.3)
    with store.engine.begin() as conn:
        conn.execute(sa.update(Run.__table__).values(cancel_requested=True))
    asked = time.monotonic()
    thread.join(10)
    assert time.monotonic() - asked < 1.0
    assert run_row(store, run_id).status == "cancelled"
    assert worker.outcomes == {"cancelled": 1}


def test_the_loop_runs_every_queued_run_then_idles(store: Store, settings: Settings) -> None:
    runs = [insert_run(store, kind="fake", request={"seconds": 0.01}) for _ in range(5)]
    other = insert_run(store, kind="fake", queue="scheduled")
    worker = Worker(settings, execute=sleepy, store=store, name="loop")
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    deadline = time.monotonic() + 20
    while worker.outcomes["succeeded"] < 5:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    late = insert_run(store, kind="fake", request={"seconds": 0.01})  # found by the idle loop's next poll
    while worker.outcomes["succeeded"] < 6:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    stop.set()
    thread.join(5)
    assert not thread.is_alive()
    for run_id in [*runs, late]:
        row = run_row(store, run_id)
        assert (row.status, row.worker, row.progress, row.summary["attempt"]) == ("succeeded", "loop", 1.0, 1)
        assert [a.path for a in artifact_rows(store, run_id)] == [f"{run_id}/attempt-1/a.json",
                                                                  f"{run_id}/attempt-1/b.txt"]
    assert run_row(store, other).status == "queued"
    assert worker.run_once() is False


def test_the_heartbeat_holds_a_run_longer_than_its_lease(store: Store, settings: Settings) -> None:
    run_id = insert_run(store, kind="fake", request={"seconds": 2.5 * settings.lease_seconds})
    holder = Worker(settings, execute=stall, store=store, name="holder")
    thread = threading.Thread(target=holder.run_once)
    thread.start()
    time.sleep(1.5 * settings.lease_seconds)
    assert Worker(settings, execute=stall, store=store, name="thief").run_once() is False
    thread.join(10)
    row = run_row(store, run_id)
    assert (row.status, row.attempts, row.worker) == ("succeeded", 1, "holder")
    assert row.heartbeat_at > row.started_at + settings.lease_seconds


def test_retries_then_succeeds(store: Store, settings: Settings) -> None:
    run_id = insert_run(store, kind="fake", max_attempts=3)
    worker = Worker(settings, execute=flaky, store=store)
    while worker.run_once():
        pass
    row = run_row(store, run_id)
    assert (row.status, row.attempts, row.summary["attempt"]) == ("succeeded", 3, 3)
    assert worker.outcomes == {"queued": 2, "succeeded": 1}
    assert [a.path.split("/")[1] for a in artifact_rows(store, run_id)] == ["attempt-3", "attempt-3"]


def test_exhausted_retries_go_to_the_dead_letter_with_the_error(store: Store, settings: Settings) -> None:
    run_id = insert_run(store, kind="fake", max_attempts=2)
    worker = Worker(settings, execute=broken, store=store)
    while worker.run_once():
        pass
    row = run_row(store, run_id)
    assert (row.status, row.attempts) == ("dead", 2)
    assert row.error == {"error": "attempt 2 ran out of disk", "code": "o_s_error", "details": None}


def test_an_unknown_kind_fails(store: Store, settings: Settings) -> None:
    run_id = insert_run(store, kind="dance")
    assert Worker(settings, store=store).run_once()
    row = run_row(store, run_id)
    assert (row.status, row.error["code"]) == ("failed", "request_error")
    assert "expected one of backtest, sweep, optimise" in row.error["error"]


def test_main_runs_one(store: Store, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    run_id = insert_run(store, kind="dance", queue="scheduled")
    monkeypatch.setenv("BACKGRID_HOME", str(settings.home))
    assert main(["--queue", "scheduled", "--once", "--name", "cli"]) == 0
    row = run_row(store, run_id)
    assert (row.status, row.worker) == ("failed", "cli")


def test_the_worker_on_postgresql(postgres_store: Store, settings: Settings) -> None:
    run_id = insert_run(postgres_store, kind="fake", request={"seconds": 0.01})
    worker = Worker(settings, execute=sleepy, store=postgres_store, name="pg")
    assert worker.run_once()
    row = run_row(postgres_store, run_id)
    assert (row.status, row.worker, row.summary["attempt"]) == ("succeeded", "pg", 1)
    assert len(artifact_rows(postgres_store, run_id)) == 2


def test_a_run_taken_over_stops_its_old_attempt(store: Store, settings: Settings) -> None:
    run_id, worker, thread = _spinning(store, settings)
    with store.engine.begin() as conn:  # as another worker's claim of an expired lease does
        conn.execute(sa.update(Run.__table__).values(attempts=Run.__table__.c.attempts + 1, worker="other"))
    taken = time.monotonic()
    thread.join(10)
    assert time.monotonic() - taken < 1.0
    assert worker.outcomes == {"lost": 1}
    row = run_row(store, run_id)
    assert (row.status, row.worker, row.summary) == ("running", "other", None)
