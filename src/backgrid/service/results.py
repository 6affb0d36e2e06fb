"""A finished run's results read back from its published artifacts, for the API's result routes.

A run publishes ``result.npz`` (``Result.save``); reading one back costs milliseconds, so the last few
are kept in memory (keyed by the file's path and size: an attempt's files never change once published).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from backgrid.engine.result import Result
from backgrid.report.lttb import lttb
from backgrid.strategy.manifest import json_value

__all__ = ["ResultCache", "equity_points", "json_records"]

#: results kept in memory per process
CACHED_RESULTS = 32


class ResultCache:
    """The results read last, by file (see the module docstring); ``on_lookup(hit)`` counts each lookup."""

    def __init__(self, size: int = CACHED_RESULTS, on_lookup: Callable[[bool], None] | None = None) -> None:
        self.size, self.on_lookup = size, on_lookup
        self._results: OrderedDict[tuple[str, int], Result] = OrderedDict()
        self._lock = threading.Lock()

    def load(self, path: Path) -> Result:
        """The result in ``path``."""
        key = (str(path), path.stat().st_size)
        with self._lock:
            found = self._results.get(key)
            if found is not None:
                self._results.move_to_end(key)
        if self.on_lookup is not None:
            self.on_lookup(found is not None)
        if found is not None:
            return found
        result = Result.load(path)
        with self._lock:
            self._results[key] = result
            while len(self._results) > self.size:
                self._results.popitem(last=False)
        return result


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
