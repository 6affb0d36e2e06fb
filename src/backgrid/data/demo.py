"""Demo markets: deterministic, realistic one-minute bars for examples, docs and tests.

**THE DATA IS SYNTHETIC.** It is simulated from a seed, looks and behaves like a
real market, and is not a record of any real price. Every series is marked
``source="demo"`` and ``synthetic=True``. Never draw conclusions about a real
market from it.

Symbols (:data:`DEMO_SYMBOLS` holds every parameter; :class:`DemoSpec` explains each):

=============  =========  =====  ==============  ======  =============  ========  ===========
symbol         calendar   vol    drift up/down   jumps   jump size      gap vol   start price
=============  =========  =====  ==============  ======  =============  ========  ===========
DEMO-BTC       crypto     0.66   +1.8 / -2.0     10/yr   2.5%           -         14,000
DEMO-ETH       crypto     0.80   +2.2 / -2.4     10/yr   3.0%           -         750
DEMO-SPY       us-equity  0.14   +0.35 / -0.5    3/yr    1.0%           0.55%     268
DEMO-EURUSD    fx         0.065  +0.10 / -0.10   3/yr    0.5%           0.2%      1.20
=============  =========  =====  ==============  ======  =============  ========  ===========

``vol`` is the annual volatility of trading-hours returns before jumps and gaps
(realised daily-close volatility comes out near 70%, 85%, 17% and 7%). DEMO-ETH
shares DEMO-BTC's regime path and shocks (loading 0.85, one-minute return
correlation about 0.8). Every symbol has Student-t(5) innovations; the crypto
symbols have regimes of mean 45/70/40 days (range/up/down), DEMO-SPY 40/90/30,
DEMO-EURUSD 50/50/50. :func:`generate_states` returns the hidden regime,
variance and jumps behind a series: ground truth for testing analysis code.

The model, bar by bar (one bar per trading minute of the symbol's calendar):

* **Regimes.** A Markov chain over calendar days (UTC) switches between
  ``Regime.RANGE``, ``UP`` and ``DOWN``; on leaving a regime the next is one of
  the other two with equal odds. A regime lasts ``10 + Exponential`` days with
  mean ``regime_days`` (per regime): weeks to months. ``UP``/``DOWN`` add the
  annual log drift ``up_drift``/``down_drift``; ``RANGE`` pulls the log price
  back to where the range started (half-life ``range_half_life_days`` trading
  days). Each regime scales volatility by ``regime_vol`` (down-trends are wilder).
* **Volatility clustering.** A GARCH(1,1) variance multiplier
  ``v <- (1 - alpha - beta) + (alpha * eps² + beta) * v`` with mean 1, where
  ``alpha = garch_alpha`` and ``alpha + beta`` gives shocks a half-life of
  ``vol_half_life_days`` trading days.
* **Fat tails.** Innovations ``eps`` are Student-t with ``tail_df`` degrees of
  freedom, scaled to unit variance. A symbol with a ``factor`` mixes the
  factor's normal draw with its own (weight ``factor_loading``) over the
  factor's chi-square draw: a multivariate t, so the two crash together.
* **Returns.** ``log return = drift + sigma * season * regime_vol * sqrt(v) * eps
  (+ jump)``, ``sigma = annual_vol / sqrt(bars per year)``. ``season`` is an
  intraday volatility profile: a U over the US session, a daily cycle peaking
  in European/US hours (UTC) for crypto and FX, quieter crypto weekends.
* **Jumps.** Poisson arrivals, ``jumps_per_year``; log size
  ``±jump_size * (0.5 + 0.5 * Exponential)``, either sign with equal odds, inside
  one bar. A jump persists (the range anchor moves with it), volume spikes
  five-fold, and variance doubles afterwards.
* **Gaps.** The first bar after a closure (each US session; Monday for FX)
  opens away from the last close by a Student-t draw of scale
  ``gap_vol * regime_vol * sqrt(v)``. Elsewhere a bar opens at the previous close.
* **No spikes.** When a close-to-close move exceeds six deviations (the smaller
  of its bar's and a 100-bar running deviation of recent moves), the next bar
  never takes back more than 45% of it: its innovation (then jump, then gap) is
  mirrored instead. Real large moves persist, so :mod:`backgrid.data.validate`
  finds no spikes; this touches a handful of bars in a decade.
* **Bars.** High and low extend ``max``/``min(open, close)`` by ``0.4 * bar
  deviation * Exponential`` (independent draws); prices round to
  ``price_decimals``. Volume is ``volume_per_minute`` times an intraday profile
  (U-shaped over the US session, peaking in European/US hours for crypto and
  FX), the volatility level, ``(0.6 + 0.4 |eps|)`` and log-normal noise, rounded
  to ``volume_decimals`` and never below one lot.

Determinism: the path is simulated from ``DEMO_EPOCH`` (2018-01-01 UTC), so any
window equals the same slice of a longer run. Every random number comes from
``numpy.random.default_rng([seed, crc32(name), stream])`` streams, drawn up front
and vectorised; streams whose length depends on the window are drawn
sequentially, so a longer window only appends draws. Same ``(symbol, start,
end, seed)``, same bits. Holidays are not modelled (see
:mod:`backgrid.data.calendar`).

>>> bars = generate_minutes("DEMO-BTC", start="2021-01-01", end="2021-01-02")
>>> len(bars), bars.synthetic
(1440, True)
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, fields
from enum import IntEnum
from typing import Any

import numpy as np
import pandas as pd

from backgrid.data.bars import Bars
from backgrid.data.calendar import CALENDARS, DAY_NS, MINUTE_NS, Calendar, get_calendar
from backgrid.data.kernels import demo_nb as nb
from backgrid.data.timeframe import Timeframe
from backgrid.errors import DataError, SourceError

__all__ = [
    "DEMO_END",
    "DEMO_EPOCH",
    "DEMO_HORIZON",
    "DEMO_START",
    "DEMO_SYMBOLS",
    "DemoSpec",
    "DemoStates",
    "Regime",
    "generate_minutes",
    "generate_states",
]

#: First minute of every demo series; paths are simulated from here.
DEMO_EPOCH = "2018-01-01"
#: Demo data ends before this time.
DEMO_HORIZON = "2030-01-01"
#: Default window of :func:`generate_minutes`.
DEMO_START = "2021-01-01"
DEMO_END = "2025-01-01"

_EPOCH_NS = int(pd.Timestamp(DEMO_EPOCH, tz="UTC").value)
_HORIZON_NS = int(pd.Timestamp(DEMO_HORIZON, tz="UTC").value)
_EPOCH_DAY = _EPOCH_NS // DAY_NS
_HORIZON_DAYS = (_HORIZON_NS - _EPOCH_NS) // DAY_NS + 2  # rows of the per-day draws (+1 for local dates)
_HORIZON_YEARS = _HORIZON_DAYS / 365.25
_MIN_REGIME_DAYS = 10
_SEGMENTS = _HORIZON_DAYS // _MIN_REGIME_DAYS + 1  # enough regimes to cover the horizon, whatever the draws
_STREAMS = ("innovation", "tail", "wick", "volume", "regime", "jump", "gap")

_WICK = 0.4  # mean wick beyond max/min(open, close), in bar deviations (a Brownian bar gives ~0.4)
_REVERSAL_K = 6.0  # moves beyond this many bar deviations are never half taken back by the next bar
_JUMP_BOOST = 2.0  # variance multiplier after a jump
_JUMP_VOLUME = 5.0  # volume multiplier on a jump bar


class Regime(IntEnum):
    """Drift regime of a demo market."""

    RANGE = nb.RANGE
    UP = nb.UP
    DOWN = nb.DOWN


@dataclass(frozen=True, slots=True)
class DemoSpec:
    """Parameters of one demo market (the module docstring explains the model).

    Annual figures are in log-return units per year of trading time; ``*_days``
    count trading days of the symbol's calendar, except ``regime_days`` (calendar
    days). Per-regime tuples are ordered ``(range, up, down)``.

    Attributes:
        name: The symbol, ``DEMO-...``.
        calendar: Name of its trading calendar (``crypto``, ``us-equity``, ``fx``).
        start_price: Price at ``DEMO_EPOCH``.
        annual_vol: Volatility of trading-hours returns per year (before jumps and gaps).
        up_drift: Annual log drift in ``UP`` regimes.
        down_drift: Annual log drift in ``DOWN`` regimes (negative).
        regime_days: Mean duration of each regime, at least 10 days.
        regime_vol: Volatility multiplier of each regime.
        range_half_life_days: Half-life of the pull back to the range's start in ``RANGE``.
        garch_alpha: Weight of the newest squared innovation in the variance, per bar.
        vol_half_life_days: Half-life of a variance shock (sets ``garch_beta``).
        tail_df: Degrees of freedom of the Student-t innovations (> 2; lower is fatter).
        jumps_per_year: Poisson rate of jumps.
        jump_size: Mean absolute log size of a jump.
        gap_vol: Scale of the log gap after a market closure (0 for 24/7 markets).
        volume_per_minute: Typical volume of one bar.
        price_decimals: Decimals prices are rounded to (the tick).
        volume_decimals: Decimals volumes are rounded to (the lot).
        factor: Symbol whose regime path and shocks this one shares, or ``None``.
        factor_loading: Weight of the factor's shocks in this symbol's (1 = the factor itself).
        description: One line for humans.
    """

    name: str
    calendar: str
    start_price: float
    annual_vol: float
    up_drift: float
    down_drift: float
    regime_days: tuple[float, float, float]
    regime_vol: tuple[float, float, float]
    range_half_life_days: float
    garch_alpha: float
    vol_half_life_days: float
    tail_df: float
    jumps_per_year: float
    jump_size: float
    gap_vol: float
    volume_per_minute: float
    price_decimals: int
    volume_decimals: int
    factor: str | None = None
    factor_loading: float = 1.0
    description: str = ""

    def __post_init__(self) -> None:
        if self.calendar not in CALENDARS:
            known = ", ".join(CALENDARS)
            msg = f"demo spec {self.name!r}: calendar {self.calendar!r} is unknown; expected one of {known}"
            raise DataError(msg)
        positive = ("start_price", "annual_vol", "range_half_life_days", "vol_half_life_days", "volume_per_minute")
        non_negative = ("garch_alpha", "jumps_per_year", "jump_size", "gap_vol")
        for f in fields(self):
            value = getattr(self, f.name)
            if (f.name in positive and not value > 0) or (f.name in non_negative and not value >= 0):
                bound = "> 0" if f.name in positive else ">= 0"
                msg = f"demo spec {self.name!r}: {f.name} must be {bound}, got {value!r}"
                raise DataError(msg)
        if not self.tail_df > 2:  # a Student-t needs df > 2 for a variance
            msg = f"demo spec {self.name!r}: tail_df must be > 2, got {self.tail_df!r}"
            raise DataError(msg)
        if len(self.regime_days) != 3 or min(self.regime_days) < _MIN_REGIME_DAYS:
            msg = (f"demo spec {self.name!r}: regime_days must be 3 mean durations >= {_MIN_REGIME_DAYS}, "
                   f"got {self.regime_days!r}")
            raise DataError(msg)
        if len(self.regime_vol) != 3 or min(self.regime_vol) <= 0:
            msg = f"demo spec {self.name!r}: regime_vol must be 3 positive multipliers, got {self.regime_vol!r}"
            raise DataError(msg)
        if not 0 < self.factor_loading <= 1:
            msg = f"demo spec {self.name!r}: factor_loading must be in (0, 1], got {self.factor_loading!r}"
            raise DataError(msg)
        if self.garch_beta < 0:
            msg = (f"demo spec {self.name!r}: garch_alpha {self.garch_alpha!r} exceeds the persistence implied by "
                   f"vol_half_life_days {self.vol_half_life_days!r}")
            raise DataError(msg)

    @property
    def bars_per_year(self) -> float:
        """Trading minutes in an average year of the symbol's calendar."""
        cal = get_calendar(self.calendar)
        days = 365.25 * (1.0 if cal.continuous else len(cal.weekdays) / 7.0)
        return days * cal.session_minutes

    @property
    def garch_beta(self) -> float:
        """The GARCH ``beta`` per bar: ``alpha + beta`` halves a shock in ``vol_half_life_days``."""
        bars = self.vol_half_life_days * get_calendar(self.calendar).session_minutes
        return float(0.5 ** (1.0 / bars) - self.garch_alpha)


