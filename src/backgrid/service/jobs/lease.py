"""The lease on a run: claim it, renew it, finish it — every write fenced by the attempt that claimed it.

The ``runs`` row is the truth about a job. A claim is one ``UPDATE ... RETURNING`` that takes the best
claimable run of a queue (highest priority, then oldest): a queued run whose backoff has passed, or a
running run whose lease expired with attempts left (its worker died or stalled: delivery is at least
once). The claim adds one to ``attempts``; every later write names that attempt and the ``running``
status in its ``WHERE``, so a worker that lost its lease (another claimed the run again) writes nothing
(:class:`LeaseLost` from :func:`renew`, ``False`` or ``None`` from the others). On PostgreSQL the claim's
subquery locks its row with ``FOR UPDATE SKIP LOCKED``; on SQLite the store's ``BEGIN IMMEDIATE``
serialises claims.

    >>> from backgrid.service.jobs.lease import retry_delay
    >>> retry_delay(2.0, attempt=3)
    8.0
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa

from backgrid.errors import BackgridError
from backgrid.service.store.db import Store, new_id, now
from backgrid.service.store.models import Artifact, Fold, Run, Trial

__all__ = ["ArtifactFile", "Claim", "LeaseLost", "cancelled", "claim", "complete", "fail", "reap", "renew",
           "retry_delay"]

_RUNS = cast("sa.Table", Run.__table__)
_ARTIFACTS = cast("sa.Table", Artifact.__table__)
_TRIALS = cast("sa.Table", Trial.__table__)
_FOLDS = cast("sa.Table", Fold.__table__)


class LeaseLost(BackgridError, RuntimeError):  # noqa: N818  # a state the attempt is in, not a failure of it
    """A worker's attempt no longer holds its run: the lease expired and another attempt claimed it, or it ended."""


@dataclass(frozen=True)
class Claim:
    """One attempt at a run, as its claim returned it."""

    run_id: str
    attempt: int
    kind: str
    request: dict[str, Any]
    user_id: str
    parent_id: str | None


@dataclass(frozen=True)
class ArtifactFile:
    """A file an attempt wrote, to be published with the run; ``path`` is relative to the artifact root."""

    name: str
    media_type: str
    size: int
    sha256: str
    path: str


def _fence(run: Claim) -> sa.ColumnElement[bool]:
    return sa.and_(_RUNS.c.id == run.run_id, _RUNS.c.attempts == run.attempt, _RUNS.c.status == "running")


def _bound_fence() -> sa.ColumnElement[bool]:
    """The fence with the run and its attempt as parameters (``run_id``, ``attempt``), for a statement built once."""
    return sa.and_(_RUNS.c.id == sa.bindparam("run_id"), _RUNS.c.attempts == sa.bindparam("attempt"),
                   _RUNS.c.status == "running")


# The hot statements (claim, heartbeat, completion) are built once per shape with bound parameters: building
# SQLAlchemy expressions for every call cost more than running them on SQLite.

@functools.cache
def _claim_statement(dialect: str, *, by_id: bool) -> sa.Update:
    at: sa.BindParameter[float] = sa.bindparam("at", type_=sa.Float)
    claimable = sa.or_(
        sa.and_(_RUNS.c.status == "queued", _RUNS.c.not_before <= at),
        sa.and_(_RUNS.c.status == "running", _RUNS.c.lease_expires_at < at,
                _RUNS.c.attempts < _RUNS.c.max_attempts),
    )
    pick = sa.select(_RUNS.c.id).where(_RUNS.c.queue == sa.bindparam("of_queue"), claimable)
    if by_id:
        pick = pick.where(_RUNS.c.id == sa.bindparam("run_id"))
    pick = pick.order_by(_RUNS.c.priority.desc(), _RUNS.c.created_at).limit(1)
    if dialect == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    return (
        sa.update(_RUNS)
        .where(_RUNS.c.id == pick.scalar_subquery())
        .values(status="running", attempts=_RUNS.c.attempts + 1, worker=sa.bindparam("by_worker"),
                lease_expires_at=sa.bindparam("expires"), heartbeat_at=at,
                started_at=sa.func.coalesce(_RUNS.c.started_at, at), progress=0.0, message="started",
                eta_seconds=None)  # an attempt starts from nothing, whatever an earlier one reached
        .returning(_RUNS.c.id, _RUNS.c.attempts, _RUNS.c.kind, _RUNS.c.request, _RUNS.c.user_id, _RUNS.c.parent_id)
    )


