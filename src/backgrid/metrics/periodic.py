"""Returns compounded over calendar periods of an equity curve (tables, not registry metrics).

Each period's return is ``prod(1 + r) - 1`` over the bars whose close falls in it, ``r``
the per-bar simple returns of the equity curve. The first bar's return is taken against
``start`` (the starting cash) when given, otherwise the first bar only sets the base.
A partial first or last period is therefore compounded over the bars present, not
scaled to a full period. Periods follow pandas' calendar frequencies in the index's
own time zone (a backgrid curve is indexed in UTC).
"""

from __future__ import annotations

import pandas as pd

from backgrid.errors import MetricsError

__all__ = ["monthly_returns", "period_returns", "yearly_returns"]

_FREQ = {"W": "W", "M": "ME", "Q": "QE", "Y": "YE"}
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _bar_returns(equity: pd.Series, start: float | None) -> pd.Series:
    if not isinstance(equity.index, pd.DatetimeIndex):
        msg = f"equity: expected a DatetimeIndex, got {type(equity.index).__name__}"
        raise MetricsError(msg)
    base = equity.shift(1)
    if start is not None:
        base.iloc[:1] = start
    return (equity / base - 1.0).fillna(0.0)


def period_returns(equity: pd.Series, freq: str, start: float | None = None) -> pd.Series:
    """Compounded return of each calendar period ``freq`` ("W", "M", "Q" or "Y").

    The index is each period's end; periods without a bar are left out.
    """
    if freq not in _FREQ:
        msg = f"freq: expected one of {', '.join(_FREQ)}, got {freq!r}"
        raise MetricsError(msg)
    r = _bar_returns(equity, start)
    grouped = (1.0 + r).groupby(pd.Grouper(freq=_FREQ[freq]))
    out = grouped.prod() - 1.0
    return out[grouped.size() > 0]


def yearly_returns(equity: pd.Series, start: float | None = None) -> pd.Series:
    """Compounded return of each calendar year, indexed by the year (int)."""
    out = period_returns(equity, "Y", start)
    out.index = pd.DatetimeIndex(out.index).year
    return out


def monthly_returns(equity: pd.Series, start: float | None = None) -> pd.DataFrame:
    """Years x months (Jan..Dec) of compounded returns, and the year's compounded return in ``year``.

    A month without any bar is NaN (not 0: there was no return to compound).
    """
    months = period_returns(equity, "M", start)
    ends = pd.DatetimeIndex(months.index)
    table = pd.DataFrame({"year": ends.year, "month": ends.month, "r": months.to_numpy()})
    out = table.pivot_table(index="year", columns="month", values="r", aggfunc="first").reindex(columns=range(1, 13))
    out.columns = _MONTHS
    out.index.name = "year"
    out["year"] = yearly_returns(equity, start).reindex(out.index)
    return out
