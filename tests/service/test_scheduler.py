"""The embedded scheduler: tasks at their intervals on an injected clock, refreshes that queue auto updates."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
import structlog
import structlog.testing

from backgrid.data.bars import Bars
from backgrid.errors import ProviderUnavailableError, SourceError
from backgrid.service.jobs.scheduler import (
    Scheduler,
    SchedulerError,
    Task,
    embedded_tasks,
    enqueue_auto_updates,
    refresh_watched,
)
from backgrid.service.settings import Settings
from backgrid.service.store.db import Store, new_id
from backgrid.service.store.models import Run, Strategy, StrategyVersion, User
from backgrid.service.userdata import user_store
from tests.service.conftest import migrated

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

T0 = pd.Timestamp("2024-01-01", tz="UTC")  # the vendor's first bar
#: the clock's start: the store decides freshness by its files' real times, so the tests' days follow today
NOW = time.time()
DAY_NS = 86_400 * 10**9
LOCKED = "!"  # a password hash no password matches


class Clock:
    """A clock that moves only when told."""

    def __init__(self, at: float = 0.0) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at


class Vendor:
    """Serves days [0, ``until``) of a line for any symbol under ``name``; ``fail`` answers 503."""

    def __init__(self, name: str, until: int, *, fail: bool = False) -> None:
        self.name, self.until, self.fail = name, until, fail

    def fetch(self, symbol: str, timeframe: Any, *, start: Any = None, end: Any = None) -> Bars:
        if self.fail:
            msg = f"{self.name}: HTTP 503"
            raise ProviderUnavailableError(msg, provider=self.name)
        days = np.arange(self.until)
        close = 100.0 + days
        bars = Bars(symbol, timeframe, T0.value + days * DAY_NS, close, close + 1, close - 1, close,
                    np.full(self.until, 5.0), calendar="crypto", source=self.name).slice(start, end)
        if not len(bars):
            msg = f"{self.name} has no bars of {symbol} in [{start}, {end})"
            raise SourceError(msg)
        return bars


def _when(days: float) -> float:
    """UNIX seconds ``days`` after the tests started."""
    return NOW + days * 86_400


def test_tasks_run_at_their_intervals() -> None:
    clock, calls = Clock(100.0), []
    tasks = [Task("a", 10, lambda _s, _st, at: calls.append(("a", at))),
             Task("b", 25, lambda _s, _st, at: calls.append(("b", at)))]
    scheduler = Scheduler(Settings(), None, tasks, clock=clock)  # type: ignore[arg-type]  # no task reads it
    assert scheduler.next_times() == {"a": 100.0, "b": 100.0}
    ran = []
    for at in (100, 105, 110, 119, 125, 130, 135):
        clock.at = float(at)
        ran.append(scheduler.run_due())
    assert ran == [["a", "b"], [], ["a"], [], ["a", "b"], [], ["a"]]
    assert calls == [("a", 100.0), ("b", 100.0), ("a", 110.0), ("a", 125.0), ("b", 125.0), ("a", 135.0)]
    assert scheduler.next_times() == {"a": 145.0, "b": 150.0}


def test_a_failing_task_is_logged_and_runs_again() -> None:
    clock, calls = Clock(), []

    def boom(_settings: Settings, _store: Store, at: float) -> None:
        calls.append(at)
        msg = "vendor down"
        raise RuntimeError(msg)

    tasks = [Task("boom", 5, boom), Task("ok", 5, lambda *_: calls.append("ok"))]
    scheduler = Scheduler(Settings(), None, tasks, clock=clock)  # type: ignore[arg-type]
    with structlog.testing.capture_logs() as logs:
        assert scheduler.run_due() == ["boom", "ok"]
    clock.at = 5.0
    assert scheduler.run_due() == ["boom", "ok"]
    assert calls == [0.0, "ok", 5.0, "ok"]
    assert [(line["event"], line["log_level"], line["task"]) for line in logs] == [
        ("scheduled task failed", "error", "boom")]
    assert logs[0]["exc_info"] is True


def test_bad_tasks_are_refused() -> None:
    with pytest.raises(SchedulerError, match=r"task 'a': every must be a positive number of seconds, got 0"):
        Scheduler(Settings(), None, [Task("a", 0, print)])  # type: ignore[arg-type]
    with pytest.raises(SchedulerError, match=r"each name once, got \['a', 'a'\]"):
        Scheduler(Settings(), None, [Task("a", 1, print), Task("a", 2, print)])  # type: ignore[arg-type]


def test_the_thread_starts_and_stops() -> None:
    three, calls = threading.Event(), []

    def tick(_settings: Settings, _store: Store, at: float) -> None:
        calls.append(at)
        if len(calls) == 3:
            three.set()

    scheduler = Scheduler(Settings(), None, [Task("tick", 0.01, tick)])  # type: ignore[arg-type]
    scheduler.start()
    assert scheduler.running
    with pytest.raises(SchedulerError, match="running already"):
        scheduler.start()
    assert three.wait(5)
    scheduler.stop()
    assert not scheduler.running
    count = len(calls)
    assert count >= 3
    assert calls == sorted(calls)
    scheduler.stop()  # twice is fine
    assert len(calls) == count


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with migrated(f"sqlite:///{tmp_path / 'service.sqlite'}") as made:
        yield made


def _strategy(session: Any, user: User, name: str, *symbol_lists: list[str], auto_update: bool = True) -> list[str]:
    """A strategy with one version per symbol list (the last is the newest); returns the versions' ids."""
    strategy = Strategy(id=new_id(), user_id=user.id, name=name, auto_update=auto_update, created_at=_when(0),
                        updated_at=_when(0))
    session.add(strategy)
    session.flush()  # the models declare no relationships: rows that point at it go in after it
    ids = []
    for number, symbols in enumerate(symbol_lists, start=1):
        document = {"schema_version": 3, "name": name, "market": {"symbols": symbols, "timeframe": "1d"},
                    "entries": {"long": {">": ["close", 0]}}}
        version = StrategyVersion(id=new_id(), strategy_id=strategy.id, number=number, document=document, hash="h",
                                  schema_version=3, created_at=_when(0))
        session.add(version)
        ids.append(version.id)
    session.flush()
    return ids


