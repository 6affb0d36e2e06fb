"""Data sets every indicator is tested on (GOOG daily, shipped with backtesting.py, and seeded random bars) and
the checks the family tests share: TA-Lib agreement at given parameters, reference and hand-worked comparisons."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pandas as pd
import pytest
from backtesting.test import GOOG

from backgrid import indicators
from backgrid.data.bars import Bars
from backgrid.testing import random_bars


def goog() -> Bars:
    """GOOG daily 2004-2013 from the backtesting package."""
    return Bars.from_pandas(GOOG.rename(columns=str.lower), symbol="GOOG", timeframe="1d", calendar="us-equity")


DATASETS = {"goog": goog, "random": lambda: random_bars(3000, timeframe="1h", seed=42)}


@functools.cache
def bars_of(name: str) -> Bars:
    """Data set ``name``, built once (for tests that only read it)."""
    return DATASETS[name]()


def columns(data: str) -> dict[str, np.ndarray]:
    """The OHLCV arrays of data set ``data`` (fresh arrays on every call)."""
    bars = DATASETS[data]()
    return {c: bars.column(c) for c in ("open", "high", "low", "close", "volume")}


@pytest.fixture(params=sorted(DATASETS), scope="session")
def dataset(request: pytest.FixtureRequest) -> Bars:
    """Each data set in turn."""
    return DATASETS[request.param]()


def talib_outputs(spec: Any, bars: Bars, params: dict[str, Any]) -> dict[str, np.ndarray]:
    """Run the TA-Lib function a spec names, with its parameters mapped, and map the outputs back."""
    from talib import abstract

    ref = spec.talib
    func = abstract.Function(ref.function)
    kwargs = {ref.params[k]: v for k, v in params.items() if k in ref.params}
    kwargs.update(ref.fixed)
    inputs = {c: bars.column(c) for c in ("open", "high", "low", "close", "volume")}
    result = func(inputs, **kwargs)
    names = func.output_names
    arrays = [result] if len(names) == 1 else list(result)
    by_name = dict(zip(names, arrays, strict=True))
    mapping = dict(ref.outputs) or {spec.outputs[0].name: names[0]}
    return {ours: np.asarray(by_name[theirs], dtype=np.float64) for ours, theirs in mapping.items()}


def assert_matches(ours: np.ndarray, theirs: np.ndarray, label: str) -> None:
    """Same NaN positions (the warm-up) and values within 1e-9 (relative, or absolute near zero)."""
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs), err_msg=f"{label}: NaN positions differ")
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-9, equal_nan=True, err_msg=label)


def assert_values(ours: np.ndarray, expected: Any, label: str = "") -> None:
    """Same NaNs and values to 1e-12 (for the small hand-worked cases)."""
    np.testing.assert_allclose(ours, np.asarray(expected, dtype=np.float64), rtol=1e-12, atol=1e-12,
                               equal_nan=True, err_msg=label)


def case_ids(cases: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """Test ids for ``(module id, parameters)`` cases."""
    return [f"{id_}-{given}" for id_, given in cases]


def check_talib_case(id_: str, given: dict[str, Any], data: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Assert every output of module ``id_`` at parameters ``given`` matches its TA-Lib twin on data set ``data``.

    Returns our outputs and the resolved parameters, for checks of the caller's own.
    """
    bars = bars_of(data)
    spec = indicators.get(id_)
    params = spec.resolve(given)
    ours = indicators.compute(id_, bars, **params)
    for name, theirs in talib_outputs(spec, bars, params).items():
        assert_matches(ours[name].to_numpy(), theirs, f"{id_}.{name} {given} on {data}")
    return ours, params


def reference_period_keys(bars: Bars, period: str) -> list[tuple[int, ...]]:
    """Period of each bar from pandas' own time-zone arithmetic (independent of backgrid's periods).

    Intraday bars of a session market belong to their local date; bars stamped at UTC midnight are
    date labels and keep their date.
    """
    date_labels = not (bars.ts % 86_400_000_000_000).any()
    tz = "UTC" if bars.calendar.continuous or date_labels else bars.calendar.tz
    local = pd.to_datetime(bars.ts, utc=True).tz_convert(tz)
    if period in ("session", "day"):
        return list(zip(local.year, local.month, local.day, strict=True))
    if period == "week":
        monday = local.normalize() - pd.to_timedelta(local.day_of_week, unit="D")
        return list(zip(monday.year, monday.month, monday.day, strict=True))
    return list(zip(local.year, local.month, strict=True))
