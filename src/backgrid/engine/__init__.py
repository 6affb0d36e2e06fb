"""The backtest engine: Numba kernels under a validating ``backtest`` function."""

from backgrid.engine.config import Costs, EngineError
from backgrid.engine.result import Result
from backgrid.engine.run import backtest

__all__ = ["Costs", "EngineError", "Result", "backtest"]
