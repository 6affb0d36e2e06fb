"""Tests of the synthetic demo markets: determinism, calendars, valid bars and the stylized facts."""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
import pytest

from backgrid.data import demo
from backgrid.data.bars import Bars
from backgrid.data.calendar import DAY_NS, MINUTE_NS, local_nanos
from backgrid.data.demo import DEMO_SYMBOLS, DemoStates, Regime, generate_minutes, generate_states
from backgrid.data.kernels import demo_nb
from backgrid.data.validate import RawColumns, ValidationPolicy, check_columns
from backgrid.errors import DataError, SourceError

SYMBOLS = ("DEMO-BTC", "DEMO-ETH", "DEMO-SPY", "DEMO-EURUSD")
SPAN = {"start": "2018-01-01", "end": "2019-07-01"}  # 18 months: enough for the statistics, cheap to make
LONG = {"start": "2018-01-01", "end": "2024-01-01"}  # six years: a few dozen regimes and jumps


@pytest.fixture(scope="module")
def span() -> dict[str, Bars]:
    return {s: generate_minutes(s, **SPAN) for s in SYMBOLS}


@pytest.fixture(scope="module")
def btc_long() -> tuple[Bars, DemoStates]:
    return generate_minutes("DEMO-BTC", **LONG), generate_states("DEMO-BTC", **LONG)


def _session_starts(b: Bars) -> np.ndarray:
    """Rows that open after a closure."""
    return np.flatnonzero(np.diff(b.ts) > MINUTE_NS) + 1


def _intraday_returns(b: Bars) -> np.ndarray:
    """One-minute log returns, leaving out the ones across a closure."""
    r = np.diff(np.log(b.close))
    return np.delete(r, _session_starts(b) - 1)


def _daily_closes(b: Bars) -> np.ndarray:
    """Last close of each local trading day."""
    day = local_nanos(b.ts, b.calendar.tz) // DAY_NS
    return b.close[np.r_[np.flatnonzero(np.diff(day)), day.size - 1]]


def _acf(x: np.ndarray, lags: range) -> np.ndarray:
    x = x - x.mean()
    return np.array([np.dot(x[:-k], x[k:]) for k in lags]) / np.dot(x, x)


def _excess_kurtosis(x: np.ndarray) -> float:
    x = x - x.mean()
    return float(np.mean(x**4) / np.mean(x**2) ** 2 - 3.0)


# -- the catalogue and the API ------------------------------------------------------------------
def test_catalogue_covers_every_calendar_and_is_frozen() -> None:
    assert {s: DEMO_SYMBOLS[s].calendar for s in SYMBOLS} == {
        "DEMO-BTC": "crypto", "DEMO-ETH": "crypto", "DEMO-SPY": "us-equity", "DEMO-EURUSD": "fx"}
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEMO_SYMBOLS["DEMO-BTC"].annual_vol = 1.0  # type: ignore[misc]
    for spec in DEMO_SYMBOLS.values():
        if spec.factor:  # a symbol shares its factor's regime path and chi-square draws
            factor = DEMO_SYMBOLS[spec.factor]
            assert (spec.calendar, spec.regime_days, spec.tail_df) == (factor.calendar, factor.regime_days,
                                                                      factor.tail_df)


def test_module_docstring_table_matches_the_catalogue() -> None:
    table = (demo.__doc__ or "").split("symbol ")[1].split("``vol``")[0]
    rows = [line.split() for line in table.splitlines() if line.startswith("DEMO-")]
    assert [r[0] for r in rows] == list(DEMO_SYMBOLS)
    for row in rows:
        spec = DEMO_SYMBOLS[row[0]]
        assert (row[1], float(row[2]), float(row[-1].replace(",", ""))) == (spec.calendar, spec.annual_vol,
                                                                             spec.start_price)