def claim(store: Store, *, queue: str, worker: str, lease_seconds: float, run_id: str | None = None) -> Claim | None:
    """Claim the best claimable run of ``queue`` (or exactly ``run_id`` when it is claimable), or ``None``.

    Claimable: ``queued`` with its ``not_before`` passed, or ``running`` with an expired lease and attempts
    left. The claim holds the run for ``lease_seconds`` unless renewed.
    """
    at = now()
    statement = _claim_statement(store.dialect, by_id=run_id is not None)
    with store.engine.begin() as conn:
        row = conn.execute(statement, {"at": at, "of_queue": queue, "run_id": run_id, "by_worker": worker,
                                       "expires": at + lease_seconds}).first()
    if row is None:
        return None
    return Claim(run_id=row.id, attempt=row.attempts, kind=row.kind, request=dict(row.request or {}),
                 user_id=row.user_id, parent_id=row.parent_id)


def reap(store: Store) -> int:
    """Send to the dead letter every running run whose lease expired with no attempts left; how many.

    The error says which attempt's lease expired, and keeps the error an earlier attempt left (``details``).
    """
    at = now()
    expired = sa.and_(_RUNS.c.status == "running", _RUNS.c.lease_expires_at < at,
                      _RUNS.c.attempts >= _RUNS.c.max_attempts)
    reaped = 0
    with store.engine.begin() as conn:
        rows = conn.execute(sa.select(_RUNS.c.id, _RUNS.c.attempts, _RUNS.c.worker, _RUNS.c.error)
                            .where(expired)).all()
        for row in rows:
            error = {"error": f"attempt {row.attempts} of {row.attempts} stopped renewing its lease "
                              f"(worker {row.worker}): no attempts are left",
                     "code": "lease_expired", "details": {"previous": row.error}}
            done = conn.execute(sa.update(_RUNS).where(_RUNS.c.id == row.id, _RUNS.c.attempts == row.attempts,
                                                       expired)
                                .values(status="dead", error=error, finished_at=at, lease_expires_at=None))
            reaped += done.rowcount
    return reaped


@functools.cache
def _renew_statement(*, with_progress: bool) -> sa.Update:
    values: dict[str, Any] = {"lease_expires_at": sa.bindparam("expires"), "heartbeat_at": sa.bindparam("at")}
    if with_progress:
        values |= {"progress": sa.bindparam("fraction"), "eta_seconds": sa.bindparam("eta"),
                   "message": sa.func.coalesce(sa.bindparam("text", type_=sa.String), _RUNS.c.message)}
    return sa.update(_RUNS).where(_bound_fence()).values(**values).returning(_RUNS.c.cancel_requested)


def renew(store: Store, run: Claim, *, lease_seconds: float, progress: float | None = None,
          message: str | None = None, eta_seconds: float | None = None) -> bool:
    """Extend the lease (and store the progress given, with its message and ETA); whether a cancel was requested.

    Raises:
        LeaseLost: the attempt no longer holds the run (another attempt claimed it, or it ended).
    """
    at = now()
    given = {"run_id": run.run_id, "attempt": run.attempt, "at": at, "expires": at + lease_seconds,
             "fraction": None if progress is None else min(max(float(progress), 0.0), 1.0), "eta": eta_seconds,
             "text": None if message is None else message[:500]}
    with store.engine.begin() as conn:
        row = conn.execute(_renew_statement(with_progress=progress is not None), given).first()
        if row is not None:
            return bool(row.cancel_requested)
        found = conn.execute(sa.select(_RUNS.c.status, _RUNS.c.attempts).where(_RUNS.c.id == run.run_id)).first()
    if found is not None and found.status == "cancelled" and found.attempts == run.attempt:
        return True  # the API cancelled it outright: stop as for a request
    state = "gone" if found is None else f"{found.status} at attempt {found.attempts}"
    msg = f"run {run.run_id}: attempt {run.attempt} lost its lease (the run is {state})"
    raise LeaseLost(msg)


