"""Every engine option, declared once: the table that validation, the config, the schema and the kernels read.

An :class:`Option` says what an option is (its type and unit, its bounds, its
default, what "none" means, whether it is one value for the account, one per
column, one per bar or a signal) and how it reaches the kernel (its field of the
per-column record) and the strategy format (its document path and scale). From
:data:`OPTIONS` come:

- the checks of :func:`check` (errors name the option, the expected range and unit),
- :class:`~backgrid.engine.config.EngineConfig`, the frozen settings of a run,
- :func:`json_schema`, which the API and the web forms render,
- :data:`COLUMN_RECORD`, the kernels' per-column record type,
- :func:`document_bounds`, the bounds of the strategy format's fields,
- the inputs a code strategy may return (:data:`INPUTS`).

Units: Python takes **fractions** (0.02 = 2 %), documents take percents
(``document_scale`` 100). Adding an option means one row here, its use in the
kernel, and a test.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from backgrid.engine.enums import EntryType, Fill, SizeType, StopPolicy
from backgrid.errors import EngineError, OptionError

__all__ = ["COLUMN_RECORD", "INPUTS", "OPTIONS", "Option", "OptionError", "check", "document_bounds",
           "json_schema"]

Kind = Literal["float", "int", "bool", "choice", "signal", "series"]
Scope = Literal["account", "column", "bar", "signal"]
Unit = Literal["fraction", "fraction_per_year", "multiple", "price", "ticks", "bars", "units", "cash", "count",
               "periods", "flag", "choice", "signal", "depends"]


@dataclass(frozen=True, slots=True)
class Option:
    """One engine option (see the module docstring)."""

    name: str
    group: str
    kind: Kind
    unit: Unit
    help: str
    default: Any = None
    #: what ``None`` (or NaN in a per-column sequence) means; empty when the option has no "none"
    none: str = ""
    scope: Scope = "account"
    #: bounds of a number: ``low < x`` (or ``<=`` when ``low_closed``) and ``x < high`` (``<=`` when ``high_closed``)
    low: float = -math.inf
    high: float = math.inf
    low_closed: bool = False
    high_closed: bool = False
    choices: tuple[str, ...] = ()
    #: the field of ``COLUMN_RECORD`` holding it (empty: not in the record), and that field's value for none
    record: bool = False
    record_none: float = math.nan
    #: where the strategy format holds it and the factor from the option's unit to the document's
    document: str = ""
    document_scale: float = 1.0
    #: False for options that change no result (what is kept), left out of the run's identity
    identity: bool = True

    def bounds_text(self, scale: float = 1.0) -> str:
        """The accepted range, e.g. ``0 <= x < 1`` (times ``scale``: 100 for a document's percent)."""
        parts = []
        if self.low > -math.inf:
            parts.append(f"{self.low * scale:g} {'<=' if self.low_closed else '<'} ")
        parts.append("x")
        if self.high < math.inf:
            parts.append(f" {'<=' if self.high_closed else '<'} {self.high * scale:g}")
        return "".join(parts)

    def within(self, x: float) -> bool:
        """Whether the finite number ``x`` lies in the option's bounds."""
        above = x >= self.low if self.low_closed else x > self.low
        below = x <= self.high if self.high_closed else x < self.high
        return above and below

    def code(self, choice: str) -> int:
        """The kernel's integer code of a choice (its position in ``choices``, equal to its enum value)."""
        return self.choices.index(choice)


def _choices(enum: Any) -> tuple[str, ...]:
    """An IntEnum's lower-case names in value order: the choice names and the kernel codes are one thing."""
    members = sorted(enum, key=lambda m: m.value)
    assert [m.value for m in members] == list(range(len(members)))  # noqa: S101  # a coding error, not input
    return tuple(m.name.lower() for m in members)


_F: Unit = "fraction"
OPTIONS: dict[str, Option] = {o.name: o for o in (
    # signals: booleans per bar, one column per parameter set (a portfolio: per symbol)
    Option("entries", "signals", "signal", "signal", "open a long position at the next fill", scope="signal"),
    Option("exits", "signals", "signal", "signal", "close a long position", scope="signal"),
    Option("short_entries", "signals", "signal", "signal", "open a short position", scope="signal"),
    Option("short_exits", "signals", "signal", "signal", "close a short position", scope="signal"),
    Option("flat_at", "signals", "signal", "signal",
           "end of session: close at this bar's close, cancel working orders, decide nothing", scope="signal"),
    # account
    Option("cash", "account", "float", "cash", "starting cash", 10_000.0, low=0.0, record=True, document="cash"),
    Option("leverage", "account", "float", "multiple",
           "position value at an entry may be at most leverage x cash (initial margin = 1 / leverage)", 1.0,
           low=0.0, high=1000.0, high_closed=True, record=True, document="sizing.leverage"),
    Option("fill", "execution", "choice", "choice", "when a decision at a close fills: the next open or that close",
           "next_open", choices=_choices(Fill), document="execution.fill"),
    Option("stop_policy", "execution", "choice", "choice",
           "which fills when stop-loss and take-profit are touched in one bar", "stop_first",
           choices=_choices(StopPolicy), document="execution.stop_policy"),
    Option("corporate_actions", "execution", "bool", "flag",
           "apply the data's splits and dividends to positions (Bars with split_factor / dividend columns, as "
           "their adjustment allows)", default=True, document="execution.corporate_actions"),
    Option("max_positions", "risk", "int", "count", "most positions open at once (a portfolio)", None,
           none="no cap", low=1.0, low_closed=True, document="risk.max_positions"),
    Option("periods_per_year", "output", "float", "periods",
           "annualisation of the statistics", None, none="from the data's calendar", low=0.0),
    Option("keep_equity", "output", "bool", "flag", "keep the equity curve (statistics need it)", default=True,
           identity=False),
    # sizing
    Option("size_type", "sizing", "choice", "choice",
           "how size is read: equity fraction, units, cash, risk fraction to the stop, volatility target",
           "equity", choices=_choices(SizeType), record=True),
    Option("size", "sizing", "float", "depends",
           "amount per entry, read by size_type (equity: 1.0 = all in; risk: 0.01 = lose 1 % at the stop)", 1.0,
           scope="column", low=0.0, record=True),
    Option("lot_size", "sizing", "float", "units", "quantities are whole multiples of this (0: any fraction)", 0.0,
           low=0.0, low_closed=True, record=True, document="sizing.lot_size"),
    Option("partial_fills", "sizing", "bool", "flag", "fill the affordable part of an entry cash cannot cover",
           default=False, record=True),
    Option("volatility", "sizing", "series", "fraction_per_year",
           "the asset's annualised volatility per bar, for size_type='volatility'", scope="bar", low=0.0,
           low_closed=True),
    # orders
    Option("entry_type", "orders", "choice", "choice", "entries as market, limit or stop orders", "market",
           choices=_choices(EntryType), record=True),
    Option("entry_price", "orders", "series", "price", "limit or stop price of an entry decided at each bar",
           scope="bar", low=0.0),
    Option("entry_expiry", "orders", "int", "bars", "bars a limit or stop entry works before it expires", 1,
           scope="column", low=1.0, low_closed=True, record=True),
    # exits
    Option("stop_loss", "stops", "float", _F, "stop-loss, a fraction of the entry price below (long) or above",
           None, none="no stop-loss", scope="column", low=0.0, high=1.0, record=True,
           document="exits.stop_loss.percent", document_scale=100.0),
    Option("take_profit", "stops", "float", _F, "take-profit, a fraction of the entry price", None,
           none="no take-profit", scope="column", low=0.0, record=True, document="exits.take_profit.percent",
           document_scale=100.0),
    Option("trailing_stop", "stops", "float", _F, "trailing stop, a fraction behind the best price since entry",
           None, none="no trailing stop", scope="column", low=0.0, high=1.0, record=True,
           document="exits.trailing_stop.percent", document_scale=100.0),
    Option("stop_loss_distance", "stops", "series", "price", "stop-loss as a price distance from the entry",
           scope="bar", low=0.0),
    Option("take_profit_distance", "stops", "series", "price", "take-profit as a price distance from the entry",
           scope="bar", low=0.0),
    Option("trailing_stop_distance", "stops", "series", "price",
           "trailing stop as a price distance behind the best price", scope="bar", low=0.0),
    Option("break_even", "stops", "float", _F,
           "move the stop to the entry price once the best price has gained this fraction", None,
           none="no break-even", scope="column", low=0.0, record=True, document="exits.break_even.percent",
           document_scale=100.0),
    Option("max_bars", "stops", "int", "bars", "exit after this many bars held", None, none="no time exit",
           scope="column", low=1.0, low_closed=True, record=True, record_none=0, document="exits.max_bars"),
    # costs
    Option("commission", "costs", "float", _F, "commission, a fraction of traded value per fill", 0.0,
           low=0.0, low_closed=True, high=1.0, record=True, document="costs.commission_percent",
           document_scale=100.0),
    Option("commission_fixed", "costs", "float", "cash", "commission per fill", 0.0, low=0.0, low_closed=True,
           record=True, document="costs.commission_fixed"),
    Option("commission_min", "costs", "float", "cash", "smallest commission per fill", 0.0, low=0.0,
           low_closed=True, record=True, document="costs.commission_min"),
    Option("commission_max", "costs", "float", "cash", "largest commission per fill (a broker's cap)", None,
           none="no cap", low=0.0, low_closed=True, record=True, record_none=math.inf, document="costs.commission_max"),
    Option("slippage", "costs", "float", _F, "adverse price move per fill, a fraction of the price", 0.0,
           low=0.0, low_closed=True, high=1.0, record=True, document="costs.slippage_percent",
           document_scale=100.0),
    Option("slippage_ticks", "costs", "float", "ticks", "adverse price move per fill in ticks of tick_size", 0.0,
           low=0.0, low_closed=True, document="costs.slippage_ticks"),
    Option("tick_size", "costs", "float", "price", "the price of one tick (for slippage_ticks)", 0.0, low=0.0,
           low_closed=True, document="costs.tick_size"),
    Option("spread", "costs", "float", _F, "full bid-ask spread, a fraction of the price (half paid per fill)",
           0.0, low=0.0, low_closed=True, high=1.0, record=True, document="costs.spread_percent",
           document_scale=100.0),
    Option("borrow_rate", "costs", "float", "fraction_per_year",
           "annual rate on the value of short positions, accrued by elapsed time", 0.0, low=0.0, low_closed=True,
           high=10.0, high_closed=True, record=True, document="costs.borrow_rate_percent", document_scale=100.0),
    # risk guards
    Option("drawdown_limit", "risk", "float", _F,
           "halt for good once equity falls this fraction below its peak", None, none="no limit", scope="column",
           low=0.0, high=1.0, record=True, document="risk.drawdown_limit_percent", document_scale=100.0),
    Option("daily_loss_limit", "risk", "float", _F,
           "halt for the day once equity falls this fraction below the previous day's", None, none="no limit",
           scope="column", low=0.0, high=1.0, record=True, document="risk.daily_loss_limit_percent",
           document_scale=100.0),
    Option("maintenance_margin", "risk", "float", _F,
           "margin call: liquidate when equity falls below this fraction of the gross position value (below "
           "1 / leverage)", None, none="no margin calls", scope="column", low=0.0, high=1.0, record=True,
           document="sizing.maintenance_margin_percent", document_scale=100.0),
    Option("max_exposure", "risk", "float", "multiple",
           "gross position value at most this multiple of equity after an entry", None, none="no cap",
           scope="column", low=0.0, record=True, document="risk.max_exposure_percent", document_scale=100.0),
)}

# every setting's default, taken once (the table is fixed at import): ``defaults`` copies it
_DEFAULTS: dict[str, Any] = {name: o.default for name, o in OPTIONS.items() if o.scope in ("account", "column")}

#: The options a code strategy's ``signals`` may return: signals, per-bar values and per-column values.
INPUTS: frozenset[str] = frozenset(name for name, o in OPTIONS.items() if o.scope != "account")

_DTYPES = {"float": np.float64, "int": np.int64, "bool": np.bool_, "choice": np.int64}
#: The kernels' per-column settings: one field per recorded option, plus what the wrapper derives from options.
COLUMN_RECORD = np.dtype([(o.name, _DTYPES[o.kind]) for o in OPTIONS.values() if o.record]
                         + [("slippage_abs", np.float64)])  # slippage_ticks x tick_size, in price units


def _fail(option: Option, found: Any, extra: str = "") -> OptionError:
    unit = "" if option.unit in ("choice", "flag", "depends", "signal") else f" ({option.unit.replace('_', ' ')})"
    if option.kind == "choice":
        expected = f"one of {', '.join(repr(c) for c in option.choices)}"
    elif option.kind == "bool":
        expected = "True or False"
    else:
        what = "a whole number" if option.kind == "int" else "a number"
        expected = f"{what}{unit} with {option.bounds_text()}"
        if option.none:
            expected += f", or None for {option.none}"
    return OptionError(f"{option.name} must be {expected}{extra}, got {found!r}", option=option.name)


def _number(option: Option, value: Any) -> float | int | None:
    """One number of a float or int option, checked; None for none."""
    if value is None:
        if option.none:
            return None
        raise _fail(option, value)
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.integer | np.floating):
        raise _fail(option, value)
    x = float(value)
    if math.isnan(x) and option.none:
        return None
    if not math.isfinite(x) or not option.within(x):
        raise _fail(option, value)
    if option.kind == "int":
        if x != round(x):
            raise _fail(option, value)
        return int(x)
    return x


