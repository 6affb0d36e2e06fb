"""Codes the engine kernels and records use (plain integers inside kernels)."""

from __future__ import annotations

from enum import IntEnum

__all__ = ["EntryType", "ExitReason", "Fill", "OrderReason", "OrderStatus", "OrderType", "Side", "SizeType",
           "StopPolicy"]


class Side(IntEnum):
    """Direction of a position."""

    LONG = 1
    SHORT = -1


class ExitReason(IntEnum):
    """Why a trade ended."""

    SIGNAL = 0  # an exit signal, or the opposite entry (reversal)
    STOP_LOSS = 1
    TAKE_PROFIT = 2
    TRAILING_STOP = 3
    TIME = 4  # held the maximum number of bars
    END = 5  # still open when the data ended (marked at the last close)
    SESSION = 6  # closed at the close of a ``flat_at`` bar (end of session)
    RISK = 7  # closed by a risk guard: ``max_drawdown`` or ``daily_loss_limit``
    RUIN = 8  # closed out at the close where the account's equity reached zero (the account stops)
    MARGIN_CALL = 9  # liquidated where equity fell to the maintenance margin (``maintenance_margin``)


class Fill(IntEnum):
    """When an order decided at a bar's close is filled (the option ``fill``)."""

    NEXT_OPEN = 0  # the default: no look-ahead
    SAME_CLOSE = 1  # an explicit opt-in: fills at the deciding bar's close


class StopPolicy(IntEnum):
    """What happens when stop-loss and take-profit are both touched inside one bar (the option ``stop_policy``)."""

    STOP_FIRST = 0  # pessimistic: the stop-loss fills
    OHLC_PATH = 1  # the bar moves open -> nearer extreme -> farther extreme -> close


class SizeType(IntEnum):
    """How an order's quantity is worked out at its fill (the option ``size_type`` is the lower-case name)."""

    UNITS = 0  # a fixed quantity
    CASH = 1  # spend this much cash (before costs)
    EQUITY = 2  # this fraction of equity, costs included
    RISK = 3  # lose this fraction of equity if the stop-loss fills
    VOLATILITY = 4  # target this annualised volatility: equity x target / (asset volatility x price)


class EntryType(IntEnum):
    """How entries are ordered (the option ``entry_type``)."""

    MARKET = 0  # at the next open (or the same close)
    LIMIT = 1  # buy at the limit or lower (sell at it or higher), working for ``entry_expiry`` bars
    STOP = 2  # buy once the price rises to the stop (sell once it falls to it), filled at the stop or worse


class OrderType(IntEnum):
    """What an order record is: an entry (by its entry type) or an exit (by what triggered it)."""

    MARKET = 0
    LIMIT = 1
    STOP = 2
    STOP_LOSS = 3
    TAKE_PROFIT = 4
    TRAILING_STOP = 5
    TIME = 6  # held ``max_bars`` bars
    SIGNAL_EXIT = 7  # an exit signal, or the exit half of a reversal
    SESSION = 8  # the close of a ``flat_at`` bar
    RISK = 9  # a risk guard's exit (``max_drawdown``, ``daily_loss_limit``)
    RUIN = 10  # the close-out of a ruined account
    MARGIN_CALL = 11  # a margin call's liquidation


class OrderStatus(IntEnum):
    """Whether an order filled."""

    FILLED = 0
    REJECTED = 1  # refused, expired or cancelled: ``OrderReason`` says which


class OrderReason(IntEnum):
    """Why an order did not fill."""

    NONE = 0  # it filled
    NO_CASH = 1  # cash (times the leverage) does not cover it
    SIZE_ZERO = 2  # the sizing gave nothing (after rounding to the lot; no stop for risk sizing; no volatility)
    MAX_POSITIONS = 3  # the portfolio already holds ``max_positions`` positions
    EXPIRED = 4  # a limit / stop entry not reached within ``entry_expiry`` bars
    CANCELLED = 5  # a working limit / stop entry cancelled by an exit signal, a new entry signal, a ``flat_at``
    # bar or a risk guard (a portfolio's entry still waiting for its asset's next open, too)
    NO_PRICE = 6  # a limit / stop entry signal whose ``entry_price`` is NaN
    MAX_EXPOSURE = 7  # nothing left once cut to ``max_exposure`` x equity
