"""Evaluate parameter sets: many at once, as columns of one engine call, in chunks that fit a memory budget.

A :class:`Target` is what an optimiser tunes: a strategy document (:class:`DocumentTarget`) or a code strategy
(:class:`CodeTarget`). :func:`evaluate` runs a list of parameter sets on it and returns one row of metrics
per set, in order. A single-symbol strategy runs each chunk of sets as the columns of one engine call (the
columns are independent, so chunking never changes a number); a portfolio runs one account per set.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from backgrid.data.bars import Bars, MultiBars
from backgrid.engine.result import Result
from backgrid.metrics.columns import SUMMARY_METRICS
from backgrid.strategy.code import CodeStrategy
from backgrid.strategy.compiler import compile_strategy
from backgrid.strategy.footprint import estimate
from backgrid.strategy.spec import Parameter, Strategy

__all__ = ["CodeTarget", "DocumentTarget", "Target", "chunks", "evaluate", "trial_stats"]

Data = Bars | MultiBars | Mapping[str, Bars]
#: what every trial records besides the objectives and constraints (the trial ledger needs the Sharpe ratio)
DEFAULT_METRICS = ("total_return", "sharpe_ratio", "max_drawdown", "trades", "win_rate", "profit_factor")
#: bytes a parameter set adds while its statistics are computed (its returns, per bar)
_STATS_BYTES_PER_BAR = 16


class Target(Protocol):
    """What an optimiser tunes: a name, declared parameters, and a way to run many parameter sets at once."""

    @property
    def name(self) -> str:
        """The strategy's name (titles, the trial ledger's family)."""
        ...

    @property
    def parameters(self) -> Sequence[Parameter]:
        """The declared parameters (the default search space)."""
        ...

    def run(self, data: Data, sets: Sequence[Mapping[str, Any]], *, keep_equity: bool = True) -> Result:
        """Backtest ``sets`` on ``data`` as the columns of one engine call (numbered 0..); ``keep_equity=False``
        keeps no equity curve (a search that scores only summary metrics)."""
        ...

    def inputs(self, data: Data, values: Mapping[str, Any]) -> tuple[Bars | MultiBars, dict[str, Any]]:
        """The data and ``backtest`` arguments of one parameter set (a walk-forward masks them)."""
        ...

    def single_account(self, data: Data) -> bool:
        """Whether ``data`` is one symbol (sets run as columns) rather than a portfolio (one run per set)."""
        ...

    def set_bytes(self, data: Data) -> float:
        """The memory one parameter set adds to a run on ``data`` (bytes)."""
        ...


@dataclass(frozen=True)
class DocumentTarget:
    """A strategy document, compiled on the data for each chunk of parameter sets."""

    strategy: Strategy

    @property
    def name(self) -> str:
        """The document's name."""
        return self.strategy.name

    @property
    def parameters(self) -> Sequence[Parameter]:
        """The document's declared parameters."""
        return self.strategy.parameters

    def run(self, data: Data, sets: Sequence[Mapping[str, Any]], *, keep_equity: bool = True) -> Result:
        """Compile and run ``sets`` (see :func:`backgrid.strategy.compiler.compile_strategy`)."""
        return compile_strategy(self.strategy, data, sets=sets).run(keep_equity=keep_equity)

    def inputs(self, data: Data, values: Mapping[str, Any]) -> tuple[Bars | MultiBars, dict[str, Any]]:
        """The compiled data and ``backtest`` arguments of one parameter set."""
        compiled = compile_strategy(self.strategy, data, sets=[values])
        return compiled.data, dict(compiled.kwargs)

    def single_account(self, data: Data) -> bool:  # noqa: ARG002  # the protocol's signature
        """Whether the document trades one symbol."""
        return len(self.strategy.market.symbols) == 1

    def set_bytes(self, data: Data) -> float:
        """Signals, per-bar values, equity and buffers of one set (the footprint's estimate), and its stats."""
        footprint = estimate(self.strategy, data)
        return (footprint.bytes - footprint.parts["data"]) + footprint.bars * _STATS_BYTES_PER_BAR


