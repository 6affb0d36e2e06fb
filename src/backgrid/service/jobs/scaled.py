"""Scaled out: procrastinate on the store's PostgreSQL delivers run ids to ``backgrid worker`` on any machine.

The runs table stays the truth: a procrastinate job only carries a run id, and the worker that gets it
claims that run through the same fenced lease as embedded (``lease.claim(run_id=...)``). So a job
delivered twice runs once per claim, a stale worker's completion is refused, and nothing is lost if a
job is: every few seconds the ``backgrid.sweep`` periodic task, on its own ``maintenance`` queue, sends to
the dead letter the runs whose retries are spent, defers a job for every claimable run (queued past its
backoff, or running with an expired lease) with the run id as queueing lock (one waiting job per run), and
marks failed the procrastinate jobs of workers whose heartbeats stopped (their runs come back through the
runs table, so retrying those jobs too would only collide with the queueing lock). The sweep outranks every
run (:data:`SWEEP_PRIORITY`) and at most one waits (its own queueing lock): behind a hundred queued runs
it would otherwise run only when they are all done, and a killed worker's run would wait as long. Each
worker process runs one job at a time (procrastinate runs sync tasks in threads, so one process per
core).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from functools import cache
from typing import Any

import sqlalchemy as sa

from backgrid.service.jobs import lease
from backgrid.service.settings import Settings
from backgrid.service.store.db import Store, now
from backgrid.service.store.models import Run

__all__ = ["MAINTENANCE", "Dispatcher", "make_app", "work"]

log = logging.getLogger(__name__)

MAINTENANCE = "maintenance"
#: how often the sweep runs: every 5 s (croniter's six fields put the seconds last; "*/5 * * * * *" would be
#: every second of every fifth minute, and no sweep at all for the four minutes between)
SWEEP_CRON = "* * * * * */5"
#: above every run's priority (-100 to 100): a worker takes the sweep before the next run
SWEEP_PRIORITY = 1000
#: seconds without a worker heartbeat after which procrastinate's jobs of that worker are marked failed
STALLED_SECONDS = 30


def _conninfo(url: str) -> str:
    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@cache
def _store(url: str) -> Store:
    return Store(url)


def _worker(settings: Settings, queue: str) -> Any:
    from backgrid.service.jobs.worker import Worker  # noqa: PLC0415  # workers load the engine; the API does not

    return Worker(settings, queue=queue, store=_store(settings.store_url))


def make_app(settings: Settings) -> Any:
    """The procrastinate app over the store's database, with the run task and the sweep."""
    import procrastinate  # noqa: PLC0415  # the `scaled` extra
    from procrastinate.jobs import Status  # noqa: PLC0415

    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=_conninfo(settings.store_url)))
    workers: dict[str, Any] = {}

    @app.task(name="backgrid.run", pass_context=True)
    def run(context: Any, run_id: str) -> None:
        queue = context.job.queue
        worker = workers.get(queue) or workers.setdefault(queue, _worker(settings, queue))
        if not worker.run_once(run_id):
            log.info("run %s is not claimable now (finished, or its lease holds); the sweep re-offers it", run_id)

    @app.periodic(cron=SWEEP_CRON, periodic_id="sweep")
    @app.task(name="backgrid.sweep", queue=MAINTENANCE, priority=SWEEP_PRIORITY, queueing_lock="backgrid.sweep",
              pass_context=True)
    async def sweep(context: Any, timestamp: int) -> None:
        del timestamp
        store = _store(settings.store_url)
        await asyncio.to_thread(lease.reap, store)
        for run_id, queue, priority in await asyncio.to_thread(claimable, store):
            await Dispatcher(app).defer_async(run_id, queue, priority)
        manager = context.app.job_manager
        for job in await manager.get_stalled_jobs(seconds_since_heartbeat=STALLED_SECONDS):
            await manager.finish_job(job, status=Status.FAILED, delete_job=False)

    return app


def claimable(store: Store) -> list[tuple[str, str, int]]:
    """``(run id, queue, priority)`` of the runs a worker could claim now."""
    t = now()
    query = sa.select(Run.id, Run.queue, Run.priority).where(sa.or_(
        sa.and_(Run.status == "queued", Run.not_before <= t),
        sa.and_(Run.status == "running", Run.lease_expires_at < t, Run.attempts < Run.max_attempts)))
    with store.session() as session:
        return [(r.id, r.queue, r.priority) for r in session.execute(query)]


class Dispatcher:
    """Defers the job that delivers one run (at most one waiting per run: its id is the queueing lock)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def _job(self, run_id: str, queue: str, priority: int, connection: Any = None) -> Any:
        return self.app.tasks["backgrid.run"].configure(queue=queue, priority=priority, queueing_lock=run_id,
                                                        connection=connection)

    def __call__(self, run_id: str, queue: str, priority: int, connection: Any = None) -> None:
        """Offer ``run_id`` to the workers of ``queue``.

        With ``connection`` (the API's, in the transaction that made the run) the job is written in that
        transaction: the run and its job are committed together, or neither is. A run just made has no job to
        collide with. Without it, the job is written at once, and a job already waiting for the run is kept.
        """
        from procrastinate.exceptions import AlreadyEnqueued  # noqa: PLC0415

        if connection is not None:
            self._job(run_id, queue, priority, connection).defer(run_id=run_id)
            return
        with contextlib.suppress(AlreadyEnqueued):  # a job for this run is already waiting
            self._job(run_id, queue, priority).defer(run_id=run_id)

    def close(self) -> None:
        """Close the app's connections (the API's shutdown)."""
        self.app.close()

    async def defer_async(self, run_id: str, queue: str, priority: int) -> None:
        """:meth:`__call__` from a worker's event loop."""
        from procrastinate.exceptions import AlreadyEnqueued  # noqa: PLC0415

        with contextlib.suppress(AlreadyEnqueued):
            await self._job(run_id, queue, priority).defer_async(run_id=run_id)


def open_dispatcher(settings: Settings) -> Dispatcher:
    """The API's dispatcher: the app opened synchronously, its schema applied on first use."""
    app = make_app(settings)
    app.open()
    _apply_schema(app, settings)
    return Dispatcher(app)


#: the advisory lock that lets one process at a time create procrastinate's tables
_SCHEMA_LOCK = 0x6267_7363  # "bgsc"


def _apply_schema(app: Any, settings: Settings) -> None:
    engine = sa.create_engine(settings.store_url)  # for this check only: closed when it is done
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": _SCHEMA_LOCK})
            try:
                if not sa.inspect(connection).has_table("procrastinate_jobs"):
                    app.schema_manager.apply_schema()
            finally:
                connection.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": _SCHEMA_LOCK})
    finally:
        engine.dispose()


def work(settings: Settings, *, queue: str) -> None:
    """Run one procrastinate worker process on ``queue`` and the maintenance queue until interrupted."""
    from backgrid.service.jobs.worker import worker_process  # noqa: PLC0415

    worker_process(settings)
    app = make_app(settings)
    with app.open():
        _apply_schema(app, settings)
        # a succeeded job is deleted: the run's row keeps what happened, and the table stays as small as the queue
        app.run_worker(queues=[queue, MAINTENANCE], concurrency=1, install_signal_handlers=True,
                       delete_jobs="successful")
