"""Check every name a strategy uses: indicators, their parameters and outputs, sources, ``$param`` references.

The models check the document's shape; this checks its meaning against the
indicator registry, so that a document that passes runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from backgrid.data.timeframe import Timeframe
from backgrid.errors import IndicatorError
from backgrid.indicators.registry import REGISTRY
from backgrid.indicators.spec import IndicatorSpec
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
    did_you_mean,
    parse_operand,
)

__all__ = ["check_references", "rule_operands", "rules_of"]


def rules_of(strategy: Strategy) -> Iterator[tuple[str, Rule]]:
    """Every top-level rule with its path: ``entries.long``, ``exits.short``..."""
    for section, holder in (("entries", strategy.entries), ("exits", strategy.exits)):
        for side in ("long", "short"):
            rule = getattr(holder, side)
            if rule is not None:
                yield f"{section}.{side}", rule


def rule_operands(rule: Rule, path: str) -> Iterator[tuple[str, Any]]:
    """Every operand of ``rule`` and the rules inside it, with its path."""
    if isinstance(rule, Compare):
        for i, operand in enumerate(rule.args):
            yield f'{path}["{rule.op}"][{i}]', operand
    elif isinstance(rule, Cross | Between | Slope):
        key = next(k for k in ("crosses_above", "crosses_below", "between", "rising", "falling")
                   if getattr(rule, k, None) is not None)
        values = getattr(rule, key)
        for i, operand in enumerate(values[:1] if isinstance(rule, Slope) else values):
            yield f"{path}.{key}[{i}]", operand
    elif isinstance(rule, Lookback):
        key = "ago" if rule.ago is not None else "within"
        window = rule.ago or rule.within
        assert window is not None  # noqa: S101  # the model guarantees one
        yield from rule_operands(window.rule, f"{path}.{key}.rule")
    elif isinstance(rule, All | AnyOf):
        key = "all" if isinstance(rule, All) else "any"
        for i, child in enumerate(getattr(rule, key)):
            yield from rule_operands(child, f"{path}.{key}[{i}]")
    elif isinstance(rule, Not):
        yield from rule_operands(rule.not_, f"{path}.not")


def check_references(strategy: Strategy) -> list[tuple[str, str]]:
    """Every problem with the names ``strategy`` uses, as ``(path, message)``; empty when it can run."""
    problems: list[tuple[str, str]] = []
    declared = {p.param: p for p in strategy.parameters}
    modules: dict[str, IndicatorSpec] = {}
    for name, ind in strategy.indicators.items():
        path = f"indicators.{name}"
        try:
            modules[name] = REGISTRY.get(ind.id)
        except IndicatorError as exc:
            problems.append((f"{path}.id", str(exc)))
            continue
        problems.extend(_check_params(modules[name], ind.params, declared, path))
        if ind.timeframe is not None and Timeframe.parse(ind.timeframe) < Timeframe.parse(strategy.market.timeframe):
            problems.append((f"{path}.timeframe", (f"must be the strategy's timeframe "
                             f"({strategy.market.timeframe}) or higher, got {ind.timeframe}")))
    for name, ind in strategy.indicators.items():
        if ind.source is not None and name in modules:
            problems.extend(_operand_problem(f"indicators.{name}.source", ind.source, strategy, modules, declared))
    problems.extend(_cycles(strategy))
    for path, rule in rules_of(strategy):
        for where, operand in rule_operands(rule, path):
            problems.extend(_operand_problem(where, operand, strategy, modules, declared))
    for path, value in _values(strategy):
        if isinstance(value, str) and value[1:] not in declared:
            problems.append((path, (f"unknown parameter {value!r}{did_you_mean(value[1:], declared)}; "
                             f"declare it under parameters")))
    return problems


def _check_params(module: IndicatorSpec, params: dict[str, Any], declared: dict[str, Any],
                  path: str) -> list[tuple[str, str]]:
    known = {p.name: p for p in module.params}
    problems = []
    for key, value in params.items():
        where = f"{path}.params.{key}"
        if key not in known:
            takes = ", ".join(known) or "no parameters"
            problems.append((where, (f"{module.id} has no parameter {key!r}{did_you_mean(key, known)}; "
                             f"it takes {takes}")))
            continue
        if isinstance(value, str) and value.startswith("$"):
            param = declared.get(value[1:])
            if param is None:
                problems.append((where, (f"unknown parameter {value!r}{did_you_mean(value[1:], declared)}; "
                                 f"declare it under parameters")))
                continue
            values = [param.default, param.min, param.max]
            if known[key].type == "int" and not param.integer:
                problems.append((where, (f"{module.id}.{key} takes integers; parameter {value} must have integer "
                                 f"default, min, max and step")))
                continue
        else:
            values = [value]
        for candidate in values:
            try:
                known[key].check(candidate, module.id)
            except IndicatorError as exc:
                problems.append((where, str(exc).split(": ", 1)[-1]))
                break
    return problems


def _operand_problem(path: str, operand: Any, strategy: Strategy, modules: dict[str, IndicatorSpec],  # noqa: PLR0911
                     declared: dict[str, Any]) -> list[tuple[str, str]]:  # one return per kind of operand
    if not isinstance(operand, str):
        return []
    name, output, _, is_param = parse_operand(operand)
    if is_param:
        if name not in declared:
            return [(path, f"unknown parameter '${name}'{did_you_mean(name, declared)}; declare it under parameters")]
        return []
    if name in PRICE_FIELDS:
        if output is not None:
            return [(path, f"price field {name!r} has no outputs; write {name!r}")]
        return []
    if name not in strategy.indicators:
        choices = [*strategy.indicators, *PRICE_FIELDS]
        return [(path, (f"unknown indicator {name!r}{did_you_mean(name, choices)} "
                 f"(expected an indicator defined under indicators: {', '.join(strategy.indicators) or 'none'}; "
                 f"or a price field: {', '.join(PRICE_FIELDS)})"))]
    module = modules.get(name)
    if module is not None and output is not None:
        outputs = [o.name for o in module.outputs]
        if output not in outputs:
            return [(path, (f"{name} ({module.id}) has no output {output!r}{did_you_mean(output, outputs)}; "
                     f"its outputs are {', '.join(outputs)}"))]
    return []


def _cycles(strategy: Strategy) -> list[tuple[str, str]]:
    problems = []
    for start in strategy.indicators:
        seen = [start]
        current = start
        while True:
            source = strategy.indicators[current].source
            ref = source.split(".")[0] if source else None
            if ref is None or ref not in strategy.indicators:
                break
            if ref in seen:
                if ref == start:
                    loop = " -> ".join([*seen, ref])
                    problems.append((f"indicators.{start}.source", f"indicators feed each other in a loop: {loop}"))
                break
            seen.append(ref)
            current = ref
    return problems[:1]


def _values(strategy: Strategy) -> Iterator[tuple[str, Any]]:
    """Numbers outside the rules that may be ``$param``: stops, sizing, time exit."""
    exits = strategy.exits
    for name in ("stop_loss", "take_profit", "trailing_stop", "break_even"):
        stop = getattr(exits, name)
        if stop is not None:
            yield f"exits.{name}.{stop.kind}", stop.amount
    if exits.max_bars is not None:
        yield "exits.max_bars", exits.max_bars
    yield f"sizing.{strategy.sizing.kind}", strategy.sizing.amount
