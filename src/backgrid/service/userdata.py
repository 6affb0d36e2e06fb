"""Each user's own market-data store under the home: uploads, fetched series, demo bars.

Nobody else reads it: a run reads its owner's store only, so one user's data can neither be read nor
detected by another (their series ids and their runs' results are scoped the same way).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path

from backgrid.data.store import DataStore, SeriesCache

__all__ = ["series_cache", "user_store", "users_with_data"]


def user_store(home: Path, user_id: str, cache: SeriesCache | None = None) -> DataStore:
    """The data store of ``user_id``; ``cache`` keeps what it decodes (see :func:`series_cache`)."""
    return DataStore(home / "users" / user_id, cache=cache)


@functools.cache
def series_cache(megabytes: int) -> SeriesCache | None:
    """This process's cache of decoded series, shared by every user's store (none for 0 MiB).

    Each store's files are its own, so a cached series is only ever served to its owner's store.
    """
    return SeriesCache(megabytes * 2**20) if megabytes > 0 else None


def users_with_data(home: Path) -> Iterator[str]:
    """The ids of the users whose store exists."""
    folder = home / "users"
    if folder.is_dir():
        yield from sorted(p.name for p in folder.iterdir() if p.is_dir())
