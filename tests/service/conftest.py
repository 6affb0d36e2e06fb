"""Fixtures of the service's tests: a migrated store in a SQLite file, settings under tmp_path, runs to claim.

The fake kinds here are module-level functions so that spawned worker processes can import them.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from backgrid.service.jobs.context import JobContext, Outcome
from backgrid.service.jobs.lease import Claim
from backgrid.service.settings import Settings
from backgrid.service.store.db import Store, new_id, now
from backgrid.service.store.models import Artifact, Run, User
from backgrid.testing import postgres_schema

USER = "u" * 32
#: the users of these tests never log in
NO_PASSWORD = "-"  # noqa: S105  # not a secret: no test logs in
#: the PostgreSQL the tests use when it is there
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def make_settings(home: Path, **values: Any) -> Settings:
    """Settings of a service whose home (store, artifacts, data) is ``home``."""
    return Settings(home=home, **values)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings under tmp_path with a short lease and a fast heartbeat."""
    return make_settings(tmp_path, lease_seconds=1.0, heartbeat_seconds=0.2, retry_backoff_seconds=0.0,
                         poll_seconds=0.05)


@contextmanager
def migrated(url: str) -> Iterator[Store]:
    """A store at ``url`` at the newest migration, closed after."""
    made = Store(url)
    made.migrate()
    try:
        yield made
    finally:
        made.dispose()


def _ready(made: Store) -> Store:
    made.migrate()
    with made.session() as session:
        session.add(User(id=USER, email="worker@example.com", password_hash=NO_PASSWORD, created_at=now()))
    return made


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    """The migrated store of ``settings`` (a SQLite file), with the user :data:`USER`."""
    made = _ready(Store(settings.store_url))
    yield made
    made.dispose()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """The URL of a schema of its own on :data:`POSTGRES`, dropped after; skips when PostgreSQL is not there."""
    with ExitStack() as stack:
        try:
            url = stack.enter_context(postgres_schema(POSTGRES))
        except sa.exc.OperationalError as exc:
            pytest.skip(f"PostgreSQL is not reachable at {POSTGRES} ({type(exc).__name__})")
        yield url


@pytest.fixture
def postgres_store(postgres_url: str) -> Iterator[Store]:
    """A migrated store in a schema of its own on :data:`POSTGRES`, with the user :data:`USER`."""
    made = Store(postgres_url)
    try:
        yield _ready(made)
    finally:
        made.dispose()


def insert_run(store: Store, *, kind: str = "backtest", request: dict[str, Any] | None = None,
               queue: str = "manual", priority: int = 0, max_attempts: int = 3, created_at: float | None = None,
               user_id: str = USER) -> str:
    """Insert a queued run as the API does; its id."""
    run_id = new_id()
    with store.session() as session:
        session.add(Run(id=run_id, user_id=user_id, kind=kind, queue=queue, priority=priority, status="queued",
                        request=request or {}, max_attempts=max_attempts,
                        created_at=now() if created_at is None else created_at))
    return run_id


def run_row(store: Store, run_id: str) -> Any:
    """The run's row as it is now."""
    with store.engine.connect() as conn:
        return conn.execute(sa.select(Run.__table__).where(Run.__table__.c.id == run_id)).one()


def artifact_rows(store: Store, run_id: str | None = None) -> list[Any]:
    """The artifact rows (of one run, or of all), by run and name."""
    table = Artifact.__table__
    query = sa.select(table).order_by(table.c.run_id, table.c.name)
    if run_id is not None:
        query = query.where(table.c.run_id == run_id)
    with store.engine.connect() as conn:
        return list(conn.execute(query).all())


def sleepy(claim: Claim, ctx: JobContext) -> Outcome:
    """A fake kind: ``request["seconds"]`` of work in 10 steps, then two files; the summary names the process."""
    seconds = float(claim.request.get("seconds", 0.05))
    for step in range(10):
        time.sleep(seconds / 10)
        ctx.progress((step + 1) / 10, "working")
    return _files(claim, ctx)


def threads(claim: Claim, ctx: JobContext) -> Outcome:
    """A fake kind that says how this process runs: its pid, niceness and numba's thread count, the last in this
    thread and in another (procrastinate runs a task in a thread of its own)."""
    import numba

    outcome = _files(claim, ctx)
    elsewhere: list[int] = []
    other = threading.Thread(target=lambda: elsewhere.append(numba.get_num_threads()))
    other.start()
    other.join()
    return Outcome({**outcome.summary, "nice": os.getpriority(os.PRIO_PROCESS, 0),
                    "numba_threads": numba.get_num_threads(), "numba_threads_elsewhere": elsewhere[0]},
                   outcome.files)


def stall(claim: Claim, ctx: JobContext) -> Outcome:
    """A fake kind that works ``request["seconds"]`` without a progress report, marks its folder, then ends."""
    time.sleep(float(claim.request.get("seconds", 1.0)))
    (ctx.folder / "finished").write_text(str(os.getpid()), encoding="utf-8")
    return _files(claim, ctx)


def _files(claim: Claim, ctx: JobContext) -> Outcome:
    files = [ctx.folder / "a.json", ctx.folder / "b.txt"]
    files[0].write_text(f'{{"run": "{claim.run_id}", "attempt": {claim.attempt}}}\n', encoding="utf-8")
    files[1].write_text("b\n", encoding="utf-8")
    return Outcome({"pid": os.getpid(), "attempt": claim.attempt}, files)
