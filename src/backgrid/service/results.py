"""A finished run's results read back from its published artifacts, for the API's result routes.

A run publishes ``result.npz`` (``Result.save``); reading one back costs milliseconds, so the last few
are kept in memory (keyed by the file's path and size: an attempt's files never change once published).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from backgrid.data.store import DataStore
from backgrid.engine.result import Result
from backgrid.report.lttb import lttb
from backgrid.strategy.manifest import json_value

__all__ = ["equity_points", "json_records", "load_result", "user_store"]

#: results kept in memory per process
CACHED_RESULTS = 32


def user_store(home: Path, user_id: str) -> DataStore:
    """The market-data store of one user (uploads, fetched series, demo bars): nobody else reads it."""
    return DataStore(home / "users" / user_id)


@lru_cache(maxsize=CACHED_RESULTS)
def _load(path: str, _size: int) -> Result:
    return Result.load(path)


def load_result(path: Path) -> Result:
    """The result in ``path`` (cached; see the module docstring)."""
    return _load(str(path), path.stat().st_size)


def cache_info() -> tuple[int, int]:
    """Hits and misses of the result cache (for the metrics)."""
    info = _load.cache_info()
    return info.hits, info.misses


def _cell(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return json_value(value)


def json_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of ``frame`` as JSON-ready dicts: times in ISO 8601, NaN and infinities as ``null``."""
    columns = list(frame.columns)
    return [{c: _cell(v) for c, v in zip(columns, row, strict=True)} for row in frame.itertuples(index=False)]


def equity_points(result: Result, max_points: int) -> list[dict[str, Any]]:
    """The equity curve of a one-column run, downsampled by LTTB to at most ``max_points`` (shape kept)."""
    equity = result.equity
    values = np.asarray(equity if isinstance(equity, pd.Series) else equity.iloc[:, 0], dtype=np.float64)
    x = np.arange(values.size, dtype=np.float64)
    keep = lttb(x, values, max_points)
    times = result.index[keep]
    return [{"time": t.isoformat(), "equity": _cell(v)} for t, v in zip(times, values[keep], strict=True)]
