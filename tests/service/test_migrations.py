"""The migrations build the models' schema on SQLite and on PostgreSQL, tear it down, and build it again."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from backgrid.service.store import repository
from backgrid.service.store.db import Store, new_id, now
from backgrid.service.store.migrations import downgrade
from backgrid.service.store.models import Base, Run, User

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
#: indexes with a sort order; Alembic reads them back from SQLite without it and reports a difference
ORDERED_INDEXES = ("runs_claim", "runs_by_owner")
LOCKED = "!"  # a password hash no password matches


@functools.cache
def _postgres_reachable() -> str | None:
    """Why PostgreSQL cannot be used, ``None`` when it can."""
    engine = sa.create_engine(POSTGRES)
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
    except sa.exc.OperationalError as exc:
        return f"PostgreSQL at {POSTGRES} is not reachable: {exc.orig}"
    finally:
        engine.dispose()
    return None


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """An empty store: a SQLite file, or a schema of its own on the test PostgreSQL (dropped afterwards)."""
    if request.param == "sqlite":
        made = Store(f"sqlite:///{tmp_path / 'service.sqlite'}")
        yield made
        made.dispose()
        return
    if (why := _postgres_reachable()) is not None:
        pytest.skip(why)
    schema = f"test_{new_id()[:12]}"
    admin = sa.create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    made = Store(f"{POSTGRES}?options=-csearch_path%3D{schema}")  # every table, alembic_version too, lands there
    try:
        yield made
    finally:
        made.dispose()
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


def _user() -> User:
    return User(id=new_id(), email="a@example.com", password_hash=LOCKED, created_at=now())


def _tables(store: Store) -> set[str]:
    with store.engine.connect() as connection:
        return set(sa.inspect(connection).get_table_names())


def _differences(store: Store) -> list[Any]:
    def include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        del obj, reflected, compare_to
        return not (store.dialect == "sqlite" and type_ == "index" and name in ORDERED_INDEXES)

    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_object": include, "compare_type": True})
        return compare_metadata(context, Base.metadata)


def _model_keys(name: str) -> list[tuple[str, bool]]:
    """The ``(column, descending)`` keys of index ``name`` as the models declare it."""
    index = next(i for i in Run.__table__.indexes if i.name == name)
    keys = []
    for expression in index.expressions:
        if isinstance(expression, sa.Column):
            keys.append((expression.name, False))
        else:  # sa.text("priority DESC")
            column, *order = str(expression).split()
            keys.append((column, order == ["DESC"]))
    return keys


def _stored_keys(store: Store, name: str) -> list[tuple[str, bool]]:
    """The ``(column, descending)`` keys of index ``name`` as the database holds it."""
    with store.engine.connect() as connection:
        if store.dialect == "sqlite":
            rows = connection.exec_driver_sql(f"PRAGMA index_xinfo({name})").all()
            return [(row[2], bool(row[3])) for row in rows if row[5]]  # key columns, not the rowid
        index = next(i for i in sa.inspect(connection).get_indexes("runs") if i["name"] == name)
        sorting = index.get("column_sorting", {})
        return [(column, "desc" in sorting.get(column, ())) for column in index["column_names"]]


def test_upgrade_downgrade_and_upgrade_again(store: Store) -> None:
    store.migrate()
    assert set(Base.metadata.tables) <= _tables(store)
    downgrade(store.engine)
    assert _tables(store) == {"alembic_version"}
    store.migrate()
    assert set(Base.metadata.tables) | {"alembic_version"} == _tables(store)
    with store.session() as session:  # the schema takes rows, defaults and all
        session.add(_user())
    with store.session() as session:
        assert session.scalars(sa.select(User.role)).all() == ["user"]


def test_the_newest_schema_is_the_models(store: Store) -> None:
    store.migrate()
    assert _differences(store) == []
    for name in ORDERED_INDEXES:
        assert _stored_keys(store, name) == _model_keys(name)


def test_the_model_keys_read_the_sort_order() -> None:
    assert _model_keys("runs_claim") == [("queue", False), ("status", False), ("priority", True),
                                         ("created_at", False)]
    assert _model_keys("runs_by_owner") == [("user_id", False), ("created_at", True)]


def test_the_claim_uses_its_index_on_sqlite(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'service.sqlite'}")
    store.migrate()
    with store.session() as session:
        user = _user()
        session.add(user)
        session.flush()  # the models declare no relationships, so the user must exist before its runs
        session.add_all(Run(id=new_id(), user_id=user.id, kind="backtest", queue=queue, status=status,
                            request={}, created_at=float(i))
                        for i, (queue, status) in enumerate([("manual", "queued"), ("scheduled", "queued"),
                                                             ("manual", "succeeded")] * 50))
    # the worker's claim (service.jobs.lease): the next queued run of one queue, highest priority, then oldest
    nxt = (sa.select(Run.id).where(Run.queue == "manual", Run.status == "queued", Run.not_before <= now())
           .order_by(Run.priority.desc(), Run.created_at).limit(1).scalar_subquery())
    claim = (sa.update(Run).where(Run.id == nxt).values(status="running", attempts=Run.attempts + 1)
             .returning(Run.id))
    sql = str(claim.compile(store.engine, compile_kwargs={"literal_binds": True}))
    with store.engine.connect() as connection:
        plan = " | ".join(row[3] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
    assert "USING INDEX runs_claim" in plan, plan
    assert "TEMP B-TREE" not in plan, plan  # the index gives the order: no sort
    store.dispose()


def test_the_quotas_count_from_their_indexes_on_sqlite(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'service.sqlite'}")
    store.migrate()
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        seen.append((statement, parameters))

    with store.session() as session:
        user = _user()
        session.add(user)
        session.flush()
        session.add_all(Run(id=new_id(), user_id=user.id, kind="backtest", status=status, request={},
                            created_at=float(i)) for i, status in enumerate(["succeeded"] * 200 + ["queued"] * 3))
        session.flush()
        sa.event.listen(store.engine, "before_cursor_execute", record)
        # what POST /runs checks at every submission: runs of the last hour (here: since 150), queued or running
        assert repository.run_load(session, user.id, since=150.0) == (53, 3)
        sa.event.remove(store.engine, "before_cursor_execute", record)
    ((statement, parameters),) = seen
    with store.engine.connect() as connection:
        plan = " | ".join(row[3] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters))
    assert "COVERING INDEX runs_active" in plan, plan  # the user's runs of two states, not all of them
    assert "COVERING INDEX runs_by_owner" in plan, plan  # the user's runs since the time, not all of them
    store.dispose()
