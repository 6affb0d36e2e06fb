"""Plain readings of a backtest's headline metrics: ``"Sharpe 1.50: good risk-adjusted return"``.

Each headline metric has a :class:`Scale`: its name (and a jargon-free name), how its number is written, and
ordered :class:`Band`\\ s, each from its ``low`` bound (inclusive) up to the next band's. A reading names the
number, the verdict of the band it falls in and the band's range, so that the reader sees the threshold it was
judged by. The bands are declared once, in :data:`SCALES`; where a band is a convention rather than a result,
the scale's ``reference`` says so.

Numbers are written as the metrics' units suggest: fractions as percentages (``25.0%``), ratios with two
decimals, counts as whole numbers. A metric that is missing or NaN reads ``"not available"``.

>>> readings({"sharpe_ratio": 1.5})["sharpe_ratio"]
'Sharpe ratio 1.50: good risk-adjusted return (1.00 to 2.00 is good)'
>>> readings({"sharpe_ratio": 1.5}, plain=True)["sharpe_ratio"]
'Return for the risk taken 1.50: good, gains were steady for the ups and downs (1.00 to 2.00 is good)'
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Real
from typing import Literal

__all__ = ["SCALES", "Band", "Scale", "band", "band_bounds", "band_range", "format_value", "reading", "readings"]

Format = Literal["percent", "ratio", "count", "loss", "cash"]


def format_value(value: float, kind: Format) -> str:
    """Write ``value`` as ``kind`` does: ``percent`` 0.25 -> ``25.0%``, ``loss`` -0.25 -> ``25.0%`` (its size),
    ``ratio`` -> two decimals, ``count`` -> a whole number, ``cash`` -> two decimals, both with thousands
    separators.

    >>> format_value(-0.25, "loss"), format_value(1.5, "ratio"), format_value(1234, "count")
    ('25.0%', '1.50', '1,234')
    """
    if kind == "percent":
        return f"{value:.1%}"
    if kind == "loss":
        return f"{abs(value):.1%}"
    if kind == "count":
        return f"{round(value):,d}"
    if kind == "cash":
        return f"{value:,.2f}"
    return f"{value:.2f}"


@dataclass(frozen=True, slots=True)
class Band:
    """From ``low`` (inclusive) up to the next band's ``low``: a one-word ``verdict`` and what it means."""

    low: float
    verdict: str
    text: str    # after the verdict, in the metric's own terms (may be empty)
    plain: str   # after the verdict, without jargon


@dataclass(frozen=True, slots=True)
class Scale:
    """How one metric is read: names, number format, bands in ascending order of ``low``."""

    metric: str
    name: str
    plain_name: str
    kind: Format
    bands: tuple[Band, ...]
    reference: str


_INF = math.inf
_THUMB = "a practitioners' rule of thumb, not a statistical test"

#: Every headline metric's scale, in report order.
SCALES: dict[str, Scale] = {s.metric: s for s in (
    Scale("sharpe_ratio", "Sharpe ratio", "Return for the risk taken", "ratio", (
        Band(-_INF, "negative", "risk-adjusted return: it lost money", "it lost money"),
        Band(0.0, "weak", "risk-adjusted return", "gains were small for the ups and downs"),
        Band(0.5, "modest", "risk-adjusted return", "gains were moderate for the ups and downs"),
        Band(1.0, "good", "risk-adjusted return", "gains were steady for the ups and downs"),
        Band(2.0, "very good", "risk-adjusted return", "gains were very steady for the ups and downs"),
        Band(3.0, "suspiciously high", "risk-adjusted return: check for look-ahead or overfitting",
             "results this smooth are rare; check the test for mistakes"),
    ), f"annualised Sharpe bands, {_THUMB}"),
    Scale("sortino_ratio", "Sortino ratio", "Return for the downside risk taken", "ratio", (
        Band(-_INF, "negative", "downside-adjusted return: it lost money", "it lost money"),
        Band(0.0, "weak", "downside-adjusted return", "gains were small for the falls"),
        Band(1.0, "good", "downside-adjusted return", "gains were steady for the falls"),
        Band(2.0, "very good", "downside-adjusted return", "gains were large for the falls"),
        Band(3.0, "suspiciously high", "downside-adjusted return: check for look-ahead or overfitting",
             "results this smooth are rare; check the test for mistakes"),
    ), f"annualised Sortino bands, {_THUMB}"),
    Scale("max_drawdown", "Maximum drawdown", "Worst fall from a peak", "loss", (
        Band(-_INF, "severe", "drawdown", "few people sit through a fall this deep"),
        Band(-0.35, "deep", "drawdown", "a painful fall in a bad period"),
        Band(-0.20, "moderate", "drawdown", "a noticeable fall in a bad period"),
        Band(-0.10, "mild", "drawdown", "a small fall in a bad period"),
    ), f"drawdown depths, {_THUMB}"),
    Scale("win_rate", "Win rate", "Share of winning trades", "percent", (
        Band(-_INF, "low", "win rate: the winners must be much larger than the losers",
             "most trades lost, so the winners must be much larger"),
        Band(0.4, "moderate", "win rate", "about as many trades won as lost"),
        Band(0.6, "high", "win rate: check that the losers are not much larger than the winners",
             "most trades won; check the losers are not much larger"),
    ), f"win-rate bands, {_THUMB}; a win rate means little without the profit factor"),
    Scale("profit_factor", "Profit factor", "Money won per unit of money lost", "ratio", (
        Band(-_INF, "losing", "profit factor: gross losses exceed gross profits",
             "the trades lost more than they won"),
        Band(1.0, "thin", "profit factor: a small edge that costs can erase",
             "the trades won a little more than they lost"),
        Band(1.5, "good", "profit factor", "the trades won clearly more than they lost"),
        Band(2.0, "strong", "profit factor", "the trades won at least twice what they lost"),
    ), f"profit-factor bands, {_THUMB}"),
    Scale("total_return", "Total return", "Overall gain", "percent", (
        Band(-_INF, "a loss", "over the run", "the account shrank"),
        Band(0.0, "a gain", "over the run", "the account grew"),
    ), "the sign of the return"),
    Scale("cagr", "CAGR", "Yearly growth", "percent", (
        Band(-_INF, "negative", "compound annual growth", "the account shrank each year on average"),
        Band(0.0, "low", "compound annual growth", "the account grew slowly"),
        Band(0.05, "moderate", "compound annual growth", "the account grew at a moderate pace"),
        Band(0.15, "high", "compound annual growth", "the account grew fast"),
    ), f"annual growth bands, {_THUMB}"),
    Scale("exposure", "Exposure", "Time in the market", "percent", (
        Band(-_INF, "low", "exposure: mostly in cash", "mostly out of the market, in cash"),
        Band(0.2, "part-time", "exposure", "in the market part of the time"),
        Band(0.9, "high", "exposure: close to always invested", "almost always in the market"),
    ), "exposure bands, a convention of this package"),
    Scale("closed_trades", "Closed trades", "Finished trades", "count", (
        Band(-_INF, "too few to trust", "", "too few to tell skill from luck"),
        Band(30.0, "enough for a first look", "", "enough for a first judgement"),
        Band(100.0, "a solid sample", "", "enough to judge with some confidence"),
    ), "30 observations: the usual rule of thumb for a sample mean to be near normal (central limit theorem)"),
    Scale("probabilistic_sharpe_ratio", "Probabilistic Sharpe ratio", "Chance the edge is real", "ratio", (
        Band(-_INF, "likely no skill", "", "more likely luck than skill"),
        Band(0.5, "not significant", "", "could well be luck"),
        Band(0.95, "significant", "at 95 % confidence that the true Sharpe ratio is above zero",
             "unlikely to be luck alone"),
    ), "95 % confidence, Bailey & López de Prado (2012), The Sharpe ratio efficient frontier"),
)}