_CRYPTO_REGIME_DAYS = (45.0, 70.0, 40.0)  # DEMO-ETH shares DEMO-BTC's regime path, so they must agree
_CRYPTO_REGIME_VOL = (0.85, 0.95, 1.25)

#: The demo markets, by symbol.
DEMO_SYMBOLS: dict[str, DemoSpec] = {
    spec.name: spec
    for spec in (
        DemoSpec("DEMO-BTC", "crypto", start_price=14_000.0, annual_vol=0.66, up_drift=1.8, down_drift=-2.0,
                 regime_days=_CRYPTO_REGIME_DAYS, regime_vol=_CRYPTO_REGIME_VOL,
                 range_half_life_days=4.0, garch_alpha=0.004, vol_half_life_days=3.0,
                 tail_df=5.0, jumps_per_year=10.0, jump_size=0.025, gap_vol=0.0, volume_per_minute=25.0,
                 price_decimals=2, volume_decimals=4, description="Bitcoin-like crypto, 24/7"),
        DemoSpec("DEMO-ETH", "crypto", start_price=750.0, annual_vol=0.80, up_drift=2.2, down_drift=-2.4,
                 regime_days=_CRYPTO_REGIME_DAYS, regime_vol=_CRYPTO_REGIME_VOL,
                 range_half_life_days=4.0, garch_alpha=0.004, vol_half_life_days=3.0,
                 tail_df=5.0, jumps_per_year=10.0, jump_size=0.03, gap_vol=0.0, volume_per_minute=250.0,
                 price_decimals=2, volume_decimals=4, factor="DEMO-BTC", factor_loading=0.85,
                 description="Ether-like crypto, driven by DEMO-BTC's regimes and shocks"),
        DemoSpec("DEMO-SPY", "us-equity", start_price=268.0, annual_vol=0.14, up_drift=0.35, down_drift=-0.5,
                 regime_days=(40.0, 90.0, 30.0), regime_vol=(0.85, 0.85, 1.45), range_half_life_days=5.0,
                 garch_alpha=0.006, vol_half_life_days=5.0, tail_df=5.0, jumps_per_year=3.0, jump_size=0.01,
                 gap_vol=0.0055, volume_per_minute=150_000.0, price_decimals=2, volume_decimals=0,
                 description="S&P 500 ETF-like equity, regular US sessions"),
        DemoSpec("DEMO-EURUSD", "fx", start_price=1.2, annual_vol=0.065, up_drift=0.10, down_drift=-0.10,
                 regime_days=(50.0, 50.0, 50.0), regime_vol=(0.85, 1.0, 1.12), range_half_life_days=6.0,
                 garch_alpha=0.004, vol_half_life_days=3.0, tail_df=5.0, jumps_per_year=3.0, jump_size=0.005,
                 gap_vol=0.002, volume_per_minute=120.0, price_decimals=5, volume_decimals=0,
                 description="Euro/dollar-like FX pair, tick volume"),
    )
}


