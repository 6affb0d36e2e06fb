"""Trade attribution: the state of the account and the market when each trade was entered, and why it happened.

:func:`attribute_trades` adds to ``result.trades`` (one column of the result) what the trade table of a
journal asks for. The **decision bar** of an order is the bar whose close decided it: with ``fill="next_open"``
(the default) the bar before the fill bar (``entry_idx - 1``), with ``fill="same_close"`` the fill bar itself
(as :func:`~backgrid.analysis.regimes.trades_with_regime` reads the regime). Every value below is knowable at its
bar; a trade decided before the first bar gets missing values.

- ``size_percent``: ``100 * size * entry_price / equity_before``, where ``equity_before`` is the equity at the
  close of the bar before the fill bar (the starting cash for a fill on the first bar): the position's value as a
  percentage of the account it was sized from.
- ``heat``: the ledger's ``exposure`` at the fill bar's close: the gross value of every position held at that
  close (this one included), marked at that close, over the equity there (a fraction, as in
  :meth:`~backgrid.engine.result.Result.ledger`). For one symbol without pyramiding it is this position's own
  weight; in a portfolio it sums over the symbols. A trade that exits on its own fill bar is not held at any
  close and adds nothing to it.
- ``drawdown_at_entry``: the ledger's ``drawdown`` (equity over its running peak, less one; ``<= 0``) at the
  decision bar.
- ``volatility_at_entry``: the ATR in percent of the close over 14 bars (backgrid's ``natr``) at the decision
  bar; ``volume_at_entry``: the decision bar's volume; ``relative_volume``: that volume over the mean volume of
  the 20 bars before it. Missing without ``data``.
- ``regime`` and ``regime_confidence`` (with ``regimes``): from :func:`trades_with_regime`.
- With ``strategy`` (and ``data``): ``entry_rule``, the document path of the rule that fired at the decision bar
  (``entries.long``; inside an ``any``, the first child that was true there, descending through nested
  ``any``: ``entries.long.any[1]``; an ``all`` is reported whole), ``entry_values`` (``{operand: value}`` of every
  indicator output and price field the fired rule reads, as written, look-back applied, at the decision bar) and
  ``entry_condition`` (the fired rule in plain English). ``exit_rule``: for an exit by signal (``exit_reason``
  ``signal``), the rule that fired at the exit's decision bar (``exits.long``, or the opposite entry of a
  reversal, ``entries.short``); otherwise the exit reason itself (``stop_loss``, ``take_profit``,
  ``trailing_stop``, ``time``, ``session``, ``risk``, ``ruin``, ``margin_call``, ``end`` for a trade still open);
  ``exit_values`` and ``exit_condition`` likewise (empty and missing for an exit no rule made). A rule that was
  not true at its decision bar (the document or its parameters are not the ones that ran) is missing.

:func:`explain` writes one row as a sentence.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from backgrid.analysis.regimes import Regimes, decision_bars, trades_with_regime
from backgrid.data.bars import Bars
from backgrid.errors import AnalysisError, BackgridError
from backgrid.indicators import compute
from backgrid.strategy.evaluate import Evaluator, IndicatorCache
from backgrid.strategy.references import rule_operands
from backgrid.strategy.spec import AnyOf, Rule, Strategy, parse_operand
from backgrid.strategy.summary import RuleWriter

if TYPE_CHECKING:
    from backgrid.engine.result import Result

__all__ = ["attribute_trades", "explain"]

VOLATILITY_PERIOD = 14
VOLUME_BARS = 20
#: the verbs of :mod:`backgrid.strategy.summary`'s rule text, in the past tense of a trade that happened
_PAST = {"crosses": "crossed", "is": "was", "equals": "equalled", "has been": "had been"}
_PAST_RE = re.compile(r"\b(" + "|".join(sorted(_PAST, key=len, reverse=True)) + r")\b")


def _one_column(result: Result, column: Any) -> Result:
    try:
        one = result.column(column)
        one.ledger()  # the ledger needs the equity curve
    except BackgridError as exc:
        msg = f"column={column!r}: {exc}"
        raise AnalysisError(msg) from exc
    return one


def _symbol_bars(data: Any, symbol: str | None, result: Result) -> Bars:
    """The bars ``result`` ran on for ``symbol`` (``None``: a one-symbol run), cut to the result's dates."""
    if isinstance(data, Bars):
        if symbol is not None and data.symbol != symbol:
            msg = f"data is {data.symbol}; the result trades {', '.join(result.assets or [])}: give them all"
            raise AnalysisError(msg)
        bars = data
    elif isinstance(data, Mapping):
        if symbol is None:
            if len(data) != 1:
                msg = f"data for a one-symbol result must be one Bars, got {len(data)} symbols"
                raise AnalysisError(msg)
            bars = next(iter(data.values()))
        elif symbol not in data:
            msg = f"data has no bars for {symbol!r}; it has {', '.join(data)}"
            raise AnalysisError(msg)
        else:
            bars = data[symbol]
    else:
        msg = f"data must be Bars or MultiBars, got {type(data).__name__}"
        raise AnalysisError(msg)
    first, last = (int(t) for t in result.index[[0, -1]].as_unit("ns").asi8)
    bars = bars.take((bars.ts >= first) & (bars.ts <= last))
    if symbol is None and not bars.index.equals(result.index):
        msg = (f"data must be the bars the result ran on: {len(bars)} bars of {bars.symbol} in the result's dates, "
               f"the result has {result.index.size}")
        raise AnalysisError(msg)
    return bars


