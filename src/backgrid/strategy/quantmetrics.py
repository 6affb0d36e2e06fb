"""Accept the decision-block request of the QuantMetrics V4 design and convert it to the native format.

The request::

    {"marketContext": {"market": "DEMO-BTC", "timeframe": "15m", "session": "London",
                       "direction": "Long", "testPeriod": "2mo"},
     "decisionBlocks": [{"id": "bias", "title": "...", "subConfirmations": [
         {"id": "rsi", "label": "RSI oversold", "selected": true, "moduleId": "rsi",
          "config": {"period": 14, "operator": "<", "value": 30}}]}],
     "exit": {"stopLoss": 1, "takeProfit": 2}}

Conversion: each selected sub-confirmation becomes an indicator
(``moduleId`` with the ``config`` keys other than ``operator``, ``value`` and
``output`` as its parameters) and a rule comparing its output (the first, or
``config.output``) with ``config.value`` by ``config.operator`` (``>``, ``<``,
``>=``, ``<=``, ``==``, ``crosses_above``, ``crosses_below``). Every
selected sub-confirmation of every block must hold (the design's AND within and
across blocks); unselected ones are ignored. ``session`` London / New York /
Asia maps to that kill zone (All or empty: no filter), ``testPeriod`` (``2mo``)
to the last part of the data, ``direction`` Long or Short to the rule's side.
``exit.stopLoss`` and ``exit.takeProfit`` are in the design's R unit, taken as
ATR(14) at the entry signal: a stop 1 ATR away and a target 2 ATR away above.
"""

from __future__ import annotations

import re
from typing import Any

from backgrid.errors import IndicatorError, SpecError
from backgrid.indicators.registry import REGISTRY
from backgrid.strategy.spec import COMPARISONS, SCHEMA_VERSION, did_you_mean

__all__ = ["from_quantmetrics", "is_quantmetrics"]

_SESSIONS = {"london": "london", "new york": "new_york", "newyork": "new_york", "new_york": "new_york",
             "asia": "asia", "london close": "london_close"}
_OPERATORS = (*COMPARISONS, "crosses_above", "crosses_below")
_KEYS = ("marketContext", "decisionBlocks", "exit")


def is_quantmetrics(doc: dict[str, Any]) -> bool:
    """Whether ``doc`` is a decision-block request rather than a native document."""
    return "decisionBlocks" in doc or "marketContext" in doc


def from_quantmetrics(doc: dict[str, Any], *, source: str = "") -> dict[str, Any]:
    """Convert a decision-block request into a native (current ``schema_version``) document."""
    problems: list[tuple[str, str]] = []
    unknown = [k for k in doc if k not in _KEYS]
    problems.extend((key, f"unknown field{did_you_mean(key, _KEYS)} (expected {', '.join(_KEYS)})") for key in unknown)
    context = doc.get("marketContext")
    if not isinstance(context, dict):
        problems.append(("marketContext", ("required: a mapping with market, timeframe, direction, session, "
                         "testPeriod")))
        context = {}
    market, side = _market(context, problems)
    indicators: dict[str, Any] = {}
    rules = _rules(doc.get("decisionBlocks"), indicators, problems)
    exits = _exits(doc.get("exit", {}), problems)
    if problems:
        raise SpecError(problems, source=source)
    symbol = str(context.get("market", "")).lower()
    name = re.sub(r"[^a-z0-9_-]+", "-", f"quantmetrics-{symbol}").strip("-")
    return {"schema_version": SCHEMA_VERSION, "name": name, "description": "Converted from a QuantMetrics V4 "
            "decision-block request.", "tags": ["quantmetrics"], "market": market, "indicators": indicators,
            "entries": {side: rules[0] if len(rules) == 1 else {"all": rules}}, "exits": exits}


