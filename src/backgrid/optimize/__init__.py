"""Optimisation and walk-forward analysis of strategies' parameters.

The package is also the function: ``backgrid.optimize(strategy, data, ...)`` is
:func:`backgrid.optimize.search.optimize`.

>>> from backgrid.optimize import Int, Space
>>> Space({"fast": Int(5, 20, 5), "slow": Int(10, 30, 10)}, conditions=["fast < slow"]).grid()[:3]
[{'fast': 5, 'slow': 10}, {'fast': 5, 'slow': 20}, {'fast': 5, 'slow': 30}]
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import Any

from backgrid.optimize.evaluate import CodeTarget, DocumentTarget, Target, evaluate
from backgrid.optimize.ledger import LedgerSummary, TrialLedger
from backgrid.optimize.objective import Constraint, Objective, parse_constraints, parse_objectives
from backgrid.optimize.search import METHODS, OptimizeResult, optimize, pareto_front
from backgrid.optimize.space import Categorical, Condition, Float, Int, Space
from backgrid.optimize.walkforward import Fold, WalkForwardResult, splits, walk_forward

__all__ = [
    "METHODS",
    "Categorical",
    "CodeTarget",
    "Condition",
    "Constraint",
    "DocumentTarget",
    "Float",
    "Fold",
    "Int",
    "LedgerSummary",
    "Objective",
    "OptimizeResult",
    "Space",
    "Target",
    "TrialLedger",
    "WalkForwardResult",
    "evaluate",
    "optimize",
    "pareto_front",
    "parse_constraints",
    "parse_objectives",
    "splits",
    "walk_forward",
]


class _CallableModule(ModuleType):
    """``backgrid.optimize(...)`` calls :func:`optimize` while ``backgrid.optimize.Int`` stays the module's."""

    def __call__(self, *args: Any, **kwargs: Any) -> OptimizeResult:
        return optimize(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule  # a module's class may be swapped for a subclass (Python 3.5+)
