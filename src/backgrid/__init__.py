"""backgrid: design, backtest and validate trading strategies.

The public API is the names in ``__all__``; they are imported on first use, so
that ``import backgrid`` (and the CLI) start fast.

>>> import backgrid
>>> len(backgrid.demo_bars("DEMO-BTC", "1d"))
1461
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from backgrid._version import __version__

if TYPE_CHECKING:
    from backgrid import optimize, robustness
    from backgrid.data.adjustments import adjust
    from backgrid.data.bars import Bars, MultiBars
    from backgrid.data.frames import load_frame, load_parquet
    from backgrid.data.resample import align, resample
    from backgrid.data.sources.csv import load_csv
    from backgrid.data.sources.demo import demo_bars
    from backgrid.data.store import DataStore
    from backgrid.data.timeframe import Timeframe
    from backgrid.data.validate import ValidationPolicy, ValidationReport, validate
    from backgrid.engine import EngineConfig, Result, backtest
    from backgrid.errors import BackgridError
    from backgrid.optimize import walk_forward

__all__ = [
    "BackgridError",
    "Bars",
    "DataStore",
    "EngineConfig",
    "MultiBars",
    "Result",
    "Timeframe",
    "ValidationPolicy",
    "ValidationReport",
    "__version__",
    "adjust",
    "align",
    "backtest",
    "demo_bars",
    "load_csv",
    "load_frame",
    "load_parquet",
    "optimize",
    "resample",
    "robustness",
    "validate",
    "walk_forward",
]

_HOME = {
    "BackgridError": "backgrid.errors",
    "Bars": "backgrid.data.bars",
    "MultiBars": "backgrid.data.bars",
    "adjust": "backgrid.data.adjustments",
    "DataStore": "backgrid.data.store",
    "Timeframe": "backgrid.data.timeframe",
    "ValidationPolicy": "backgrid.data.validate",
    "ValidationReport": "backgrid.data.validate",
    "validate": "backgrid.data.validate",
    "align": "backgrid.data.resample",
    "resample": "backgrid.data.resample",
    "demo_bars": "backgrid.data.sources.demo",
    "load_csv": "backgrid.data.sources.csv",
    "load_frame": "backgrid.data.frames",
    "load_parquet": "backgrid.data.frames",
    "backtest": "backgrid.engine",
    "EngineConfig": "backgrid.engine",
    "Result": "backgrid.engine",
    "walk_forward": "backgrid.optimize",
}
#: subpackages reached as attributes (``backgrid.optimize(...)`` is callable, see backgrid.optimize)
_PACKAGES = frozenset({"optimize", "robustness"})


def __getattr__(name: str) -> Any:
    if name in _PACKAGES:
        return import_module(f"backgrid.{name}")
    module = _HOME.get(name)
    if module is None:
        msg = f"module 'backgrid' has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
