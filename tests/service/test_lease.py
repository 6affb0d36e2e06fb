"""The lease: claim order, re-claims of expired leases, fenced completion, retries and the dead letter."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from backgrid.service.jobs import lease
from backgrid.service.jobs.lease import ArtifactFile, LeaseLost
from backgrid.service.store.db import Store
from backgrid.service.store.models import Run
from tests.service.conftest import artifact_rows, insert_run, run_row


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, store: Store) -> Store:
    """Each lease test on a SQLite file and on PostgreSQL (skipped when it is not reachable)."""
    return store if request.param == "sqlite" else request.getfixturevalue("postgres_store")


ARTIFACT = ArtifactFile(name="a.json", media_type="application/json", size=3, sha256="0" * 64, path="x/a.json")


def _claim(store: Store, lease_seconds: float = 30.0, **kwargs: object) -> lease.Claim | None:
    return lease.claim(store, queue="manual", worker="w1", lease_seconds=lease_seconds, **kwargs)  # type: ignore[arg-type]


def _expire(store: Store, run_id: str) -> None:
    """Move the run's lease into the past (as if its worker stopped a while ago)."""
    with store.engine.begin() as conn:
        conn.execute(sa.update(Run.__table__).where(Run.__table__.c.id == run_id)
                     .values(lease_expires_at=time.time() - 1))


def test_claims_by_priority_then_age(store: Store) -> None:
    old = insert_run(store, created_at=100.0)
    new = insert_run(store, created_at=200.0)
    urgent = insert_run(store, priority=5, created_at=300.0)
    insert_run(store, queue="scheduled", priority=9, created_at=50.0)  # another queue's
    order = [c.run_id for c in iter(lambda: _claim(store), None)]
    assert order == [urgent, old, new]


def test_claim_holds_the_run_and_names_the_attempt(store: Store) -> None:
    run_id = insert_run(store, kind="sweep", request={"document": {"x": 1}})
    claim = _claim(store, lease_seconds=30.0)
    assert claim is not None
    assert (claim.run_id, claim.attempt, claim.kind, claim.request) == (run_id, 1, "sweep", {"document": {"x": 1}})
    row = run_row(store, run_id)
    assert (row.status, row.attempts, row.worker) == ("running", 1, "w1")
    assert row.lease_expires_at == pytest.approx(time.time() + 30, abs=2)
    assert row.started_at is not None
    assert _claim(store) is None  # held


def test_claim_by_id(store: Store) -> None:
    first = insert_run(store, created_at=1.0)
    second = insert_run(store, created_at=2.0)
    claim = _claim(store, run_id=second)
    assert claim is not None
    assert claim.run_id == second
    assert _claim(store, run_id=second) is None  # running now
    assert run_row(store, first).status == "queued"


def test_an_expired_lease_is_claimed_again(store: Store) -> None:
    run_id = insert_run(store)
    first = _claim(store)
    assert first is not None
    _expire(store, run_id)
    again = _claim(store)
    assert again is not None
    assert (again.run_id, again.attempt) == (run_id, 2)
    assert run_row(store, run_id).started_at is not None


def test_an_attempt_starts_its_progress_from_nothing(store: Store) -> None:
    run_id = insert_run(store)
    first = _claim(store)
    assert first is not None
    assert (run_row(store, run_id).progress, run_row(store, run_id).message) == (0.0, "started")
    lease.renew(store, first, lease_seconds=30.0, progress=0.7, message="far along", eta_seconds=3.0)
    _expire(store, run_id)  # its worker died there
    assert _claim(store) is not None
    row = run_row(store, run_id)
    assert (row.progress, row.message, row.eta_seconds) == (0.0, "started", None)


def test_a_stale_attempt_cannot_complete_renew_or_fail(store: Store) -> None:
    run_id = insert_run(store)
    stale = _claim(store)
    assert stale is not None
    _expire(store, run_id)
    fresh = _claim(store)
    assert fresh is not None
    assert lease.complete(store, stale, summary={"who": "stale"}, artifacts=[ARTIFACT]) is False
    assert artifact_rows(store, run_id) == []
    assert run_row(store, run_id).status == "running"
    with pytest.raises(LeaseLost, match="attempt 1 lost its lease"):
        lease.renew(store, stale, lease_seconds=30)
    assert lease.fail(store, stale, {"error": "x"}, retryable=True, backoff_seconds=0) is None
    assert lease.cancelled(store, stale) is False
    assert lease.complete(store, fresh, summary={"who": "fresh"}, artifacts=[ARTIFACT]) is True
    row = run_row(store, run_id)
    assert (row.status, row.summary, row.progress) == ("succeeded", {"who": "fresh"}, 1.0)
    assert [a.name for a in artifact_rows(store, run_id)] == ["a.json"]


