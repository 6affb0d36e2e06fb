"""The embedded scheduler: one thread of ``backgrid serve`` that runs periodic tasks at their interval.

The app's lifespan starts it and stops it::

    scheduler = Scheduler(settings, store, embedded_tasks(settings))
    scheduler.start()
    ...
    scheduler.stop()

The embedded tasks (:func:`embedded_tasks`):

``refresh``  every ``refresh_every_minutes``: refresh the watched series that are due
             (:meth:`~backgrid.data.store.DataStore.refresh_watched` on the home's data store, the watch list
             of ``backgrid data watch``); for each symbol that got new bars, queue a ``backtest`` into the
             ``scheduled`` queue for every strategy marked ``auto_update`` whose newest version trades it
             (:func:`enqueue_auto_updates`).
``digest``   hourly, when ``smtp_host`` is set: the weekly digest (:func:`~backgrid.service.digest.send_digests`
             sends each user once per week, whenever the hour falls).

A task that raises is logged and runs again at its next time; the others go on. Each task is due first when
the scheduler starts, then ``every`` seconds after its last start. Time is the injectable ``clock``, so a
test drives :meth:`Scheduler.run_due` without the thread.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING

import sqlalchemy as sa
import structlog

from backgrid.errors import BackgridError, SpecError
from backgrid.service.digest import send_digests
from backgrid.service.logs import bound
from backgrid.service.store.db import new_id, now
from backgrid.service.store.models import Run, Strategy, StrategyVersion
from backgrid.service.userdata import user_store, users_with_data
from backgrid.strategy.document import parse

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Sequence

    from backgrid.data.sources.base import DataSource
    from backgrid.service.settings import Settings
    from backgrid.service.store.db import Store

__all__ = ["Scheduler", "SchedulerError", "Task", "embedded_tasks", "enqueue_auto_updates", "refresh_watched"]

#: the queue and kind of the runs that new data starts
QUEUE, KIND = "scheduled", "backtest"
#: the longest the thread sleeps at once, so that a clock that jumped (a suspended laptop) is noticed
_LONGEST_WAIT = 60.0
_log = structlog.get_logger("backgrid.service.scheduler")


class SchedulerError(BackgridError, ValueError):
    """A task that cannot be scheduled (an interval that is not positive, a name used twice) or a second start."""


@dataclass(frozen=True, slots=True)
class Task:
    """A periodic task: ``run(settings, store, at)`` every ``every`` seconds (``at``: the clock's time)."""

    name: str
    every: float
    run: Callable[[Settings, Store, float], object]


class Scheduler:
    """Runs ``tasks`` at their intervals in a thread of its own (see the module docstring)."""

    def __init__(self, settings: Settings, store: Store, tasks: Sequence[Task], *,
                 clock: Callable[[], float] = now) -> None:
        names = [task.name for task in tasks]
        if len(set(names)) != len(names):
            msg = f"tasks: each name once, got {names}"
            raise SchedulerError(msg)
        for task in tasks:
            if not task.every > 0:
                msg = f"task {task.name!r}: every must be a positive number of seconds, got {task.every!r}"
                raise SchedulerError(msg)
        self.settings, self.store, self.tasks, self.clock = settings, store, list(tasks), clock
        self._next: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def next_times(self) -> dict[str, float]:
        """When each task is due next (before the first :meth:`run_due`: now)."""
        start = self.clock()
        return {task.name: self._next.get(task.name, start) for task in self.tasks}

    def run_due(self) -> list[str]:
        """Run every task that is due now, in their order; return the names of those that ran."""
        ran = []
        for task in self.tasks:
            at = self.clock()
            if self._next.get(task.name, at) > at:
                continue
            self._next[task.name] = at + task.every
            ran.append(task.name)
            with bound(task=task.name):
                try:
                    task.run(self.settings, self.store, at)
                except Exception:  # noqa: BLE001  # a failing task must not stop the others or the thread
                    _log.exception("scheduled task failed", task=task.name)
        return ran

    def start(self) -> None:
        """Start the thread (a daemon, so that it never holds the process up)."""
        if self._thread is not None and self._thread.is_alive():
            msg = "the scheduler is running already; stop it before starting it again"
            raise SchedulerError(msg)
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="backgrid-scheduler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the thread once the task it is running returns (waits up to ``timeout`` seconds).

        A task still running after ``timeout`` finishes on its own (the thread is a daemon); until then
        :attr:`running` stays true and :meth:`start` refuses, so that two threads never run the tasks.
        """
        self._stop.set()
        if self._thread is None:
            return
        self._thread.join(timeout)
        if self._thread.is_alive():
            _log.warning("the scheduler is still running a task after stop", timeout_s=timeout)
        else:
            self._thread = None

    @property
    def running(self) -> bool:
        """True while the thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_due()
            wait = min(self.next_times().values(), default=self.clock() + _LONGEST_WAIT) - self.clock()
            self._stop.wait(min(max(wait, 0.0), _LONGEST_WAIT))


def _symbols(version: StrategyVersion) -> set[str]:
    """The symbols a saved version trades (its document read as the library reads it, old versions migrated)."""
    return set(parse(version.document, source=f"strategy version {version.id}").market.symbols)


def enqueue_auto_updates(settings: Settings, store: Store, symbols: Collection[str], at: float, *,
                         user_id: str | None = None) -> list[str]:
    """Queue a backtest of the newest version of each ``auto_update`` strategy that trades one of ``symbols``.

    With ``user_id``, only that user's strategies (the symbols landed in that user's store).

    The run goes into the ``scheduled`` queue with the request ``{"document": ..., "options": {}}``, owned by
    the strategy's user. A version that has such a run still queued gets no second one (new data landing
    twice before a worker is free is one re-run). Returns the new runs' ids.
    """
    if not symbols:
        return []
    landed = set(symbols)
    newest = (sa.select(StrategyVersion.strategy_id, sa.func.max(StrategyVersion.number).label("number"))
              .group_by(StrategyVersion.strategy_id).subquery())
    made = []
    with store.session() as session:
        versions = session.execute(
            sa.select(Strategy.user_id, StrategyVersion)
            .join(newest, newest.c.strategy_id == Strategy.id)
            .join(StrategyVersion, sa.and_(StrategyVersion.strategy_id == Strategy.id,
                                           StrategyVersion.number == newest.c.number))
            .where(Strategy.auto_update.is_(True), *(() if user_id is None else (Strategy.user_id == user_id,)))
            .order_by(Strategy.created_at, Strategy.id)).all()
        waiting = set(session.scalars(sa.select(Run.strategy_version_id)
                                      .where(Run.queue == QUEUE, Run.status == "queued")))
        for owner, version in versions:
            try:
                traded = _symbols(version)
            except SpecError as exc:  # a version saved under older rules: its owner sees it when they open it
                _log.warning("auto update skipped: the document does not parse", strategy_version_id=version.id,
                             error=str(exc))
                continue
            if version.id in waiting or not traded & landed:
                continue
            run = Run(id=new_id(), user_id=owner, kind=KIND, queue=QUEUE, status="queued",
                      request={"document": version.document, "options": {}}, strategy_version_id=version.id,
                      max_attempts=settings.max_attempts, created_at=at)
            session.add(run)
            made.append(run.id)
    if made:
        _log.info("auto updates queued", symbols=sorted(landed), runs=len(made))
    return made


def refresh_watched(settings: Settings, store: Store, at: float, *,
                    sources: Callable[[str], DataSource] | None = None) -> list[str]:
    """Refresh each user's watched series that are due at ``at``; queue that user's auto updates of new bars.

    ``sources`` makes the data source of a provider name (default: the vendors' registry); a test passes a
    fake. Returns the ids of the runs queued.
    """
    made = []
    for user_id in users_with_data(settings.home):
        results = user_store(settings.home, user_id).refresh_watched(datetime.fromtimestamp(at, UTC),
                                                                     sources=sources)
        for result in results:
            if result.status == "failed":
                _log.warning("watched series not refreshed", symbol=result.watch.symbol, user_id=user_id,
                             timeframe=result.watch.timeframe.code, provider=result.watch.provider,
                             error=result.error)
        landed = {r.watch.symbol for r in results if r.status == "refreshed" and r.added > 0}
        made += enqueue_auto_updates(settings, store, landed, at, user_id=user_id)
    return made


def embedded_tasks(settings: Settings, *, sources: Callable[[str], DataSource] | None = None) -> list[Task]:
    """The tasks of ``backgrid serve``: refresh (and auto updates), and the digest when ``smtp_host`` is set."""
    tasks = [Task("refresh", settings.refresh_every_minutes * 60, partial(refresh_watched, sources=sources))]
    if settings.smtp_host:
        tasks.append(Task("digest", 3600.0, send_digests))
    return tasks
