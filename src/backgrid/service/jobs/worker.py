"""A worker: claim a run, run its kind with a heartbeat renewing the lease, then complete it, fenced.

``python -m backgrid.service.jobs.worker --queue manual`` runs one until SIGTERM or Ctrl-C (``backgrid
worker`` calls :func:`main`). An idle worker polls with a backoff from 5 ms up to ``poll_seconds``, and now
and then sends the runs whose leases expired with no attempts left to the dead letter (:func:`lease.reap`).
Every end of an attempt is fenced by its attempt number: a worker that stalled past its lease (another
claimed the run again) finds its completion refused, logs it and moves on.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import signal
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import sqlalchemy as sa

from backgrid.service.jobs import kinds, lease
from backgrid.service.jobs.artifacts import attempt_folder, describe
from backgrid.service.jobs.context import Cancelled, JobContext, Outcome, error_of
from backgrid.service.jobs.lease import Claim, LeaseLost
from backgrid.service.settings import Settings
from backgrid.service.store.db import Store
from backgrid.service.store.models import QUEUES

__all__ = ["Execute", "Stop", "Worker", "main", "worker_process"]

log = logging.getLogger(__name__)

#: an idle worker's first wait between claims (seconds); it doubles up to ``settings.poll_seconds``
FIRST_POLL = 0.005

Execute = Callable[[Claim, JobContext], Outcome]


class Stop(Protocol):
    """What stops :meth:`Worker.run`: a ``threading.Event`` or a ``multiprocessing`` one."""

    def is_set(self) -> bool:
        """Whether to stop."""
        ...

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until set or ``timeout`` seconds; whether it is set."""
        ...


class _Heartbeat(threading.Thread):
    """Renews the lease every ``seconds`` until stopped."""

    def __init__(self, ctx: JobContext, seconds: float) -> None:
        super().__init__(name=f"heartbeat-{ctx.claim.run_id}", daemon=True)
        self.ctx, self.seconds = ctx, seconds
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.seconds):
            try:
                self.ctx.heartbeat()
            except Exception:  # a busy or lost database: the lease may still hold; try again next beat
                log.exception("heartbeat of run %s failed", self.ctx.claim.run_id)


def worker_process(settings: Settings) -> None:
    """Set up this process as a worker: below the API (nice ``worker_nice``), its kernels on
    ``worker_threads`` threads.

    Workers are one process per core: threads of their own on top only oversubscribe the cores (measured:
    two workers on two cores, each with numba's default of two threads, ran a backtest in 42 and 50 ms; with
    one thread each, 27 and 28 ms). On cores the API shares, a worker at nice 5 leaves it its answers: scaled
    out on one machine, workers at nice 0 held submissions to 33 a second.

    Before numba loads, its thread count is set for the whole process (``NUMBA_NUM_THREADS``):
    ``numba.set_num_threads`` holds only for the thread that calls it, and procrastinate runs each task in a
    thread of its own, where the kernels ran on every core.
    """
    if settings.worker_nice and hasattr(os, "nice"):
        os.nice(settings.worker_nice)
    threads = min(settings.worker_threads, os.cpu_count() or 1)
    if "numba" not in sys.modules:
        os.environ["NUMBA_NUM_THREADS"] = str(threads)
    import numba  # noqa: PLC0415  # a worker process loads the engine anyway

    numba.set_num_threads(min(threads, numba.get_num_threads()))  # numba loaded before: this thread at least


