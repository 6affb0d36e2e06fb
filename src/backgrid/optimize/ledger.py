"""The trial ledger: every parameter set ever evaluated for a strategy family, across runs and sessions.

The deflated Sharpe ratio corrects a backtest's Sharpe ratio for the number of trials that were tried to
find it, and for how much their Sharpe ratios varied. A researcher's honest count is every set tried,
yesterday's too, not only the last optimisation. The ledger keeps one row per distinct (family, data,
parameter set): the family is the strategy's name unless given, the data its identity (symbol, timeframe,
range), the Sharpe ratio per period (not annualised) and the number of returns it was measured on.
Evaluating a set again does not count it twice.

It lives in SQLite under the home (``$BACKGRID_HOME/ledger.sqlite``), or in any SQLAlchemy database URL
(PostgreSQL when scaled out), so that every worker writes to the same one.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

__all__ = ["LedgerSummary", "TrialLedger"]

_META = sa.MetaData()
_TRIALS = sa.Table(
    "trial_ledger", _META,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("family", sa.String(200), nullable=False),
    sa.Column("data", sa.String(300), nullable=False),
    sa.Column("params", sa.Text, nullable=False),          # JSON, keys sorted
    sa.Column("sharpe", sa.Float, nullable=True),          # per period; NULL where undefined (no returns)
    sa.Column("periods", sa.Integer, nullable=False),
    sa.Column("created", sa.Float, nullable=False),        # unix seconds
    sa.UniqueConstraint("family", "data", "params", name="one_row_per_set"),
)


@dataclass(frozen=True)
class LedgerSummary:
    """What the ledger knows of a family: trials, and the variance of their per-period Sharpe ratios."""

    family: str
    trials: int
    sharpe_variance: float
    #: trials whose Sharpe ratio is undefined (no trade, flat equity): counted, but not in the variance
    undefined: int


class TrialLedger:
    """Every parameter set evaluated, per strategy family (see the module docstring)."""

    def __init__(self, url: str | None = None) -> None:
        if url is None:
            home = Path(os.environ.get("BACKGRID_HOME") or "~/.backgrid").expanduser()
            home.mkdir(parents=True, exist_ok=True)
            url = f"sqlite:///{home / 'ledger.sqlite'}"
        self.url = url
        self._engine = sa.create_engine(url)
        _META.create_all(self._engine)

    def record(self, family: str, data: str, sets: Sequence[Mapping[str, Any]], sharpe: np.ndarray,
               periods: int) -> int:
        """Add the sets evaluated (with their per-period Sharpe ratios); returns how many were new."""
        now = time.time()
        rows = [{"family": family, "data": data, "params": _key(values),
                 "sharpe": None if not np.isfinite(value) else float(value), "periods": int(periods),
                 "created": now} for values, value in zip(sets, sharpe, strict=True)]
        if not rows:
            return 0
        insert = _insert_ignoring_duplicates(self._engine.dialect.name)
        with self._engine.begin() as conn:
            result = conn.execute(insert, rows)
        return max(int(result.rowcount), 0)

    def summary(self, family: str) -> LedgerSummary:
        """How many sets the family has tried, and the variance of their Sharpe ratios (ddof 1)."""
        with self._engine.connect() as conn:
            values = [row[0] for row in conn.execute(
                sa.select(_TRIALS.c.sharpe).where(_TRIALS.c.family == family))]
        defined = np.asarray([v for v in values if v is not None], dtype=np.float64)
        variance = float(np.var(defined, ddof=1)) if defined.size > 1 else float("nan")
        return LedgerSummary(family, len(values), variance, len(values) - defined.size)

    def trials(self, family: str) -> pd.DataFrame:
        """The family's rows: data, params (a dict), sharpe (per period), periods, created."""
        with self._engine.connect() as conn:
            rows = conn.execute(sa.select(_TRIALS).where(_TRIALS.c.family == family).order_by(_TRIALS.c.id))
            frame = pd.DataFrame(rows.mappings().all(), columns=[c.name for c in _TRIALS.columns])
        frame["params"] = [json.loads(p) for p in frame["params"]]
        return frame.drop(columns=["id", "family"])

    def close(self) -> None:
        """Release the database connections."""
        self._engine.dispose()


def _key(values: Mapping[str, Any]) -> str:
    return json.dumps({k: (v.item() if isinstance(v, np.generic) else v) for k, v in values.items()},
                      sort_keys=True)


def _insert_ignoring_duplicates(dialect: str) -> Any:
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert  # noqa: PLC0415  # dialect-specific

        return pg_insert(_TRIALS).on_conflict_do_nothing(constraint="one_row_per_set")
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert  # noqa: PLC0415  # dialect-specific

        return sqlite_insert(_TRIALS).on_conflict_do_nothing()
    return _TRIALS.insert()
