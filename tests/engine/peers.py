"""Peer adapters for the differential tests: one ``Case`` run by backtesting.py and by backtrader.

Both peers trade the same signals with the decision table of backgrid's kernel (``decide``: an entry
with an exit of the same side is ignored, long and short entries on one bar cancel, an opposite entry
reverses) and report their trades in backgrid's terms (bar indices, side, units, prices, commission).

How each peer is configured to backgrid's semantics:

- Market orders decided at a close fill at the next bar's open in all three (backtesting.py with
  ``trade_on_close=False``; backtrader with ``cheat_on_open=False`` and ``coc=False``, its defaults).
- Stop-loss and take-profit are fractions of the entry fill price. A market order fills at the next
  open exactly (no slippage, no spread), so the adapter computes the levels from that open, which it
  reads from the case's data. This is knowledge of the test harness, not look-ahead by the peer
  engines: the engines still only see the bars up to the current one.
- backtesting.py: ``buy(sl=..., tp=...)`` makes contingent orders that the peer reprocesses in the
  entry bar (its issue #119), so stops are tested on the entry bar like backgrid's. The stop order is
  queued before the take-profit order, so when both are touched the stop fills (backgrid's
  ``stop_first``). A ``position.close()`` order queued at a close goes before the stop orders, so an
  order due at the open fills first, then stops are tested (backgrid's order of events).
- backtrader: ``buy_bracket`` children only become active at the bar AFTER the parent fills
  (``BackBroker._bracketize`` puts them in ``_toactivate``), so they miss stops touched in the entry
  bar. The adapter therefore sends the protective orders as independent orders right after the market
  entry, linked one-cancels-other: backtrader works through its pending queue in submission order, so
  in the entry bar the market order fills at the open and then the stop and the limit are tested, stop
  first. The test file demonstrates the bracket difference on its own.
- backtrader's ``StopTrail`` starts at ``price * (1 - trailpercent)`` and, after a bar that does not
  trigger it, moves with that bar's CLOSE; backgrid's trailing stop moves with the bar's high (long)
  or low (short). The adapter starts the trail at the entry fill price; the test file restricts the
  trailing cases to data on which the two references coincide and demonstrates the difference.
- Commission: a fraction of traded value on every fill (``Backtest(commission=c)``;
  ``broker.setcommission(commission=c)``, which backtrader reads as an absolute fraction for stocks).
- Stops as price distances (``stop_loss_distance``, ``take_profit_distance``: per-bar arrays, NaN = none):
  the adapters read the distance at the signal bar and put the level that far from the entry fill,
  as backgrid does. backtrader's ``StopTrail(trailamount=d)`` is backgrid's constant
  ``trailing_stop_distance`` (on the trail-compatible data described above).
- Limit and stop entries (``entry_type``, ``entry_price`` per bar, ``entry_expiry``): both peers fill a
  buy limit at min(open, limit) once the low reaches it and a buy stop at max(open, stop) once the high
  reaches it, from the bar after the order (sells mirrored), like backgrid. Neither has an expiry in
  bars or backgrid's cancelling rules, so the adapters keep them: the order is cancelled after
  ``entry_expiry`` bars without a fill, by an exit signal of its side, or by a new entry signal (which
  places its own order). Limit and stop entries run without stop-loss or take-profit: both peers test
  protective orders differently in the bar of a limit fill (backtesting.py from the next bar;
  backtrader against the whole bar, its open included), where backgrid sees only the part after the fill.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

__all__ = ["FILL_COLUMNS", "Case", "PeerRun", "decide", "run_backtesting_py", "run_backtrader"]

NONE = 0
GO_LONG = 1
GO_SHORT = -1
EXIT = 2

TRADE_COLUMNS = ["entry_idx", "exit_idx", "side", "size", "entry_price", "exit_price", "commission"]
FILL_COLUMNS = ["bar", "side", "size", "price", "commission"]


@dataclass(frozen=True)
class Case:
    """One differential case: OHLC bars (lower-case columns, daily DatetimeIndex), signals, settings.

    ``size`` is units when ``size_type == "units"``; with ``"equity"`` it is the fraction of equity
    (backtesting.py's ``size=0.9999`` with whole units).
    """

    name: str
    frame: pd.DataFrame
    entries: np.ndarray
    exits: np.ndarray
    short_entries: np.ndarray
    short_exits: np.ndarray
    stop_loss: float | None = None
    take_profit: float | None = None
    trailing_stop: float | None = None
    commission: float = 0.0
    size: float = 10.0
    size_type: Literal["units", "equity"] = "units"
    cash: float = 100_000.0
    stop_loss_distance: np.ndarray | None = None
    take_profit_distance: np.ndarray | None = None
    trailing_stop_distance: float | None = None
    entry_type: Literal["market", "limit", "stop"] = "market"
    entry_price: np.ndarray | None = None
    entry_expiry: int = 1


@dataclass(frozen=True)
class PeerRun:
    """A peer's trades (``TRADE_COLUMNS``, entry order), its final equity and, where the peer reports
    them, its fills in order (``FILL_COLUMNS``)."""

    trades: pd.DataFrame
    final_equity: float
    fills: pd.DataFrame | None = None


def decide(pos: float, long_in: bool, long_out: bool, short_in: bool, short_out: bool) -> int:
    """The order the signals at a close ask for, given the peer's own position (backgrid's table)."""
    go_long = long_in and not short_in and not long_out
    go_short = short_in and not long_in and not short_out
    if pos > 0:
        return GO_SHORT if go_short else EXIT if long_out else NONE
    if pos < 0:
        return GO_LONG if go_long else EXIT if short_out else NONE
    return GO_LONG if go_long else GO_SHORT if go_short else NONE


def _levels(case: Case, px: float, side: int, i: int) -> tuple[float | None, float | None]:
    """Stop-loss and take-profit prices for an entry decided at bar ``i``, filled at ``px`` (backgrid's formulas)."""
    stop = px * (1.0 - side * case.stop_loss) if case.stop_loss else None
    take = px * (1.0 + side * case.take_profit) if case.take_profit else None
    if case.stop_loss_distance is not None and np.isfinite(case.stop_loss_distance[i]):
        stop = px - side * case.stop_loss_distance[i]
    if case.take_profit_distance is not None and np.isfinite(case.take_profit_distance[i]):
        take = px + side * case.take_profit_distance[i]
    return stop, take


def _cancels(case: Case, i: int, action: int, working_side: int) -> bool:
    """Whether the signals at bar ``i`` cancel a working entry order of ``working_side`` (backgrid's rule)."""
    own_exit = bool(case.exits[i]) if working_side > 0 else bool(case.short_exits[i])
    return action in (GO_LONG, GO_SHORT) or own_exit


def _entry_price(case: Case, i: int) -> float | None:
    """The limit / stop price of an entry decided at bar ``i`` (None: NaN, no order)."""
    if case.entry_price is None or not np.isfinite(case.entry_price[i]):
        return None
    return float(case.entry_price[i])


def _action(case: Case, i: int, pos: float) -> int:
    return decide(pos, bool(case.entries[i]), bool(case.exits[i]), bool(case.short_entries[i]),
                  bool(case.short_exits[i]))


def run_backtesting_py(case: Case) -> PeerRun:
    """Run ``case`` with backtesting.py; fail if the peer cancelled any order for lack of margin."""
    from backtesting import Backtest, Strategy

    opens = case.frame["open"].to_numpy()
    n = len(opens)
    if case.trailing_stop or case.trailing_stop_distance:
        msg = "backtesting.py has no trailing stop; trailing cases run against backtrader only"
        raise ValueError(msg)
    _check_entry_orders(case)
    order_size = case.size if case.size_type == "units" else 0.9999

    class Signals(Strategy):
        def init(self) -> None:
            self.working: tuple[object, int, int] | None = None  # (order, side, bars it may still work)

        def next(self) -> None:
            i = len(self.data) - 1
            pos = self.position.size
            if self.working is not None:  # tested in this bar: filled, or one bar of its expiry used
                order, side, left = self.working
                self.working = None
                if order in self.orders:
                    if left <= 1:
                        order.cancel()
                    else:
                        self.working = (order, side, left - 1)
            action = _action(case, i, pos)
            if self.working is not None and _cancels(case, i, action, self.working[1]):
                self.working[0].cancel()
                self.working = None
            if action == NONE:
                return
            if pos and (action == EXIT or action * pos < 0):
                self.position.close()
            if action in (GO_LONG, GO_SHORT) and i + 1 < n:
                place = self.buy if action == GO_LONG else self.sell
                if case.entry_type == "market":
                    stop, take = _levels(case, opens[i + 1], action, i)
                    place(size=order_size, sl=stop, tp=take)
                elif (price := _entry_price(case, i)) is not None:
                    order = place(size=order_size, **{case.entry_type: price})
                    self.working = (order, action, case.entry_expiry)

    frame = case.frame.rename(columns=str.capitalize)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        stats = Backtest(frame, Signals, cash=case.cash, commission=case.commission, trade_on_close=False,
                         hedging=False, exclusive_orders=False, finalize_trades=False).run()
    cancelled = [str(w.message) for w in caught if "canceled" in str(w.message)]
    if cancelled:
        msg = f"backtesting.py cancelled orders in {case.name}: {cancelled[:2]}"
        raise AssertionError(msg)
    t = stats["_trades"]
    trades = pd.DataFrame({
        "entry_idx": t["EntryBar"].to_numpy(np.int64),
        "exit_idx": t["ExitBar"].to_numpy(np.int64),
        "side": np.where(t["Size"].to_numpy() > 0, "long", "short"),
        "size": np.abs(t["Size"].to_numpy(np.float64)),
        "entry_price": t["EntryPrice"].to_numpy(np.float64),
        "exit_price": t["ExitPrice"].to_numpy(np.float64),
        "commission": t["Commission"].to_numpy(np.float64),
    })
    return PeerRun(trades=trades.sort_values("entry_idx", kind="stable").reset_index(drop=True),
                   final_equity=float(stats["Equity Final [$]"]))


def run_backtrader(case: Case, *, bracket: bool = False) -> PeerRun:
    """Run ``case`` with backtrader (units sizing only).

    ``bracket=True`` uses ``buy_bracket``/``sell_bracket`` for stop-loss and take-profit instead of
    independent one-cancels-other orders: backtrader's own bracket semantics, which skip the entry bar.
    """
    import backtrader as bt

    if case.size_type != "units":
        msg = "the backtrader adapter sizes in units only"
        raise ValueError(msg)
    _check_entry_orders(case)
    opens = case.frame["open"].to_numpy()
    n = len(opens)
    units = case.size

    class Signals(bt.Strategy):
        def __init__(self) -> None:
            self.fills: list[tuple[int, float, float, float]] = []
            self.protective: list[bt.Order] = []
            self.working: tuple[bt.Order, int, int] | None = None  # (order, side, bars it may still work)

        def notify_order(self, order: bt.Order) -> None:
            if order.status == order.Completed:
                # The fill price of the one execution bit: ``executed.price`` is re-averaged as
                # size * price / size, which can differ from the fill in the last bit.
                (bit,) = order.executed.exbits
                self.fills.append((len(self.data) - 1, bit.price, bit.size, order.executed.comm))
            elif order.status in (order.Margin, order.Rejected):
                msg = f"backtrader refused an order in {case.name} at bar {len(self.data) - 1}"
                raise AssertionError(msg)

        def next(self) -> None:
            i = len(self.data) - 1
            pos = self.position.size
            if self.working is not None:  # tested in this bar: filled, or one bar of its expiry used
                order, side, left = self.working
                self.working = None
                if order.alive():
                    if left <= 1:
                        self.cancel(order)
                    else:
                        self.working = (order, side, left - 1)
            action = _action(case, i, pos)
            if self.working is not None and _cancels(case, i, action, self.working[1]):
                self.cancel(self.working[0])
                self.working = None
            if action == NONE:
                return
            if pos and (action == EXIT or action * pos < 0):
                for order in self.protective:
                    self.cancel(order)
                self.protective = []
                self.close()
            if action in (GO_LONG, GO_SHORT) and i + 1 < n:
                if case.entry_type == "market":
                    self._enter(action, opens[i + 1], i)
                elif (price := _entry_price(case, i)) is not None:
                    exectype = bt.Order.Limit if case.entry_type == "limit" else bt.Order.Stop
                    place = self.buy if action == GO_LONG else self.sell
                    self.working = (place(size=units, exectype=exectype, price=price), action, case.entry_expiry)

        def _enter(self, side: int, px: float, i: int) -> None:
            stop, take = _levels(case, px, side, i)
            if bracket:
                make = self.buy_bracket if side == GO_LONG else self.sell_bracket
                orders = make(size=units, exectype=bt.Order.Market, stopprice=stop, limitprice=take,
                              stopexec=bt.Order.Stop if stop else None,
                              limitexec=bt.Order.Limit if take else None)
                self.protective = [o for o in orders[1:] if o is not None]
                return
            (self.buy if side == GO_LONG else self.sell)(size=units)
            close_side = self.sell if side == GO_LONG else self.buy
            protective: list[bt.Order] = []  # queued after the entry, so tested in its bar; stop first
            if stop is not None:
                protective.append(close_side(size=units, exectype=bt.Order.Stop, price=stop))
            if case.trailing_stop:
                protective.append(close_side(size=units, exectype=bt.Order.StopTrail, price=px,
                                             trailpercent=case.trailing_stop,
                                             oco=protective[0] if protective else None))
            if case.trailing_stop_distance:
                protective.append(close_side(size=units, exectype=bt.Order.StopTrail, price=px,
                                             trailamount=case.trailing_stop_distance,
                                             oco=protective[0] if protective else None))
            if take is not None:
                protective.append(close_side(size=units, exectype=bt.Order.Limit, price=take,
                                             oco=protective[0] if protective else None))
            self.protective = protective

    cerebro = bt.Cerebro(stdstats=False, cheat_on_open=False)
    cerebro.adddata(bt.feeds.PandasData(dataname=case.frame))
    cerebro.addstrategy(Signals)
    cerebro.broker.setcash(case.cash)
    cerebro.broker.set_coc(False)
    cerebro.broker.set_checksubmit(False)  # the case's cash covers every order; no pseudo-fills at submit
    cerebro.broker.setcommission(commission=case.commission)
    strategy = cerebro.run()[0]
    fills = pd.DataFrame([(bar, 1 if size > 0 else -1, abs(size), price, comm)
                          for bar, price, size, comm in strategy.fills], columns=FILL_COLUMNS)
    return PeerRun(trades=_pair_fills(strategy.fills), final_equity=float(cerebro.broker.getvalue()), fills=fills)


def _check_entry_orders(case: Case) -> None:
    """Refuse what the adapters cannot reproduce: protective orders on limit / stop entries (see above)."""
    if case.entry_type != "market" and any(level is not None for level in (
            case.stop_loss, case.take_profit, case.trailing_stop, case.stop_loss_distance,
            case.take_profit_distance, case.trailing_stop_distance)):
        msg = "limit and stop entries run without stops against the peers (see the module docstring)"
        raise ValueError(msg)


def _pair_fills(fills: list[tuple[int, float, float, float]]) -> pd.DataFrame:
    """Trades from a flat -> position -> flat sequence of fills (every fill is a whole position)."""
    rows = []
    pos = 0.0
    entry: tuple[int, float, float, float] | None = None
    for fill in fills:
        _, _, size, _ = fill
        if pos == 0.0:
            entry = fill
        elif entry is not None:
            if pos + size != 0.0:
                msg = f"fill {fill} does not close the position {pos}"
                raise AssertionError(msg)
            rows.append({"entry_idx": entry[0], "exit_idx": fill[0], "side": "long" if entry[2] > 0 else "short",
                         "size": abs(entry[2]), "entry_price": entry[1], "exit_price": fill[1],
                         "commission": entry[3] + fill[3]})
        pos += size
    return pd.DataFrame(rows, columns=TRADE_COLUMNS)
