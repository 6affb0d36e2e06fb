"""Each user's own market-data store under the home: uploads, fetched series, demo bars.

Nobody else reads it: a run reads its owner's store only, so one user's data can neither be read nor
detected by another (their series ids and their runs' results are scoped the same way).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from backgrid.data.store import DataStore

__all__ = ["user_store", "users_with_data"]


def user_store(home: Path, user_id: str) -> DataStore:
    """The data store of ``user_id``."""
    return DataStore(home / "users" / user_id)


def users_with_data(home: Path) -> Iterator[str]:
    """The ids of the users whose store exists."""
    folder = home / "users"
    if folder.is_dir():
        yield from sorted(p.name for p in folder.iterdir() if p.is_dir())
