"""Robustness checks that re-run a strategy: random entries, parameter jitter, costs, resampled prices, PBO.

Each check takes an optimiser target (a document or a code strategy, see :mod:`backgrid.optimize.evaluate`),
the bars and one parameter set, and runs the engine; the statistics come from the same registry as every
backtest's.

* :func:`random_entries`: the same number of trades with the same holding times at random bars, with the
  strategy's costs and sizing (its stops and signal exits left out, so the holding times stay the same). The
  p-value is the share of random runs at least as good as the real one, (1 + k) / (1 + n).
* :func:`jitter`: every parameter moved by up to ±x % at random (whole numbers rounded, kept in the declared
  range): how much the metric changes.
* :func:`cost_stress`: commission, slippage and spread (every cost but the tick size) multiplied by 2 and 3.
* :func:`plateau`: the mean objective of the best set's neighbours on the trials table, against the best.
* :func:`resampled_paths`: the strategy run on price paths rebuilt from a block bootstrap of the bars (each
  bar keeps its open, high and low relative to its close).
* :func:`trials_pbo`: the probability of backtest overfitting of an optimisation, from its trials' returns.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from backgrid.data.bars import Bars
from backgrid.engine.options import OPTIONS
from backgrid.engine.result import Result
from backgrid.engine.run import backtest
from backgrid.errors import RobustnessError
from backgrid.optimize.evaluate import Target, chunks, evaluate, trial_stats
from backgrid.optimize.search import OptimizeResult
from backgrid.optimize.space import Categorical
from backgrid.robustness.montecarlo import block_bootstrap
from backgrid.robustness.pbo import PBOResult, pbo

__all__ = ["CostStress", "Jitter", "PathsResult", "Significance", "cost_stress", "jitter", "plateau",
           "random_entries", "resampled_paths", "trials_pbo"]

#: the options a random-entry run keeps from the strategy (how much it buys and what it pays)
_KEPT_GROUPS = frozenset({"account", "execution", "sizing", "costs", "output"})
#: costs that scale in a stress test (the tick size is a market's property, not a cost)
_COSTS = tuple(name for name, o in OPTIONS.items() if o.group == "costs" and name != "tick_size")
#: bytes per bar and random run (entries and exits, twice while stacked, and the equity)
_BYTES_PER_BAR = 2 * 2 + 8


def _bars(data: Any) -> Bars:
    if not isinstance(data, Bars):
        msg = f"robustness checks run on one symbol's Bars, got {type(data).__name__}"
        raise RobustnessError(msg)
    return data


def _stat(result: Result, metric: str) -> np.ndarray:
    return trial_stats(result, [metric])[metric].to_numpy(dtype=np.float64)


@dataclass(frozen=True)
class Significance:
    """The real run's metric against runs with random entries of the same number and holding times."""

    metric: str
    actual: float
    random: np.ndarray
    p_value: float

    def summary(self) -> dict[str, float]:
        """The actual value, the random runs' median and 95th percentile, and the p-value."""
        return {"actual": self.actual, "random_median": _quantile(self.random, 0.5),
                "random_p95": _quantile(self.random, 0.95), "p_value": self.p_value, "runs": float(self.random.size)}


def random_entries(target: Target, data: Bars, values: Mapping[str, Any], *, n: int = 1000, seed: int = 0,
                   metric: str = "total_return", memory: float = 2 * 2**30) -> Significance:
    """Is the strategy better than chance? (See the module docstring.)"""
    bars = _bars(data)
    result = target.run(bars, [values])
    trades = result.records
    actual = float(_stat(result, metric)[0])
    if trades.size == 0:
        msg = "the strategy made no trade: there is nothing to compare with random entries"
        raise RobustnessError(msg)
    _, kwargs = target.inputs(bars, values)
    kept = {k: v for k, v in kwargs.items() if k in OPTIONS and OPTIONS[k].group in _KEPT_GROUPS}
    holds = np.maximum(trades["bars_held"].astype(np.int64), 1)
    sides = trades["side"].astype(np.int64)
    rng = np.random.default_rng(seed)
    count = len(bars)
    out = []
    for part in chunks(n, count * _BYTES_PER_BAR, memory):
        columns = part.stop - part.start
        long_in, long_out, short_in, short_out = (np.zeros((count, columns), dtype=np.bool_) for _ in range(4))
        for c in range(columns):
            order = rng.permutation(holds.size)
            starts = _random_starts(rng, holds[order], count)
            for start, hold, side in zip(starts, holds[order], sides[order], strict=True):
                (long_in if side > 0 else short_in)[start, c] = True
                (long_out if side > 0 else short_out)[start + hold, c] = True
        signals: dict[str, Any] = {"entries": long_in, "exits": long_out}
        if (sides < 0).any():
            signals |= {"short_entries": short_in, "short_exits": short_out}
        out.append(_stat(backtest(bars, **signals, **kept), metric))
    runs = np.concatenate(out)
    better = int(np.sum(runs >= actual))
    return Significance(metric, actual, runs, (1 + better) / (1 + runs.size))


