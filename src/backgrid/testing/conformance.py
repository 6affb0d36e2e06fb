"""``check_indicator``: the checks every indicator module passes, backgrid's own and plugins alike.

1. the declaration is valid and its schema is JSON;
2. every declared output comes back, as long as the input;
3. the warm-up is honoured: nothing before it, and (for outputs that are not
   sparse) a finite value on every bar from it on, on clean data;
4. oscillators stay in their declared range and signals are -1, 0 or +1;
5. it is causal: values up to bar t are identical whether or not later bars exist;
6. parameters outside their range are refused with a message naming the parameter
   and its allowed values.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np

from backgrid.errors import ConformanceError, IndicatorError
from backgrid.indicators.spec import IndicatorSpec
from backgrid.testing.synthetic import random_bars

if TYPE_CHECKING:
    from backgrid.data.bars import Bars

__all__ = ["ConformanceError", "check_indicator"]


def _inputs(bars: Bars) -> dict[str, Any]:
    columns: dict[str, Any] = {c: bars.column(c) for c in bars.columns}
    columns.update(ts=bars.ts, calendar=bars.calendar)
    return columns


def _run(spec: IndicatorSpec, bars: Bars, params: dict[str, Any]) -> dict[str, np.ndarray]:
    inputs = _inputs(bars)
    result = spec.fn(**{k: inputs[k] for k in spec.inputs}, **params)
    return {o.name: np.asarray(result[o.name], dtype=np.float64) for o in spec.outputs}


def check_indicator(target: Any, *, bars: Bars | None = None, params: dict[str, Any] | None = None,
                    cuts: tuple[int, ...] = (1, 2, 37, 250, 511, 900)) -> None:
    """Raise :class:`ConformanceError` listing every rule ``target`` breaks (a spec or a decorated function).

    >>> from backgrid import indicators
    >>> check_indicator(indicators.get("sma"))
    """
    spec = target if isinstance(target, IndicatorSpec) else getattr(target, "spec", None)
    if not isinstance(spec, IndicatorSpec):
        msg = f"{target!r} is not an indicator: decorate it with @indicator"
        raise ConformanceError(str(target), [msg])
    bars = bars if bars is not None else random_bars(1000, timeframe="1h", seed=11)
    problems: list[str] = []
    try:
        json.dumps(spec.schema())
    except (TypeError, ValueError) as exc:
        problems.append(f"schema is not JSON-serialisable: {exc}")
    resolved = spec.resolve(params or {})
    full = _run(spec, bars, resolved)
    n = len(bars)
    for name, values in full.items():
        if values.shape != (n,):
            problems.append(f"output {name!r} has shape {values.shape}, expected ({n},)")
    if problems:
        raise ConformanceError(spec.id, problems)
    problems += _warmup_problems(spec, full, spec.warmup(**resolved))
    problems += _range_problems(spec, full)
    for t in cuts:
        if t >= n:
            continue
        part = _run(spec, bars.take(slice(0, t)), resolved)
        for name, values in part.items():
            if not np.array_equal(values, full[name][:t], equal_nan=True):
                same = (values == full[name][:t]) | (np.isnan(values) & np.isnan(full[name][:t]))
                first = int(np.flatnonzero(~same)[0])
                problems.append(f"not causal: output {name!r} at bar {first} changes when bars after {t - 1} exist")
                break
    problems += _param_problems(spec)
    if problems:
        raise ConformanceError(spec.id, problems)


def _warmup_problems(spec: IndicatorSpec, full: dict[str, np.ndarray], warmup: int) -> list[str]:
    problems = []
    for out in spec.outputs:
        values = full[out.name]
        if np.isfinite(values[:warmup]).any():
            first = int(np.flatnonzero(np.isfinite(values[:warmup]))[0])
            problems.append(f"output {out.name!r} has a value at bar {first}, inside its warm-up of {warmup} bars")
        if not out.sparse and warmup < values.size and not np.isfinite(values[warmup:]).all():
            first = warmup + int(np.flatnonzero(~np.isfinite(values[warmup:]))[0])
            problems.append(f"output {out.name!r} has no value at bar {first}, after its warm-up of {warmup} bars")
    return problems


def _range_problems(spec: IndicatorSpec, full: dict[str, np.ndarray]) -> list[str]:
    problems = []
    for out in spec.outputs:
        values = full[out.name][np.isfinite(full[out.name])]
        if out.kind == "oscillator" and out.range is not None and values.size:
            lo, hi = out.range
            slack = 1e-9 * max(1.0, abs(lo), abs(hi))
            if values.min() < lo - slack or values.max() > hi + slack:
                problems.append(f"oscillator {out.name!r} leaves its range {out.range}: "
                                f"{values.min():g} .. {values.max():g}")
        if out.kind == "signal" and not np.isin(values, (-1.0, 0.0, 1.0)).all():
            problems.append(f"signal {out.name!r} has values other than -1, 0, +1")
    return problems


def _param_problems(spec: IndicatorSpec) -> list[str]:
    problems = []
    for p in spec.params:
        bad: list[Any] = []
        if p.type in ("int", "float"):
            step = p.step or 1
            if p.min is not None:
                bad.append(type(p.default)(p.min - step))
            if p.max is not None:
                bad.append(type(p.default)(p.max + step))
        elif p.type == "choice":
            bad.append("not-an-option")
        else:
            bad.append("yes")
        for value in bad:
            try:
                spec.resolve({p.name: value})
            except IndicatorError as exc:
                if p.name not in str(exc) or p.allowed() not in str(exc):
                    problems.append(f"refusing {p.name}={value!r} should name {p.name!r} and {p.allowed()}")
            else:
                problems.append(f"parameter {p.name}={value!r} is outside its range but was accepted")
    return problems
