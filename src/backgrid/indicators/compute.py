"""Run indicator modules on bars, frames or arrays; sweep parameter vectors in one call."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from backgrid.data.bars import Bars
from backgrid.data.calendar import infer_calendar
from backgrid.errors import IndicatorError
from backgrid.indicators.registry import REGISTRY
from backgrid.indicators.spec import IndicatorSpec

__all__ = ["bar_inputs", "compute", "compute_arrays"]

_SWEEPABLE = (list, tuple, np.ndarray, range)


def bar_inputs(bars: Bars) -> dict[str, Any]:
    """Everything a module may read from ``bars``: its columns, ``ts`` and ``calendar``."""
    columns: dict[str, Any] = {c: bars.column(c) for c in bars.columns}
    columns.update(ts=bars.ts, calendar=bars.calendar)
    return columns


def _inputs_of(data: Any, spec: IndicatorSpec) -> tuple[dict[str, Any], pd.Index | None]:
    if isinstance(data, Bars):
        return bar_inputs(data), data.index
    if isinstance(data, pd.DataFrame):
        lowered = {str(c).lower(): c for c in data.columns}
        columns: dict[str, Any] = {k: data[v].to_numpy(dtype=np.float64) for k, v in lowered.items()
                   if k in ("open", "high", "low", "close", "volume")}
        if isinstance(data.index, pd.DatetimeIndex):
            index = data.index.tz_localize("UTC") if data.index.tz is None else data.index.tz_convert("UTC")
            ts = np.asarray(index.as_unit("ns").asi8, dtype=np.int64)
            columns.update(ts=ts, calendar=infer_calendar(ts))
        return columns, data.index
    if isinstance(data, pd.Series):
        return {spec.inputs[0]: data.to_numpy(dtype=np.float64)}, data.index
    array = np.asarray(data, dtype=np.float64)
    return {spec.inputs[0]: array}, None


def compute_arrays(id: str, inputs: Mapping[str, Any], **params: Any) -> dict[str, np.ndarray]:  # noqa: A002
    """Run module ``id`` on arrays; returns one float64 array per output.

    1-D inputs give 1-D outputs. 2-D inputs (bars x columns, e.g. many symbols) give
    2-D outputs, each column computed on its own.
    """
    spec = REGISTRY.get(id)
    resolved = spec.resolve(params)
    missing = [name for name in spec.inputs if name not in inputs]
    if missing:
        msg = f"{id} needs input(s) {', '.join(missing)}; got {', '.join(inputs) or 'none'}"
        raise IndicatorError(msg)
    args = {name: inputs[name] for name in spec.inputs}
    arrays = {k: v for k, v in args.items() if isinstance(v, np.ndarray) and k != "ts"}
    if arrays and next(iter(arrays.values())).ndim == 2:
        width = next(iter(arrays.values())).shape[1]
        columns = [_run(spec, {k: (v[:, j] if k in arrays else v) for k, v in args.items()}, resolved)
                   for j in range(width)]
        return {o.name: np.column_stack([c[o.name] for c in columns]) for o in spec.outputs}
    return _run(spec, args, resolved)


def _run(spec: IndicatorSpec, args: dict[str, Any], params: dict[str, Any]) -> dict[str, np.ndarray]:
    prepared = {k: (np.ascontiguousarray(v, dtype=np.int64 if k == "ts" else np.float64)
                    if k != "calendar" else v) for k, v in args.items()}
    result = spec.fn(**prepared, **params)
    return {o.name: np.asarray(result[o.name], dtype=np.float64) for o in spec.outputs}


def compute(id: str, data: Any, **params: Any) -> pd.DataFrame:  # noqa: A002
    """Run module ``id`` on ``data`` (Bars, an OHLCV DataFrame, a Series or an array).

    Returns a frame on the data's index with one column per output. Give a list
    (or range, or array) for any parameter to sweep it: the frame then has a column
    MultiIndex ``(output, param, ...)`` with one column per combination.

    >>> from backgrid.data.sources.demo import demo_bars
    >>> compute("sma", demo_bars("DEMO-BTC", "1d"), period=[10, 20]).columns.tolist()[:2]
    [('sma', 10), ('sma', 20)]
    """
    spec = REGISTRY.get(id)
    inputs, index = _inputs_of(data, spec)
    swept = {k: list(v) for k, v in params.items() if isinstance(v, _SWEEPABLE)}
    if not swept:
        out = compute_arrays(id, inputs, **params)
        return pd.DataFrame(out, index=index)
    fixed = {k: v for k, v in params.items() if k not in swept}
    combos = list(itertools.product(*swept.values()))
    blocks: dict[tuple[Any, ...], np.ndarray] = {}
    for combo in combos:
        values = dict(zip(swept, combo, strict=True))
        result = compute_arrays(id, inputs, **fixed, **values)
        for output, array in result.items():
            blocks[(output, *combo)] = array
    columns = pd.MultiIndex.from_tuples(list(blocks), names=["output", *swept])
    return pd.DataFrame(np.column_stack(list(blocks.values())), index=index, columns=columns)
