"""A slow, plain-Python account for the randomized checks of break-even, session ends and risk guards.

One asset, one direction (long, or short), market entries in fixed units, no costs: every rule written
out the obvious way, bar by bar, from the engine's contract (``backgrid.engine.kernels.simulate_nb``).
The tests run the engine and this reference on the same generated market and compare every trade and
the equity curve.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from backgrid.data.bars import Bars
from backgrid.engine import Result

__all__ = ["RefRun", "RefTrade", "assert_matches", "hourly_market", "reference"]

DAY = 86_400 * 10**9
HOUR = 3_600 * 10**9


@dataclass
class RefTrade:
    """One trade as the reference sees it (bar numbers, units, raw prices: there are no costs)."""

    entry_idx: int
    size: float
    entry_price: float
    exit_idx: int = -1
    exit_price: float = math.nan
    exit_reason: str = "end"


@dataclass
class RefRun:
    """What the reference returns: trades, equity per bar, refused entries (bar, reason), the halt bar."""

    trades: list[RefTrade] = field(default_factory=list)
    equity: list[float] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)
    halt_bar: int = -1


def hourly_market(rng: np.random.Generator, n: int) -> Bars:
    """Hourly bars of a random walk (24/7, so each UTC day is a trading day), with opening gaps and wicks."""
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.012, n)))
    gaps = np.where(rng.random(n) < 0.2, rng.normal(0, 0.015, n), 0.0)
    open_ = np.r_[100.0, close[:-1]] * np.exp(gaps)
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0, 0.006, n)))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0, 0.006, n)))
    ts = 1_704_067_200 * 10**9 + np.arange(n, dtype=np.int64) * HOUR
    return Bars("P", "1h", ts, open_, high, low, close, np.ones(n), calendar="crypto")


def reference(bars: Bars, entries: np.ndarray, exits: np.ndarray, *, side: int = 1, size: float = 10.0,
              lot: float = 0.0, cash: float = 10_000.0, stop_loss: float | None = None,
              break_even: float | None = None, flat: np.ndarray | None = None, drawdown_limit: float | None = None,
              daily_loss_limit: float | None = None, max_exposure: float | None = None,
              fill: str = "next_open") -> RefRun:
    """Trade ``bars`` on ``entries`` / ``exits`` of one ``side``; the features under test as given."""
    o, h, lo, c = bars.open, bars.high, bars.low, bars.close
    day = bars.ts // DAY
    n = len(bars)
    out = RefRun()
    money = cash
    units = 0.0  # signed
    trade: RefTrade | None = None
    sl = best = math.nan
    pending: str | None = None  # "enter", or an exit reason
    peak = value = day_ref = cash
    today = day[0]
    halted = day_halted = False

    def enter(price: float, i: int) -> None:
        nonlocal money, units, trade, sl, best
        want = size
        if lot > 0:
            want = (want // lot) * lot
        if not want > 0:
            out.refused.append((i, "size_zero"))
            return
        if max_exposure is not None and want * price > max_exposure * money:  # flat: equity is the cash
            want = max_exposure * money / price
            if lot > 0:
                want = (want // lot) * lot
            if not want > 0:
                out.refused.append((i, "max_exposure"))
                return
        if want * price > money * (1 + 1e-12):
            out.refused.append((i, "no_cash"))
            return
        money -= side * want * price
        units = side * want
        trade = RefTrade(i, want, price)
        sl = price * (1 - side * stop_loss) if stop_loss is not None else -math.inf * side
        best = price

    def leave(price: float, i: int, reason: str) -> None:
        nonlocal money, units, trade
        assert trade is not None
        money += units * price
        trade.exit_idx, trade.exit_price, trade.exit_reason = i, price, reason
        out.trades.append(trade)
        units, trade = 0.0, None

    for i in range(n):
        if pending is not None:  # 1. the order decided at the previous close, at this open
            if pending == "enter":
                enter(o[i], i)
            elif units:
                leave(o[i], i, pending)
            pending = None
        if units:  # 3. the stop inside the bar, then the best price and the break-even move
            if side * (o[i] - sl) <= 0:
                leave(o[i], i, "stop_loss")
            elif (lo[i] <= sl) if side > 0 else (h[i] >= sl):
                leave(sl, i, "stop_loss")
            else:
                best = max(best, h[i]) if side > 0 else min(best, lo[i])
                if break_even is not None and side * (best - trade.entry_price * (1 + side * break_even)) >= 0:
                    sl = trade.entry_price if side * (trade.entry_price - sl) > 0 else sl
        trip = False
        mark = money + units * c[i]  # 5. the guards, on the equity marked at this close
        if day[i] != today:
            today, day_ref, day_halted = day[i], value, False
        if daily_loss_limit is not None and not (halted or day_halted) and mark <= (1 - daily_loss_limit) * day_ref:
            day_halted = trip = True
        if drawdown_limit is not None and not halted and mark <= (1 - drawdown_limit) * peak:
            halted = trip = True
            out.halt_bar = i
        at_session_end = flat is not None and flat[i]
        if at_session_end or trip or halted or day_halted:  # 6. the session's end or a guard decides
            if units and at_session_end:
                leave(c[i], i, "session")
            elif units:
                pending = "risk"
        elif units and exits[i]:  # 7. the signals
            pending = "signal"
        elif not units and entries[i] and not exits[i]:
            pending = "enter"
        if fill == "same_close" and pending is not None:
            if pending == "enter":
                enter(c[i], i)
            else:
                leave(c[i], i, pending)
            pending = None
        value = money + units * c[i]
        out.equity.append(value)
        peak = max(peak, value)
    if trade is not None:
        trade.exit_idx, trade.exit_price = n - 1, c[-1]
        out.trades.append(trade)
    return out


def assert_matches(result: Result, ref: RefRun) -> None:
    """The engine's trades and equity curve equal the reference's (to float rounding)."""
    got = result.trades
    want = [(t.entry_idx, t.exit_idx, t.exit_reason) for t in ref.trades]
    assert list(zip(got["entry_idx"], got["exit_idx"], got["exit_reason"], strict=True)) == want
    for name in ("size", "entry_price", "exit_price"):
        np.testing.assert_allclose(got[name].to_numpy(), [getattr(t, name) for t in ref.trades], rtol=1e-12)
    np.testing.assert_allclose(result.equity.to_numpy(), ref.equity, rtol=1e-12)
