"""Several results side by side: every statistic of each, one column per run (or per parameter set)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from backgrid.engine.result import Result
from backgrid.errors import AnalysisError

__all__ = ["compare"]


def compare(results: Mapping[str, Result] | Sequence[Result], *, metrics: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per metric, one column per result (named by the mapping's keys, else ``0, 1, ...``).

    A result of several parameter sets gives one column per set, named ``"name: fast=10, slow=50"``. ``metrics``
    picks and orders the rows (default: every metric, in the registry's order).

    >>> import backgrid, numpy as np
    >>> bars = backgrid.demo_bars("DEMO-SPY", "1d")
    >>> i = np.arange(len(bars))
    >>> a = backgrid.backtest(bars, entries=i % 20 == 0, exits=i % 20 == 10)
    >>> b = backgrid.backtest(bars, entries=i % 30 == 0, exits=i % 30 == 10)
    >>> compare({"every 20": a, "every 30": b}, metrics=["trades", "total_return"]).loc["trades"].tolist()
    [53, 35]
    """
    named = dict(results) if isinstance(results, Mapping) else dict(enumerate(results))
    if not named:
        msg = "results: give at least one Result"
        raise AnalysisError(msg)
    columns: dict[Any, pd.Series] = {}
    for key, result in named.items():
        if not isinstance(result, Result):
            msg = f"results[{key!r}]: expected a backgrid Result, got {type(result).__name__}"
            raise AnalysisError(msg)
        table = result.metrics(metrics)  # one row per parameter set
        names = [str(n) for n in result.columns.names]
        for position, label in enumerate(table.index):
            values = label if isinstance(label, tuple) else (label,)
            name = key if result.single else f"{key}: " + ", ".join(
                f"{n}={v}" for n, v in zip(names, values, strict=True))
            # by column, not by row: a row of a frame would turn the counts into floats
            columns[name] = pd.Series({m: table[m].iloc[position].item() for m in table.columns}, dtype=object)
    return pd.DataFrame(columns)
