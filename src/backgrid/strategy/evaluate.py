"""Evaluate a strategy's indicators and rules on one symbol's bars, for one parameter set.

Every value carries its warm-up: the leading bars before it is defined. An
indicator's warm-up is its module's (plus its source's); a higher-timeframe one
counts from the first strategy bar that sees a higher bar past the warm-up; a
rule's is the largest of its operands', plus the bars it looks back. A rule is
False during its own warm-up, so ``not`` never turns a missing value into a
signal. Indicators are computed once per distinct (module, parameters,
timeframe, source), across all parameter sets of a sweep (:class:`IndicatorCache`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from backgrid.data.bars import Bars
from backgrid.data.resample import aligned_rows, resample
from backgrid.data.timeframe import Timeframe
from backgrid.indicators.compute import bar_inputs, compute_arrays
from backgrid.indicators.registry import REGISTRY
from backgrid.strategy.spec import (
    PRICE_FIELDS,
    All,
    AnyOf,
    Between,
    Compare,
    Cross,
    Lookback,
    Not,
    Rule,
    Slope,
    Strategy,
    parse_operand,
)

__all__ = ["Evaluator", "IndicatorCache"]

Array = np.ndarray
_OPS = {">": np.greater, "<": np.less, ">=": np.greater_equal, "<=": np.less_equal, "==": np.equal}


class IndicatorCache:
    """Indicator outputs on one symbol's bars, keyed by what determines them; shared by parameter sets."""

    def __init__(self, bars: Bars) -> None:
        self.bars = bars
        self.values: dict[tuple[Any, ...], tuple[dict[str, Array], int]] = {}
        self._frames: dict[str, Bars] = {str(bars.timeframe): bars}
        self._rows: dict[str, Array] = {}
        #: an indicator's outputs by its name and the values its parameters take (across parameter sets)
        self.resolved: dict[tuple[Any, ...], tuple[dict[str, Array], int, tuple[Any, ...]]] = {}
        self.computed = 0  # how many times a module actually ran (the rest came from the cache)

    def frame(self, timeframe: str) -> Bars:
        """The bars at ``timeframe`` (resampled from the strategy's bars once)."""
        if timeframe not in self._frames:
            self._frames[timeframe] = resample(self.bars, Timeframe.parse(timeframe))
        return self._frames[timeframe]

    def rows(self, timeframe: str) -> Array:
        """For each strategy bar, the latest ``timeframe`` bar closed by then (-1: none)."""
        if timeframe not in self._rows:
            self._rows[timeframe] = aligned_rows(self.frame(timeframe), self.bars)
        return self._rows[timeframe]


def shift(values: Array, bars: int, fill: Any = np.nan) -> Array:
    """``values`` ``bars`` bars ago (``fill`` before the start)."""
    if bars == 0:
        return values
    out = np.full(values.shape, fill, dtype=values.dtype)
    if bars < values.size:
        out[bars:] = values[:-bars]
    return out