def _rows(bars: Bars, result: Result, bar: np.ndarray) -> np.ndarray:
    """For each bar position of ``result`` (-1: before the data), the latest row of ``bars`` at that time."""
    times = np.asarray(result.index.as_unit("ns").asi8)[np.maximum(bar, 0)]
    rows = np.searchsorted(bars.ts, times, side="right") - 1
    return np.where(bar >= 0, rows, -1)


def _at(values: np.ndarray, rows: np.ndarray) -> np.ndarray:
    out = np.full(rows.size, np.nan)
    inside = rows >= 0
    out[inside] = values[rows[inside]]
    return out


def _market(bars: Bars, rows: np.ndarray) -> dict[str, np.ndarray]:
    natr = compute("natr", bars, period=VOLATILITY_PERIOD)["natr"].to_numpy()
    volume = bars.volume.astype(np.float64)
    before = pd.Series(volume).rolling(VOLUME_BARS).mean().shift(1).to_numpy()  # the 20 bars before each bar
    return {"volatility_at_entry": _at(natr, rows), "volume_at_entry": _at(volume, rows),
            "relative_volume": _at(volume, rows) / _at(before, rows)}


def _params(strategy: Strategy, result: Result, params: Mapping[str, Any] | None) -> dict[str, Any]:
    """The parameter set of ``result``'s column: the defaults, a sweep's label, then ``params``."""
    chosen: dict[str, Any] = {p.param: p.default for p in strategy.parameters}
    names: list[Any] = list(result.columns.names)
    if all(name in chosen for name in names):
        label = result.columns[0]
        values = label if isinstance(label, tuple) else (label,)
        chosen.update(zip(names, (v.item() if isinstance(v, np.generic) else v for v in values), strict=True))
    unknown = set(params or {}) - set(chosen)
    if unknown:
        msg = f"params names {sorted(unknown)}, which the strategy does not declare; it declares {sorted(chosen)}"
        raise AnalysisError(msg)
    return chosen | dict(params or {})


