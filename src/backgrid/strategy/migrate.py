"""Bring documents of an older ``schema_version`` up to the current one, one small step per version.

Version 1 (the first format) held one ``symbol`` and a ``timeframe`` at the top,
indicators as a list of ``{name, id, params}``, ``entry`` and ``exit`` as lists
of rules that must all hold, long only (it had no directions), and stop-loss,
take-profit and commission as fractions (``0.02``)::

    schema_version: 1
    name: sma-cross
    symbol: DEMO-BTC
    timeframe: 1h
    indicators: [{name: fast, id: sma, params: {period: 10}}, {name: slow, id: sma, params: {period: 50}}]
    entry: [{crosses_above: [fast, slow]}]
    exit: [{crosses_below: [fast, slow]}]
    stop_loss: 0.02
    commission: 0.001

Version 2 wrote the drawdown guard as ``risk.max_drawdown_percent``, a positive number beside the
negative ``max_drawdown`` statistic; version 3 names it ``risk.drawdown_limit_percent``, like
``daily_loss_limit_percent`` (one name per concept, the engine's ``drawdown_limit``).

Version 3 (current) is described in :mod:`backgrid.strategy.spec`. A step takes
plain data and returns plain data; the models validate only the final version.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from backgrid.errors import SpecError
from backgrid.strategy.spec import SCHEMA_VERSION

__all__ = ["STEPS", "migrate"]


def _v1_to_v2(doc: dict[str, Any]) -> dict[str, Any]:
    """v1 -> v2: a market section, named indicators, long entries, percentages."""
    out = {k: v for k, v in doc.items() if k not in ("symbol", "timeframe", "indicators", "entry", "exit",
                                                     "stop_loss", "take_profit", "commission")}
    out["schema_version"] = 2
    market = {"symbols": [doc["symbol"]] if "symbol" in doc else doc.get("symbols"),
              "timeframe": doc.get("timeframe")}
    out["market"] = {k: v for k, v in market.items() if v is not None}
    indicators = doc.get("indicators", [])
    if isinstance(indicators, list):
        out["indicators"] = {item.get("name"): {k: v for k, v in item.items() if k != "name"}
                             for item in indicators if isinstance(item, dict)}
    else:
        out["indicators"] = indicators
    if "entry" in doc:
        out["entries"] = {"long": _all_of(doc["entry"])}
    if "exit" in doc:
        out["exits"] = {"long": _all_of(doc["exit"])}
    for key in ("stop_loss", "take_profit"):
        if isinstance(doc.get(key), int | float):
            out.setdefault("exits", {})[key] = {"percent": _percent(doc[key])}
    if isinstance(doc.get("commission"), int | float):
        out["costs"] = {"commission_percent": _percent(doc["commission"])}
    return out


def _v2_to_v3(doc: dict[str, Any]) -> dict[str, Any]:
    """v2 -> v3: ``risk.max_drawdown_percent`` is ``risk.drawdown_limit_percent``."""
    out = dict(doc, schema_version=3)
    risk = doc.get("risk")
    if isinstance(risk, dict) and "max_drawdown_percent" in risk:
        out["risk"] = {("drawdown_limit_percent" if k == "max_drawdown_percent" else k): v for k, v in risk.items()}
    return out


def _all_of(rules: Any) -> Any:
    if isinstance(rules, list):
        return rules[0] if len(rules) == 1 else {"all": rules}
    return rules


def _percent(fraction: float) -> float:
    return round(fraction * 100, 12)


#: ``STEPS[v]`` turns a version-``v`` document into a version ``v + 1`` one.
STEPS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _v1_to_v2, 2: _v2_to_v3}


def migrate(doc: dict[str, Any], *, source: str = "") -> dict[str, Any]:
    """Return ``doc`` at the current ``schema_version``, applying each step from its own version."""
    version = doc.get("schema_version")
    if version is None:
        problem = f"required field is missing (the current version is {SCHEMA_VERSION})"
        raise SpecError([("schema_version", problem)], source=source)
    if isinstance(version, bool) or not isinstance(version, int) or not version >= 1:
        raise SpecError([("schema_version", f"expected a whole number from 1 to {SCHEMA_VERSION}, got {version!r}")],
                        source=source)
    if version > SCHEMA_VERSION:
        problem = (f"version {version} is newer than this backgrid reads ({SCHEMA_VERSION}); "
                   f"upgrade backgrid")
        raise SpecError([("schema_version", problem)], source=source)
    while version < SCHEMA_VERSION:
        doc = STEPS[version](doc)
        version += 1
    return doc
