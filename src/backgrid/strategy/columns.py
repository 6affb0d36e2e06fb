"""Stack the engine arguments of many parameter sets into one engine call: one column per set.

Each parameter set gives ``backtest`` keyword arguments for one column: signals and
per-bar values as (n,) arrays, per-column settings as numbers. Stacked, signals and
per-bar values become (n, m) arrays (one (n,) array when every set shares it),
per-column settings become length-m arrays, and account-wide settings must agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from backgrid.engine.options import OPTIONS
from backgrid.errors import SpecError

__all__ = ["PER_BAR", "PER_COLUMN", "SIGNALS", "stack"]

SIGNALS = tuple(name for name, o in OPTIONS.items() if o.scope == "signal")
PER_BAR = tuple(name for name, o in OPTIONS.items() if o.scope == "bar")
#: Per-column settings: a column that has none of one gets NaN (the engine reads it as none).
PER_COLUMN = tuple(name for name, o in OPTIONS.items() if o.scope == "column")


def stack(per_set: Sequence[dict[str, Any]], index: pd.DatetimeIndex, labels: pd.Index | None) -> dict[str, Any]:
    """One ``backtest`` keyword set from one per parameter set (see the module docstring).

    ``labels`` names the columns (the swept values); ``None`` for a single set, which passes through.
    """
    if len(per_set) == 1 and labels is None:
        only = dict(per_set[0])
        for key in SIGNALS:
            if key in only:
                only[key] = pd.Series(only[key], index=index)
        return only
    keys = list(dict.fromkeys(k for kwargs in per_set for k in kwargs))
    out: dict[str, Any] = {}
    for key in keys:
        values = [kwargs.get(key) for kwargs in per_set]
        if all(v is None for v in values):
            continue
        if key in SIGNALS:
            zeros = np.zeros(index.size, dtype=np.bool_)
            out[key] = pd.DataFrame(_columns([zeros if v is None else v for v in values], index.size, np.bool_),
                                    index=index, columns=labels, copy=False)
        elif key in PER_BAR:
            out[key] = _per_bar(key, values, index.size)
        elif key in PER_COLUMN:
            filled = [np.nan if v is None else v for v in values]
            out[key] = filled[0] if all(_same(v, filled[0]) for v in filled) else np.asarray(filled, dtype=np.float64)
        else:
            if not all(_same(v, values[0]) for v in values):
                msg = f"{key} differs between parameter sets; it applies to the whole account and cannot be swept"
                raise SpecError([("parameters", msg)])
            out[key] = values[0]
    return out


def _per_bar(key: str, values: list[Any], n: int) -> Any:
    if all(v is values[0] for v in values):
        return values[0]
    if any(v is None for v in values) and key != "volatility":
        columns = [np.full(n, np.nan) if v is None else np.broadcast_to(np.asarray(v, dtype=np.float64), (n,))
                   for v in values]
    else:
        columns = [np.broadcast_to(np.asarray(v, dtype=np.float64), (n,)) for v in values]
    return _columns(columns, n, np.float64)


def _columns(columns: list[Any], n: int, dtype: Any) -> np.ndarray:
    """The columns side by side, column-major: the engine reads each parameter set's column whole (a row-major
    matrix of a big sweep costs a transposed copy and strided reads)."""
    out = np.empty((n, len(columns)), dtype=dtype, order="F")
    for j, column in enumerate(columns):
        out[:, j] = column
    return out


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b):
        return True
    return bool(a == b)