class _Reader:
    """Which rule of a strategy fired at a bar of one symbol, and the values it read there."""

    def __init__(self, strategy: Strategy, bars: Bars, params: dict[str, Any]) -> None:
        self.strategy = strategy
        self.ev = Evaluator(strategy, IndicatorCache(bars), params)
        self.writer = RuleWriter(strategy)
        self.writer.defaults = params  # the writer reads parameters from its defaults
        self.held: dict[str, np.ndarray] = {}

    def _true(self, path: str, rule: Rule, row: int) -> bool:
        if path not in self.held:
            self.held[path] = self.ev.rule(rule)[0]
        return bool(row >= 0 and self.held[path][row])

    def fired(self, candidates: list[str], row: int) -> tuple[str | None, dict[str, float], str | None]:
        """The first of ``candidates`` (top-level paths) true at ``row``, descended into ``any``; its values, text."""
        for top in candidates:
            path = top
            section, side = path.split(".")
            rule = getattr(getattr(self.strategy, section), side)
            if rule is None or not self._true(path, rule, row):
                continue
            while isinstance(rule, AnyOf):  # an ``or`` that held has a child that held: the first one
                path, rule = next((f"{path}.any[{i}]", child) for i, child in enumerate(rule.any)
                                  if self._true(f"{path}.any[{i}]", child, row))
            return path, self.values(rule, row), _PAST_RE.sub(lambda m: _PAST[m[1]], self.writer.rule(rule))
        return None, {}, None

    def values(self, rule: Rule, row: int) -> dict[str, float]:
        values = {}
        for _, operand in rule_operands(rule, ""):
            if isinstance(operand, str) and not parse_operand(operand)[3]:
                series, _ = self.ev.value(operand)
                values[operand] = float(np.broadcast_to(series, (self.ev.n,))[row])
        return values


def _reasons(strategy: Strategy, data: Any, one: Result, trades: pd.DataFrame, params: Mapping[str, Any] | None,
             ) -> dict[str, list[Any]]:
    chosen = _params(strategy, one, params)
    symbols = trades["symbol"] if "symbol" in trades else pd.Series([None] * len(trades), dtype=object)
    readers: dict[Any, tuple[_Reader, Bars]] = {}
    entry_bar = decision_bars(one, trades["entry_idx"].to_numpy())
    exit_bar = decision_bars(one, trades["exit_idx"].to_numpy())
    out: dict[str, list[Any]] = {k: [] for k in ("entry_rule", "entry_values", "entry_condition", "exit_rule",
                                                 "exit_values", "exit_condition")}
    for k, (symbol, side, reason) in enumerate(zip(symbols, trades["side"], trades["exit_reason"], strict=True)):
        if symbol not in readers:
            bars = _symbol_bars(data, symbol, one)
            readers[symbol] = _Reader(strategy, bars, chosen), bars
        reader, bars = readers[symbol]
        entry_row, exit_row = (int(_rows(bars, one, np.array([b]))[0]) for b in (entry_bar[k], exit_bar[k]))
        for key, value in zip(("entry_rule", "entry_values", "entry_condition"),
                              reader.fired([f"entries.{side}"], entry_row), strict=True):
            out[key].append(value)
        fired: tuple[str | None, dict[str, float], str | None] = (reason, {}, None)
        if reason == "signal":
            opposite = "short" if side == "long" else "long"
            fired = reader.fired([f"exits.{side}", f"entries.{opposite}"], exit_row)
        for key, value in zip(("exit_rule", "exit_values", "exit_condition"), fired, strict=True):
            out[key].append(value)
    return out