def _user(session: Any, mail: str) -> User:
    user = User(id=new_id(), email=mail, password_hash=LOCKED, created_at=0.0)
    session.add(user)
    session.flush()
    return user


def _runs(store: Store) -> list[tuple[str, str, str, str | None, str, float]]:
    with store.session() as session:
        return [tuple(row) for row in session.execute(
            sa.select(Run.user_id, Run.kind, Run.queue, Run.strategy_version_id, Run.status, Run.created_at)
            .order_by(Run.created_at, Run.strategy_version_id))]


def test_new_bars_queue_the_strategies_that_trade_them(tmp_path: Path, store: Store) -> None:
    with store.session() as session:
        ann, bob = _user(session, "ann@example.com"), _user(session, "bob@example.com")
        (ann_aaa,) = _strategy(session, ann, "aaa", ["AAA"])
        _strategy(session, ann, "manual", ["AAA"], auto_update=False)
        _old, moved = _strategy(session, ann, "moved", ["AAA"], ["CCC"])  # the newest version trades CCC only
        (bob_pair,) = _strategy(session, bob, "pair", ["BBB", "AAA"])
        (bbb,) = _strategy(session, bob, "bbb", ["BBB"])
    data = user_store(tmp_path, ann.id)  # each user watches in their own store
    data.watch("AAA", "1d", "crypto", ttl="1d")
    user_store(tmp_path, bob.id).watch("BBB", "1d", "crypto", ttl="1d")
    settings = Settings(home=tmp_path, max_attempts=5)
    vendor = Vendor("crypto", until=10)
    at = _when(10)
    made = refresh_watched(settings, store, at, sources={"crypto": vendor}.__getitem__)
    assert data.info("AAA", "1d", "crypto").rows == 10
    assert sorted(_runs(store)) == sorted([(ann.id, "backtest", "scheduled", ann_aaa, "queued", at),
                                           (bob.id, "backtest", "scheduled", bob_pair, "queued", at),
                                           (bob.id, "backtest", "scheduled", bbb, "queued", at)])
    assert moved not in {r[3] for r in _runs(store)}
    with store.session() as session:
        run = session.get(Run, made[0])
        assert run is not None
        version = session.get(StrategyVersion, run.strategy_version_id)
        assert version is not None
        assert run.request == {"document": version.document, "options": {}}
        assert run.max_attempts == 5
    # nothing new before the ttl runs out: no refresh, no run
    assert refresh_watched(settings, store, _when(10.5), sources={"crypto": vendor}.__getitem__) == []
    # new bars while the runs still wait: no second run of the same version
    vendor.until = 12
    assert refresh_watched(settings, store, _when(12), sources={"crypto": vendor}.__getitem__) == []
    assert len(_runs(store)) == 3
    with store.session() as session:  # a worker ran them
        session.execute(sa.update(Run).values(status="succeeded"))
    vendor.until = 14
    again = refresh_watched(settings, store, _when(14), sources={"crypto": vendor}.__getitem__)
    assert len(again) == 3