class Worker:
    """Claims and runs the runs of one queue (see the module docstring).

    ``execute`` runs a claim (default: :func:`kinds.execute`); a test gives a plain function instead.
    ``outcomes`` counts how attempts ended: succeeded, failed, queued (to retry), dead, cancelled, fenced
    (a completion refused: the attempt had lost its run), lost (the lease was lost while running).
    """

    def __init__(self, settings: Settings, *, queue: str = "manual", name: str | None = None,
                 execute: Execute = kinds.execute, store: Store | None = None) -> None:
        self.settings = settings
        self.queue = queue
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.execute = execute
        self.store = store or Store(settings.store_url)
        self.outcomes: Counter[str] = Counter()

    def run_once(self, run_id: str | None = None) -> bool:
        """Claim one run (``run_id``: exactly that one) and run it; whether one was claimed."""
        claim = lease.claim(self.store, queue=self.queue, worker=self.name,
                            lease_seconds=self.settings.lease_seconds, run_id=run_id)
        if claim is None:
            return False
        self._attempt(claim)
        return True

    def run(self, stop: Stop) -> None:
        """Claim and run until ``stop`` is set; idle, wait with a backoff and reap expired runs now and then."""
        wait = FIRST_POLL
        reaped_at = -math.inf
        while not stop.is_set():
            try:
                if time.monotonic() - reaped_at > self.settings.lease_seconds:
                    reaped_at = time.monotonic()
                    if count := lease.reap(self.store):
                        log.warning("sent %d run(s) whose leases expired to the dead letter", count)
                if self.run_once():
                    wait = FIRST_POLL
                    continue
            except sa.exc.SQLAlchemyError:  # the store is unreachable or busy: wait, as an idle worker does
                log.exception("worker %s could not reach the store", self.name)
            stop.wait(wait)
            wait = min(wait * 2, self.settings.poll_seconds)

    def _attempt(self, claim: Claim) -> None:
        folder = attempt_folder(self.settings.artifacts, claim)
        ctx = JobContext(self.settings, self.store, claim, folder)
        beat = _Heartbeat(ctx, self.settings.heartbeat_seconds)
        beat.start()
        try:
            outcome = self.execute(claim, ctx)
            artifacts = describe(outcome.files, self.settings.artifacts)
        except Cancelled:
            self._ended(claim, "cancelled" if lease.cancelled(self.store, claim) else "fenced")
            return
        except LeaseLost as exc:
            log.warning("%s", exc)
            self.outcomes["lost"] += 1
            return
        except Exception as exc:  # every other error ends the attempt; error_of says whether to retry
            error, retryable = error_of(exc)
            if retryable:
                log.exception("run %s attempt %d failed", claim.run_id, claim.attempt)
            status = lease.fail(self.store, claim, error, retryable=retryable,
                                backoff_seconds=self.settings.retry_backoff_seconds)
            self._ended(claim, status or "fenced")
            return
        finally:
            beat.stopped.set()
        held = lease.complete(self.store, claim, summary=outcome.summary, artifacts=artifacts,
                              trials=[_trial_row(t) for t in outcome.trials],
                              folds=[_fold_row(f) for f in outcome.folds])
        self._ended(claim, "succeeded" if held else "fenced")

    def _ended(self, claim: Claim, how: str) -> None:
        self.outcomes[how] += 1
        if how == "fenced":
            log.warning("run %s: attempt %d was taken over by another attempt; its result is dropped",
                        claim.run_id, claim.attempt)
        else:
            log.info("run %s attempt %d: %s", claim.run_id, claim.attempt, how)


def main(argv: Sequence[str] | None = None) -> int:
    """Run a worker until SIGTERM or Ctrl-C (``--once``: run one claimable run, if any, and exit)."""
    parser = argparse.ArgumentParser(prog="backgrid worker", description=__doc__.splitlines()[0])
    parser.add_argument("--queue", default="manual", choices=QUEUES, help="the queue to take runs from")
    parser.add_argument("--name", default=None, help="the worker's name in the runs it claims (host:pid)")
    parser.add_argument("--once", action="store_true", help="run one claimable run, if any, and exit")
    args = parser.parse_args(argv)
    settings = Settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    worker_process(settings)
    worker = Worker(settings, queue=args.queue, name=args.name)
    if args.once:
        worker.run_once()
        return 0
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        worker.run(stop)
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


def _trial_row(trial: Mapping[str, Any]) -> dict[str, Any]:
    """A trial as the trials table holds it: its first objective's value, its metrics as stats."""
    objectives = list((trial.get("objectives") or {}).values())
    return {"number": int(trial["number"]), "params": dict(trial.get("params") or {}),
            "value": objectives[0] if objectives else None, "state": str(trial.get("state", "complete")),
            "stats": dict(trial.get("metrics") or {})}


def _fold_row(fold: Mapping[str, Any]) -> dict[str, Any]:
    """A walk-forward fold as the folds table holds it: its windows, chosen values, and the rest as stats."""
    windows = ("train_start", "train_end", "test_start", "test_end")
    return {"number": int(fold["fold"]), **{k: str(fold[k]) for k in windows},
            "params": dict(fold.get("params") or {}),
            "stats": {k: v for k, v in fold.items() if k not in (*windows, "fold", "params")}}