def _random_starts(rng: np.random.Generator, holds: np.ndarray, count: int) -> np.ndarray:
    """Decision bars for trades of ``holds`` bars, in order, never overlapping, spread uniformly.

    A trade decided at bar ``s`` fills at ``s + 1`` and its exit decided at ``s + h`` fills at ``s + h + 1``;
    one free bar between trades keeps an exit and the next entry apart.
    """
    room = count - 1 - int(np.sum(holds + 1))
    if room < 0:
        msg = "the trades' holding times fill the data: random entries have no room"
        raise RobustnessError(msg)
    gaps = np.diff(np.concatenate([[0], np.sort(rng.integers(0, room + 1, holds.size)), [room]]))[:-1]
    return np.cumsum(gaps + np.concatenate([[0], holds[:-1] + 1]))


@dataclass(frozen=True)
class Jitter:
    """The metric of sets jittered around a base set."""

    metric: str
    base: float
    scores: np.ndarray
    sets: list[dict[str, Any]]
    fraction: float

    def summary(self) -> dict[str, float]:
        """Base value, the jittered sets' median and 5th percentile, and the share that lost over 10 %."""
        finite = self.scores[np.isfinite(self.scores)]
        worse = float(np.mean(finite < self.base - 0.1 * abs(self.base))) if finite.size else math.nan
        return {"base": self.base, "median": _quantile(finite, 0.5), "p05": _quantile(finite, 0.05),
                "share_10pct_worse": worse, "fraction": self.fraction}


def jitter(target: Target, data: Bars, values: Mapping[str, Any], *, fraction: float = 0.1, n: int = 50,
           seed: int = 0, metric: str = "sharpe_ratio") -> Jitter:
    """The metric when every parameter moves by up to ``±fraction`` of its value (see the module docstring)."""
    if not 0 < fraction < 1:
        msg = f"fraction must be in (0, 1), got {fraction}"
        raise RobustnessError(msg)
    declared = {p.param: p for p in target.parameters}
    rng = np.random.default_rng(seed)
    sets = []
    for _ in range(n):
        moved = dict(values)
        for name, p in declared.items():
            value = float(values.get(name, p.default)) * (1 + rng.uniform(-fraction, fraction))
            value = min(max(value, p.min), p.max)
            moved[name] = round(value) if p.integer else value
        sets.append(moved)
    stats = evaluate(target, data, [dict(values), *sets], [metric])[metric].to_numpy(dtype=np.float64)
    return Jitter(metric, float(stats[0]), stats[1:], sets, fraction)


@dataclass(frozen=True)
class CostStress:
    """The metric at 1x, 2x and 3x the costs (or other multiples)."""

    metric: str
    multiples: tuple[float, ...]
    scores: np.ndarray

    def summary(self) -> dict[str, float]:
        """The metric at each multiple."""
        return {f"x{m:g}": float(v) for m, v in zip(self.multiples, self.scores, strict=True)}


def cost_stress(target: Target, data: Bars, values: Mapping[str, Any], *,
                multiples: Sequence[float] = (1.0, 2.0, 3.0), metric: str = "sharpe_ratio") -> CostStress:
    """The metric with every cost multiplied (see the module docstring)."""
    bars, kwargs = target.inputs(_bars(data), values)
    out = []
    for m in multiples:
        scaled = dict(kwargs)
        for name in _COSTS:
            if isinstance(scaled.get(name), int | float) and not isinstance(scaled.get(name), bool):
                scaled[name] = scaled[name] * m
        out.append(float(_stat(backtest(bars, **scaled), metric)[0]))
    return CostStress(metric, tuple(multiples), np.asarray(out))


