"""The store's connection: one SQLAlchemy engine per process, SQLite in WAL mode or PostgreSQL.

SQLite is opened with ``journal_mode=WAL`` (readers never wait for the writer), ``busy_timeout`` (a
writer waits for another instead of failing), ``foreign_keys=ON`` and ``synchronous=NORMAL`` (durable
at each checkpoint, which is what WAL promises). Transactions that write start with ``BEGIN IMMEDIATE``
so that two workers claiming at once queue for the write lock instead of deadlocking on an upgrade;
read-only sessions (``store.session(write=False)``, the API's GET requests) start a plain ``BEGIN`` and
never wait for a writer.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

__all__ = ["Store", "new_id", "now"]


def now() -> float:
    """UNIX seconds, the store's clock."""
    return time.time()


def new_id() -> str:
    """A random identifier (32 hex digits)."""
    return uuid.uuid4().hex


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # autocommit at the driver level: SQLAlchemy's `begin` event issues BEGIN itself (see below)
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in ("journal_mode=WAL", "busy_timeout=30000", "foreign_keys=ON", "synchronous=NORMAL"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN" if connection.get_execution_options().get(_READ) else "BEGIN IMMEDIATE")


#: the execution option that marks a read-only session's connection
_READ = "backgrid_read_only"


class Store:
    """The service's database: an engine and its sessions (``with store.session() as s:``)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.dialect = sa.make_url(url).get_backend_name()
        if self.dialect == "sqlite":
            database = sa.make_url(url).database
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            self.engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", _sqlite_begin)
        else:
            self.engine = sa.create_engine(url, pool_pre_ping=True)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._readers = sessionmaker(self.engine.execution_options(**{_READ: True}), expire_on_commit=False)

    @contextmanager
    def session(self, *, write: bool = True) -> Iterator[Session]:
        """A session whose transaction commits when the block ends and rolls back when it raises.

        ``write=False``: a session that only reads (on SQLite it does not take the write lock).
        """
        with (self._sessions if write else self._readers).begin() as session:
            yield session

    def migrate(self) -> None:
        """Bring the schema up to the newest migration (a new store is created this way)."""
        from backgrid.service.store.migrations import upgrade  # noqa: PLC0415  # Alembic loads on demand

        upgrade(self.engine)

    def dispose(self) -> None:
        """Close the pool (a forked worker calls this so as not to share the parent's connections)."""
        self.engine.dispose()
