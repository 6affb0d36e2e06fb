"""The backtest engine: Numba kernels under a validating ``backtest`` function."""

from backgrid.engine.config import Costs
from backgrid.engine.result import Result
from backgrid.engine.run import backtest
from backgrid.errors import EngineError

__all__ = ["Costs", "EngineError", "Result", "backtest"]
