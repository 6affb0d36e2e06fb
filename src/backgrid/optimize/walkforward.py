"""Walk-forward analysis: optimise on a train window, trade the best set on the test window that follows.

Splitters (:func:`splits`) cut the bars into folds, rolling (each train window as long as the first) or
anchored (each train window from the first bar), with lengths in bars (``5000``) or time (``"2y"``,
``"6m"``, ``"30d"``, ``"12h"``, ``"90min"``; ``m`` is months, ``min`` minutes). A ``gap`` of bars between a
train window and its test window keeps an overlap of labels out of the test (López de Prado's purge); an
``embargo`` skips bars after each test window before the next test window starts.

Each fold's search sees only its train window's bars, so nothing after a train window can change the set it
chooses. Its test runs the chosen set on the bars from the train window's start to the test window's end,
with entries allowed only inside the test window (the bars before it are the indicators' history) and every
position closed at the test window's last close; the account starts each test with the cash the previous one
ended with. The stitched out-of-sample equity is one continuous account.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from backgrid.data.bars import Bars
from backgrid.engine.records import TRADE
from backgrid.engine.result import Result
from backgrid.engine.run import backtest
from backgrid.errors import OptimizeError
from backgrid.metrics.registry import StatsInput, compute_stats, periods_per_year
from backgrid.optimize.evaluate import Target
from backgrid.optimize.search import OptimizeResult, Progress, as_target, optimize

__all__ = ["Fold", "WalkForwardResult", "splits", "walk_forward"]

_LENGTH = re.compile(r"^\s*(\d+)\s*(y|m|w|d|h|min)\s*$")
_OFFSET = {"y": "years", "m": "months", "w": "weeks", "d": "days", "h": "hours", "min": "minutes"}
#: signals that open positions: masked before a fold's test window
_OPENING = ("entries", "short_entries")


@dataclass(frozen=True)
class Fold:
    """One fold: bar positions of its train and test windows (stop excluded)."""

    number: int
    train: slice
    test: slice


def _length(value: int | str, name: str) -> int | pd.DateOffset:
    if isinstance(value, bool):
        msg = f"{name} must be a number of bars or a duration like '2y', got {value!r}"
        raise OptimizeError(msg)
    if isinstance(value, int | np.integer):
        if value < 0 or (value == 0 and name in {"train", "test"}):
            msg = f"{name} must be {'>= 0' if name in {'gap', 'embargo'} else '>= 1'} bars, got {value}"
            raise OptimizeError(msg)
        return int(value)
    match = _LENGTH.match(str(value))
    if match is None:
        msg = (f"{name} must be a number of bars or a duration like '2y', '6m', '30d', '12h', '90min', "
               f"got {value!r}")
        raise OptimizeError(msg)
    return pd.DateOffset(**{_OFFSET[match.group(2)]: int(match.group(1))})  # type: ignore[arg-type]  # stubs: every keyword is typed bool


def splits(index: pd.DatetimeIndex, *, train: int | str, test: int | str | None = None, folds: int | None = None,
           gap: int | str = 0, embargo: int | str = 0, anchored: bool = False) -> list[Fold]:
    """Walk-forward folds over ``index`` (the bars' open times); see the module docstring.

    Give ``test``, or ``folds`` to cut the bars after the first train window into that many test windows
    (in bars). A last test window shorter than ``test`` is dropped.

    >>> idx = pd.date_range("2024-01-01", periods=10, freq="D", tz="UTC")
    >>> [(f.train.start, f.train.stop, f.test.start, f.test.stop) for f in splits(idx, train=4, test=3)]
    [(0, 4, 4, 7), (3, 7, 7, 10)]
    """
    n = index.size
    train_len, gap_len, embargo_len = _length(train, "train"), _length(gap, "gap"), _length(embargo, "embargo")
    if test is None:
        if folds is None or isinstance(folds, bool) or not isinstance(folds, int) or folds < 1:
            msg = f"give test (a window length) or folds (how many test windows >= 1), got folds={folds!r}"
            raise OptimizeError(msg)
        first = _advance(index, 0, train_len) + (gap_len if isinstance(gap_len, int) else 0)
        test_bars = (n - first) // folds
        if test_bars < 1:
            msg = f"{folds} folds leave no test bars after a train window of {train} ({n} bars in all)"
            raise OptimizeError(msg)
        test_len: int | pd.DateOffset = test_bars
    elif folds is not None:
        msg = "give test or folds, not both"
        raise OptimizeError(msg)
    else:
        test_len = _length(test, "test")
    out: list[Fold] = []
    train_start, train_stop = 0, _advance(index, 0, train_len)
    while True:
        test_start = _advance(index, train_stop, gap_len)
        test_stop = _advance(index, test_start, test_len)
        if test_stop > n or test_start >= n or test_stop <= test_start or train_stop <= train_start:
            break
        out.append(Fold(len(out), slice(train_start, train_stop), slice(test_start, test_stop)))
        if folds is not None and len(out) == folds:
            break
        next_test = _advance(index, test_stop, embargo_len)
        train_stop = _back(index, next_test, gap_len)
        train_start = 0 if anchored else _back(index, train_stop, train_len)
    if not out:
        msg = (f"no fold fits in {n} bars with train={train}, test={test if test is not None else test_len}, "
               f"gap={gap}")
        raise OptimizeError(msg)
    return out


def _advance(index: pd.DatetimeIndex, start: int, length: int | pd.DateOffset) -> int:
    """The bar position ``length`` after bar ``start`` (a duration: the first bar at or after that time)."""
    if isinstance(length, int):
        return start + length
    if start >= index.size:
        return index.size + 1
    return int(index.searchsorted(index[start] + length, side="left"))


def _back(index: pd.DatetimeIndex, stop: int, length: int | pd.DateOffset) -> int:
    """The bar position ``length`` before bar ``stop``."""
    if isinstance(length, int):
        return max(stop - length, 0)
    when = index[min(stop, index.size - 1)] if stop < index.size else index[-1] + (index[-1] - index[-2])
    return int(index.searchsorted(when - length, side="left"))


@dataclass
class WalkForwardResult:
    """The folds, each fold's search, and the stitched out-of-sample account.

    ``folds`` has one row per fold: train and test ranges (first and last bar's time), the chosen parameters,
    ``is_value`` (the objective of the chosen set in its train window), ``oos_value`` (the same metric in the
    test window), ``degradation`` ((IS - OOS) / |IS|) and ``trades`` in the test window.
    """

    folds: pd.DataFrame
    searches: list[OptimizeResult]
    tests: list[Result]
    equity: pd.Series
    trades: pd.DataFrame
    objective: str
    params: list[str]
    name: str
    _stats: dict[str, float | int]

    @property
    def stats(self) -> pd.Series:
        """Every metric of the stitched out-of-sample account."""
        return pd.Series(self._stats, name="out_of_sample", dtype=object)

    @property
    def efficiency(self) -> float:
        """Walk-forward efficiency: the mean out-of-sample objective over the mean in-sample objective."""
        is_mean = float(self.folds["is_value"].mean())
        return float(self.folds["oos_value"].mean()) / is_mean if is_mean else float("nan")

    @property
    def stability(self) -> pd.DataFrame:
        """Per parameter across folds: distinct values, mean, coefficient of variation, share of the mode."""
        rows = {}
        for name in self.params:
            values = self.folds[name]
            numeric = pd.to_numeric(values, errors="coerce")
            mean = float(numeric.mean()) if numeric.notna().all() else float("nan")
            rows[name] = {"distinct": int(values.nunique()), "mean": mean,
                          "cv": float(numeric.std(ddof=0) / abs(mean)) if mean else float("nan"),
                          "mode_share": float(values.value_counts().iloc[0] / len(values))}
        return pd.DataFrame.from_dict(rows, orient="index")

    def figures(self) -> list[Any]:
        """Plotly figures: the stitched equity with fold boundaries, and IS against OOS per fold."""
        from backgrid.charts.trials import folds as folds_chart  # noqa: PLC0415  # plotly for plots only

        return [folds_chart(self.folds.reset_index(), self.equity, title=self.name)]

    def plot(self, path: str | Path) -> Path:
        """Write :meth:`figures` to one self-contained HTML file; returns its path."""
        from backgrid.charts.trials import save_html  # noqa: PLC0415  # plotly for plots only

        return Path(save_html(self.figures(), path, title=f"{self.name}: walk-forward"))

    def summary(self) -> str:
        """A few plain lines: folds, the out-of-sample result, efficiency and degradation."""
        s = self._stats
        return (f"walk-forward of {self.name}: {len(self.folds)} folds; out of sample {s['trades']} trades, "
                f"total return {s['total_return']:.2%}, Sharpe {s['sharpe_ratio']:.2f}, max drawdown "
                f"{s['max_drawdown']:.2%}; efficiency {self.efficiency:.2f} ({self.objective}), median "
                f"degradation {self.folds['degradation'].median():.1%}")


def walk_forward(strategy: Any, data: Bars, *, train: int | str, test: int | str | None = None,
                 folds: int | None = None, gap: int | str = 0, embargo: int | str = 0, anchored: bool = False,
                 method: str = "grid", objective: str = "sharpe_ratio", progress: Progress | None = None,
                 options: Mapping[str, Any] | None = None, **search: Any) -> WalkForwardResult:
    """Walk ``strategy`` forward over ``data`` (see the module docstring).

    ``search`` goes to :func:`~backgrid.optimize.optimize` for each fold (``space``, ``conditions``,
    ``constraints``, ``trials``, ``seed``, ``jobs``, ``cluster``, ``memory``, ``ledger``...); the objective
    must be one registry metric, measured in and out of sample.
    """
    if not isinstance(data, Bars):
        msg = f"a walk-forward runs on one symbol's Bars, got {type(data).__name__}"
        raise OptimizeError(msg)
    if not isinstance(objective, str):
        msg = "a walk-forward's objective is one metric name (it is measured in and out of sample)"
        raise OptimizeError(msg)
    for name in ("study", "storage"):
        if name in search:
            msg = f"{name} is not supported in a walk-forward (each fold's search runs in memory)"
            raise OptimizeError(msg)
    target = as_target(strategy, options)
    cuts = splits(data.index, train=train, test=test, folds=folds, gap=gap, embargo=embargo, anchored=anchored)
    searches: list[OptimizeResult] = []
    tests: list[Result] = []
    rows = []
    cash: float | None = None
    for fold in cuts:
        found = optimize(target, data.take(fold.train), method=method, objective=objective, **search)
        searches.append(found)
        best = found.best
        segment = _test(target, data, fold, best, cash)
        tests.append(segment)
        cash = float(segment.summary[0, 0])
        metric = found.objectives[0].name
        oos = float(_stats_of(segment)[metric])
        is_value = found.best_value
        rows.append({"fold": fold.number, "train_start": data.index[fold.train.start],
                     "train_end": data.index[fold.train.stop - 1], "test_start": data.index[fold.test.start],
                     "test_end": data.index[fold.test.stop - 1], **{k: best[k] for k in found.params},
                     "is_value": is_value, "oos_value": oos,
                     "degradation": (is_value - oos) / abs(is_value) if is_value else float("nan"),
                     "trades": int(segment.records.size)})
        if progress is not None:
            progress(fold.number + 1, len(cuts))
    equity, trades, stitched = _stitch(tests, data)
    frame = pd.DataFrame(rows).set_index("fold")
    return WalkForwardResult(frame, searches, tests, equity, trades, searches[0].objectives[0].name,
                             searches[0].params, target.name, stitched)


def _test(target: Target, data: Bars, fold: Fold, values: Mapping[str, Any], cash: float | None) -> Result:
    """The chosen set on the bars from the train start to the test end, trading in the test window only."""
    window = data.take(slice(fold.train.start, fold.test.stop))
    bars, kwargs = target.inputs(window, values)
    offset = fold.test.start - fold.train.start
    for key in _OPENING:
        if key in kwargs and kwargs[key] is not None:
            opened = np.array(kwargs[key], dtype=np.bool_, copy=True)
            opened[:offset] = False
            kwargs[key] = opened
    flat = np.zeros(len(window), dtype=np.bool_)
    if kwargs.get("flat_at") is not None:
        flat |= np.asarray(kwargs["flat_at"], dtype=np.bool_)
    flat[-1] = True
    kwargs["flat_at"] = flat
    if cash is not None:
        kwargs["cash"] = cash
    return backtest(bars, **kwargs).segment(offset)


def _stats_of(result: Result) -> dict[str, float | int]:
    stats = result.stats
    row = stats if isinstance(stats, pd.Series) else stats.iloc[0]
    return {str(k): v for k, v in row.items()}


def _stitch(tests: list[Result], data: Bars) -> tuple[pd.Series, pd.DataFrame, dict[str, float | int]]:
    """The test windows as one account: equity, trades (with their fold) and its statistics."""
    equity = np.concatenate([t.equity.to_numpy() for t in tests])
    index = tests[0].index.append([t.index for t in tests[1:]])
    records = []
    start = 0
    for t in tests:
        moved = t.records.copy()
        moved["entry_idx"] += start
        moved["exit_idx"] += start
        records.append(moved)
        start += t.index.size
    trades = np.concatenate(records) if records else np.zeros(0, dtype=TRADE)
    ts = np.asarray(pd.DatetimeIndex(index).as_unit("ns").asi8, dtype=np.int64)
    bar_ns = data.timeframe.nanos
    stats = compute_stats(StatsInput(equity=equity, cash=float(tests[0].params["cash"][0]), ts=ts, bar_ns=bar_ns,
                                     ppy=periods_per_year(bar_ns, data.calendar), trades=trades,
                                     benchmark=data.close[np.searchsorted(data.ts, ts)]))
    frame = pd.concat([t.trades.assign(fold=k) for k, t in enumerate(tests)], ignore_index=True)
    return pd.Series(equity, index=index, name="equity"), frame, stats