@dataclass(frozen=True, slots=True)
class DemoStates:
    """The hidden state behind a demo series, bar by bar (ground truth for analysis tests).

    ``regime`` holds :class:`Regime` codes (int8); ``variance`` the GARCH multiplier
    in force on the bar (1.0 means the symbol's ``annual_vol``); ``jump`` the log
    jump inside the bar (0.0 on most bars).
    """

    symbol: str
    ts: np.ndarray
    regime: np.ndarray
    variance: np.ndarray
    jump: np.ndarray


def generate_minutes(symbol: str, *, start: Any = DEMO_START, end: Any = DEMO_END, seed: int = 7) -> Bars:
    """Return SYNTHETIC one-minute bars of a demo market, open times in ``[start, end)``.

    Bounds are anything pandas parses (UTC when naive) within ``DEMO_EPOCH`` ..
    ``DEMO_HORIZON``. The same arguments always give bit-identical bars.

    >>> bars = generate_minutes("DEMO-SPY", start="2024-03-11", end="2024-03-12")
    >>> str(bars.index[0].tz_convert("America/New_York").time()), len(bars)
    ('09:30:00', 390)
    """
    spec, lo, hi = _request(symbol, start, end, seed)
    path = _simulate(spec, seed, hi, states=False)
    first = int(np.searchsorted(path["ts"], lo))
    ts, o, h, low, c, v = (_tail(path[k], first) for k in ("ts", "open", "high", "low", "close", "volume"))
    return Bars(symbol=spec.name, timeframe=Timeframe.parse("1m"), ts=ts, open=o, high=h, low=low, close=c,
                volume=v, calendar=get_calendar(spec.calendar), source="demo", synthetic=True)


