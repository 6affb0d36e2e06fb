"""Alembic migrations of the store, run from code (``Store.migrate``); every revision has a downgrade.

A new revision: change ``service/store/models.py``, then
``python -m backgrid.service.store.migrations revision "what changed"`` writes it by comparing the
models with a store at the newest revision (review it: autogenerate misses renames).
"""

from __future__ import annotations

import sys
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

__all__ = ["downgrade", "upgrade"]

_HERE = Path(__file__).parent


def _config(connection: sa.Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_HERE))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Upgrade the store to ``revision`` (default: the newest)."""
    with engine.begin() as connection:
        command.upgrade(_config(connection), revision)


def downgrade(engine: sa.Engine, revision: str = "base") -> None:
    """Downgrade the store to ``revision`` (default: empty)."""
    with engine.begin() as connection:
        command.downgrade(_config(connection), revision)


def _revision(message: str) -> None:  # pragma: no cover - a developer's command
    engine = sa.create_engine("sqlite://")
    upgrade(engine)
    with engine.begin() as connection:
        command.revision(_config(connection), message=message, autogenerate=True)


if __name__ == "__main__":  # pragma: no cover
    _revision(" ".join(sys.argv[2:]) if sys.argv[1:2] == ["revision"] else "change")
