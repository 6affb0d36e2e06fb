"""The backtest engine: Numba kernels under a validating ``backtest`` function."""

from backgrid.engine.config import EngineConfig
from backgrid.engine.result import Result
from backgrid.engine.run import backtest
from backgrid.errors import EngineError, OptionError

__all__ = ["EngineConfig", "EngineError", "OptionError", "Result", "backtest"]
