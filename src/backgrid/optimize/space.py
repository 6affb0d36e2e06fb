"""Search spaces: the parameters an optimiser may vary, their ranges, and the conditions between them.

A space is built from a strategy's declared parameters (a document's ``parameters``, a code strategy's
``Parameter``s) and may narrow or replace any of them::

    Space.from_parameters(strategy.parameters, {"fast": Int(5, 50), "stop": Float(0.005, 0.1, log=True)},
                          conditions=["fast < slow"])

A condition is a comparison between parameters (``fast < slow``, ``fast * 2 <= slow``, ``stop < take``);
a parameter set breaking one is never run: the grid leaves it out and samplers draw again.
"""

from __future__ import annotations

import ast
import itertools
import math
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from backgrid.errors import OptimizeError
from backgrid.strategy.spec import Parameter, did_you_mean, steps

__all__ = ["Categorical", "Condition", "Dimension", "Float", "Int", "Space"]

#: draws a sampler may make to meet the conditions before it gives up on the space
_MAX_DRAWS = 1000


@dataclass(frozen=True)
class Int:
    """Whole numbers from ``low`` to ``high`` (both included) by ``step``; ``log`` samples them log-uniformly."""

    low: int
    high: int
    step: int = 1
    log: bool = False

    def __post_init__(self) -> None:
        _check_range(self.low, self.high, self.step, log=self.log, integer=True)

    def values(self) -> list[Any]:
        """Every value, in order (what a grid tries)."""
        return list(range(self.low, self.high + 1, self.step))

    def draw(self, rng: np.random.Generator) -> int:
        """One value at random (uniform, or log-uniform with ``log``)."""
        if self.log:
            value = math.exp(rng.uniform(math.log(self.low), math.log(self.high + 1)))
            return min(int(value), self.high)
        return self.low + self.step * int(rng.integers(0, (self.high - self.low) // self.step + 1))

    def suggest(self, trial: Any, name: str) -> int:
        """The value an Optuna trial suggests for ``name``."""
        return int(trial.suggest_int(name, self.low, self.high, step=self.step, log=self.log))


@dataclass(frozen=True)
class Float:
    """Real numbers from ``low`` to ``high``; ``step`` makes them discrete, ``log`` samples log-uniformly.

    A grid needs a step: without one it tries 11 values, ``low`` to ``high`` in ten equal steps.
    """

    low: float
    high: float
    step: float | None = None
    log: bool = False

    def __post_init__(self) -> None:
        _check_range(self.low, self.high, self.step, log=self.log, integer=False)

    def values(self) -> list[Any]:
        """Every value on the grid, in order."""
        step = self.step or (self.high - self.low) / 10 or 1.0
        return [round(float(v), 12) for v in steps(self.low, self.high, step)]

    def draw(self, rng: np.random.Generator) -> float:
        """One value at random (on the step's grid when there is a step)."""
        if self.step is not None:
            values = self.values()
            return float(values[int(rng.integers(0, len(values)))])
        if self.log:
            return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))
        return float(rng.uniform(self.low, self.high))

    def suggest(self, trial: Any, name: str) -> float:
        """The value an Optuna trial suggests for ``name``."""
        return float(trial.suggest_float(name, self.low, self.high, step=self.step, log=self.log))


@dataclass(frozen=True)
class Categorical:
    """One of ``choices`` (numbers or words), unordered."""

    choices: tuple[Any, ...]

    def __init__(self, choices: Iterable[Any]) -> None:
        object.__setattr__(self, "choices", tuple(choices))
        if not self.choices:
            msg = "a categorical parameter needs at least one choice"
            raise OptimizeError(msg)
        if len(set(map(repr, self.choices))) != len(self.choices):
            msg = f"categorical choices repeat: {list(self.choices)}"
            raise OptimizeError(msg)

    def values(self) -> list[Any]:
        """Every choice, in the order given."""
        return list(self.choices)

    def draw(self, rng: np.random.Generator) -> Any:
        """One choice at random."""
        return self.choices[int(rng.integers(0, len(self.choices)))]

    def suggest(self, trial: Any, name: str) -> Any:
        """The choice an Optuna trial suggests for ``name``."""
        return trial.suggest_categorical(name, list(self.choices))


Dimension = Int | Float | Categorical