def check(name: str, value: Any) -> Any:
    """The value of account- or column-scoped option ``name``, checked and normalised.

    Numbers become ``float`` / ``int`` (``None`` for none); a column option may also take one value per
    column (a sequence or 1-D array), returned as a tuple with ``None`` for none. ``None`` for an option
    without a "none" is its default (not given). Raises :class:`OptionError` naming the option, its unit
    and bounds.
    """
    option = OPTIONS.get(name)
    if option is None or option.scope in ("bar", "signal"):
        msg = f"{name!r} is not a setting of the engine (see backgrid.engine.options.OPTIONS)"
        raise EngineError(msg)
    if value is None and not option.none:
        return option.default
    if option.kind == "choice":
        if not isinstance(value, str) or value not in option.choices:
            raise _fail(option, value)
        return value
    if option.kind == "bool":
        if not isinstance(value, bool | np.bool_):
            raise _fail(option, value)
        return bool(value)
    if option.scope == "column" and _is_sequence(value):
        values = np.asarray(value, dtype=object).ravel().tolist() if isinstance(value, np.ndarray) else list(value)
        if not values:
            raise _fail(option, value, " (or one value per column)")
        return tuple(_number(option, v) for v in values)
    return _number(option, value)


def _is_sequence(value: Any) -> bool:
    return isinstance(value, list | tuple | np.ndarray) and np.ndim(value) >= 1