@functools.cache
def _complete_statement() -> sa.Update:
    return (sa.update(_RUNS).where(_bound_fence())
            .values(status="succeeded", progress=1.0, message="", eta_seconds=0.0, finished_at=sa.bindparam("at"),
                    summary=sa.bindparam("the_summary"), error=None, lease_expires_at=None))


def complete(store: Store, run: Claim, *, summary: Mapping[str, Any], artifacts: Sequence[ArtifactFile],
             trials: Sequence[Mapping[str, Any]] = (), folds: Sequence[Mapping[str, Any]] = ()) -> bool:
    """Mark the run succeeded with ``summary``; publish ``artifacts``, ``trials`` and ``folds``; in one transaction.

    Returns whether it held: a stale attempt (its lease was taken over) writes nothing and gets ``False``.
    A trial is ``{number, params, value, state, stats}`` (an optimisation's evaluated set), a fold
    ``{number, train_start, train_end, test_start, test_end, params, stats}`` (a walk-forward's).
    """
    at = now()
    with store.engine.begin() as conn:
        done = conn.execute(_complete_statement(), {"run_id": run.run_id, "attempt": run.attempt, "at": at,
                                                    "the_summary": dict(summary)})
        if done.rowcount != 1:
            return False
        if artifacts:
            conn.execute(sa.insert(_ARTIFACTS), [
                {"id": new_id(), "run_id": run.run_id, "name": a.name, "media_type": a.media_type, "size": a.size,
                 "sha256": a.sha256, "path": a.path, "created_at": at} for a in artifacts])
        for table, rows in ((_TRIALS, trials), (_FOLDS, folds)):
            if rows:
                conn.execute(sa.insert(table), [{"run_id": run.run_id, **row} for row in rows])
    return True


def retry_delay(backoff_seconds: float, *, attempt: int) -> float:
    """Seconds before attempt ``attempt + 1`` may start: the backoff, doubled after each attempt."""
    return backoff_seconds * 2.0 ** (attempt - 1)


def fail(store: Store, run: Claim, error: Mapping[str, Any], *, retryable: bool,
         backoff_seconds: float) -> str | None:
    """End the attempt with ``error``; the run's new status, or ``None`` for a stale attempt (nothing written).

    A retryable error with attempts left queues the run again after :func:`retry_delay`; otherwise the run
    is ``failed`` (not retryable: bad input) or ``dead`` (retries exhausted). The error is kept either way.
    """
    at = now()
    with store.engine.begin() as conn:
        found = conn.execute(sa.select(_RUNS.c.max_attempts).where(_fence(run))).first()
        if found is None:
            return None
        if retryable and run.attempt < found.max_attempts:
            status = "queued"
            values: dict[str, Any] = {"not_before": at + retry_delay(backoff_seconds, attempt=run.attempt)}
        else:
            status = "dead" if retryable else "failed"
            values = {"finished_at": at}
        done = conn.execute(sa.update(_RUNS).where(_fence(run))
                            .values(status=status, error=dict(error), lease_expires_at=None, eta_seconds=None,
                                    **values))
    return status if done.rowcount == 1 else None


def cancelled(store: Store, run: Claim) -> bool:
    """Mark the run cancelled (it stopped on a request); whether the attempt still held it."""
    fence = sa.and_(_RUNS.c.id == run.run_id, _RUNS.c.attempts == run.attempt,
                    _RUNS.c.status.in_(("running", "cancelled")))
    with store.engine.begin() as conn:
        done = conn.execute(sa.update(_RUNS).where(fence)
                            .values(status="cancelled", finished_at=sa.func.coalesce(_RUNS.c.finished_at, now()),
                                    lease_expires_at=None, eta_seconds=None))
    return done.rowcount == 1