def _market(context: dict[str, Any], problems: list[tuple[str, str]]) -> tuple[dict[str, Any], str]:
    market: dict[str, Any] = {}
    for key, target in (("market", "symbols"), ("timeframe", "timeframe")):
        if not context.get(key):
            problems.append((f"marketContext.{key}", "required field is missing"))
        else:
            market[target] = [context[key]] if target == "symbols" else context[key]
    session = str(context.get("session") or "All").strip()
    if session.lower() not in ("all", ""):
        zone = _SESSIONS.get(session.lower())
        if zone is None:
            problems.append(("marketContext.session", (f"unknown session {session!r}; expected London, New York, "
                             f"Asia, London Close or All")))
        else:
            market["session"] = {"kill_zone": zone}
    if context.get("testPeriod"):
        market["period"] = context["testPeriod"]
    direction = str(context.get("direction", "Long")).strip().lower()
    if direction not in ("long", "short"):
        problems.append(("marketContext.direction", (f"expected Long or Short, got {context.get('direction')!r} "
                         "(decision blocks carry one set of conditions: send one request per direction)")))
    return market, direction


def _rules(blocks: Any, indicators: dict[str, Any], problems: list[tuple[str, str]]) -> list[dict[str, Any]]:
    if not isinstance(blocks, list) or not blocks:
        problems.append(("decisionBlocks", "expected a list of at least one decision block"))
        return []
    rules = []
    for b, block in enumerate(blocks):
        path = f"decisionBlocks[{b}]"
        confirmations = block.get("subConfirmations") if isinstance(block, dict) else None
        if not isinstance(confirmations, list):
            problems.append((f"{path}.subConfirmations", "expected a list of sub-confirmations"))
            continue
        selected = [(c, conf) for c, conf in enumerate(confirmations)
                    if isinstance(conf, dict) and conf.get("selected") not in (False, None, "")]
        if not selected:
            problems.append((f"{path}.subConfirmations", ("no sub-confirmation is selected; select one or remove "
                             "the block")))
        for c, conf in selected:
            rule = _confirmation(conf, f"{path}.subConfirmations[{c}]", f"b{b}_c{c}", indicators, problems)
            if rule is not None:
                rules.append(rule)
    return rules


def _confirmation(conf: dict[str, Any], path: str, name: str, indicators: dict[str, Any],  # noqa: PLR0911
                  problems: list[tuple[str, str]]) -> dict[str, Any] | None:
    module_id = conf.get("moduleId")
    if module_id not in REGISTRY:
        ids = [s.id for s in REGISTRY.list()]
        problems.append((f"{path}.moduleId", (f"unknown module {module_id!r}{did_you_mean(str(module_id), ids)}; "
                         f"available modules: {', '.join(ids)}")))
        return None
    spec = REGISTRY.get(str(module_id))
    config = conf.get("config") or {}
    if not isinstance(config, dict):
        problems.append((f"{path}.config", f"expected a mapping, got {config!r}"))
        return None
    params = {k: v for k, v in config.items() if k not in ("operator", "value", "output")}
    try:
        spec.resolve(params)
    except IndicatorError as exc:
        problems.append((f"{path}.config", str(exc)))
        return None
    operator = config.get("operator")
    if operator not in _OPERATORS:
        problems.append((f"{path}.config.operator", f"expected one of {', '.join(_OPERATORS)}, got {operator!r}"))
        return None
    outputs = [o.name for o in spec.outputs]
    output = config.get("output", outputs[0])
    if output not in outputs:
        problems.append((f"{path}.config.output", (f"{spec.id} has no output {output!r}; its outputs are "
                         f"{', '.join(outputs)}")))
        return None
    value = config.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float | str) or value == "":
        problems.append((f"{path}.config.value", f"expected a number or a price field, got {value!r}"))
        return None
    indicators[name] = {"id": spec.id, "params": params}
    left = name if output == outputs[0] else f"{name}.{output}"
    return {operator: [left, value]}


def _exits(exit_: Any, problems: list[tuple[str, str]]) -> dict[str, Any]:
    if not isinstance(exit_, dict):
        problems.append(("exit", f"expected a mapping with stopLoss and takeProfit, got {exit_!r}"))
        return {}
    exits: dict[str, Any] = {}
    for key, target in (("stopLoss", "stop_loss"), ("takeProfit", "take_profit")):
        if key not in exit_:
            continue
        value = exit_[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            problems.append((f"exit.{key}", f"expected a number > 0 (a multiple of ATR(14)), got {value!r}"))
            continue
        exits[target] = {"atr": value, "period": 14}
    return exits
