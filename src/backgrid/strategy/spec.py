"""The strategy document: frozen pydantic models that refuse unknown fields.

A document is YAML or JSON with a ``schema_version``. Every field not given takes
its documented default (an entry rule without a direction is long). Percentages
are written as percentages (``stop_loss: {percent: 2}`` is 2 %), never as fractions.

Rules are one-key mappings, nested freely::

    entries:
      long:
        all:
          - crosses_above: [fast, slow]        # a cross, this bar
          - "<": [rsi, 70]                     # comparisons: > < >= <= ==
          - between: [close, bb.lower, bb.upper]
          - rising: [slow, 3]                  # above each of its 3 previous values
          - within: {bars: 5, rule: {crosses_above: [close, bb.middle]}}
          - ago: {bars: 1, rule: {">": [close, open]}}
          - not: {any: [...]}

An operand is a number, ``$param`` (a declared parameter), a price field
(``open``, ``high``, ``low``, ``close``, ``volume``), an indicator (``rsi``: its
first output) or one of its outputs (``bb.upper``), optionally with ``[n]`` for
its value ``n`` bars ago (``close[1]``).
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import json
import math
import re
from datetime import date, datetime
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    PlainValidator,
    Tag,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from backgrid.data.timeframe import Timeframe
from backgrid.engine.options import document_bounds
from backgrid.errors import BackgridError

__all__ = [
    "KILL_ZONES", "PRICE_FIELDS", "SCHEMA_VERSION", "All", "AnyOf", "Between", "Compare", "Costs", "Cross",
    "Entries", "EventsFilter", "Execution", "Exits", "HmmFilter", "HmmParams", "Indicator", "Lookback", "Market",
    "Not", "Operand", "Parameter", "RegimeFilter", "Risk", "Rule", "Session", "Sizing", "Slope", "Stop", "Strategy",
    "TrendFilter", "TrendParams", "VolatilityFilter", "VolatilityParams", "did_you_mean", "json_schema",
    "parse_operand", "regime_names", "steps",
]

#: The version this code writes and reads natively; older documents migrate forward (see ``migrate``).
SCHEMA_VERSION = 3
PRICE_FIELDS = ("open", "high", "low", "close", "volume")
#: ICT kill zones, in New York time (start, end) as "HH:MM".
KILL_ZONES: dict[str, tuple[str, str]] = {
    "asia": ("20:00", "00:00"),
    "london": ("02:00", "05:00"),
    "new_york": ("07:00", "10:00"),
    "london_close": ("10:00", "12:00"),
}
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
OPERAND = re.compile(rf"^(?:\$(?P<param>{_NAME})|(?P<name>{_NAME})(?:\.(?P<output>{_NAME}))?)(?:\[(?P<ago>\d+)\])?$")
_HOURS = re.compile(r"^(\d\d):(\d\d)-(\d\d):(\d\d)$")


def did_you_mean(word: str, choices: Any) -> str:
    """``"; did you mean 'x'?"`` for the closest of ``choices``, or ``""``."""
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


# --- scalar types, each with one clear message --------------------------------------------------------------

def _number(value: Any) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        msg = f"expected a number, got {value!r}"
        raise ValueError(msg)
    return value


def _value(value: Any) -> float | int | str:
    if isinstance(value, str) and value.startswith("$"):
        if not re.fullmatch(rf"\${_NAME}", value):
            msg = f"expected a parameter reference like $fast, got {value!r}"
            raise ValueError(msg)
        return value
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        msg = f"expected a number or a $parameter reference, got {value!r}"
        raise ValueError(msg)
    return value


def _operand(value: Any) -> float | int | str:
    if isinstance(value, str):
        if not OPERAND.match(value):
            msg = (f"expected an operand (a number, $param, a price field, an indicator name or name.output, "
                   f"optionally [n] bars ago), got {value!r}")
            raise ValueError(msg)
        return value
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        msg = f"expected an operand (a number or a name), got {value!r}"
        raise ValueError(msg)
    return value


def _param_value(value: Any) -> float | int | str | bool:
    if isinstance(value, bool | str):
        return _value(value) if isinstance(value, str) and value.startswith("$") else value
    return _value(value)


_NUMBER_SCHEMA = {"type": "number"}
_REF_SCHEMA = {"type": "string", "pattern": rf"^\${_NAME}$"}
Number = Annotated[float | int, PlainValidator(_number), WithJsonSchema(_NUMBER_SCHEMA)]
#: A number, or ``$name`` of a declared parameter (swept when the parameter is).
Value = Annotated[float | int | str, PlainValidator(_value),
                  WithJsonSchema({"anyOf": [_NUMBER_SCHEMA, _REF_SCHEMA]})]
Operand = Annotated[float | int | str, PlainValidator(_operand),
                    WithJsonSchema({"anyOf": [_NUMBER_SCHEMA, {"type": "string", "pattern": OPERAND.pattern}]})]
Name = Annotated[str, Field(pattern=rf"^{_NAME}$")]
#: An indicator parameter: a number, true/false, a choice, or ``$param``.
ParamValue = Annotated[float | int | str | bool, PlainValidator(_param_value),
                       WithJsonSchema({"type": ["number", "string", "boolean"]})]


@functools.lru_cache(maxsize=4096)  # a sweep parses the same few operands for each of its sets
def parse_operand(text: str) -> tuple[str, str | None, int, bool]:
    """Split an operand string into ``(name, output, bars_ago, is_param)``."""
    match = OPERAND.match(text)
    if match is None:  # the model validated it; a direct caller gets the same message
        msg = f"expected an operand, got {text!r}"
        raise ValueError(msg)
    ago = int(match["ago"] or 0)
    if match["param"]:
        return match["param"], None, ago, True
    return match["name"], match["output"], ago, False


class _Model(BaseModel):
    """Frozen; unknown fields are refused by name, with the closest known one."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=False)

    @model_validator(mode="before")
    @classmethod
    def _known_fields(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            msg = f"expected a mapping with fields {', '.join(cls._aliases())}, got {type(data).__name__} {data!r}"
            raise ValueError(msg)  # noqa: TRY004  # pydantic turns ValueError into a located error
        unknown = [key for key in data if key not in cls._aliases()]
        if unknown:
            key = unknown[0]
            msg = (f"unknown field {key!r}{did_you_mean(key, cls._aliases())} "
                   f"(expected one of {', '.join(cls._aliases())})")
            raise ValueError(msg)
        return data

    @classmethod
    def _aliases(cls) -> list[str]:
        return [f.alias or name for name, f in cls.model_fields.items()]


def steps(start: float, stop: float, step: float) -> list[Any]:
    """``start``, ``start + step``, ... up to ``stop`` included (within rounding)."""
    count = math.floor((stop - start) / step + 1e-9) + 1
    return [start + i * step for i in range(count)]


def _positive(model: BaseModel, fields: Any) -> None:
    """Refuse a number that is not > 0 in any of ``fields`` (a ``$param`` is checked by its declaration)."""
    for name in fields:
        value = getattr(model, name)
        if isinstance(value, int | float) and value <= 0:
            msg = f"{name} must be > 0, got {value}"
            raise ValueError(msg)


def _exactly_one(model: BaseModel, fields: tuple[str, ...], what: str) -> str:
    given = [f for f in fields if getattr(model, f) is not None]
    if len(given) != 1:
        names = [type(model).model_fields[f].alias or f for f in fields]
        found = ", ".join(type(model).model_fields[f].alias or f for f in given) or "none"
        msg = f"{what} needs exactly one of {', '.join(names)}; got {found}"
        raise ValueError(msg)
    return given[0]


# --- rules ---------------------------------------------------------------------------------------------------

COMPARISONS = (">", "<", ">=", "<=", "==")


class Compare(_Model):
    """``{">": [a, b]}``: a comparison of two operands on each bar."""

    gt: tuple[Operand, Operand] | None = Field(None, alias=">")
    lt: tuple[Operand, Operand] | None = Field(None, alias="<")
    ge: tuple[Operand, Operand] | None = Field(None, alias=">=")
    le: tuple[Operand, Operand] | None = Field(None, alias="<=")
    eq: tuple[Operand, Operand] | None = Field(None, alias="==")

    @model_validator(mode="after")
    def _one(self) -> Self:
        _exactly_one(self, ("gt", "lt", "ge", "le", "eq"), "a comparison")
        return self

    @property
    def op(self) -> str:
        """The operator: one of ``> < >= <= ==``."""
        name = next(f for f in ("gt", "lt", "ge", "le", "eq") if getattr(self, f) is not None)
        return str(type(self).model_fields[name].alias)

    @property
    def args(self) -> tuple[Any, Any]:
        """The two operands."""
        return next(v for v in (self.gt, self.lt, self.ge, self.le, self.eq) if v is not None)


class Cross(_Model):
    """``{crosses_above: [a, b]}``: ``a`` ends this bar above ``b`` after being at or below it the bar before."""

    crosses_above: tuple[Operand, Operand] | None = None
    crosses_below: tuple[Operand, Operand] | None = None

    @model_validator(mode="after")
    def _one(self) -> Self:
        _exactly_one(self, ("crosses_above", "crosses_below"), "a cross")
        return self


class Between(_Model):
    """``{between: [x, low, high]}``: ``low <= x <= high``."""

    between: tuple[Operand, Operand, Operand]


class Slope(_Model):
    """``{rising: [x, n]}``: ``x`` above each of its ``n`` previous values (``falling``: below each)."""

    rising: tuple[Operand, Annotated[int, Field(ge=1, le=10_000)]] | None = None
    falling: tuple[Operand, Annotated[int, Field(ge=1, le=10_000)]] | None = None

    @model_validator(mode="after")
    def _one(self) -> Self:
        _exactly_one(self, ("rising", "falling"), "a slope rule")
        return self


class Window(_Model):
    """The bars and the rule of a look-back."""

    bars: Annotated[int, Field(ge=1, le=10_000)]
    rule: Rule


class Lookback(_Model):
    """``{ago: {bars: n, rule: r}}``: ``r`` held ``n`` bars ago; ``within``: at any of the last ``n`` bars (this one
    included)."""

    ago: Window | None = None
    within: Window | None = None

    @model_validator(mode="after")
    def _one(self) -> Self:
        _exactly_one(self, ("ago", "within"), "a look-back")
        return self


class All(_Model):
    """``{all: [rules]}``: every rule holds."""

    all: Annotated[list[Rule], Field(min_length=1)]


class AnyOf(_Model):
    """``{any: [rules]}``: at least one rule holds."""

    any: Annotated[list[Rule], Field(min_length=1)]


class Not(_Model):
    """``{not: rule}``: the rule does not hold."""

    not_: Rule = Field(alias="not")


_RULE_KEYS: dict[str, str] = {
    **dict.fromkeys(COMPARISONS, "compare"), "crosses_above": "cross", "crosses_below": "cross",
    "between": "between", "rising": "slope", "falling": "slope", "ago": "lookback", "within": "lookback",
    "all": "all", "any": "any", "not": "not",
}


def _rule_shape(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1 and next(iter(value)) in _RULE_KEYS:
        return value
    expected = f"a rule: a mapping with one of the keys {', '.join(_RULE_KEYS)}"
    if isinstance(value, dict) and len(value) == 1:
        key = next(iter(value))
        msg = f"unknown rule {key!r}{did_you_mean(key, _RULE_KEYS)} (expected {expected})"
    elif isinstance(value, dict):
        msg = f"expected {expected}; got {len(value)} keys ({', '.join(map(str, value)) or 'none'})"
    else:
        msg = f"expected {expected}; got {type(value).__name__} {value!r}"
    raise ValueError(msg)


def _rule_tag(value: Any) -> str | None:
    if isinstance(value, dict) and len(value) == 1:
        kind = _RULE_KEYS.get(next(iter(value)))
        return f"rule:{kind}" if kind else None
    if isinstance(value, BaseModel):
        return f"rule:{_KIND_OF[type(value)]}"
    return None


Rule = Annotated[
    Annotated[Compare, Tag("rule:compare")] | Annotated[Cross, Tag("rule:cross")]
    | Annotated[Between, Tag("rule:between")] | Annotated[Slope, Tag("rule:slope")]
    | Annotated[Lookback, Tag("rule:lookback")] | Annotated[All, Tag("rule:all")]
    | Annotated[AnyOf, Tag("rule:any")] | Annotated[Not, Tag("rule:not")],
    Discriminator(_rule_tag),
    BeforeValidator(_rule_shape),
]
_KIND_OF: dict[type, str] = {Compare: "compare", Cross: "cross", Between: "between", Slope: "slope",
                             Lookback: "lookback", All: "all", AnyOf: "any", Not: "not"}
for _model in (Window, All, AnyOf, Not):
    _model.model_rebuild()


# --- the document's sections ---------------------------------------------------------------------------------

class Parameter(_Model):
    """A parameter that may be swept: declared once, referenced as ``$param`` where it is used."""

    param: Name
    default: Number
    min: Number
    max: Number
    step: Number | None = None
    title: str = ""

    @model_validator(mode="after")
    def _range(self) -> Self:
        if not self.min <= self.default <= self.max:
            msg = f"default {self.default} must lie in [min, max] = [{self.min}, {self.max}]"
            raise ValueError(msg)
        if self.step is not None and self.step <= 0:
            msg = f"step must be > 0, got {self.step}"
            raise ValueError(msg)
        return self

    @property
    def integer(self) -> bool:
        """Whether the parameter takes whole numbers only (default, bounds and step all integers)."""
        return all(isinstance(v, int) for v in (self.default, self.min, self.max, self.step or 1))

    def grid(self) -> list[float | int]:
        """Every value from ``min`` to ``max`` by ``step`` (1 for integers; 10 steps otherwise)."""
        step = self.step or (1 if self.integer else (self.max - self.min) / 10 or 1)
        values = steps(self.min, self.max, step)
        return [round(v) for v in values] if self.integer else [round(float(v), 12) for v in values]


class Session(_Model):
    """When entries may be taken: a kill zone or hours (local time), and weekdays.

    A bar qualifies when its open time falls in ``[start, end)`` in ``timezone``;
    windows may cross midnight (``20:00-00:00``).
    """

    kill_zone: Literal["asia", "london", "new_york", "london_close"] | None = None
    hours: Annotated[str, Field(pattern=_HOURS.pattern)] | None = None
    timezone: str = "America/New_York"
    weekdays: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] | None = None

    @model_validator(mode="after")
    def _window(self) -> Self:
        if self.kill_zone is not None and self.hours is not None:
            msg = "give a kill_zone or hours, not both"
            raise ValueError(msg)
        if self.hours is not None:
            hh1, mm1, hh2, mm2 = (int(g) for g in _HOURS.match(self.hours).groups())  # type: ignore[union-attr]
            if max(hh1, hh2) > 23 or max(mm1, mm2) > 59:
                msg = f"hours must be HH:MM-HH:MM with real times, got {self.hours!r}"
                raise ValueError(msg)
        try:
            import zoneinfo  # noqa: PLC0415  # stdlib, only needed to check the name
            zoneinfo.ZoneInfo(self.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            msg = f"timezone {self.timezone!r} is not a known IANA time zone (e.g. America/New_York, Europe/London)"
            raise ValueError(msg) from None
        return self

    def minutes(self) -> tuple[int, int] | None:
        """The window as minutes after local midnight ``(start, end)``; None for all day."""
        text = self.hours or ("-".join(KILL_ZONES[self.kill_zone]) if self.kill_zone else None)
        if text is None:
            return None
        hh1, mm1, hh2, mm2 = (int(g) for g in _HOURS.match(text).groups())  # type: ignore[union-attr]
        return hh1 * 60 + mm1, hh2 * 60 + mm2


def _timeframe(value: Any) -> str:
    if not isinstance(value, str):
        msg = f"expected a timeframe such as 1m, 5m, 15m, 1h, 4h, 1d, got {value!r}"
        raise ValueError(msg)  # noqa: TRY004
    try:
        return str(Timeframe.parse(value))
    except BackgridError as exc:
        raise ValueError(str(exc)) from None


TimeframeText = Annotated[str, PlainValidator(_timeframe),
                          WithJsonSchema({"type": "string", "examples": ["1m", "5m", "15m", "1h", "4h", "1d"]})]


class Market(_Model):
    """What is traded, on which bars, over which dates, and when entries may be taken.

    ``period`` (``30d``, ``8w``, ``6mo``, ``2y``) keeps only that last part of the data.
    ``source`` picks the stored series of that source (``csv``, ``demo``, ...) when a
    symbol is stored from several; without it the only one stored is used.
    """

    symbols: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]
    timeframe: TimeframeText
    start: date | datetime | None = None
    end: date | datetime | None = None
    period: Annotated[str, Field(pattern=r"^[1-9][0-9]*(d|w|mo|y)$")] | None = None
    session: Session | None = None
    source: Annotated[str, Field(min_length=1)] | None = None

    @model_validator(mode="after")
    def _dates(self) -> Self:
        if self.start is not None and self.end is not None and str(self.start) >= str(self.end):
            msg = f"start {self.start} must come before end {self.end}"
            raise ValueError(msg)
        if len(set(self.symbols)) != len(self.symbols):
            msg = f"symbols repeat: {self.symbols}"
            raise ValueError(msg)
        return self


class Indicator(_Model):
    """A named instance of a registry module.

    ``source`` feeds its first input from a price field or another indicator's
    output (``rsi``, ``macd.signal``) instead of the module's default input;
    ``timeframe`` computes it on higher bars, shown on the strategy's bars only
    once each higher bar has closed.
    """

    id: Name
    params: dict[str, ParamValue] = Field(default_factory=dict)
    timeframe: TimeframeText | None = None
    source: Annotated[str, Field(pattern=rf"^{_NAME}(?:\.{_NAME})?$")] | None = None


# --- regime filters ------------------------------------------------------------------------------------------

#: The labels each regime method of :mod:`backgrid.analysis` gives (the HMM's depend on ``states``, the event
#: method's on its windows: see :func:`regime_names`); the suite checks them against the functions.
TREND_NAMES = ("bull", "bear", "range")
VOLATILITY_NAMES = ("low", "normal", "high")
_HMM_NAMES = {2: ("bear", "bull"), 3: ("bear", "range", "bull")}


class _RegimeParams(_Model):
    """A regime method's options, named as its function's keyword arguments; a ``$param`` is refused (the
    regime is worked out once per symbol, not per parameter set)."""

    @model_validator(mode="before")
    @classmethod
    def _not_swept(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key, value in data.items():
                if isinstance(value, str) and value.startswith("$"):
                    msg = f"{key}: a regime's options cannot be swept; give a value instead of {value!r}"
                    raise ValueError(msg)
        return data


PositiveInt = Annotated[int, Field(ge=1, strict=True)]


class TrendParams(_RegimeParams):
    """The options of :func:`backgrid.analysis.trend_regime`."""

    adx_period: PositiveInt = 14
    sma_period: PositiveInt = 50
    slope_bars: PositiveInt = 10
    adx_threshold: Annotated[float, Field(gt=0, lt=100)] = 25.0


class VolatilityParams(_RegimeParams):
    """The options of :func:`backgrid.analysis.volatility_regime`."""

    measure: Literal["atr_percent", "realised"] = "atr_percent"
    window: PositiveInt = 14
    lookback: Annotated[int, Field(ge=2, strict=True)] = 252
    low: Annotated[float, Field(gt=0, lt=1)] = 1 / 3
    high: Annotated[float, Field(gt=0, lt=1)] = 2 / 3

    @model_validator(mode="after")
    def _order(self) -> Self:
        if self.low >= self.high:
            msg = f"low must be below high, got low={self.low:g}, high={self.high:g}"
            raise ValueError(msg)
        return self


class HmmParams(_RegimeParams):
    """The options of :func:`backgrid.analysis.hmm_regime` (needs the ``analysis`` extra, hmmlearn)."""

    states: Annotated[int, Field(ge=2, strict=True)] = 2
    train: Annotated[int, Field(ge=2, strict=True)] = 500
    refit_every: PositiveInt | None = None
    seed: Annotated[int, Field(ge=0, strict=True)] = 0
    features: tuple[Literal["log_return", "volatility"], ...] = ("log_return",)
    window: PositiveInt = 20
    iterations: PositiveInt = 100


class EventsParams(_RegimeParams):
    """The option of :func:`backgrid.analysis.event_regime`: the label of bars outside every window."""

    default: Name = "normal"


def _when(value: Any) -> str:
    """A window's end as ISO text: a date stays a date (it covers its whole day), a time stays a time."""
    if isinstance(value, date):  # YAML reads 2020-02-20 as a date (and a datetime is a date)
        return value.isoformat()
    try:
        datetime.fromisoformat(value)
    except (TypeError, ValueError):
        msg = f"expected a date (2020-02-20) or a time (2020-02-20T14:30), got {value!r}"
        raise ValueError(msg) from None
    return str(value)


When = Annotated[str, PlainValidator(_when), WithJsonSchema({"type": "string", "examples": ["2020-02-20"]})]


def regime_names(method: str, params: BaseModel, windows: dict[str, Any] | None = None) -> tuple[str, ...]:
    """The labels regime ``method`` gives with ``params`` (and an event filter's ``windows``), in code order."""
    if isinstance(params, HmmParams):
        return _HMM_NAMES.get(params.states, tuple(f"state_{k + 1}" for k in range(params.states)))
    if isinstance(params, EventsParams):
        return (params.default, *(windows or {}))
    return {"trend": TREND_NAMES, "volatility": VOLATILITY_NAMES}[method]


def _allowed_name(value: str, info: ValidationInfo) -> str:
    """An ``allowed`` name checked against the method's labels (once ``params`` and ``windows`` are valid)."""
    method, params = info.data.get("method"), info.data.get("params")
    if params is None or method is None or (method == "events" and "windows" not in info.data):
        return value  # their own error is reported
    names = regime_names(str(method), params, info.data.get("windows"))
    if value not in names:
        msg = (f"{value!r} is not a label of the {method} method{did_you_mean(value, names)} "
               f"(expected one of {', '.join(names)})")
        raise ValueError(msg)
    return value


_Label = Annotated[str, AfterValidator(_allowed_name)]
#: ``allowed``: at least one label, each one the method gives (an enum in the schema where the labels are fixed)
_AnyLabels = Annotated[list[_Label], Field(min_length=1)]
_TrendLabels = Annotated[list[Annotated[_Label, WithJsonSchema({"type": "string", "enum": list(TREND_NAMES)})]],
                         Field(min_length=1)]
_VolatilityLabels = Annotated[list[Annotated[_Label, WithJsonSchema({"type": "string",
                                                                       "enum": list(VOLATILITY_NAMES)})]],
                              Field(min_length=1)]


#: ``min_confidence``: a label counts at or above it (declared last in each filter, the order a dump shows)
_Confidence = Annotated[float, Field(ge=0, le=1)]


class _RegimeFilter(_Model):
    """A regime filter: ``method``, its ``params``, the ``allowed`` labels and their ``min_confidence``."""


class TrendFilter(_RegimeFilter):
    """Entries only in the ``allowed`` trend regimes (bull, bear, range) of :func:`backgrid.analysis.trend_regime`."""

    method: Literal["trend"]
    params: TrendParams = Field(default_factory=TrendParams)
    allowed: _TrendLabels
    min_confidence: _Confidence = 0.0


class VolatilityFilter(_RegimeFilter):
    """Entries only in the ``allowed`` volatility regimes (low, normal, high) of
    :func:`backgrid.analysis.volatility_regime`."""

    method: Literal["volatility"]
    params: VolatilityParams = Field(default_factory=VolatilityParams)
    allowed: _VolatilityLabels
    min_confidence: _Confidence = 0.0


class HmmFilter(_RegimeFilter):
    """Entries only in the ``allowed`` states of :func:`backgrid.analysis.hmm_regime`: bear, bull (2 states);
    bear, range, bull (3); state_1 ... state_k from the lowest mean return up (more)."""

    method: Literal["hmm"]
    params: HmmParams = Field(default_factory=HmmParams)
    allowed: _AnyLabels
    min_confidence: _Confidence = 0.0


class EventsFilter(_RegimeFilter):
    """Entries only in the ``allowed`` windows of :func:`backgrid.analysis.event_regime` (named inclusive
    ``[start, end]`` pairs; a date covers its whole day) or, naming ``params.default``, outside all of them."""

    method: Literal["events"]
    params: EventsParams = Field(default_factory=EventsParams)
    windows: Annotated[dict[Name, Annotated[list[tuple[When, When]], Field(min_length=1)]], Field(min_length=1)]
    allowed: _AnyLabels
    min_confidence: _Confidence = 0.0

    @model_validator(mode="after")
    def _windows(self) -> Self:
        if self.params.default in self.windows:
            msg = f"window {self.params.default!r} has the name of params.default; pick another name"
            raise ValueError(msg)
        return self


_REGIME_FILTERS: dict[str, type[_RegimeFilter]] = {"trend": TrendFilter, "volatility": VolatilityFilter,
                                                   "hmm": HmmFilter, "events": EventsFilter}

#: Tags pydantic inserts into error locations (of rules and regime filters); the error formatter drops them.
RULE_TAGS = frozenset(f"rule:{kind}" for kind in _RULE_KEYS.values()) | {f"regime:{m}" for m in _REGIME_FILTERS}


def _regime_shape(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value
    if not isinstance(value, dict):
        msg = f"expected a regime filter: a mapping with method, allowed...; got {type(value).__name__} {value!r}"
        raise ValueError(msg)  # noqa: TRY004  # pydantic turns ValueError into a located error
    method = value.get("method")
    if method not in _REGIME_FILTERS:
        found = "no method" if method is None else f"method {method!r}{did_you_mean(method, _REGIME_FILTERS)}"
        msg = f"a regime filter needs a method, one of {', '.join(_REGIME_FILTERS)}; got {found}"
        raise ValueError(msg)
    return value


def _regime_tag(value: Any) -> str | None:
    method = value.get("method") if isinstance(value, dict) else getattr(value, "method", None)
    return f"regime:{method}" if method in _REGIME_FILTERS else None


#: ``{method: trend, allowed: [bull, range], min_confidence: 0.8, params: {...}}``: entries only where the
#: regime known at the deciding bar's close is allowed, with at least that confidence.
RegimeFilter = Annotated[
    Annotated[TrendFilter, Tag("regime:trend")] | Annotated[VolatilityFilter, Tag("regime:volatility")]
    | Annotated[HmmFilter, Tag("regime:hmm")] | Annotated[EventsFilter, Tag("regime:events")],
    Discriminator(_regime_tag),
    BeforeValidator(_regime_shape),
]


class Entries(_Model):
    """Entry rules per direction; a rule given without a direction is long.

    ``regime`` restricts the entries of both directions to market regimes, as ``market.session`` restricts
    them to hours: an entry signal at bar ``t`` stands only where the regime label known at ``t``'s close is
    one of ``allowed`` with a confidence of at least ``min_confidence`` (never while the label is unknown, in
    the regime's warm-up); exits are not filtered. It sits beside the rules it filters; a strategy that wants
    other regimes for its shorts runs them as a second strategy.
    """

    long: Rule | None = None
    short: Rule | None = None
    regime: RegimeFilter | None = None

    @model_validator(mode="before")
    @classmethod
    def _direction_default(cls, data: Any) -> Any:
        if isinstance(data, dict) and set(data) - {"regime"} and not set(data) & {"long", "short"}:
            rule = {k: v for k, v in data.items() if k != "regime"}
            return {"long": rule} | ({"regime": data["regime"]} if "regime" in data else {})
        return data

    @model_validator(mode="after")
    def _some(self) -> Self:
        if self.long is None and self.short is None:
            msg = "needs a long or a short rule (or both)"
            raise ValueError(msg)
        return self


def _engine(option: str, **more: Any) -> Any:
    """A document field with the bounds of engine option ``option`` in the document's unit (the option table)."""
    return Field(**document_bounds(option), **more)  # type: ignore[call-overload]  # bounds named at run time


class Stop(_Model):
    """A stop or target distance: ``percent`` of the entry price, a price ``distance``, ``atr`` times
    ATR(``period``) at the deciding bar, or ``r_multiple`` times the stop-loss distance (targets only)."""

    percent: Value | None = None
    distance: Value | None = None
    atr: Value | None = None
    period: Annotated[int, Field(ge=1, le=1000)] = 14
    r_multiple: Value | None = None

    @model_validator(mode="after")
    def _one(self) -> Self:
        _exactly_one(self, ("percent", "distance", "atr", "r_multiple"), "a stop")
        _positive(self, ("percent", "distance", "atr", "r_multiple"))
        return self

    @property
    def kind(self) -> str:
        """Which form: percent, distance, atr or r_multiple."""
        return next(f for f in ("percent", "distance", "atr", "r_multiple") if getattr(self, f) is not None)

    @property
    def amount(self) -> float | int | str:
        """The number (or ``$param``) of its form."""
        value: float | int | str = getattr(self, self.kind)
        return value


class Exits(_Model):
    """Exit signals per direction, protective orders, and time exits."""

    long: Rule | None = None
    short: Rule | None = None
    stop_loss: Stop | None = None
    take_profit: Stop | None = None
    trailing_stop: Stop | None = None
    break_even: Stop | None = None
    max_bars: Annotated[int, Field(ge=1)] | Annotated[str, Field(pattern=rf"^\${_NAME}$")] | None = None
    end_of_session: bool = False

    @model_validator(mode="after")
    def _forms(self) -> Self:
        for name in ("stop_loss", "trailing_stop"):
            stop = getattr(self, name)
            if stop is not None and stop.kind == "r_multiple":
                msg = f"{name}: r_multiple measures a target against the stop-loss; give percent, distance or atr"
                raise ValueError(msg)
        for name in ("take_profit", "break_even"):
            stop = getattr(self, name)
            if stop is not None and stop.kind == "r_multiple" and self.stop_loss is None:
                msg = f"{name}: r_multiple needs a stop_loss to measure R against"
                raise ValueError(msg)
        if self.break_even is not None and self.break_even.kind not in ("percent", "r_multiple"):
            msg = "break_even: give percent (a move of the entry price) or r_multiple (of the stop-loss distance)"
            raise ValueError(msg)
        if (self.break_even is not None and self.break_even.kind == "r_multiple" and self.stop_loss is not None
                and self.stop_loss.kind != "percent"):
            msg = "break_even: r_multiple works with a percent stop_loss (the engine moves stops by a fraction)"
            raise ValueError(msg)
        return self


class Sizing(_Model):
    """How much each entry buys or sells: one of the forms; the default is 100 % of equity."""

    equity_percent: Value | None = None
    risk_percent: Value | None = None
    units: Value | None = None
    cash: Value | None = None
    volatility_percent: Value | None = None
    volatility_period: Annotated[int, Field(ge=2, le=1000)] = 20
    lot_size: Annotated[float, _engine("lot_size")] = 0.0
    leverage: Annotated[float, _engine("leverage")] = 1.0
    maintenance_margin_percent: Annotated[float, _engine("maintenance_margin")] | None = None

    @model_validator(mode="after")
    def _one(self) -> Self:
        forms = ("equity_percent", "risk_percent", "units", "cash", "volatility_percent")
        given = [f for f in forms if getattr(self, f) is not None]
        if len(given) > 1:
            msg = f"give one of {', '.join(forms)}; got {', '.join(given)}"
            raise ValueError(msg)
        _positive(self, given)
        return self

    @property
    def kind(self) -> str:
        """Which form is used (``equity_percent`` when none is given)."""
        forms = ("equity_percent", "risk_percent", "units", "cash", "volatility_percent")
        return next((f for f in forms if getattr(self, f) is not None), "equity_percent")

    @property
    def amount(self) -> float | int | str:
        """The number (or ``$param``) of the form in use."""
        value: float | int | str | None = getattr(self, self.kind)
        return 100 if value is None else value


class Costs(_Model):
    """Trading costs; percentages of traded value (``borrow_rate_percent``: per year, on shorts)."""

    commission_percent: Annotated[float, _engine("commission")] = 0.0
    commission_fixed: Annotated[float, _engine("commission_fixed")] = 0.0
    commission_min: Annotated[float, _engine("commission_min")] = 0.0
    commission_max: Annotated[float, _engine("commission_max")] | None = None
    slippage_percent: Annotated[float, _engine("slippage")] = 0.0
    slippage_ticks: Annotated[float, _engine("slippage_ticks")] = 0.0
    tick_size: Annotated[float, _engine("tick_size")] = 0.0
    spread_percent: Annotated[float, _engine("spread")] = 0.0
    borrow_rate_percent: Annotated[float, _engine("borrow_rate")] = 0.0


class Risk(_Model):
    """Guards: halt after a drawdown, pause for the day after a daily loss, cap positions and exposure."""

    drawdown_limit_percent: Annotated[float, _engine("drawdown_limit")] | None = None
    daily_loss_limit_percent: Annotated[float, _engine("daily_loss_limit")] | None = None
    max_positions: Annotated[int, _engine("max_positions")] | None = None
    max_exposure_percent: Annotated[float, _engine("max_exposure")] | None = None


class Execution(_Model):
    """When decisions fill, which of stop-loss and take-profit fills when a bar touches both, and whether the
    data's splits and dividends are applied to positions."""

    fill: Literal["next_open", "same_close"] = "next_open"
    stop_policy: Literal["stop_first", "ohlc_path"] = "stop_first"
    corporate_actions: bool = True


#: Optional fields added to schema_version 3 after its first release, by section (see ``Strategy.fingerprint``).
_LATER_FIELDS = {"entries": ("regime",)}


class Strategy(_Model):
    """A whole strategy document (see the module docstring)."""

    schema_version: Literal[3] = Field(description="The format's version; older documents migrate forward.")
    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=80)]
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    market: Market
    parameters: list[Parameter] = Field(default_factory=list)
    indicators: dict[Name, Indicator] = Field(default_factory=dict)
    entries: Entries
    exits: Exits = Field(default_factory=Exits)
    sizing: Sizing = Field(default_factory=Sizing)
    costs: Costs = Field(default_factory=Costs)
    risk: Risk = Field(default_factory=Risk)
    execution: Execution = Field(default_factory=Execution)
    cash: Annotated[float, _engine("cash", allow_inf_nan=False)] = 10_000.0

    @field_validator("parameters")
    @classmethod
    def _unique_parameters(cls, parameters: list[Parameter]) -> list[Parameter]:
        names = [p.param for p in parameters]
        repeated = sorted({p for p in names if names.count(p) > 1})
        if repeated:
            msg = f"{', '.join(repeated)} declared more than once"
            raise ValueError(msg)
        return parameters

    @field_validator("indicators")
    @classmethod
    def _not_price_fields(cls, indicators: dict[str, Indicator]) -> dict[str, Indicator]:
        clash = sorted(set(indicators) & set(PRICE_FIELDS))
        if clash:
            msg = f"the name(s) {', '.join(clash)} are price fields; pick another name"
            raise ValueError(msg)
        return indicators

    def parameter(self, name: str) -> Parameter:
        """The declared parameter ``name``."""
        for p in self.parameters:
            if p.param == name:
                return p
        msg = f"no parameter {name!r}{did_you_mean(name, [p.param for p in self.parameters])}"
        raise KeyError(msg)

    def to_dict(self) -> dict[str, Any]:
        """The document as plain data, defaults left out (what a file holds)."""
        return self.model_dump(mode="json", by_alias=True, exclude_defaults=True)

    def fingerprint(self) -> str:
        """A sha256 of the canonical document (defaults included): the run's identity.

        A field added to the format after documents were fingerprinted (``entries.regime``) is left out while
        unset, so that those documents keep their fingerprints.
        """
        unset = {section: {name for name in names if getattr(getattr(self, section), name) is None}
                 for section, names in _LATER_FIELDS.items()}
        data = self.model_dump(mode="json", by_alias=True, exclude={k: v for k, v in unset.items() if v})
        canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the current format, for editors and the web UI."""
    schema = Strategy.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = f"backgrid strategy (schema_version {SCHEMA_VERSION})"
    return schema