def test_renew_extends_the_lease_stores_progress_and_reports_a_cancel(store: Store) -> None:
    run_id = insert_run(store)
    claim = _claim(store, lease_seconds=1.0)
    assert claim is not None
    assert lease.renew(store, claim, lease_seconds=60, progress=0.25, message="a quarter", eta_seconds=3.0) is False
    row = run_row(store, run_id)
    assert (row.progress, row.message, row.eta_seconds) == (0.25, "a quarter", 3.0)
    assert row.lease_expires_at == pytest.approx(time.time() + 60, abs=2)
    with store.engine.begin() as conn:
        conn.execute(sa.update(Run.__table__).values(cancel_requested=True))
    assert lease.renew(store, claim, lease_seconds=60) is True
    assert lease.cancelled(store, claim) is True
    assert run_row(store, run_id).status == "cancelled"


def test_retries_back_off_then_the_dead_letter_keeps_the_error(store: Store) -> None:
    run_id = insert_run(store, max_attempts=3)
    delays = []
    for attempt in (1, 2, 3):
        claim = _claim(store, run_id=run_id)
        assert claim is not None
        assert claim.attempt == attempt
        status = lease.fail(store, claim, {"error": f"boom {attempt}", "code": "runtime_error"}, retryable=True,
                            backoff_seconds=10.0)
        row = run_row(store, run_id)
        assert row.status == status
        if status == "queued":
            delays.append(row.not_before - time.time())
            assert _claim(store, run_id=run_id) is None  # backing off
            with store.engine.begin() as conn:  # the backoff passes
                conn.execute(sa.update(Run.__table__).values(not_before=0.0))
    assert delays == [pytest.approx(10.0, abs=1), pytest.approx(20.0, abs=1)]
    row = run_row(store, run_id)
    assert (row.status, row.error["error"], row.attempts) == ("dead", "boom 3", 3)
    assert row.finished_at is not None


def test_bad_input_fails_at_once(store: Store) -> None:
    run_id = insert_run(store, max_attempts=3)
    claim = _claim(store)
    assert claim is not None
    assert lease.fail(store, claim, {"error": "bad", "code": "spec_error"}, retryable=False,
                      backoff_seconds=1.0) == "failed"
    assert (run_row(store, run_id).status, run_row(store, run_id).attempts) == ("failed", 1)


def test_reap_sends_exhausted_expired_runs_to_the_dead_letter(store: Store) -> None:
    exhausted = insert_run(store, max_attempts=1)
    retried = insert_run(store, max_attempts=2)
    assert _claim(store, run_id=exhausted) is not None
    first = _claim(store, run_id=retried)
    assert first is not None
    lease.fail(store, first, {"error": "earlier", "code": "runtime_error"}, retryable=True, backoff_seconds=0)
    assert _claim(store, run_id=retried) is not None
    assert lease.reap(store) == 0  # leases hold
    _expire(store, exhausted)
    _expire(store, retried)
    assert _claim(store) is None  # no attempts left for either
    assert lease.reap(store) == 2
    dead = run_row(store, retried)
    assert (dead.status, dead.error["code"]) == ("dead", "lease_expired")
    assert dead.error["details"]["previous"]["error"] == "earlier"
    assert run_row(store, exhausted).status == "dead"


def test_concurrent_claims_take_each_run_once(store: Store) -> None:
    runs = {insert_run(store) for _ in range(60)}
    taken: list[list[str]] = [[] for _ in range(4)]

    def take(mine: list[str]) -> None:
        while (claim := lease.claim(store, queue="manual", worker="w", lease_seconds=30)) is not None:
            mine.append(claim.run_id)

    threads = [threading.Thread(target=take, args=(mine,)) for mine in taken]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    claimed = [run_id for mine in taken for run_id in mine]
    assert sorted(claimed) == sorted(runs)
    assert {run_row(store, run_id).attempts for run_id in runs} == {1}


def test_a_run_the_api_cancelled_outright_reads_as_a_cancel(store: Store) -> None:
    run_id = insert_run(store)
    claim = _claim(store)
    assert claim is not None
    with store.engine.begin() as conn:
        conn.execute(sa.update(Run.__table__).values(status="cancelled", finished_at=123.0))
    assert lease.renew(store, claim, lease_seconds=30) is True
    assert lease.complete(store, claim, summary={}, artifacts=[ARTIFACT]) is False
    assert lease.cancelled(store, claim) is True
    row = run_row(store, run_id)
    assert (row.status, row.finished_at) == ("cancelled", 123.0)
    assert artifact_rows(store, run_id) == []
