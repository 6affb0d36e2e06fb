"""A schema of its own on a PostgreSQL server, for a test or a benchmark that must not touch anybody else's tables.

    with postgres_schema("postgresql+psycopg://postgres@127.0.0.1:5432/test") as url:
        ...  # url sets search_path to the new schema; it is dropped, with all it holds, afterwards
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["postgres_schema"]


@contextmanager
def postgres_schema(server: str, *, prefix: str = "test") -> Iterator[str]:
    """The URL of a new schema ``<prefix>_<random>`` on ``server`` (an SQLAlchemy URL), dropped when the block ends.

    Raises:
        sqlalchemy.exc.OperationalError: the server does not answer (nothing was created).
    """
    import sqlalchemy as sa  # noqa: PLC0415  # only a caller of this needs it

    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server)
    try:
        with admin.begin() as conn:
            conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
        try:
            yield f"{server}?options=-csearch_path%3D{schema}"
        finally:
            with admin.begin() as conn:
                conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
    finally:
        admin.dispose()