def test_spec_rejects_impossible_parameters() -> None:
    with pytest.raises(DataError, match="garch_alpha"):
        dataclasses.replace(DEMO_SYMBOLS["DEMO-BTC"], garch_alpha=1.0)
    with pytest.raises(DataError, match="annual_vol must be > 0"):
        dataclasses.replace(DEMO_SYMBOLS["DEMO-BTC"], annual_vol=0.0)


@pytest.mark.parametrize("symbol", SYMBOLS)
def test_bars_are_labelled_synthetic(span: dict[str, Bars], symbol: str) -> None:
    b = span[symbol]
    assert (b.symbol, str(b.timeframe), b.source, b.synthetic) == (symbol, "1m", "demo", True)
    assert b.calendar.name == DEMO_SYMBOLS[symbol].calendar
    assert b.ts[0] >= np.datetime64("2018-01-01", "ns").astype(np.int64)
    assert b.ts[-1] < np.datetime64("2019-07-01", "ns").astype(np.int64)


# -- determinism --------------------------------------------------------------------------------
@pytest.mark.parametrize("symbol", ["DEMO-ETH", "DEMO-SPY"])
def test_same_arguments_give_identical_bits(symbol: str) -> None:
    args = {"start": "2018-03-01", "end": "2018-04-01", "seed": 11}
    a, b = generate_minutes(symbol, **args), generate_minutes(symbol, **args)
    for name in ("ts", "open", "high", "low", "close", "volume"):
        assert getattr(a, name).tobytes() == getattr(b, name).tobytes(), name
    other = generate_minutes(symbol, **{**args, "seed": 12})
    assert np.array_equal(a.ts, other.ts)
    assert not np.array_equal(a.close, other.close)


def test_a_window_is_the_slice_of_the_default_run() -> None:
    window = generate_minutes("DEMO-BTC", start="2022-01-01", end="2022-02-01")
    full = generate_minutes("DEMO-BTC")
    assert len(window) == 31 * 1440
    assert window.equals(full.slice("2022-01-01", "2022-02-01"))


@pytest.mark.parametrize("symbol", ["DEMO-SPY", "DEMO-EURUSD"])
def test_a_later_end_only_appends_bars(symbol: str) -> None:
    short = generate_minutes(symbol, start="2018-06-15 14:00", end="2018-08-01")
    longer = generate_minutes(symbol, start="2018-06-01", end="2018-10-01")
    assert short.equals(longer.slice("2018-06-15 14:00", "2018-08-01"))
    states = generate_states(symbol, start="2018-06-15 14:00", end="2018-08-01")
    assert np.array_equal(states.ts, short.ts)


# -- calendars ----------------------------------------------------------------------------------
def test_btc_has_every_minute(span: dict[str, Bars]) -> None:
    b = span["DEMO-BTC"]
    assert b.ts[0] == np.datetime64("2018-01-01", "ns").astype(np.int64)
    assert np.all(np.diff(b.ts) == MINUTE_NS)
    assert len(b) == 546 * 1440  # 2018-01-01 .. 2019-07-01


def test_spy_trades_new_york_sessions_across_dst(span: dict[str, Bars]) -> None:
    b = span["DEMO-SPY"]
    local = b.index.tz_convert("America/New_York")
    assert not np.any(local.day_of_week >= 5)
    starts = np.r_[0, _session_starts(b)]
    assert np.all(np.diff(np.r_[starts, len(b)]) == 390)
    assert set(local[starts].strftime("%H:%M")) == {"09:30"}
    assert set(local[np.r_[starts[1:], len(b)] - 1].strftime("%H:%M")) == {"15:59"}
    assert set(b.index[starts].strftime("%H:%M")) == {"13:30", "14:30"}  # summer and winter time, in UTC
    days = local[starts].normalize()
    assert days.is_unique
    assert len(days) == np.busday_count("2018-01-01", "2019-07-01")  # every weekday: holidays are not modelled


