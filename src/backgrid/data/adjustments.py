"""Raw and adjusted views of a series: :func:`adjust` converts between ``raw``, ``splits`` and ``total`` prices.

Conventions (those of CRSP and of Yahoo's "Adj Close"), for a series of ``n`` bars:

- **splits.** A split factor ``r`` on bar ``j`` (2.0 for a 2-for-1 split) divides the open, high, low
  and close of every bar before ``j`` by ``r`` and multiplies their volume by ``r``; several splits
  compound, so bar ``i`` is divided by the product of the factors on bars after it. Bar ``j`` itself
  trades after the split and is unchanged.
- **total.** A dividend ``D`` going ex on bar ``j`` multiplies the prices of every bar before ``j`` by
  ``1 - D / close[j - 1]`` (volume is unchanged), ``D`` and the close being split-adjusted; dividends
  compound like splits. A dividend on the first bar has no earlier bar to adjust.
- The dividend column is always in the same terms as the prices: going to ``splits``, a dividend
  paid before a later split is divided by that split's factor (a raw $1.00 before a 2-for-1 split is
  $0.50 a split-adjusted share); going to ``total``, it is scaled like the prices of its own bar.
  The split factors are ratios and stay as they are.

After ``splits`` the split column, and after ``total`` both columns, are kept as information: the
series' :attr:`~backgrid.data.bars.Bars.adjustment` tells the engine not to apply them again.

Going back (``splits`` to ``raw``, ``total`` to ``splits`` or ``raw``) inverts the arithmetic exactly
(to rounding): from ``splits`` with the split column, from ``total`` with the dividend column (a
dividend ``D'`` in total terms on bar ``j`` undoes the factor ``close'[j - 1] / (close'[j - 1] + D')``).
Without the column, what was divided out cannot be known, and :func:`adjust` refuses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from backgrid.data.bars import ADJUSTMENTS, Bars
from backgrid.errors import DataError

__all__ = ["adjust"]

_PRICES = ("open", "high", "low", "close")
#: Each kind's distance from raw prices: converting walks this ladder one step at a time.
_LEVEL = {name: level for level, name in enumerate(ADJUSTMENTS)}


def adjust(bars: Bars, to: str) -> Bars:
    """Return ``bars`` with prices that account for ``to``: ``"raw"``, ``"splits"`` or ``"total"``.

    See the module docstring for the arithmetic. The result's ``adjustment`` is ``to``; a series
    already there is returned as is. Going to a less adjusted kind needs the column of what is
    undone (``split_factor`` from ``splits``, ``dividend`` from ``total``), else a
    :class:`~backgrid.errors.DataError`.

    >>> import numpy as np
    >>> from backgrid.data.bars import Bars
    >>> day = 86_400 * 10**9
    >>> raw = Bars("X", "1d", np.arange(3) * day, [100.0, 102, 51], [101.0, 103, 52], [99.0, 101, 50],
    ...            [100.0, 102, 51], [10.0, 10, 20], split_factor=[1.0, 1, 2])
    >>> adjust(raw, "splits").close.tolist()
    [50.0, 51.0, 51.0]
    """
    if to not in _LEVEL:
        msg = f"adjust: to must be one of {', '.join(ADJUSTMENTS)}, got {to!r}"
        raise DataError(msg)
    out = bars
    while _LEVEL[out.adjustment] < _LEVEL[to]:
        out = _add_splits(out) if out.adjustment == "raw" else _add_dividends(out)
    while _LEVEL[out.adjustment] > _LEVEL[to]:
        out = _remove_splits(out) if out.adjustment == "splits" else _remove_dividends(out)
    return out


def _later_product(factors: np.ndarray) -> np.ndarray:
    """Element ``i``: the product of ``factors[i + 1:]`` (1.0 for the last bar)."""
    out = np.ones_like(factors)
    if factors.size > 1:
        out[:-1] = np.cumprod(factors[:0:-1])[::-1]
    return out


def _scaled(bars: Bars, scale: np.ndarray, *, volume: bool, adjustment: str) -> Bars:
    """Prices and dividends times ``scale``, volume divided by it when ``volume``."""
    changes: dict[str, np.ndarray | None] = {name: bars.column(name) * scale for name in _PRICES}
    if volume:
        changes["volume"] = bars.volume / scale
    if bars.dividend is not None:
        changes["dividend"] = bars.dividend * scale
    return replace(bars, adjustment=adjustment, **changes)  # type: ignore[arg-type]


def _split_scale(bars: Bars) -> np.ndarray:
    factors = bars.split_factor
    if factors is None:
        return np.ones(len(bars))
    _refuse_first(bars, factors, lambda row: f"split_factor must be positive (1.0 for no split); bar {row} "
                  f"({bars.index[row]}) has {factors[row]:g}")
    return _later_product(factors)


def _refuse_first(bars: Bars, factors: np.ndarray, says: Callable[[int], str]) -> None:
    """A :class:`DataError` naming the first bar whose factor is not positive (``says``: what it is)."""
    bad = np.flatnonzero(~(factors > 0))
    if bad.size:
        msg = f"{bars.symbol!r}: {says(int(bad[0]))}"
        raise DataError(msg)


def _add_splits(bars: Bars) -> Bars:
    return _scaled(bars, 1.0 / _split_scale(bars), volume=True, adjustment="splits")


def _remove_splits(bars: Bars) -> Bars:
    if bars.split_factor is None:
        msg = (f"{bars.symbol!r} is split-adjusted and has no split_factor column: the splits divided out of "
               "its prices are unknown, so they cannot be undone")
        raise DataError(msg)
    return _scaled(bars, _split_scale(bars), volume=True, adjustment="raw")


def _dividend_factors(bars: Bars, dividend: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """``1 - dividend[j] / denominator[j - 1]`` on each bar with a dividend (1.0 elsewhere and on bar 0)."""
    factors = np.ones(len(bars))
    if len(bars) > 1:
        factors[1:] = 1.0 - dividend[1:] / denominator[:-1]
    factors[dividend == 0.0] = 1.0
    factors[0] = 1.0
    _refuse_first(bars, factors, lambda row: f"the dividend {dividend[row]:g} going ex on bar {row} "
                  f"({bars.index[row]}) is not less than the close before it ({bars.close[row - 1]:g}); the prices "
                  "cannot be adjusted for it")
    return factors


def _add_dividends(bars: Bars) -> Bars:
    if bars.dividend is None:
        return replace(bars, adjustment="total")
    factors = _dividend_factors(bars, bars.dividend, bars.close)
    return _scaled(bars, _later_product(factors), volume=False, adjustment="total")


def _remove_dividends(bars: Bars) -> Bars:
    if bars.dividend is None:
        msg = (f"{bars.symbol!r} is adjusted for dividends and has no dividend column: the dividends taken out "
               "of its prices are unknown, so they cannot be undone")
        raise DataError(msg)
    # close'[j-1] / (close'[j-1] + D'[j]) = 1 - D'[j] / (close'[j-1] + D'[j]): the factor that made close'
    denominator = np.empty(len(bars))
    denominator[:-1] = bars.close[:-1] + bars.dividend[1:]
    denominator[-1:] = 1.0  # not used: no bar after the last
    factors = _dividend_factors(bars, bars.dividend, denominator)
    return _scaled(bars, 1.0 / _later_product(factors), volume=False, adjustment="splits")