class Evaluator:
    """The strategy's values and rules on ``cache.bars`` with parameter values ``params``."""

    def __init__(self, strategy: Strategy, cache: IndicatorCache, params: dict[str, Any]) -> None:
        self.strategy = strategy
        self.cache = cache
        self.params = params
        self.n = len(cache.bars)
        # each rule names its indicators again: their outputs for this parameter set, by (name, timeframe)
        self._seen: dict[tuple[str, str | None], tuple[dict[str, Array], int, tuple[Any, ...]]] = {}

    # --- values ---------------------------------------------------------------------------------------------

    def resolve(self, value: Any) -> Any:
        """A ``$param`` replaced by its value in this parameter set; anything else unchanged."""
        if isinstance(value, str) and value.startswith("$"):
            return self.params[value[1:]]
        return value

    def indicator(self, name: str, timeframe: str | None = None) -> tuple[dict[str, Array], int, tuple[Any, ...]]:
        """Outputs of indicator ``name`` on the strategy's bars, its warm-up there, and its cache key.

        ``timeframe`` evaluates it on other bars (a source feeding a higher-timeframe indicator).
        """
        seen = self._seen.get((name, timeframe))
        if seen is None:
            # another parameter set with the same values for this indicator resolved it already
            params = tuple((k, self.resolve(v)) for k, v in self.strategy.indicators[name].params.items())
            given = (name, timeframe, params, self._source_values(name))
            seen = self.cache.resolved.get(given)
            if seen is None:
                seen = self.cache.resolved[given] = self._indicator(name, timeframe)
            self._seen[(name, timeframe)] = seen
        return seen

    def _source_values(self, name: str) -> tuple[Any, ...]:
        """What the indicator's source resolves to in this set (a source's own parameters)."""
        ind = self.strategy.indicators[name]
        if ind.source is None:
            return ()
        ref = parse_operand(ind.source)[0]
        if ref in PRICE_FIELDS or ref not in self.strategy.indicators:
            return (ref,)
        return (ref, tuple((k, self.resolve(v)) for k, v in self.strategy.indicators[ref].params.items()),
                self._source_values(ref))

    def _indicator(self, name: str, timeframe: str | None) -> tuple[dict[str, Array], int, tuple[Any, ...]]:
        ind = self.strategy.indicators[name]
        module = REGISTRY.get(ind.id)
        params = module.resolve({k: self.resolve(v) for k, v in ind.params.items()})
        base = str(self.cache.bars.timeframe)
        tf = timeframe or ind.timeframe or base
        source_key: tuple[Any, ...] = ()
        source: tuple[Array, int] | None = None
        if ind.source is not None:
            ref, output, _, _ = parse_operand(ind.source)
            if ref in PRICE_FIELDS:
                source_key = (ref,)
                source = (self.cache.frame(tf).column(ref), 0)
            else:
                outputs, warm, key = self.indicator(ref, tf)
                first = next(o.name for o in REGISTRY.get(self.strategy.indicators[ref].id).outputs)
                source_key = (key, output or first)
                source = (outputs[output or first], warm)
        key = (ind.id, tuple(sorted(params.items())), tf, source_key, timeframe is None)
        if key not in self.cache.values:
            self.cache.values[key] = self._compute(module.id, params, tf, source, aligned=timeframe is None)
        outputs, warm = self.cache.values[key]
        return outputs, warm, key

    def module(self, module_id: str, params: dict[str, Any]) -> tuple[dict[str, Array], int]:
        """Outputs of registry module ``module_id`` on the strategy's bars (an ATR for stops...), cached."""
        resolved = REGISTRY.get(module_id).resolve(params)
        tf = str(self.cache.bars.timeframe)
        key = (module_id, tuple(sorted(resolved.items())), tf, (), True)
        if key not in self.cache.values:
            self.cache.values[key] = self._compute(module_id, resolved, tf, None, aligned=True)
        return self.cache.values[key]

    def _compute(self, module_id: str, params: dict[str, Any], tf: str, source: tuple[Array, int] | None, *,
                 aligned: bool) -> tuple[dict[str, Array], int]:
        module = REGISTRY.get(module_id)
        bars = self.cache.frame(tf)
        inputs = bar_inputs(bars)
        start = 0
        if source is not None:
            values, start = source
            inputs[module.inputs[0]] = values
        # a module fed by another one runs on the source's defined part only (a NaN would poison recursions)
        if start > 0:
            inputs = {k: (v[start:] if isinstance(v, np.ndarray) else v) for k, v in inputs.items()}
        self.cache.computed += 1
        raw = compute_arrays(module_id, inputs, **params) if start < len(bars) else {
            o.name: np.empty(0) for o in module.outputs}
        outputs = {k: np.concatenate([np.full(start, np.nan), v]) if start else v for k, v in raw.items()}
        warm = min(start + module.warmup_bars(params), len(bars))
        if not aligned or tf == str(self.cache.bars.timeframe):
            return outputs, warm
        rows = self.cache.rows(tf)
        seen = rows >= 0
        shown = {}
        for name, values in outputs.items():
            out = np.full(self.n, np.nan)
            out[seen] = values[rows[seen]]
            shown[name] = out
        defined = np.flatnonzero(rows >= warm)
        return shown, int(defined[0]) if defined.size else self.n

    def value(self, operand: Any) -> tuple[Array | float, int]:
        """An operand as a number or a (n,) float array, and its warm-up."""
        values, ago, warm = self.operand(operand)
        return (shift(values, ago) if isinstance(values, np.ndarray) else values), warm

    def operand(self, operand: Any) -> tuple[Array | float, int, int]:
        """An operand before its look-back: a number or the (n,) array it reads, the bars it looks back, and
        its warm-up (those bars included). :meth:`value` is the array shifted by those bars."""
        if not isinstance(operand, str):
            return float(operand), 0, 0
        name, output, ago, is_param = parse_operand(operand)
        if is_param:
            return float(self.params[name]), 0, 0
        if name in PRICE_FIELDS:
            values, warm = self.cache.bars.column(name), 0
        else:
            outputs, warm, _ = self.indicator(name)
            module = REGISTRY.get(self.strategy.indicators[name].id)
            values = outputs[output or module.outputs[0].name]
        return values, ago, min(warm + ago, self.n)

    # --- rules ----------------------------------------------------------------------------------------------

    def rule(self, rule: Rule) -> tuple[Array, int]:
        """A rule as a (n,) bool array, False during its warm-up, and that warm-up."""
        held, warm = self._rule(rule)
        held = np.broadcast_to(held, (self.n,)).copy()
        held[:warm] = False
        return held, warm

    def _rule(self, rule: Rule) -> tuple[Array, int]:  # noqa: PLR0911  # one branch per kind of rule
        if isinstance(rule, Compare):
            (a, wa), (b, wb) = (self.value(x) for x in rule.args)
            return np.asarray(_OPS[rule.op](a, b)), max(wa, wb)
        if isinstance(rule, Cross):
            above = rule.crosses_above is not None
            (a, wa), (b, wb) = (self.value(x) for x in (rule.crosses_above or rule.crosses_below or ()))
            a, b = (np.broadcast_to(np.asarray(v, dtype=np.float64), (self.n,)) for v in (a, b))
            if not above:
                a, b = b, a
            held = np.zeros(self.n, dtype=np.bool_)  # the first bar has no bar before it: never a cross
            np.logical_and(a[1:] > b[1:], a[:-1] <= b[:-1], out=held[1:])  # no shifted copies: a sweep runs it per set
            return held, min(max(wa, wb) + 1, self.n)
        if isinstance(rule, Between):
            (x, wx), (lo, wl), (hi, wh) = (self.value(v) for v in rule.between)
            return np.asarray((lo <= x) & (x <= hi)), max(wx, wl, wh)
        if isinstance(rule, Slope):
            operand, bars = rule.rising or rule.falling or ("", 1)
            x, wx = self.value(operand)
            x = np.broadcast_to(x, (self.n,)).astype(np.float64)
            held = np.ones(self.n, dtype=np.bool_)
            for k in range(1, bars + 1):
                held &= (x > shift(x, k)) if rule.rising is not None else (x < shift(x, k))
            return held, min(wx + bars, self.n)
        if isinstance(rule, Lookback):
            window = rule.ago or rule.within
            assert window is not None  # noqa: S101  # the model guarantees one
            inner, warm = self.rule(window.rule)
            if rule.ago is not None:
                return shift(inner, window.bars, fill=False), min(warm + window.bars, self.n)
            count = np.concatenate([[0], np.cumsum(inner)])
            lagged = np.concatenate([np.zeros(window.bars, dtype=np.int64), count[:-window.bars]])[:self.n + 1]
            return (count[1:] - lagged[1:]) > 0, warm
        if isinstance(rule, All | AnyOf):
            parts = [self.rule(child) for child in (rule.all if isinstance(rule, All) else rule.any)]
            combine = np.logical_and if isinstance(rule, All) else np.logical_or
            return combine.reduce([held for held, _ in parts]), max(warm for _, warm in parts)
        if isinstance(rule, Not):
            inner, warm = self.rule(rule.not_)
            return ~inner, warm
        msg = f"unknown rule {type(rule).__name__}"  # unreachable: the models admit no other kind
        raise TypeError(msg)