def generate_states(symbol: str, *, start: Any = DEMO_START, end: Any = DEMO_END, seed: int = 7) -> DemoStates:
    """Return the hidden regimes, variance and jumps behind :func:`generate_minutes` (same arguments)."""
    spec, lo, hi = _request(symbol, start, end, seed)
    path = _simulate(spec, seed, hi, states=True)
    first = int(np.searchsorted(path["ts"], lo))
    return DemoStates(spec.name, *(_tail(path[k], first) for k in ("ts", "regime", "variance", "jump")))


# -- requests -----------------------------------------------------------------------------------
def _request(symbol: str, start: Any, end: Any, seed: int) -> tuple[DemoSpec, int, int]:
    spec = DEMO_SYMBOLS.get(symbol) if isinstance(symbol, str) else None
    if spec is None:
        msg = f"demo symbol {symbol!r} is unknown; available: {', '.join(DEMO_SYMBOLS)}"
        raise SourceError(msg)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        msg = f"seed must be an integer >= 0, got {seed!r}"
        raise DataError(msg)
    lo, hi = _to_ns(start, "start"), _to_ns(end, "end")
    if lo >= hi:
        msg = f"start {start!r} must be before end {end!r}"
        raise DataError(msg)
    if lo < _EPOCH_NS or hi > _HORIZON_NS:
        msg = (f"demo data covers {DEMO_EPOCH} to {DEMO_HORIZON} (UTC); requested {start!r} to {end!r}")
        raise SourceError(msg)
    return spec, lo, hi