def test_eurusd_trades_weekdays_around_the_clock(span: dict[str, Bars]) -> None:
    b = span["DEMO-EURUSD"]
    assert not np.any(b.index.day_of_week >= 5)
    starts = np.r_[0, _session_starts(b)]
    assert set(b.index[starts].day_of_week) == {0}  # only Mondays follow a closure
    assert len(b) == np.busday_count("2018-01-01", "2019-07-01") * 1440


# -- valid bars ---------------------------------------------------------------------------------
@pytest.mark.parametrize("symbol", SYMBOLS)
def test_bars_are_valid_ohlcv(span: dict[str, Bars], symbol: str) -> None:
    b = span[symbol]
    cols = np.stack([b.open, b.high, b.low, b.close, b.volume])
    assert np.isfinite(cols).all()
    assert (cols > 0).all()
    assert (b.high >= np.maximum(b.open, b.close)).all()
    assert (b.low <= np.minimum(b.open, b.close)).all()
    continuous = np.ones(len(b) - 1, dtype=bool)
    continuous[_session_starts(b) - 1] = False
    assert np.array_equal(b.open[1:][continuous], b.close[:-1][continuous])  # jumps happen inside a bar


@pytest.mark.parametrize("symbol", SYMBOLS)
def test_the_validator_finds_nothing(span: dict[str, Bars], symbol: str) -> None:
    b = span[symbol]
    raw = RawColumns(b.ts, b.open, b.high, b.low, b.close, b.volume)
    _, report = check_columns(raw, timeframe=b.timeframe, calendar=b.calendar, policy=ValidationPolicy())
    assert report.findings == ()  # no error, no gap, no outlier: the jumps persist


# -- stylized facts -----------------------------------------------------------------------------
@pytest.mark.parametrize(("symbol", "low", "high"), [
    ("DEMO-BTC", 0.55, 0.85), ("DEMO-ETH", 0.65, 1.05), ("DEMO-SPY", 0.12, 0.24), ("DEMO-EURUSD", 0.05, 0.09)])
def test_annual_volatility_is_in_band(span: dict[str, Bars], symbol: str, low: float, high: float) -> None:
    daily = np.diff(np.log(_daily_closes(span[symbol])))
    vol = daily.std() * math.sqrt(daily.size / 1.5)  # 18 months of daily returns
    assert low < vol < high


@pytest.mark.parametrize("symbol", SYMBOLS)
def test_one_minute_returns_have_fat_tails(span: dict[str, Bars], symbol: str) -> None:
    assert _excess_kurtosis(_intraday_returns(span[symbol])) > 3.0  # a normal distribution gives 0