def plateau(search: OptimizeResult, *, radius: float = 0.1) -> float:
    """The mean objective of the best set's neighbours over the best's (1: a flat plateau; near 0: a spike).

    Neighbours are the feasible trials within ``radius`` of the best in every parameter, each parameter
    scaled to its range (a grid step counts as within reach when it is larger); categorical parameters must be
    equal. NaN when the best has no neighbour, or when the best objective is not positive (a ratio to a loss
    says nothing).
    """
    trials = search.trials[search.trials["feasible"]]
    value = "value" if "value" in trials else "value_0"
    best = search.best_trial
    near = np.ones(len(trials), dtype=np.bool_)
    for name, dim in search.space.dimensions.items():
        column = trials[name]
        if isinstance(dim, Categorical):
            near &= (column == best[name]).to_numpy()
            continue
        span = float(dim.high - dim.low) or 1.0
        reach = max(radius * span, float(dim.step or 0.0))
        near &= (np.abs(column.to_numpy(dtype=np.float64) - float(best[name])) <= reach + 1e-12)
    near &= trials.index != best.name
    neighbours = trials.loc[near, value].to_numpy(dtype=np.float64)
    neighbours = neighbours[np.isfinite(neighbours)]
    peak = float(best[value])
    return float(neighbours.mean() / peak) if neighbours.size and peak > 0 else math.nan


@dataclass(frozen=True)
class PathsResult:
    """The strategy's metric on resampled price paths."""

    metric: str
    actual: float
    scores: np.ndarray
    block: int

    def summary(self) -> dict[str, float]:
        """The actual value, the paths' median and 5th percentile, and the share of paths with metric > 0."""
        finite = self.scores[np.isfinite(self.scores)]
        return {"actual": self.actual, "median": _quantile(finite, 0.5), "p05": _quantile(finite, 0.05),
                "share_positive": float(np.mean(finite > 0)) if finite.size else math.nan,
                "paths": float(self.scores.size), "block": float(self.block)}


def resampled_paths(target: Target, data: Bars, values: Mapping[str, Any], *, n: int = 100,
                    block: int | None = None, seed: int = 0, metric: str = "sharpe_ratio") -> PathsResult:
    """The strategy on ``n`` block-bootstrapped price paths (see the module docstring)."""
    bars = _bars(data)
    close = bars.close
    returns = close[1:] / close[:-1] - 1.0
    boot = block_bootstrap(returns, n=n, block=block, seed=seed)
    ratios = {name: getattr(bars, name)[1:] / close[1:] for name in ("open", "high", "low")}
    actual = float(_stat(target.run(bars, [values]), metric)[0])
    out = []
    for k in range(n):
        rows = boot.indices[:, k]
        path = np.concatenate([[close[0]], close[0] * np.cumprod(1.0 + boot.paths[:, k])])
        fields = {name: np.concatenate([[getattr(bars, name)[0]], path[1:] * ratio[rows]])
                  for name, ratio in ratios.items()}
        fields["high"] = np.maximum.reduce([fields["high"], fields["open"], path])
        fields["low"] = np.minimum.reduce([fields["low"], fields["open"], path])
        resampled = replace(bars, open=fields["open"], high=fields["high"], low=fields["low"], close=path,
                            volume=np.concatenate([[bars.volume[0]], bars.volume[1:][rows]]), synthetic=True)
        out.append(float(_stat(target.run(resampled, [values]), metric)[0]))
    return PathsResult(metric, actual, np.asarray(out), boot.block)


def trials_pbo(search: OptimizeResult, *, blocks: int = 16, max_rows: int = 5000,
               memory: float = 2 * 2**30) -> PBOResult:
    """PBO of an optimisation: every feasible trial's returns, CSCV over ``blocks`` blocks.

    Long runs are cut into ``max_rows`` periods at most (consecutive bars compounded), so that the matrix
    of periods x trials stays small; CSCV ranks trials by the Sharpe ratio of those period returns.
    """
    trials = search.trials[search.trials["feasible"]]
    if len(trials) < 2:  # CSCV ranks at least two trials
        msg = f"PBO needs at least 2 feasible trials, the search has {len(trials)}"
        raise RobustnessError(msg)
    sets = [search.space.full({name: _plain(row[name]) for name in search.params}) for _, row in trials.iterrows()]
    data = search.data
    count = len(data) if isinstance(data, Bars) else len(next(iter(dict(data.items()).values())))
    group = max(1, math.ceil((count - 1) / max_rows))
    columns = []
    for part in chunks(len(sets), count * 16.0 + search.target.set_bytes(data), memory):
        equity = search.target.run(data, sets[part]).equity
        matrix = equity.to_numpy().reshape(count, -1)
        with np.errstate(divide="ignore", invalid="ignore"):  # a ruined account's equity is 0
            growth = matrix[1:] / matrix[:-1]
        edges = np.arange(0, growth.shape[0], group)
        columns.append(np.multiply.reduceat(growth, edges, axis=0) - 1.0)
    return pbo(np.hstack(columns), blocks=blocks)


def _quantile(values: np.ndarray, q: float) -> float:
    """The ``q`` quantile of the finite ``values`` (NaN when there is none)."""
    finite = values[np.isfinite(values)]
    return float(np.quantile(finite, q)) if finite.size else math.nan


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value