def band(metric: str, value: float) -> Band:
    """The band of :data:`SCALES` ``[metric]`` that ``value`` (finite) falls in."""
    bands = SCALES[metric].bands
    return next(b for b in reversed(bands) if value >= b.low)


def band_bounds(metric: str, chosen: Band) -> tuple[float, float]:
    """``(low, high)`` of a band of ``metric``'s scale: from its ``low`` up to the next band's (or +inf)."""
    bands = SCALES[metric].bands
    i = bands.index(chosen)
    return chosen.low, (bands[i + 1].low if i + 1 < len(bands) else _INF)


def band_range(metric: str, chosen: Band) -> str:
    """``"1.00 to 2.00"``, ``"below 0.00"`` or ``"3.00 or more"``: the band's bounds in the scale's format
    (a drawdown's as losses: ``"losing 20.0% to 35.0%"``)."""
    scale = SCALES[metric]
    high = band_bounds(metric, chosen)[1]
    if scale.kind == "loss":  # bands rise towards shallower drawdowns; say them as losses
        if chosen.low == -_INF:
            return f"losing over {format_value(high, 'loss')}"
        if high == _INF:
            return f"losing under {format_value(chosen.low, 'loss')}"
        return f"losing {format_value(high, 'loss')} to {format_value(chosen.low, 'loss')}"
    if chosen.low == -_INF:
        return f"below {format_value(high, scale.kind)}"
    if high == _INF:
        return f"{format_value(chosen.low, scale.kind)} or more"
    return f"{format_value(chosen.low, scale.kind)} to {format_value(high, scale.kind)}"


def reading(metric: str, value: float | None, *, plain: bool = False) -> str:
    """One metric's reading: its name, number, verdict and the range of its band (see the module docstring)."""
    scale = SCALES[metric]
    name = scale.plain_name if plain else scale.name
    if value is None or not math.isfinite(value):
        return f"{name}: not available"
    chosen = band(metric, value)
    said = chosen.plain if plain else chosen.text
    joined = (", " if plain else " ") + said if said else ""
    bounds = f"({band_range(metric, chosen)} is {chosen.verdict})"
    return f"{name} {format_value(value, scale.kind)}: {chosen.verdict}{joined} {bounds}"


def readings(stats: Mapping[str, object], *, plain: bool = False) -> dict[str, str]:
    """A plain reading of each headline metric of ``stats`` (a :attr:`Result.stats` or a mapping), by key.

    Metrics absent from ``stats`` are left out; present but NaN (or not a number) reads ``"not available"``.
    ``plain=True`` writes them without jargon.
    """
    out = {}
    for metric in SCALES:
        if metric in stats:
            value = stats[metric]
            number = float(value) if isinstance(value, Real) and not isinstance(value, bool) else None
            out[metric] = reading(metric, number, plain=plain)
    return out