def _check_range(low: float, high: float, step: float | None, *, log: bool, integer: bool) -> None:
    kind = "integer" if integer else "float"
    numbers = (low, high) + ((step,) if step is not None else ())
    if integer and not all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in numbers):
        msg = f"an integer parameter needs whole numbers, got low={low!r}, high={high!r}, step={step!r}"
        raise OptimizeError(msg)
    if not all(isinstance(v, int | float | np.number) and math.isfinite(v) for v in numbers):
        msg = f"a {kind} parameter needs finite numbers, got low={low!r}, high={high!r}, step={step!r}"
        raise OptimizeError(msg)
    if low > high:
        msg = f"low must be <= high, got low={low}, high={high}"
        raise OptimizeError(msg)
    if step is not None and step <= 0:
        msg = f"step must be > 0, got {step}"
        raise OptimizeError(msg)
    if log and low <= 0:
        msg = f"a log-scaled parameter needs low > 0, got {low}"
        raise OptimizeError(msg)
    if log and step is not None and step != 1:
        msg = f"a log-scaled parameter takes no step (got {step}): Optuna samples it continuously"
        raise OptimizeError(msg)


# --- conditions ----------------------------------------------------------------------------------------------

_COMPARE: dict[type, Callable[[Any, Any], bool]] = {
    ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge, ast.Eq: operator.eq,
    ast.NotEq: operator.ne}
_ARITH: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


@dataclass(frozen=True)
class Condition:
    """A comparison between parameters that every parameter set must meet, e.g. ``fast < slow``.

    Written with parameter names, numbers, ``+ - * /``, comparisons (chains too: ``fast < mid < slow``)
    and ``and`` / ``or``.
    """

    text: str
    names: frozenset[str] = field(init=False)
    _tree: ast.expr = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            tree = ast.parse(self.text.strip(), mode="eval").body
        except SyntaxError as exc:
            msg = f"condition {self.text!r} is not an expression: {exc.msg}"
            raise OptimizeError(msg) from None
        names: set[str] = set()
        self._walk(tree, names)
        if not isinstance(tree, ast.Compare | ast.BoolOp):
            msg = f"condition {self.text!r} must compare parameters (like 'fast < slow')"
            raise OptimizeError(msg)
        object.__setattr__(self, "_tree", tree)
        object.__setattr__(self, "names", frozenset(names))

    def _walk(self, node: ast.AST, names: set[str]) -> None:
        allowed = (ast.Compare, ast.BoolOp, ast.And, ast.Or, ast.BinOp, ast.UnaryOp, ast.USub, ast.Name,
                   ast.Constant, ast.Load, *_COMPARE, *_ARITH)
        if not isinstance(node, allowed) or (isinstance(node, ast.Constant)
                                             and not isinstance(node.value, int | float)):
            msg = (f"condition {self.text!r} may use parameter names, numbers, + - * /, comparisons, and/or; "
                   f"found {ast.unparse(node) if isinstance(node, ast.expr) else type(node).__name__!r}")
            raise OptimizeError(msg)
        if isinstance(node, ast.Name):
            names.add(node.id)
        for child in ast.iter_child_nodes(node):
            self._walk(child, names)

    def holds(self, values: Mapping[str, Any]) -> bool:
        """Whether the parameter set ``values`` meets the condition."""
        return bool(_evaluate(self._tree, values))


def _evaluate(node: ast.expr, values: Mapping[str, Any]) -> Any:  # noqa: PLR0911  # one branch per node kind
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return values[node.id]
    if isinstance(node, ast.UnaryOp):
        return -_evaluate(node.operand, values)
    if isinstance(node, ast.BinOp):
        return _ARITH[type(node.op)](_evaluate(node.left, values), _evaluate(node.right, values))
    if isinstance(node, ast.BoolOp):
        parts = (_evaluate(v, values) for v in node.values)
        return all(parts) if isinstance(node.op, ast.And) else any(parts)
    if isinstance(node, ast.Compare):
        left = _evaluate(node.left, values)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = _evaluate(right_node, values)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True
    msg = f"unexpected node {type(node).__name__}"  # unreachable: _walk admits no other kind
    raise TypeError(msg)


# --- the space -----------------------------------------------------------------------------------------------

