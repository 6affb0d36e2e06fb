"""Metrics of closed trades: arrays of per-trade net PnL ``pnl`` (cash, after costs), one value a trade."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["expectancy", "kelly_criterion", "profit_factor", "risk_of_ruin", "sqn", "win_rate"]


def win_rate(pnl: np.ndarray) -> float:
    """Share of trades with ``pnl > 0``."""
    return float(np.mean(pnl > 0)) if pnl.size else math.nan


def profit_factor(pnl: np.ndarray) -> float:
    """``sum(winning pnl) / -sum(losing pnl)`` (NaN without losses)."""
    loss = -float(pnl[pnl < 0].sum())
    return float(pnl[pnl > 0].sum()) / loss if loss > 0 else math.nan


def expectancy(values: np.ndarray) -> float:
    """Mean outcome of a trade: ``mean(values)`` of per-trade PnL (cash) or returns (fractions); NaN for none."""
    return float(np.mean(values)) if values.size else math.nan


def sqn(pnl: np.ndarray) -> float:
    """Van Tharp's system quality number: ``sqrt(n) * mean(pnl) / std(pnl, ddof=1)``."""
    if pnl.size < 2:
        return math.nan
    sd = float(np.std(pnl, ddof=1))
    return math.sqrt(pnl.size) * float(np.mean(pnl)) / sd if sd else math.nan


def kelly_criterion(pnl: np.ndarray) -> float:
    """``W - (1 - W) / R``: win rate ``W``, ``R`` = mean win / mean loss (sizes in cash)."""
    wins, losses = pnl[pnl > 0], pnl[pnl < 0]
    if not wins.size or not losses.size:
        return math.nan
    w = wins.size / pnl.size
    return w - (1.0 - w) / (float(wins.mean()) / -float(losses.mean()))


def risk_of_ruin(pnl: np.ndarray) -> float:
    """``((1 - W) / (1 + W)) ** n``: win rate ``W`` of the ``n`` closed trades (quantstats' formula).

    quantstats applies it to bar returns: ``W`` the share of winning bars among the nonzero ones, ``n`` every
    bar. Here a trade is a bet: break-even trades count as not won, as in :func:`win_rate`. NaN for none.
    """
    if not pnl.size:
        return math.nan
    w = win_rate(pnl)
    return float(((1.0 - w) / (1.0 + w)) ** pnl.size)