def defaults() -> dict[str, Any]:
    """Every setting's default value (a new dict each call)."""
    return dict(_DEFAULTS)


def document_bounds(name: str) -> dict[str, float]:
    """Pydantic ``Field`` bounds of option ``name`` in the strategy format's unit (``ge``, ``gt``, ``le``, ``lt``)."""
    option = OPTIONS[name]
    bounds: dict[str, float] = {}
    if option.low > -math.inf:
        bounds["ge" if option.low_closed else "gt"] = option.low * option.document_scale
    if option.high < math.inf:
        bounds["le" if option.high_closed else "lt"] = option.high * option.document_scale
    return bounds


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the engine's settings (what :class:`EngineConfig` accepts), for the API and web forms.

    Each property carries ``x-unit``, ``x-group`` and ``x-scope`` (``column``: one value or one per column).
    """
    properties: dict[str, Any] = {}
    for name, option in OPTIONS.items():
        if option.scope in ("bar", "signal"):
            continue
        one: dict[str, Any]
        if option.kind == "choice":
            one = {"type": "string", "enum": list(option.choices)}
        elif option.kind == "bool":
            one = {"type": "boolean"}
        else:
            one = {"type": "integer" if option.kind == "int" else "number"}
            if option.low > -math.inf:
                one["minimum" if option.low_closed else "exclusiveMinimum"] = option.low
            if option.high < math.inf:
                one["maximum" if option.high_closed else "exclusiveMaximum"] = option.high
        if option.none:
            one = {"anyOf": [one, {"type": "null"}]}
        if option.scope == "column":
            one = {"anyOf": [one, {"type": "array", "items": one, "minItems": 1}]}
        properties[name] = one | {"description": option.help + (f" (None: {option.none})" if option.none else ""),
                                  "default": option.default, "x-unit": option.unit, "x-group": option.group,
                                  "x-scope": option.scope}
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "backgrid engine settings",
            "type": "object", "properties": properties, "additionalProperties": False}


def unknown(names: Mapping[str, Any] | list[str], *, allowed: Mapping[str, Any] | None = None) -> None:
    """Raise an :class:`OptionError` for the first name that is no engine option, with a suggestion."""
    from difflib import get_close_matches  # noqa: PLC0415  # only on the error path

    known = list(allowed if allowed is not None else OPTIONS)
    for name in names:
        if name not in known:
            close = get_close_matches(name, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            msg = f"unknown engine option {name!r}{hint} (see backgrid.engine.options.OPTIONS)"
            raise OptionError(msg, option=name)