class Space:
    """The dimensions an optimiser varies, the values it holds fixed, and the conditions between them."""

    def __init__(self, dimensions: Mapping[str, Dimension], *, conditions: Sequence[str | Condition] = (),
                 fixed: Mapping[str, Any] | None = None) -> None:
        if not dimensions:
            msg = "the search space is empty: declare parameters in the strategy, or give a space"
            raise OptimizeError(msg)
        self.dimensions = dict(dimensions)
        self.fixed = dict(fixed or {})
        self.conditions = [c if isinstance(c, Condition) else Condition(c) for c in conditions]
        known = set(self.dimensions) | set(self.fixed)
        for condition in self.conditions:
            for name in sorted(condition.names - known):
                msg = (f"condition {condition.text!r} names {name!r}, which is not a parameter"
                       f"{did_you_mean(name, known)}; parameters are {', '.join(sorted(known))}")
                raise OptimizeError(msg)

    @classmethod
    def from_parameters(cls, parameters: Sequence[Parameter], space: Mapping[str, Any] | None = None, *,
                        conditions: Sequence[str | Condition] = ()) -> Space:
        """The space of declared ``parameters``, each over its declared range and step.

        ``space`` narrows or replaces some: a :class:`Int`, :class:`Float` or :class:`Categorical`, a list of
        values (categorical), or a single number (held fixed). Given a ``space``, only the parameters it names
        vary; the others stay at their defaults.
        """
        declared = {p.param: p for p in parameters}
        if space is None:
            return cls({name: _dimension(p) for name, p in declared.items()}, conditions=conditions)
        dims: dict[str, Dimension] = {}
        fixed: dict[str, Any] = {}
        for name, given in space.items():
            if name not in declared:
                msg = (f"space names {name!r}, which the strategy does not declare{did_you_mean(name, declared)}; "
                       f"it declares {', '.join(declared) or 'no parameters'}")
                raise OptimizeError(msg)
            if isinstance(given, Int | Float | Categorical):
                dims[name] = given
            elif isinstance(given, str) or not isinstance(given, Iterable):
                fixed[name] = given
            else:
                dims[name] = Categorical(given)
            _within(name, dims[name].values() if name in dims else [fixed[name]], declared[name])
        defaults = {name: p.default for name, p in declared.items() if name not in dims}
        return cls(dims, conditions=conditions, fixed=defaults | fixed)

    @property
    def names(self) -> list[str]:
        """The varied parameters' names, in order."""
        return list(self.dimensions)

    def admits(self, values: Mapping[str, Any]) -> bool:
        """Whether a parameter set meets every condition."""
        full = self.fixed | dict(values)
        return all(c.holds(full) for c in self.conditions)

    def grid(self) -> list[dict[str, Any]]:
        """Every combination of the dimensions' values that meets the conditions, in order."""
        names = self.names
        sets = (dict(zip(names, combo, strict=True))
                for combo in itertools.product(*(self.dimensions[n].values() for n in names)))
        admitted = [s for s in sets if self.admits(s)]
        if not admitted:
            msg = f"no parameter set meets the conditions {[c.text for c in self.conditions]}"
            raise OptimizeError(msg)
        return admitted

    def grid_size(self) -> int:
        """How many combinations the grid has before the conditions are applied."""
        return math.prod(len(d.values()) for d in self.dimensions.values())

    def draw(self, rng: np.random.Generator) -> dict[str, Any]:
        """One parameter set at random that meets the conditions."""
        for _ in range(_MAX_DRAWS):
            values = {name: dim.draw(rng) for name, dim in self.dimensions.items()}
            if self.admits(values):
                return values
        msg = (f"{_MAX_DRAWS} random draws met none of the conditions {[c.text for c in self.conditions]}; "
               "widen the ranges")
        raise OptimizeError(msg)

    def suggest(self, trial: Any) -> dict[str, Any]:
        """The parameter set an Optuna trial suggests (it may break a condition: check :meth:`admits`)."""
        return {name: dim.suggest(trial, name) for name, dim in self.dimensions.items()}

    def full(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """A varied parameter set completed with the fixed values."""
        return self.fixed | dict(values)

    def describe(self) -> dict[str, Any]:
        """A plain description (what a study records to recognise its space when it resumes)."""
        def one(dim: Dimension) -> dict[str, Any]:
            if isinstance(dim, Categorical):
                return {"kind": "categorical", "choices": [_plain(c) for c in dim.choices]}
            return {"kind": type(dim).__name__.lower(), "low": dim.low, "high": dim.high, "step": dim.step,
                    "log": dim.log}
        return {"dimensions": {n: one(d) for n, d in self.dimensions.items()},
                "fixed": {k: _plain(v) for k, v in self.fixed.items()},
                "conditions": [c.text for c in self.conditions]}

    def __repr__(self) -> str:
        return f"Space({', '.join(self.names)}; {len(self.conditions)} condition(s))"


def _within(name: str, values: Sequence[Any], declared: Parameter) -> None:
    """Refuse values outside the declared range: the document's engine bounds were checked on that range."""
    words = [v for v in values if isinstance(v, bool) or not isinstance(v, int | float | np.number)]
    if words:
        msg = f"space.{name}: expected numbers (a declared parameter is a number), got {words[0]!r}"
        raise OptimizeError(msg)
    low, high = min(values), max(values)
    if not declared.min <= low <= high <= declared.max:
        msg = (f"space.{name}: [{low}, {high}] leaves the declared range [{declared.min}, {declared.max}] (the "
               "strategy's bounds were checked on that range; widen it in the declaration)")
        raise OptimizeError(msg)


def _dimension(p: Parameter) -> Dimension:
    if p.integer:
        return Int(int(p.min), int(p.max), int(p.step or 1))
    return Float(float(p.min), float(p.max), None if p.step is None else float(p.step))


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