@dataclass(frozen=True)
class CodeTarget:
    """A :class:`~backgrid.strategy.code.CodeStrategy` subclass, with account-wide ``backtest`` options."""

    strategy: type[CodeStrategy]
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The class's name."""
        return self.strategy.__name__

    @property
    def parameters(self) -> Sequence[Parameter]:
        """The class's declared parameters."""
        return self.strategy.parameters

    def run(self, data: Data, sets: Sequence[Mapping[str, Any]], *, keep_equity: bool = True) -> Result:
        """Run the class's signals for each set (see :meth:`CodeStrategy.run`)."""
        return self.strategy().run(self._bars(data), sets=sets, **(dict(self.options) | {"keep_equity": keep_equity}))

    def _bars(self, data: Data) -> Bars:
        if not isinstance(data, Bars):
            msg = f"{self.name} is a code strategy: it runs on one symbol's Bars, got {type(data).__name__}"
            raise TypeError(msg)
        return data

    def inputs(self, data: Data, values: Mapping[str, Any]) -> tuple[Bars | MultiBars, dict[str, Any]]:
        """The bars and ``backtest`` arguments of one parameter set (the class's signals, then its options)."""
        bars = self._bars(data)
        return bars, self.strategy().inputs(bars, sets=[values]) | dict(self.options)

    def single_account(self, data: Data) -> bool:  # noqa: ARG002  # the protocol's signature
        """Always: a code strategy trades one symbol."""
        return True

    def set_bytes(self, data: Data) -> float:
        """Four signals twice, equity, one per-bar value twice, and the stats' temporaries, per bar."""
        bars = len(data) if isinstance(data, Bars) else max(len(b) for b in dict(data.items()).values())
        return bars * (4 * 2 + 8 + 2 * 8 + _STATS_BYTES_PER_BAR)


def trial_stats(result: Result, metrics: Sequence[str] | None = None) -> pd.DataFrame:
    """One row of statistics per column of ``result`` (``metrics``: which; all of them by default).

    Only the metrics asked for are computed, for every column at once (:meth:`Result.metrics`).
    """
    return result.metrics(metrics).reset_index(drop=True)


def evaluate(target: Target, data: Data, sets: Sequence[Mapping[str, Any]],
             metrics: Sequence[str] | None = None) -> pd.DataFrame:
    """Statistics of each parameter set in ``sets`` on ``data``, one row per set, in order.

    A single-symbol target runs all of ``sets`` as the columns of one engine call; a portfolio runs one
    account per set. When every metric asked for is a summary metric
    (:data:`~backgrid.metrics.columns.SUMMARY_METRICS`) the engine keeps no equity curve: the same values
    for less memory and time. Callers split work into :func:`chunks` first.
    """
    if not sets:
        return pd.DataFrame(columns=list(metrics or []))
    keep = metrics is None or not all(name in SUMMARY_METRICS for name in metrics)
    if target.single_account(data):
        return trial_stats(target.run(data, sets, keep_equity=keep), metrics)
    rows = [trial_stats(target.run(data, [values], keep_equity=keep), metrics) for values in sets]
    return pd.concat(rows, ignore_index=True)


def chunks(count: int, per_set: float, budget: float, *, workers: int = 1) -> list[slice]:
    """Slices of ``range(count)`` whose sets fit ``budget`` bytes with ``workers`` running at once.

    Each chunk holds at least one set; with several workers the sets are spread so that each gets work.
    """
    if count <= 0:
        return []
    fits = max(1, int(budget // max(workers, 1) // max(per_set, 1.0)))
    size = min(fits, -(-count // max(workers, 1)))
    return [slice(start, min(start + size, count)) for start in range(0, count, size)]


def sharpe_per_period(stats: pd.DataFrame, periods_per_year: float) -> np.ndarray:
    """The non-annualised Sharpe ratio of each row (what the deflated Sharpe ratio is written in)."""
    return np.asarray(stats["sharpe_ratio"].to_numpy(dtype=np.float64) / np.sqrt(periods_per_year))
