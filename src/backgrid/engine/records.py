"""Structured record types the engine writes (one row per trade and one per order, per column)."""

from __future__ import annotations

import numpy as np

from backgrid.engine.options import COLUMN_RECORD

__all__ = ["COLUMN_PARAMS", "COLUMN_STATE", "ORDER", "TRADE"]

#: One closed (or still open) trade.
TRADE = np.dtype([
    ("col", np.int64),            # column: the account (parameter set, or the shared portfolio) it belongs to
    ("asset", np.int64),          # asset within the account (the symbol's position; 0 for one-asset accounts)
    ("side", np.int64),           # +1 long, -1 short
    ("entry_idx", np.int64),      # bar of the entry fill
    ("exit_idx", np.int64),       # bar of the exit fill (the last bar for a trade still open)
    ("size", np.float64),         # units, positive
    ("entry_price", np.float64),  # fill price, slippage included
    ("exit_price", np.float64),
    ("pnl", np.float64),          # net of commission and borrow cost; dividends (and a split's cash in lieu) included
    ("return", np.float64),       # pnl / (entry_price * size)
    ("commission", np.float64),   # entry plus exit
    ("slippage", np.float64),     # cost of slippage and spread, entry plus exit, in cash
    ("borrow", np.float64),       # borrow cost accrued while short
    ("dividends", np.float64),    # cash dividends received while held (long: > 0) or paid (short: < 0)
    ("exit_reason", np.int64),    # ExitReason
    ("mfe", np.float64),          # maximum favourable excursion, fraction of the entry price
    ("mae", np.float64),          # maximum adverse excursion, fraction of the entry price (<= 0)
    ("bars_held", np.int64),      # exit_idx - entry_idx
    ("open", np.bool_),           # still open at the end of the data
])

#: One order event: a fill, or an order that did not fill (refused, expired or cancelled).
ORDER = np.dtype([
    ("col", np.int64),            # column: the account it belongs to
    ("asset", np.int64),          # asset within the account (0 for one-asset accounts)
    ("bar", np.int64),            # bar of the fill, the refusal, the expiry or the cancelling signal
    ("side", np.int64),           # +1 buy, -1 sell
    ("type", np.int64),           # OrderType
    ("status", np.int64),         # OrderStatus
    ("reason", np.int64),         # OrderReason (NONE for fills)
    ("requested", np.float64),    # units asked for; NaN when the order was never sized
    ("size", np.float64),         # units filled (0 when not filled)
    ("price", np.float64),        # fill price, slippage and spread included; NaN when not filled
    ("order_price", np.float64),  # limit / stop price of an entry, level of a stop exit; NaN for market orders
    ("commission", np.float64),
])

#: The settings of one column, grouped so kernels take one record instead of many arguments: one field per
#: option of the option table that the kernels read (named like the option), see ``options.COLUMN_RECORD``.
COLUMN_PARAMS = COLUMN_RECORD

#: A column's running state inside the simulator (also returned: the final state of each column).
COLUMN_STATE = np.dtype([
    ("cash", np.float64),
    ("pos", np.float64),            # signed units: > 0 long, < 0 short
    ("entry_px", np.float64),
    ("entry_idx", np.int64),
    ("entry_comm", np.float64),
    ("entry_slip", np.float64),
    ("borrow", np.float64),         # borrow cost accrued on the open short
    ("dividends", np.float64),      # dividends the open position received (> 0) or paid (< 0)
    ("lieu", np.float64),           # PnL realised by the cash in lieu of a split's fractional units
    ("accrued_until", np.int64),    # ns up to which borrow has been charged
    ("best", np.float64),           # best price since entry (trailing stop reference; the MFE's)
    ("worst", np.float64),          # worst price since entry (the MAE's)
    ("pending", np.int64),          # order for the next open: 0 none, 1 long, -1 short, 2 exit
    ("pending_reason", np.int64),   # ExitReason of a pending exit
    ("k", np.int64),                # next trade row to write
    ("rejected", np.int64),         # orders refused (cash, size, max positions, no entry price)
    ("sl_px", np.float64),          # stop-loss level of the open position (-inf long / +inf short: none)
    ("tp_px", np.float64),          # take-profit level of the open position (+inf long / -inf short: none)
    ("trail_d", np.float64),        # trailing distance for the next bar's test (NaN: none)
    ("o_sl", np.float64),           # stop-loss distance at the bar that decided the next entry (NaN: none)
    ("o_tp", np.float64),           # take-profit distance at that bar (NaN: none)
    ("o_vol", np.float64),          # asset volatility at that bar (volatility sizing)
    ("w_side", np.int64),           # working limit / stop entry order: 0 none, 1 buy, -1 sell
    ("w_px", np.float64),           # its limit or stop price
    ("w_left", np.int64),           # bars it still works
    ("ko", np.int64),               # next order row to write
    ("ko_end", np.int64),           # end of this column's order rows
    ("halt_bar", np.int64),         # bar whose close tripped drawdown_limit (the account halted); -1: never
    ("day_halt", np.bool_),         # daily_loss_limit tripped: no entries until the next trading day
    ("day", np.int64),              # trading day of the latest bar (daily_loss_limit)
    ("day_ref", np.float64),        # equity at the previous trading day's last bar (daily_loss_limit)
    ("equity", np.float64),         # equity at the latest close (kept with flat_at or a guard)
    ("ruin_bar", np.int64),         # bar whose close found the account's equity <= 0 (closed out, stopped); -1: never
    ("deficit", np.float64),        # what the ruin's close-out left below zero (<= 0; 0 without ruin)
])