def test_a_failed_refresh_queues_nothing(tmp_path: Path, store: Store) -> None:
    with store.session() as session:
        ann = _user(session, "ann@example.com")
        _strategy(session, ann, "aaa", ["AAA"])
    user_store(tmp_path, ann.id).watch("AAA", "1d", "crypto", ttl="1d")
    down = Vendor("crypto", until=10, fail=True)
    assert refresh_watched(Settings(home=tmp_path), store, _when(10), sources={"crypto": down}.__getitem__) == []
    assert _runs(store) == []


def test_a_document_that_does_not_parse_is_skipped(tmp_path: Path, store: Store) -> None:
    with store.session() as session:
        user = _user(session, "ann@example.com")
        (good,) = _strategy(session, user, "good", ["AAA"])
        (bad,) = _strategy(session, user, "bad", ["AAA"])
        session.execute(sa.update(StrategyVersion).where(StrategyVersion.id == bad)
                        .values(document={"schema_version": 3, "name": "bad", "market": {"symbols": []}}))
    made = enqueue_auto_updates(Settings(home=tmp_path), store, {"AAA"}, _when(1))
    assert [r[3] for r in _runs(store)] == [good]
    assert len(made) == 1


def test_the_embedded_tasks_follow_the_settings(tmp_path: Path) -> None:
    plain = embedded_tasks(Settings(home=tmp_path, refresh_every_minutes=15))
    assert [(t.name, t.every) for t in plain] == [("refresh", 900.0)]
    mailing = embedded_tasks(Settings(home=tmp_path, smtp_host="mail.example.com"))
    assert [(t.name, t.every) for t in mailing] == [("refresh", 3600.0), ("digest", 3600.0)]


def test_the_scheduler_drives_the_refresh(tmp_path: Path, store: Store) -> None:
    with store.session() as session:
        ann = _user(session, "ann@example.com")
        _strategy(session, ann, "aaa", ["AAA"])
    user_store(tmp_path, ann.id).watch("AAA", "1d", "crypto", ttl="1d")
    vendor = Vendor("crypto", until=3)
    settings = Settings(home=tmp_path, refresh_every_minutes=60 * 24)
    clock = Clock(_when(3))
    scheduler = Scheduler(settings, store, embedded_tasks(settings, sources={"crypto": vendor}.__getitem__),
                          clock=clock)
    assert scheduler.run_due() == ["refresh"]
    assert len(_runs(store)) == 1
    clock.at = _when(3.5)
    assert scheduler.run_due() == []
    assert scheduler.next_times()["refresh"] == _when(4)


def test_a_task_still_running_after_stop_keeps_a_second_thread_out() -> None:
    entered, release = threading.Event(), threading.Event()

    def slow(_settings: Settings, _store: Store, _at: float) -> None:
        entered.set()
        release.wait(5)

    scheduler = Scheduler(Settings(), None, [Task("slow", 60, slow)])  # type: ignore[arg-type]
    scheduler.start()
    assert entered.wait(5)
    scheduler.stop(timeout=0.05)
    assert scheduler.running
    with pytest.raises(SchedulerError, match="running already"):
        scheduler.start()
    release.set()
    scheduler.stop()
    assert not scheduler.running