def _to_ns(value: Any, name: str) -> int:
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        msg = f"{name} must be a date or time, got {value!r}"
        raise DataError(msg) from exc
    if pd.isna(stamp):
        msg = f"{name} must be a date or time, got {value!r}"
        raise DataError(msg)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return int(stamp.as_unit("ns").value)


def _tail(values: np.ndarray, first: int) -> np.ndarray:
    # a window late in a long run should not keep the whole run alive
    return values[first:].copy() if first else values


def _rng(seed: int, owner: str, stream: str) -> np.random.Generator:
    return np.random.default_rng([int(seed), zlib.crc32(owner.encode()), _STREAMS.index(stream)])


# -- simulation ---------------------------------------------------------------------------------
def _simulate(spec: DemoSpec, seed: int, end_ns: int, *, states: bool) -> dict[str, np.ndarray]:
    cal = get_calendar(spec.calendar)
    owner = DEMO_SYMBOLS[spec.factor] if spec.factor else spec
    line = _timeline(cal, end_ns, _regime_path(seed, owner))
    n = line["ts"].size
    bars_per_year = spec.bars_per_year
    df = spec.tail_df
    z_common = _rng(seed, owner.name, "innovation").standard_normal(n)
    chi = _rng(seed, owner.name, "tail").standard_gamma(df / 2.0, n)
    z_own = _rng(seed, spec.name, "innovation").standard_normal(n) if spec.factor_loading < 1 else z_common
    wick = _rng(seed, spec.name, "wick").standard_exponential((n, 2))
    noise = _rng(seed, spec.name, "volume").standard_normal(n)
    gap_rng = _rng(seed, spec.name, "gap")
    gap_z = gap_rng.standard_normal(_HORIZON_DAYS) * np.sqrt((df - 2.0) / 2.0 / gap_rng.standard_gamma(df / 2.0,
                                                                                                      _HORIZON_DAYS))
    jump_at, jump_size = _jumps(seed, spec, n, line["gap_at"])
    vol_table, volume_table = _profiles(cal)
    drift = np.array([0.0, spec.up_drift, spec.down_drift]) / bars_per_year
    out = {k: np.empty(n) for k in ("open", "high", "low", "close", "volume")}
    out["variance"] = np.empty(n if states else 0)
    out["jump"] = np.zeros(n if states else 0)
    session = cal.session_minutes
    nb.simulate_nb(
        z_common, z_own, chi, wick, noise, line["slot"], line["regime"], line["gap_at"],
        gap_z[line["gap_row"]], jump_at, jump_size, vol_table, volume_table, drift,
        np.asarray(spec.regime_vol, dtype=np.float64),
        math.log(spec.start_price), spec.factor_loading, (df - 2.0) / 2.0, spec.annual_vol / math.sqrt(bars_per_year),
        math.log(2.0) / (spec.range_half_life_days * session), spec.garch_alpha, spec.garch_beta, spec.gap_vol,
        _JUMP_BOOST, _WICK, _REVERSAL_K, _JUMP_VOLUME, spec.volume_per_minute, 10.0**spec.price_decimals,
        10.0**spec.volume_decimals, out["open"], out["high"], out["low"], out["close"], out["volume"],
        out["variance"], out["jump"],
    )
    return {"ts": line["ts"], "regime": line["regime"], **out}


