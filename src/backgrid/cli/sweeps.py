"""What ``backgrid run --out`` writes: the files of one run, or of a sweep, and the chart's overlays.

A sweep's tables are columnar: stats as CSV and Parquet (one row per parameter set, a column per swept
parameter), trades and equity as Parquet (equity wide: a ``time`` column and one column per set, named like
``fast=10, slow=50``), written in row groups with a progress bar on stderr. ``strategy.yaml`` holds the best set
(by Sharpe ratio) as the parameters' defaults, with the grid in its header; ``summary.txt`` says the same.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from backgrid.data.bars import Bars
    from backgrid.engine.result import Result
    from backgrid.strategy.spec import Strategy

__all__ = ["best_set", "label", "overlays", "with_defaults", "write_sweep"]

#: equity rows per Parquet row group (and per step of the progress bar)
ROWS_PER_GROUP = 65_536


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def label(names: Sequence[str], values: Sequence[Any]) -> str:
    """A parameter set as text.

    >>> import numpy as np
    >>> label(["fast", "slow"], [np.int64(40), 180])
    'fast=40, slow=180'
    """
    return ", ".join(f"{name}={_plain(value)}" for name, value in zip(names, values, strict=True))


def best_set(stats: pd.DataFrame) -> dict[str, Any]:
    """The parameter set with the highest Sharpe ratio (the first set when none has one), by name."""
    sharpe = stats["sharpe_ratio"].astype(float)
    position = int(np.nanargmax(sharpe.to_numpy())) if sharpe.notna().any() else 0
    names = [str(n) for n in stats.index.names]
    values = stats.index[position]
    values = values if isinstance(values, tuple) else (values,)
    return {name: _plain(v) for name, v in zip(names, values, strict=True)}


def with_defaults(strategy: Strategy, values: Mapping[str, Any]) -> Strategy:
    """A copy of ``strategy`` whose declared parameters default to ``values``."""
    from backgrid.strategy.document import parse  # noqa: PLC0415

    data = strategy.to_dict()
    for param in data.get("parameters", []):
        if param["param"] in values:
            param["default"] = values[param["param"]]
    return parse(data, source=f"{strategy.name} (best parameter set)")


def overlays(strategy: Strategy, bars: Bars, values: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """The price-scale outputs (lines, bands, channels, zones) of the strategy's indicators for one set.

    Keys are the strategy's names (``fast``; ``bb.upper`` for one output of several). An indicator on a higher
    timeframe is drawn as the rules see it: each value from the close of its bar on.
    """
    from backgrid.indicators.registry import REGISTRY  # noqa: PLC0415
    from backgrid.strategy.evaluate import Evaluator, IndicatorCache  # noqa: PLC0415

    evaluator = Evaluator(strategy, IndicatorCache(bars), dict(values))
    out = {}
    for name, indicator in strategy.indicators.items():
        outputs = REGISTRY.get(indicator.id).outputs
        computed, _, _ = evaluator.indicator(name)
        for output in outputs:
            if output.kind in ("price", "zone"):
                out[name if len(outputs) == 1 else f"{name}.{output.name}"] = computed[output.name]
    return out


def _equity_parquet(path: Path, result: Result, names: list[str], advance: Callable[[int], None]) -> None:
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.parquet as pq  # noqa: PLC0415

    values = np.asarray(result.equity.to_numpy())  # (bars, sets)
    columns = [label(names, key if isinstance(key, tuple) else (key,)) for key in result.columns]
    time = result.index
    schema = pa.schema([("time", pa.timestamp("ns", tz="UTC")), *((c, pa.float64()) for c in columns)])
    with pq.ParquetWriter(path, schema) as writer:
        for start in range(0, len(time), ROWS_PER_GROUP):
            rows = slice(start, start + ROWS_PER_GROUP)
            arrays = [pa.array(time[rows]), *(pa.array(values[rows, c]) for c in range(len(columns)))]
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
            advance(len(time[rows]))


def _trades_frame(result: Result, names: list[str]) -> pd.DataFrame:
    trades = result.trades.drop(columns="column")  # a copy: result.trades stays as it is
    keys = result.trades["column"]
    for position, name in enumerate(names):
        trades.insert(position, name, [_plain(k[position] if isinstance(k, tuple) else k) for k in keys])
    return trades


def write_sweep(out: Path, strategy: Strategy, result: Result, sentence: str,
                grid: Mapping[str, Sequence[Any]]) -> tuple[list[Path], dict[str, Any]]:
    """Write a sweep's files into ``out``; return them and the best set (see the module docstring)."""
    import pandas as pd  # noqa: PLC0415
    from rich.progress import Progress  # noqa: PLC0415

    from backgrid.cli.common import error_console  # noqa: PLC0415
    from backgrid.strategy.document import dump  # noqa: PLC0415
    from backgrid.strategy.summary import summary  # noqa: PLC0415

    stats = result.stats
    if not isinstance(stats, pd.DataFrame):
        msg = "write_sweep needs a result of several parameter sets"
        raise TypeError(msg)
    names = [str(n) for n in stats.index.names]
    best = best_set(stats)
    chosen = with_defaults(strategy, best)
    files = [out / name for name in ("stats.csv", "stats.parquet", "trades.parquet", "equity.parquet",
                                     "summary.txt", "strategy.yaml")]
    grid_text = "; ".join(f"{name} = {', '.join(str(_plain(v)) for v in values)}" for name, values in grid.items())
    best_text = (f"best of {len(stats):,} parameter sets by Sharpe ratio: {label(names, list(best.values()))} "
                 f"(Sharpe {float(stats['sharpe_ratio'].astype(float).max()):.4g})")
    with Progress(console=error_console(), transient=True) as progress:
        task = progress.add_task(f"writing {out}", total=len(result.index) + 5)
        stats.to_csv(files[0])
        stats.reset_index().to_parquet(files[1], index=False)
        _trades_frame(result, names).to_parquet(files[2], index=False)
        progress.advance(task, 3)
        _equity_parquet(files[3], result, names, lambda rows: progress.advance(task, rows))
        files[4].write_text(f"{sentence}\nswept: {grid_text}\n{best_text}\nwith it: {summary(chosen)}\n",
                            encoding="utf-8")
        files[5].write_text(f"# swept: {grid_text}\n# {best_text}; the parameters' defaults below are that set\n"
                            + dump(chosen), encoding="utf-8")
        progress.advance(task, 2)
    return files, best