def attribute_trades(result: Result, *, strategy: Strategy | None = None, data: Any = None,
                     regimes: Regimes | None = None, column: Any = None,
                     params: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """``result.trades`` of ``column`` (default: the first) with the account, market and reasons at entry.

    ``data`` is the :class:`~backgrid.data.bars.Bars` the result ran on (a :class:`~backgrid.data.bars.MultiBars`
    for a portfolio); ``strategy`` the document that made it, evaluated with the column's parameters (a sweep's
    label, or ``params``, over the declared defaults). The columns are described in the module docstring.

    >>> from backgrid import demo_bars
    >>> from backgrid.strategy import run
    >>> from backgrid.strategy.library import load_library
    >>> spec, bars = load_library("sma-cross"), demo_bars("DEMO-SPY", "1d")
    >>> attribute_trades(run(spec, bars), strategy=spec, data=bars)["entry_rule"].iloc[0]
    'entries.long'
    """
    if strategy is not None and not isinstance(strategy, Strategy):
        msg = f"strategy must be a Strategy (backgrid.strategy.parse a document), got {type(strategy).__name__}"
        raise AnalysisError(msg)
    if strategy is not None and data is None:
        msg = "strategy needs data: the bars the result ran on, to evaluate its rules"
        raise AnalysisError(msg)
    if params is not None and strategy is None:
        msg = "params apply to a strategy's rules; give strategy (and data) too"
        raise AnalysisError(msg)
    one = _one_column(result, column)
    trades = one.trades if regimes is None else trades_with_regime(one, regimes)
    ledger = one.ledger()
    entry_idx = trades["entry_idx"].to_numpy()
    decision = decision_bars(one, entry_idx)
    equity = ledger["equity"].to_numpy()
    before = np.r_[float(one.params["cash"][0]), equity][entry_idx]
    added: dict[str, Any] = {
        "size_percent": 100.0 * trades["size"].to_numpy() * trades["entry_price"].to_numpy() / before,
        "heat": ledger["exposure"].to_numpy()[entry_idx],
        "drawdown_at_entry": _at(ledger["drawdown"].to_numpy(), decision),
    }
    market = {k: np.full(len(trades), np.nan) for k in ("volatility_at_entry", "volume_at_entry", "relative_volume")}
    if data is not None:
        symbols = trades["symbol"].to_numpy() if "symbol" in trades else np.full(len(trades), None)
        for symbol in dict.fromkeys(symbols):
            mine = np.array([s == symbol for s in symbols], dtype=np.bool_)
            bars = _symbol_bars(data, symbol, one)
            for key, values in _market(bars, _rows(bars, one, decision[mine])).items():
                market[key][mine] = values
    added |= market
    if strategy is not None:
        added |= _reasons(strategy, data, one, trades, params)
    return trades.assign(**added)


def _when(time: pd.Timestamp) -> str:
    return time.strftime("%Y-%m-%d" if time == time.normalize() else "%Y-%m-%d %H:%M")


def _because(condition: Any, values: Any) -> str:
    if not isinstance(condition, str):
        return ""
    shown = ", ".join(f"{name} {value:.2f}" for name, value in (values or {}).items())
    return f" because {condition}" + (f" ({shown})" if shown else "")


def explain(trade_row: Mapping[str, Any] | pd.Series) -> str:
    """One row of :func:`attribute_trades` (or of ``result.trades``) as one plain sentence.

    >>> row = {"side": "long", "entry_time": pd.Timestamp("2021-03-04", tz="UTC"),
    ...        "exit_time": pd.Timestamp("2021-05-02", tz="UTC"), "exit_price": 360.0, "return": -0.053,
    ...        "exit_reason": "stop_loss", "open": False,
    ...        "entry_condition": "SMA(10) crossed above SMA(50)", "entry_values": {"fast": 381.2, "slow": 379.9}}
    >>> print(explain(row).replace("; ", ";\\n"))
    Long entered 2021-03-04 because SMA(10) crossed above SMA(50) (fast 381.20, slow 379.90);
    exited 2021-05-02 by stop loss at 360.00 (-5.3 %).
    """
    row = dict(trade_row)
    missing = [k for k in ("side", "entry_time", "exit_time", "exit_price", "return", "exit_reason", "open")
               if k not in row]
    if missing:
        msg = f"trade_row needs the columns of result.trades; it lacks {', '.join(missing)}"
        raise AnalysisError(msg)
    entered = f"{str(row['side']).capitalize()} entered {_when(pd.Timestamp(row['entry_time']))}"
    entered += _because(row.get("entry_condition"), row.get("entry_values"))
    outcome = f"at {row['exit_price']:.2f} ({100 * row['return']:+.1f} %)"
    when = _when(pd.Timestamp(row["exit_time"]))
    if row["open"]:
        return f"{entered}; still open, marked {outcome} on {when}."
    if row["exit_reason"] == "signal":
        how = _because(row.get("exit_condition"), row.get("exit_values")) or " by an exit signal"
    else:
        how = f" by {str(row['exit_reason']).replace('_', ' ')}"
    return f"{entered}; exited {when}{how} {outcome}."
