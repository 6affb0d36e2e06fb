"""Codes the engine kernels and records use (plain integers inside kernels)."""

from __future__ import annotations

from enum import IntEnum

__all__ = ["ExitReason", "Fill", "Side", "SizeType", "StopPolicy"]


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


class Fill(IntEnum):
    """When an order decided at a bar's close is filled."""

    NEXT_OPEN = 0  # the default: no look-ahead
    SAME_CLOSE = 1  # an explicit opt-in: fills at the deciding bar's close


class StopPolicy(IntEnum):
    """What happens when stop-loss and take-profit are both touched inside one bar."""

    STOP_FIRST = 0  # pessimistic: the stop-loss fills
    OHLC_PATH = 1  # the bar moves open -> nearer extreme -> farther extreme -> close


class SizeType(IntEnum):
    """How an order's quantity is worked out at its fill."""

    UNITS = 0  # a fixed quantity
    CASH = 1  # spend this much cash (before costs)
    PERCENT_EQUITY = 2  # this fraction of equity, costs included
    RISK_PERCENT = 3  # lose this fraction of equity if the stop-loss fills
