"""What an optimiser maximises or minimises, and the constraints a parameter set must meet to count.

An objective is a metric of the registry (:data:`backgrid.metrics.METRICS`), by name or a short alias
(``sharpe`` for ``sharpe_ratio``), optionally prefixed with its direction (``min:ulcer_index``), or a callable
that takes a trial's statistics (a pandas Series of every metric) and returns a number. Each metric has a
natural direction: most are better higher; volatility, the ulcer index and drawdown duration are better lower
(``max_drawdown`` is negative, so higher is better).

A constraint is ``metric op number`` (``trades >= 30``, ``max_drawdown > -0.25``); a parameter set that
breaks one is infeasible: it is kept in the trials table but never chosen as the best.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from backgrid.errors import OptimizeError
from backgrid.metrics.registry import METRICS
from backgrid.strategy.spec import did_you_mean

__all__ = ["ALIASES", "Constraint", "Direction", "Objective", "parse_constraints", "parse_objectives"]

Direction = Literal["maximize", "minimize"]

#: short names people type for registry metrics
ALIASES = {
    "sharpe": "sharpe_ratio", "sortino": "sortino_ratio", "calmar": "calmar_ratio", "omega": "omega_ratio",
    "return": "total_return", "drawdown": "max_drawdown", "volatility": "annual_volatility",
    "psr": "probabilistic_sharpe_ratio", "cagr": "cagr", "pf": "profit_factor",
}
#: metrics that are better lower (the rest are better higher)
_LOWER_IS_BETTER = frozenset({"annual_volatility", "ulcer_index", "max_drawdown_duration", "commission_paid",
                              "slippage_paid", "borrow_paid", "tracking_error", "risk_of_ruin", "down_capture"})
_OPS: dict[str, Callable[[Any, Any], Any]] = {
    ">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt, "==": operator.eq,
    "!=": operator.ne}
_CONSTRAINT = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(>=|<=|==|!=|>|<)\s*([-+]?[0-9.]+(?:e[-+]?\d+)?)\s*$")


def metric_name(text: str, *, where: str) -> str:
    """The registry name of metric ``text`` (a name or an alias); an error names ``where`` it was asked."""
    name = ALIASES.get(text, text)
    if name not in METRICS:
        choices = list(METRICS) + list(ALIASES)
        msg = f"{where}: unknown metric {text!r}{did_you_mean(text, choices)}; metrics are {', '.join(METRICS)}"
        raise OptimizeError(msg)
    return name


@dataclass(frozen=True)
class Objective:
    """One objective: a registry metric (``metric``) or a callable of a trial's statistics, and its direction."""

    name: str
    direction: Direction
    metric: str | None = None
    function: Callable[[pd.Series], float] | None = None

    def values(self, stats: pd.DataFrame) -> np.ndarray:
        """The objective of each row of ``stats`` (one row per trial), NaN where it is undefined."""
        if self.metric is not None:
            return stats[self.metric].to_numpy(dtype=np.float64)
        assert self.function is not None  # noqa: S101  # one of the two is set by construction
        return np.asarray([_number(self.function(row), self.name) for _, row in stats.iterrows()], dtype=np.float64)

    def better(self, a: float, b: float) -> bool:
        """Whether ``a`` is strictly better than ``b`` (NaN is worse than any number)."""
        if math.isnan(a):
            return False
        if math.isnan(b):
            return True
        return a > b if self.direction == "maximize" else a < b

    def describe(self) -> str:
        """``maximize sharpe_ratio`` (a callable by its name)."""
        return f"{self.direction} {self.name}"


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        msg = f"objective {name} returned {value!r}; it must return a number"
        raise OptimizeError(msg)
    return float(value)


def parse_objectives(objective: str | Callable[[pd.Series], float] | Sequence[Any],
                     direction: Direction | Sequence[Direction] | None = None) -> list[Objective]:
    """Objectives from names (``"sharpe"``, ``"min:ulcer_index"``), callables, or a list of either.

    ``direction`` overrides the metrics' natural directions (one per objective, or one for all).
    """
    items = [objective] if isinstance(objective, str) or callable(objective) else list(objective)
    if not items:
        msg = "at least one objective is needed"
        raise OptimizeError(msg)
    directions = ([direction] * len(items) if isinstance(direction, str) or direction is None
                  else list(direction))
    if len(directions) != len(items):
        msg = f"{len(directions)} directions given for {len(items)} objectives"
        raise OptimizeError(msg)
    out = []
    for item, given in zip(items, directions, strict=True):
        if callable(item):
            name = getattr(item, "__name__", "objective")
            out.append(Objective(name, given or "maximize", function=item))
            continue
        if not isinstance(item, str):
            msg = f"an objective is a metric name or a callable, got {item!r}"
            raise OptimizeError(msg)
        text, prefixed = item, None
        if ":" in item:
            prefix, text = item.split(":", 1)
            prefixed = {"max": "maximize", "min": "minimize"}.get(prefix)
            if prefixed is None:
                msg = f"objective {item!r}: the prefix must be 'max:' or 'min:'"
                raise OptimizeError(msg)
        name = metric_name(text, where="objective")
        natural: Direction = "minimize" if name in _LOWER_IS_BETTER else "maximize"
        chosen = given or prefixed or natural
        if chosen not in {"maximize", "minimize"}:
            msg = f"direction must be 'maximize' or 'minimize', got {chosen!r}"
            raise OptimizeError(msg)
        out.append(Objective(name, chosen, metric=name))  # type: ignore[arg-type]  # checked just above
    names = [o.name for o in out]
    if len(set(names)) != len(names):
        msg = f"objectives repeat: {names}"
        raise OptimizeError(msg)
    return out


@dataclass(frozen=True)
class Constraint:
    """``metric op bound``: a parameter set counts only where it holds (NaN never holds)."""

    metric: str
    op: str
    bound: float

    @property
    def text(self) -> str:
        """The constraint as written in the canonical form (``trades >= 30``)."""
        return f"{self.metric} {self.op} {self.bound:g}"

    def holds(self, stats: pd.DataFrame) -> np.ndarray:
        """For each row of ``stats``, whether the constraint holds."""
        values = stats[self.metric].to_numpy(dtype=np.float64)
        with np.errstate(invalid="ignore"):
            held = np.asarray(_OPS[self.op](values, self.bound), dtype=np.bool_)
        return np.asarray(held & ~np.isnan(values))

    def violation(self, stats: pd.DataFrame) -> np.ndarray:
        """How far each row is from meeting it (<= 0 where it holds; Optuna's constraint convention)."""
        values = stats[self.metric].to_numpy(dtype=np.float64)
        gap = self.bound - values if self.op in {">=", ">"} else values - self.bound
        gap = np.where(self.holds(stats), np.minimum(gap, 0.0), np.maximum(gap, 1e-12))
        return np.where(np.isnan(values), np.inf, gap)


def parse_constraints(constraints: str | Sequence[str] | None) -> list[Constraint]:
    """Constraints from ``"trades >= 30"`` strings (a list, or one string with commas between them)."""
    if constraints is None:
        return []
    items = ([c for c in constraints.split(",") if c.strip()] if isinstance(constraints, str)
             else list(constraints))
    out = []
    for text in items:
        match = _CONSTRAINT.match(text)
        if match is None:
            msg = f"constraint {text!r}: expected 'metric op number', like 'trades >= 30' or 'max_drawdown > -0.25'"
            raise OptimizeError(msg)
        name, op, bound = match.groups()
        out.append(Constraint(metric_name(name, where=f"constraint {text!r}"), op, float(bound)))
    return out
