"""A strategy in one plain-English sentence (parameters at their defaults)."""

from __future__ import annotations

from typing import Any

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
    Stop,
    Strategy,
    parse_operand,
)

__all__ = ["RuleWriter", "summary"]

_COMPARE = {">": "is above", "<": "is below", ">=": "is at or above", "<=": "is at or below", "==": "equals"}
_DAYS = {"mon": "Monday", "tue": "Tuesday", "wed": "Wednesday", "thu": "Thursday", "fri": "Friday",
         "sat": "Saturday", "sun": "Sunday"}
_ZONES = {"asia": "Asia", "london": "London", "new_york": "New York", "london_close": "London close"}
_REGIMES = {"trend": "trend", "volatility": "volatility", "hmm": "HMM", "events": "event"}


def _num(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _article(number: str) -> str:
    """'an' before numbers read with a vowel sound (8, 11, 18, 80...), else 'a'."""
    spoken = number.split(".", maxsplit=1)[0]
    vowel = spoken.startswith("8") or spoken in ("11", "18") or (len(spoken) in (5, 6) and spoken[:2] in ("11", "18"))
    return "an" if vowel else "a"


class RuleWriter:
    """Writes a strategy's rules, operands and stops in plain English (``defaults``: the parameter values used)."""

    def __init__(self, strategy: Strategy) -> None:
        self.s = strategy
        self.defaults = {p.param: p.default for p in strategy.parameters}

    def resolve(self, value: Any) -> Any:
        return self.defaults[value[1:]] if isinstance(value, str) and value.startswith("$") else value

    def indicator(self, name: str, output: str | None) -> str:
        ind = self.s.indicators[name]
        module = REGISTRY.get(ind.id)
        values = [_num(self.resolve(ind.params.get(p.name, p.default))) for p in module.params
                  if p.type in ("int", "float")]
        text = f"{ind.id.upper()}({', '.join(values)})" if values else ind.id.upper()
        if ind.source is not None:
            text += f" of {self.operand(ind.source)}"
        shown = output or module.outputs[0].name
        if len(module.outputs) > 1 and shown != ind.id:
            text += f" {shown.replace('_', ' ')}"
        if ind.timeframe is not None:
            text += f" on {ind.timeframe}"
        return text

    def operand(self, value: Any) -> str:
        if not isinstance(value, str):
            return _num(value)
        name, output, ago, is_param = parse_operand(value)
        if is_param:
            text = _num(self.defaults[name])
        elif name in PRICE_FIELDS:
            text = f"the {name}"
        else:
            text = self.indicator(name, output)
        if ago:
            text += f" {ago} bar{'s' if ago > 1 else ''} ago"
        return text

    def rule(self, rule: Rule) -> str:  # noqa: PLR0911  # one branch per kind of rule
        if isinstance(rule, Compare):
            a, b = (self.operand(x) for x in rule.args)
            return f"{a} {_COMPARE[rule.op]} {b}"
        if isinstance(rule, Cross):
            word = "above" if rule.crosses_above is not None else "below"
            a, b = (self.operand(x) for x in (rule.crosses_above or rule.crosses_below or ()))
            return f"{a} crosses {word} {b}"
        if isinstance(rule, Between):
            x, lo, hi = (self.operand(v) for v in rule.between)
            return f"{x} is between {lo} and {hi}"
        if isinstance(rule, Slope):
            operand, bars = rule.rising or rule.falling or ("", 1)
            word = "rising" if rule.rising is not None else "falling"
            return f"{self.operand(operand)} has been {word} for {bars} bar{'s' if bars > 1 else ''}"
        if isinstance(rule, Lookback):
            if rule.ago is not None:
                return f"{rule.ago.bars} bar{'s' if rule.ago.bars > 1 else ''} ago {self.rule(rule.ago.rule)}"
            assert rule.within is not None  # noqa: S101  # the model guarantees one
            return f"{self.rule(rule.within.rule)} within the last {rule.within.bars} bars"
        if isinstance(rule, All | AnyOf):
            parts = [self.rule(r) for r in (rule.all if isinstance(rule, All) else rule.any)]
            word = "and" if isinstance(rule, All) else "or"
            text = parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} {word} {parts[-1]}"
            return f"either {text}" if word == "or" and len(parts) > 1 else text
        if isinstance(rule, Not):
            return f"it is not the case that {self.rule(rule.not_)}"
        return ""

    def stop(self, stop: Stop, what: str) -> str:
        amount = _num(self.resolve(stop.amount))
        if stop.kind == "percent":
            return f"{_article(amount)} {amount}% {what}"
        if stop.kind == "distance":
            return f"a {what} {amount} away in price"
        if stop.kind == "atr":
            return f"a {amount} x ATR({stop.period}) {what}"
        return f"{_article(amount)} {amount}R {what}"

    def session(self) -> str:
        session = self.s.market.session
        if session is None:
            return ""
        parts = []
        if session.kill_zone is not None:
            parts.append(f"in the {_ZONES[session.kill_zone]} kill zone")
        elif session.hours is not None:
            start, end = session.hours.split("-")
            parts.append(f"between {start} and {end} {session.timezone} time")
        if session.weekdays is not None:
            days = [_DAYS[d] for d in session.weekdays]
            parts.append("on " + (", ".join(days[:-1]) + f" and {days[-1]}" if len(days) > 1 else days[0]))
        return " " + " ".join(parts) if parts else ""

    def regime(self) -> str:
        """``only in bull or range trend regimes (confidence ≥ 0.8)``, or ``""`` without a regime filter."""
        regime = self.s.entries.regime
        if regime is None:
            return ""
        names = [name.replace("_", " ") for name in regime.allowed]
        either = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
        confidence = f" (confidence ≥ {_num(regime.min_confidence)})" if regime.min_confidence > 0 else ""
        return f"only in {either} {_REGIMES[regime.method]} regimes{confidence}"

    def exits(self) -> list[str]:
        exits = self.s.exits
        parts = []
        for side in ("long", "short"):
            rule = getattr(exits, side)
            if rule is not None:
                both = self.s.entries.long is not None and self.s.entries.short is not None
                parts.append(f"exit {'longs ' if both and side == 'long' else 'shorts ' if both else ''}when "
                             f"{self.rule(rule)}")
        stops = []
        if exits.stop_loss is not None:
            stops.append(self.stop(exits.stop_loss, "stop-loss"))
        if exits.take_profit is not None:
            stops.append(self.stop(exits.take_profit, "take-profit"))
        if exits.trailing_stop is not None:
            stops.append(self.stop(exits.trailing_stop, "trailing stop"))
        if stops:
            parts.append("exit at " + " or ".join(stops))
        if exits.break_even is not None:
            parts.append(f"move the stop to break-even after {self.stop(exits.break_even, 'gain')[2:]}")
        if exits.max_bars is not None:
            parts.append(f"exit after {_num(self.resolve(exits.max_bars))} bars")
        if exits.end_of_session:
            parts.append("be flat at the end of each session")
        return parts

    def sizing(self) -> str:
        sizing = self.s.sizing
        amount = _num(self.resolve(sizing.amount))
        return {"equity_percent": f"invest {amount}% of equity per trade",
                "risk_percent": f"risk {amount}% of equity per trade",
                "units": f"trade {amount} units", "cash": f"spend {amount} per trade",
                "volatility_percent": f"size for {amount}% annualised volatility"}[sizing.kind]

    def sentence(self) -> str:
        market = self.s.market
        where = f"{' and '.join(market.symbols)} on {market.timeframe}{self.session()}"
        clauses = []
        entries = self.s.entries
        if entries.long is not None:
            clauses.append(f"Go long {where} when {self.rule(entries.long)}")
        if entries.short is not None:
            lead = "go short" if clauses else f"Go short {where}"
            clauses.append(f"{lead} when {self.rule(entries.short)}")
        regime = self.regime()
        if regime and entries.long is not None and entries.short is not None:
            clauses.append(f"enter {regime}")
        elif regime:
            clauses[-1] += f", {regime}"
        clauses.extend(self.exits())
        clauses.append(self.sizing())
        return "; ".join(clauses) + "."


def summary(strategy: Strategy) -> str:
    """The strategy in plain English, e.g. "Go long DEMO-BTC on 1h when SMA(10) crosses above SMA(50) and
    RSI(14) is below 70; exit at a 2% stop-loss or a 4% take-profit; risk 1% of equity per trade."."""
    return RuleWriter(strategy).sentence()