@pytest.mark.parametrize("symbol", ["DEMO-BTC", "DEMO-ETH", "DEMO-EURUSD"])
def test_volatility_clusters(span: dict[str, Bars], symbol: str) -> None:
    b = span[symbol]
    step = np.r_[0, np.flatnonzero(np.diff(b.ts // 3_600_000_000_000)) + 1]  # first bar of each clock hour
    closes = np.log(b.close[np.r_[step[1:] - 1, len(b) - 1]])
    size = np.abs(np.diff(closes))
    hour = (b.ts[step[1:]] // 3_600_000_000_000) % 24
    per_hour = np.bincount(hour, weights=size, minlength=24) / np.bincount(hour, minlength=24)
    acf = _acf(size / per_hour[hour], range(1, 51))  # without the intraday pattern, which is not clustering
    assert acf.min() > 0.02
    assert acf.mean() > 0.05


def test_btc_and_eth_move_together(span: dict[str, Bars]) -> None:
    btc, eth = span["DEMO-BTC"], span["DEMO-ETH"]
    assert np.array_equal(btc.ts, eth.ts)
    rho = np.corrcoef(np.diff(np.log(btc.close)), np.diff(np.log(eth.close)))[0, 1]
    assert 0.7 < rho < 0.9


def test_regimes_last_weeks_to_months_and_steer_the_price(btc_long: tuple[Bars, DemoStates]) -> None:
    bars, states = btc_long
    day_rows = np.r_[0, np.flatnonzero(np.diff(bars.ts // DAY_NS)) + 1]
    regime = states.regime[day_rows]
    assert set(np.unique(regime)) == {Regime.RANGE, Regime.UP, Regime.DOWN}
    edges = np.r_[0, np.flatnonzero(np.diff(regime)) + 1, regime.size]
    days = np.diff(edges)[1:-1]  # complete regimes only
    assert days.min() >= 10
    assert 20 <= np.median(days) <= 90
    log_close = np.log(bars.close)
    sd = np.diff(log_close).std()
    scores: dict[int, list[float]] = {r: [] for r in Regime}
    for a, b in itertools.pairwise(edges[1:-1]):
        first, last = day_rows[a], day_rows[b] - 1
        scores[int(regime[a])].append((log_close[last] - log_close[first]) / (sd * math.sqrt(last - first)))
    assert np.mean(scores[Regime.UP]) > 0.3
    assert np.mean(scores[Regime.DOWN]) < -0.3
    trending = np.abs(scores[Regime.UP] + scores[Regime.DOWN]).mean()
    assert np.abs(scores[Regime.RANGE]).mean() < 0.5 * trending  # mean reversion holds a range


def test_jumps_are_rare_two_sided_and_persistent(btc_long: tuple[Bars, DemoStates]) -> None:
    bars, states = btc_long
    at = np.flatnonzero(states.jump)
    assert 30 <= at.size <= 100  # 10 a year for six years
    assert (states.jump[at] > 0).sum() >= 10
    assert (states.jump[at] < 0).sum() >= 10
    r = np.diff(np.log(bars.close), prepend=np.log(bars.open[0]))
    typical = np.median(np.abs(r))
    assert np.all(np.abs(r[at]) > 10 * typical)
    assert np.all(np.sign(r[at]) == np.sign(states.jump[at]))
    taken_back = (r[at + 1] * r[at] < 0) & (np.abs(r[at + 1]) > 0.5 * np.abs(r[at]))
    assert not taken_back.any()  # what a spike detector looks for
    assert np.median(bars.volume[at]) > 3 * np.median(bars.volume)


def test_spy_gaps_overnight(span: dict[str, Bars]) -> None:
    b = span["DEMO-SPY"]
    starts = _session_starts(b)
    gaps = np.log(b.open[starts] / b.close[starts - 1])
    assert np.mean(gaps != 0) > 0.97
    assert 0.35 < np.mean(gaps > 0) < 0.65
    assert 0.003 < gaps.std() < 0.01


def test_spy_volume_is_u_shaped(span: dict[str, Bars]) -> None:
    profile = span["DEMO-SPY"].volume.reshape(-1, 390).mean(axis=0)
    midday = profile[150:270].mean()  # 12:00 to 14:00 New York
    assert profile[:30].mean() > 1.5 * midday
    assert profile[-30:].mean() > 1.5 * midday
    assert profile.argmax() in {0, 389}


def test_crypto_volume_peaks_in_european_and_us_hours(span: dict[str, Bars]) -> None:
    b = span["DEMO-BTC"]
    hour = (b.ts // 3_600_000_000_000) % 24
    per_hour = np.bincount(hour, weights=b.volume) / np.bincount(hour)
    assert 12 <= per_hour.argmax() <= 19
    assert 0 <= per_hour.argmin() <= 6
    assert per_hour.max() > 1.5 * per_hour.min()


def test_states_describe_the_bars(span: dict[str, Bars]) -> None:
    states = generate_states("DEMO-SPY", **SPAN)
    assert np.array_equal(states.ts, span["DEMO-SPY"].ts)
    assert states.regime.dtype == np.int8
    assert set(np.unique(states.regime)) <= {0, 1, 2}
    assert (states.variance > 0).all()
    assert 0.5 < states.variance.mean() < 2.0  # the GARCH multiplier has mean 1


# -- errors -------------------------------------------------------------------------------------
def test_unknown_symbol_lists_the_available_ones() -> None:
    with pytest.raises(SourceError, match="DEMO-DOGE") as info:
        generate_minutes("DEMO-DOGE")
    assert all(s in str(info.value) for s in SYMBOLS)


@pytest.mark.parametrize(("start", "end"), [("2022-02-01", "2022-01-01"), ("2022-01-01", "2022-01-01")])
def test_start_must_be_before_end(start: str, end: str) -> None:
    with pytest.raises(DataError, match=f"start '{start}'.*end '{end}'"):
        generate_minutes("DEMO-BTC", start=start, end=end)


@pytest.mark.parametrize(("start", "end"), [("2017-12-31", "2018-02-01"), ("2029-12-01", "2030-01-02")])
def test_outside_the_demo_span_is_refused(start: str, end: str) -> None:
    with pytest.raises(SourceError, match="2018-01-01 to 2030-01-01"):
        generate_minutes("DEMO-EURUSD", start=start, end=end)


@pytest.mark.parametrize("seed", [-1, 1.5, True, "7"])
def test_seed_must_be_a_non_negative_integer(seed: object) -> None:
    with pytest.raises(DataError, match="seed"):
        generate_minutes("DEMO-BTC", start="2018-01-01", end="2018-01-02", seed=seed)  # type: ignore[arg-type]


def test_unparsable_bound_is_named() -> None:
    with pytest.raises(DataError, match="end must be a date"):
        generate_minutes("DEMO-BTC", start="2018-01-01", end="soon")


# -- the kernel against a slow, obvious reference -----------------------------------------------
def _reference(inputs: dict, p: dict) -> dict[str, np.ndarray]:  # one plain loop on purpose
    n = inputs["z_common"].size

    def rnd(x: float, scale: float) -> float:
        return math.floor(x * scale + 0.5) / scale

    def reverses(move: float, prev: float, limit: float) -> bool:
        return abs(prev) > limit and move * prev < 0 and abs(move) > demo_nb.REVERSAL_SHARE * abs(prev)

    out = {k: np.zeros(n) for k in ("open", "high", "low", "close", "volume", "var", "jump")}
    tick = 1 / p["price_scale"]
    v, logp, anchor, prev_regime, prev_move, limit, move_var = 1.0, p["log_p0"], p["log_p0"], -1, 0.0, math.inf, None
    prev_close = rnd(math.exp(logp), p["price_scale"])
    gaps = dict(zip(inputs["gap_at"].tolist(), inputs["gap_z"].tolist(), strict=True))
    jumps = dict(zip(inputs["jump_at"].tolist(), inputs["jump_size"].tolist(), strict=True))
    for i in range(n):
        reg = int(inputs["regime"][i])
        if reg == Regime.RANGE and prev_regime != Regime.RANGE:
            anchor = logp
        prev_regime = reg
        scale = inputs["regime_vol"][reg] * math.sqrt(v)
        gap = p["gap_sigma"] * scale * gaps[i] if i in gaps else 0.0
        jump = jumps.get(i, 0.0)
        sd = p["sigma"] * inputs["vol_table"][inputs["slot"][i]] * scale
        mix = p["loading"] * inputs["z_common"][i] + math.sqrt(1 - p["loading"] ** 2) * inputs["z_own"][i]
        eps = mix * math.sqrt(p["t_scale"] / inputs["chi"][i])
        mu = inputs["drift"][reg] - (p["kappa"] * (logp - anchor) if reg == Regime.RANGE else 0.0)
        if reverses(gap + mu + sd * eps + jump, prev_move, limit):
            eps = -eps
        if reverses(gap + mu + sd * eps + jump, prev_move, limit):
            jump = -jump
        if reverses(gap + mu + sd * eps + jump, prev_move, limit):
            gap = -gap
        move = gap + mu + sd * eps + jump
        log_open, log_close = logp + gap, logp + move
        anchor += jump
        o = rnd(math.exp(log_open), p["price_scale"]) if i in gaps else prev_close
        c = rnd(math.exp(log_close), p["price_scale"])
        hi = rnd(math.exp(max(log_open, log_close) + p["wick_k"] * sd * inputs["wick"][i, 0]), p["price_scale"])
        lo = rnd(math.exp(min(log_open, log_close) - p["wick_k"] * sd * inputs["wick"][i, 1]), p["price_scale"])
        q = (p["base_volume"] * inputs["volume_table"][inputs["slot"][i]] * scale * (0.6 + 0.4 * abs(eps))
             * math.exp(0.4 * inputs["noise"][i] - 0.08) * (p["jump_volume"] if jump else 1.0))
        row = {"open": o, "high": max(hi, o, c), "low": min(max(lo, tick), o, c), "close": c,
               "volume": max(rnd(q, p["volume_scale"]), 1 / p["volume_scale"]), "var": v, "jump": jump}
        for k, x in row.items():
            out[k][i] = x
        v = (1 - p["alpha"] - p["beta"]) + (p["alpha"] * eps * eps + p["beta"]) * v
        v *= p["jump_boost"] if jump else 1.0
        logp, prev_close, prev_move = log_close, c, move
        move_var = sd * sd if move_var is None else move_var
        limit = p["reversal_k"] * math.sqrt(min(sd * sd, move_var))
        move_var += demo_nb.MOVE_WEIGHT * (min(move * move, 4 * limit * limit) - move_var)
    return out


def test_kernel_matches_the_slow_reference() -> None:
    rng = np.random.default_rng(3)
    n = 3000
    inputs = {
        "z_common": rng.standard_normal(n), "z_own": rng.standard_normal(n), "chi": rng.standard_gamma(2.5, n),
        "wick": rng.standard_exponential((n, 2)), "noise": rng.standard_normal(n),
        "slot": rng.integers(0, 4, n).astype(np.int32), "regime": np.repeat(np.array([0, 1, 0, 2], np.int8), n // 4),
        "gap_at": np.arange(100, n, 390), "gap_z": rng.standard_t(5, (n - 100 - 1) // 390 + 1),
        "jump_at": np.array([50, 777, 1500, 1501, 2222]), "jump_size": np.array([0.03, -0.02, 0.05, -0.05, 0.01]),
        "vol_table": np.array([0.8, 1.0, 1.1, 1.3]), "volume_table": np.array([0.5, 1.0, 1.5, 2.0]),
        "drift": np.array([0.0, 1e-5, -1e-5]), "regime_vol": np.array([0.9, 1.0, 1.2]),
    }
    inputs["z_common"][[300, 1200]] = [12.0, -15.0]  # large moves, then reversals the kernel must mirror
    inputs["z_common"][[301, 1201]] = [-10.0, 14.0]
    inputs["z_own"][[300, 301, 1200, 1201]] = 0.0
    p = {"log_p0": math.log(100.0), "loading": 0.8, "t_scale": 1.5, "sigma": 0.001, "kappa": 0.01, "alpha": 0.01,
         "beta": 0.985, "gap_sigma": 0.01, "jump_boost": 2.0, "wick_k": 0.4, "reversal_k": 6.0, "jump_volume": 5.0,
         "base_volume": 1000.0, "price_scale": 100.0, "volume_scale": 1.0}
    out = {k: np.empty(n) for k in ("open", "high", "low", "close", "volume", "var", "jump")}
    demo_nb.simulate_nb(*inputs.values(), *p.values(), *out.values())
    expected = _reference(inputs, p)
    for name, values in out.items():
        np.testing.assert_allclose(values, expected[name], rtol=1e-12, atol=0, err_msg=name)
    moves = np.diff(np.log(out["close"]))
    assert moves[300] * moves[299] > 0 or abs(moves[300]) < 0.45 * abs(moves[299])  # the reversal was mirrored
    assert (out["jump"][[1500, 1501]] == [0.05, 0.05]).all()  # the second of back-to-back jumps turned round
