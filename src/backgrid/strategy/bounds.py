"""A document's numbers against the engine's option table: what ``validate`` accepts, the engine runs.

Stops, sizing, costs and guards are written in percent in a document and checked here against the bounds of
the engine option they become (:data:`backgrid.engine.options.OPTIONS`, scaled by its ``document_scale``).
A ``$param`` is checked over its whole declared range, since a sweep may take any value in it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from backgrid.engine.options import OPTIONS
from backgrid.strategy.spec import Stop, Strategy

__all__ = ["check_engine_bounds", "option_path"]

#: the sizing form of a document and the engine's size_type it becomes
SIZE_TYPES = {"equity_percent": "equity", "risk_percent": "risk", "units": "units", "cash": "cash",
              "volatility_percent": "volatility"}


def option_path(option: str) -> str:
    """Where a document sets engine option ``option`` (empty when a document has no field for it)."""
    if option in ("size", "size_type"):
        return "sizing"
    found = OPTIONS.get(option)
    return found.document.removesuffix(".percent") if found is not None else ""


def check_engine_bounds(strategy: Strategy) -> list[tuple[str, str]]:
    """Every ``(path, message)`` where the document asks for a value the engine refuses."""
    problems = [(path, message) for path, message in _checks(strategy)]
    sizing = strategy.sizing
    if sizing.kind == "risk_percent" and strategy.exits.stop_loss is None:
        problems.append(("sizing.risk_percent", ("risk sizing measures the risk to the stop: it needs "
                                                "exits.stop_loss")))
    margin = sizing.maintenance_margin_percent
    if margin is not None and margin >= 100 / sizing.leverage:
        problems.append(("sizing.maintenance_margin_percent",
                         f"{margin:g} must be below the initial margin, 100 / leverage = {100 / sizing.leverage:g}"))
    span = _range(strategy, sizing.amount)
    if sizing.kind == "equity_percent" and span is not None:
        top = span[1]
        if top > sizing.leverage * 100:
            problems.append(("sizing.equity_percent", (f"{_shown(sizing.amount, top)} is more than the leverage "
                                                       f"allows ({sizing.leverage:g} x 100 = "
                                                       f"{sizing.leverage * 100:g} %)")))
    return problems


def _checks(strategy: Strategy) -> Iterator[tuple[str, str]]:
    exits = strategy.exits
    for name in ("stop_loss", "take_profit", "trailing_stop", "break_even"):
        stop: Stop | None = getattr(exits, name)
        if stop is not None and stop.kind == "percent":
            yield from _within(strategy, f"exits.{name}.percent", name, stop.amount)
    for field, option in (("commission_percent", "commission"), ("slippage_percent", "slippage"),
                          ("spread_percent", "spread"), ("borrow_rate_percent", "borrow_rate")):
        yield from _within(strategy, f"costs.{field}", option, getattr(strategy.costs, field))


def _within(strategy: Strategy, path: str, option: str, value: Any) -> Iterator[tuple[str, str]]:
    spec = OPTIONS[option]
    scale = spec.document_scale
    span = _range(strategy, value)
    for x in span or ():
        if not spec.within(x / scale):
            unit = " (percent)" if scale == 100 else ""
            yield path, f"{_shown(value, x)} is outside what the engine accepts: {spec.bounds_text(scale)}{unit}"
            return


def _range(strategy: Strategy, value: Any) -> tuple[float, float] | None:
    """A number as (value, value); a ``$param`` as its declared (min, max); None for an undeclared one."""
    if isinstance(value, str) and value.startswith("$"):
        declared = {p.param: p for p in strategy.parameters}.get(value[1:])
        if declared is None:  # the reference check reports it
            return None
        return float(declared.min), float(declared.max)
    return float(value), float(value)


def _shown(value: Any, x: float) -> str:
    """The value a message quotes: the number, or the parameter and the end of its range that fails."""
    return f"{value}'s declared range reaches {x:g}, which" if isinstance(value, str) else f"{x:g}"