def _timeline(cal: Calendar, end_ns: int, regime_by_day: np.ndarray) -> dict[str, np.ndarray]:
    """Trading minutes from the epoch to ``end_ns`` with their seasonal slot, regime and session gaps."""
    length = cal.session_minutes
    days = np.arange(_EPOCH_DAY, end_ns // DAY_NS + 1, dtype=np.int64)
    weekday = (days + 3) % 7  # 1970-01-01 was a Thursday
    days = days[np.isin(weekday, cal.weekdays)]
    local_open = days * DAY_NS + cal.open_minute * MINUTE_NS
    opens = local_open
    if cal.tz != "UTC":
        opens = np.asarray(pd.DatetimeIndex(local_open).tz_localize(cal.tz).tz_convert("UTC").asi8, dtype=np.int64)
    count = int(np.searchsorted(opens, end_ns))
    days, opens = days[:count], opens[:count]
    ts = (opens[:, None] + np.arange(length, dtype=np.int64) * MINUTE_NS).ravel()
    n = int(np.searchsorted(ts, end_ns))
    weekend = ((days + 3) % 7 >= 5).astype(np.int32) * length
    slot = (np.arange(length, dtype=np.int32)[None, :] + weekend[:, None]).ravel()[:n]
    regime = np.repeat(regime_by_day[days - _EPOCH_DAY], length)[:n]
    gap_row = np.flatnonzero(np.diff(opens) != length * MINUTE_NS) + 1  # sessions that open after a closure
    gap_at = gap_row * length
    keep = gap_at < n
    return {"ts": ts[:n], "slot": slot, "regime": regime, "gap_at": gap_at[keep], "gap_row": gap_row[keep]}


def _regime_path(seed: int, owner: DemoSpec) -> np.ndarray:
    """Regime of every calendar day from the epoch to the horizon (a fixed number of draws)."""
    draws = _rng(seed, owner.name, "regime").random((_SEGMENTS, 2))
    out = np.empty(_HORIZON_DAYS, dtype=np.int8)
    state = int(draws[0, 0] * 3)
    pos = 0
    for k in range(_SEGMENTS):
        if k:
            state = (state + 1 + int(draws[k, 0] >= 0.5)) % 3  # one of the other two, equal odds
        extra = owner.regime_days[state] - _MIN_REGIME_DAYS
        days = _MIN_REGIME_DAYS + round(-math.log1p(-draws[k, 1]) * extra)
        out[pos:pos + days] = state
        pos += days
        if pos >= _HORIZON_DAYS:
            break
    return out


def _jumps(seed: int, spec: DemoSpec, n: int, gap_at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bars and log sizes of the jumps: Poisson arrivals, never at or just after a session gap."""
    count = int(spec.jumps_per_year * _HORIZON_YEARS * 2) + 64
    draws = _rng(seed, spec.name, "jump").random((count, 3))
    if spec.jumps_per_year == 0:
        return np.empty(0, np.int64), np.empty(0)
    wait = -np.log1p(-draws[:, 0]) * (spec.bars_per_year / spec.jumps_per_year)
    at = np.floor(np.cumsum(wait)).astype(np.int64)
    size = np.where(draws[:, 1] < 0.5, -1.0, 1.0) * spec.jump_size * (0.5 - 0.5 * np.log1p(-draws[:, 2]))
    keep = (at >= 1) & (at < n) & ~np.isin(at, gap_at) & ~np.isin(at - 1, gap_at)
    at, size = at[keep], size[keep]
    spaced = np.ones(at.size, dtype=bool)
    last = -10
    for k, position in enumerate(at.tolist()):  # a few dozen: a loop is clearest
        spaced[k] = position - last > 2
        if spaced[k]:
            last = position
    return at[spaced], size[spaced]


def _profiles(cal: Calendar) -> tuple[np.ndarray, np.ndarray]:
    """Intraday volatility and volume profiles: rows ``slot`` = minute of session (+ length on weekends).

    Volatility is scaled to a mean square of 1 and volume to a mean of 1 over a week.
    """
    length = cal.session_minutes
    m = np.arange(length) + 0.5
    hour = (cal.open_minute + m) / 60.0
    weekend_vol = weekend_volume = 1.0
    if cal.name == "us-equity":
        left = length - m
        volume = 1 + 5 * np.exp(-m / 8) + np.exp(-m / 60) + 0.8 * np.exp(-left / 45) + 3 * np.exp(-left / 4)
        vol = 1 + 1.2 * np.exp(-m / 25) + 0.3 * np.exp(-left / 30)
    elif cal.name == "fx":  # Tokyo, London, and the London/New York overlap
        volume = 0.35 + sum(w * np.exp(-(((hour - c) / 2.5) ** 2)) for w, c in ((0.25, 1.0), (0.9, 8.5), (1.3, 14.5)))
        vol = np.sqrt(volume)
    else:  # crypto: busiest in European/US hours, quieter at weekends
        cycle = np.cos(2 * np.pi * (hour - 15.0) / 24.0)
        volume, vol = 1 + 0.5 * cycle, 1 + 0.25 * cycle
        weekend_vol, weekend_volume = 0.8, 0.6
    weekdays = sum(1 for d in cal.weekdays if d < 5)
    weekends = len(cal.weekdays) - weekdays
    vol_table = np.concatenate([vol, vol * weekend_vol])
    volume_table = np.concatenate([volume, volume * weekend_volume])
    weights = np.repeat([weekdays, weekends], length).astype(np.float64)
    vol_table /= np.sqrt(np.average(vol_table**2, weights=weights))
    volume_table /= np.average(volume_table, weights=weights)
    return vol_table, volume_table
