"""Market regimes: causal at every bar for every method, known answers, peers (pandas, TA-Lib, hmmlearn)."""

import sys

import numpy as np
import pandas as pd
import pytest
import talib

from backgrid.analysis import (
    Regimes,
    event_regime,
    hmm_regime,
    regime_stats,
    rolling_rank,
    trades_with_regime,
    trend_regime,
    volatility_regime,
)
from backgrid.analysis.kernels import regimes_nb
from backgrid.data.bars import Bars
from backgrid.data.timeframe import Timeframe
from backgrid.engine import backtest
from backgrid.errors import AnalysisError, BackgridError
from backgrid.testing import random_bars
from tests.engine.scenario_kit import make_bars, run


def bars_from_returns(returns: np.ndarray, *, spread: float | np.ndarray = 0.002, start: str = "2020-01-01") -> Bars:
    """Daily bars whose closes follow ``returns`` (log), each bar's range ``spread`` around its open and close."""
    close = 100 * np.exp(np.cumsum(returns))
    open_ = np.r_[100.0, close[:-1]]
    high = np.maximum(open_, close) * (1 + spread)
    low = np.minimum(open_, close) * (1 - spread)
    ts = pd.Timestamp(start, tz="UTC").value + np.arange(returns.size, dtype=np.int64) * Timeframe.parse("1d").nanos
    return Bars("SYN", "1d", ts, open_, high, low, close, np.full(returns.size, 1e3), calendar="crypto")


def alternating(n: int, block: int, seed: int) -> tuple[Bars, np.ndarray]:
    """Blocks of calm rises (state 1, bull) and volatile falls (state 0, bear), ``block`` bars each."""
    rng = np.random.default_rng(seed)
    state = (np.arange(n) // block + 1) % 2
    returns = np.where(state == 1, rng.normal(0.002, 0.004, n), rng.normal(-0.003, 0.03, n))
    return bars_from_returns(returns), state


# -- causality: appending bars never changes a past label --------------------------------------------------------------
METHODS = {
    "trend": lambda b: trend_regime(b, adx_period=7, sma_period=20, slope_bars=5),
    "volatility_atr": lambda b: volatility_regime(b, lookback=60),
    "volatility_realised": lambda b: volatility_regime(b, measure="realised", window=10, lookback=40),
    "event": lambda b: event_regime(b, {"a": [("2024-01-03", "2024-01-05 07:00")],
                                        "b": [("2024-01-04", "2024-01-09")]}),
    "hmm": lambda b: hmm_regime(b, train=150, seed=3),
    "hmm_refit": lambda b: hmm_regime(b, states=3, train=120, refit_every=70, features=("log_return", "volatility"),
                                      window=10),
}


def smoothed_hmm(bars: Bars) -> Regimes:
    """The look-ahead version: hmmlearn's smoothed posterior of every bar given the whole series."""
    fit = hmm_regime(bars, train=150, seed=3).info["fits"][0]
    x = np.log(bars.close[1:] / bars.close[:-1])[:, None]
    posterior = fit["model"].predict_proba((x - fit["center"]) / fit["scale"])[:, fit["order"]]
    codes = np.r_[-1, np.argmax(posterior, axis=1)]
    return Regimes("smoothed", ("bear", "bull"), codes, np.r_[np.nan, posterior.max(axis=1)], bars.index)


def first_violation(method, bars: Bars, cuts) -> tuple[int, int] | None:
    """``(k, bar)`` of the first label or confidence on ``bars[:k]`` that differs from the full series'."""
    full = method(bars)
    for k in cuts:
        part = method(bars.take(slice(0, k)))
        same = (part.codes == full.codes[:k]) & ((part.confidence == full.confidence[:k])
                                                 | (np.isnan(part.confidence) & np.isnan(full.confidence[:k])))
        if not same.all():
            return k, int(np.argmin(same))
    return None


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("name", list(METHODS))
def test_appending_bars_never_changes_a_past_label(name, seed):
    bars = random_bars(400, timeframe="1h", seed=seed)
    cuts = [1, 30, 119, 120, 121, 150, 151, 189, 190, 233, 399]
    assert first_violation(METHODS[name], bars, cuts) is None
    labels = METHODS[name](bars).codes
    assert (labels >= 0).sum() > 100  # the comparison covered known labels, not only the warm-up


def test_the_causality_check_catches_the_smoothed_hmm_path():
    bars = random_bars(400, timeframe="1h", seed=0)
    assert first_violation(smoothed_hmm, bars, [200, 250, 300, 399]) is not None


# -- the rolling rank kernel -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("lookback", "lead", "ties"), [(2, 0, False), (5, 3, True), (30, 0, True), (30, 7, False),
                                                        (300, 1, False)])
def test_rolling_rank_equals_pandas_rolling_rank(lookback, lead, ties):
    rng = np.random.default_rng(lookback + lead)
    x = rng.integers(0, 6, 600).astype(float) if ties else rng.normal(size=600)
    x[:lead] = np.nan
    want = pd.Series(x).rolling(lookback).rank(method="average", pct=True).to_numpy()
    np.testing.assert_allclose(rolling_rank(x, lookback), want, rtol=0, atol=1e-15)


def test_rolling_rank_kernel_equals_a_python_loop():
    x = np.random.default_rng(5).integers(0, 4, 200).astype(float)
    got = regimes_nb.rolling_rank_nb(x, 9, 0, np.empty(200))
    for t in range(8, 200):
        window = x[t - 8:t + 1]
        assert got[t] == ((window < x[t]).sum() + ((window == x[t]).sum() + 1) / 2) / 9
    assert np.isnan(got[:8]).all()


def test_rolling_rank_rejects_a_nan_after_the_warm_up():
    with pytest.raises(AnalysisError, match="values must be finite after the warm-up"):
        rolling_rank(np.array([np.nan, 1.0, np.nan, 2.0]), 2)


# -- trend -------------------------------------------------------------------------------------------------------------
def test_trend_labels_follow_talib_adx_and_sma():
    bars = random_bars(800, timeframe="1d", seed=9)
    regimes = trend_regime(bars, adx_period=10, sma_period=30, slope_bars=4, adx_threshold=20.0)
    adx = talib.ADX(bars.high, bars.low, bars.close, timeperiod=10)
    sma = talib.SMA(bars.close, timeperiod=30)
    slope = sma - np.r_[np.full(4, np.nan), sma[:-4]]
    want = np.where(adx >= 20, np.where(slope > 0, 0, np.where(slope < 0, 1, 2)), 2)
    known = ~np.isnan(adx) & ~np.isnan(slope)
    assert (regimes.codes[~known] == -1).all()
    assert np.array_equal(regimes.codes[known], want[known])
    assert {0, 1, 2} <= set(regimes.codes[known].tolist())
    np.testing.assert_allclose(regimes.confidence[known], np.minimum(1, np.abs(adx[known] - 20) / 20), atol=1e-12)
    assert regimes.labels.dtype == "category"
    assert regimes.labels.iloc[-1] == regimes.names[regimes.codes[-1]]


@pytest.mark.parametrize(("drift", "label"), [(0.004, "bull"), (-0.004, "bear")])
def test_a_steady_trend_is_bull_or_bear(drift, label):
    returns = drift + np.random.default_rng(1).normal(0, 0.001, 300)
    regimes = trend_regime(bars_from_returns(returns))
    after = regimes.labels.iloc[100:]
    assert (after == label).all()
    assert (regimes.confidence[100:] == 1.0).all()  # ADX far above twice the threshold


# -- volatility --------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("measure", ["atr_percent", "realised"])
def test_a_calm_then_a_wild_stretch_are_low_then_high(measure):
    rng = np.random.default_rng(2)
    sigma = np.r_[np.full(400, 0.01), np.full(80, 0.002), np.full(80, 0.05)]
    bars = bars_from_returns(rng.normal(0, sigma), spread=sigma / 2)
    regimes = volatility_regime(bars, measure=measure)
    assert (regimes.labels.iloc[400 + 30:480] == "low").all()
    assert (regimes.labels.iloc[480 + 30:] == "high").all()
    assert (regimes.codes[:252 + 13] == -1).all()


def test_volatility_codes_and_confidence_follow_the_rank():
    bars = random_bars(600, seed=3)
    regimes = volatility_regime(bars, window=5, lookback=50, low=0.2, high=0.7)
    natr = talib.NATR(bars.high, bars.low, bars.close, timeperiod=5)
    rank = pd.Series(natr).rolling(50).rank(pct=True).to_numpy()
    known = ~np.isnan(rank)
    want = np.select([rank <= 0.2, rank > 0.7], [0, 2], 1)
    assert np.array_equal(regimes.codes[known], want[known])
    conf = np.select([rank <= 0.2, rank > 0.7], [(0.2 - rank) / 0.2, (rank - 0.7) / 0.3],
                     np.minimum(rank - 0.2, 0.7 - rank) / 0.25)
    np.testing.assert_allclose(regimes.confidence[known], conf[known], atol=1e-9)
    assert ((regimes.confidence[known] >= 0) & (regimes.confidence[known] <= 1)).all()


@pytest.mark.parametrize(("options", "message"), [
    ({"measure": "garch"}, "measure must be one of 'atr_percent', 'realised', got 'garch'"),
    ({"low": 0.5, "high": 0.4}, "low and high must be numbers with 0 < low < high < 1, got low=0.5, high=0.4"),
    ({"lookback": 1}, "lookback must be an int >= 2, got 1"),
    ({"window": 0}, r"window: natr: parameter 'period' must be an integer in \[2, 1000\], got 0"),
])
def test_volatility_settings_that_cannot_work_are_named(options, message):
    with pytest.raises(AnalysisError, match=message) as info:
        volatility_regime(random_bars(50), **options)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, BackgridError)


# -- events ------------------------------------------------------------------------------------------------------------
def test_event_windows_cover_whole_days_and_the_first_named_wins():
    index = pd.date_range("2020-02-18", periods=12, freq="12h", tz="UTC")
    regimes = event_regime(index, {"covid": [("2020-02-20", "2020-02-21")],
                                   "fomc": [("2020-02-21 12:00", "2020-02-22")]})
    assert regimes.labels.tolist() == ["normal"] * 4 + ["covid"] * 4 + ["fomc"] * 2 + ["normal"] * 2
    assert (regimes.confidence == 1).all()


@pytest.mark.parametrize(("windows", "message"), [
    ({"crash": [("2020-03-10", "2020-03-01")]}, "window 'crash': start '2020-03-10' is after end '2020-03-01'"),
    ({"crash": [("2020-03-01", "someday")]}, "window 'crash': end 'someday' is not a date or time"),
    ({"normal": [("2020-03-01", "2020-03-02")]}, "window names must differ from each other and from default"),
    ({"crash": ["2020-03-01"]}, r"window 'crash': each window is a \(start, end\) pair, got '2020-03-01'"),
])
def test_bad_event_windows_name_the_window(windows, message):
    with pytest.raises(AnalysisError, match=message):
        event_regime(pd.date_range("2020-02-01", periods=60, freq="D", tz="UTC"), windows)


# -- HMM ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("options", [{}, {"states": 3, "refit_every": 150, "features": ("log_return", "volatility")}])
def test_filtered_probabilities_equal_hmmlearn_on_the_prefix(options):
    bars, _ = alternating(900, 60, seed=4)
    regimes = hmm_regime(bars, train=400, **options)
    r = np.r_[np.nan, np.log(bars.close[1:] / bars.close[:-1])]
    both = "features" in options
    x = np.column_stack([r, pd.Series(r).rolling(20).std().to_numpy()]) if both else r[:, None]
    first = 20 if both else 1  # the first bar with every feature
    for fit in regimes.info["fits"]:
        z = (x[first:] - fit["center"]) / fit["scale"]
        for t in {min(fit["start"] + step, 899) for step in (0, 1, 77, 149)}:
            want = fit["model"].predict_proba(z[:t - first + 1])[-1][fit["order"]]
            np.testing.assert_allclose(regimes.info["probabilities"][t], want, rtol=0, atol=1e-10)
    assert len(regimes.info["fits"]) == (4 if options else 1)
    assert (regimes.codes[:400] == -1).all()
    assert (regimes.codes[400:] >= 0).all()


def test_a_two_state_hmm_finds_the_two_return_distributions():
    bars, state = alternating(3000, 80, seed=6)
    regimes = hmm_regime(bars, train=1000)
    assert regimes.names == ("bear", "bull")
    assert regimes.info["fits"][0]["converged"]
    accuracy = np.mean(regimes.codes[1000:] == state[1000:])
    assert accuracy > 0.9
    confident = regimes.confidence[1000:] > 0.9
    assert np.mean(regimes.codes[1000:][confident] == state[1000:][confident]) > accuracy


def test_labels_do_not_depend_on_the_seed():
    bars, _ = alternating(1500, 80, seed=7)
    first, other = hmm_regime(bars, train=800, seed=0), hmm_regime(bars, train=800, seed=11)
    assert np.mean(first.codes[800:] == other.codes[800:]) > 0.99


def test_hmm_without_its_extra_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "hmmlearn.hmm", None)
    with pytest.raises(ImportError, match=r'pip install "backgrid\[analysis\]"'):
        hmm_regime(random_bars(600))


def test_hmm_rejects_features_it_does_not_know_and_short_series_are_unknown():
    with pytest.raises(AnalysisError, match="features must name log_return and may add volatility"):
        hmm_regime(random_bars(600), features=("volatility",))
    assert (hmm_regime(random_bars(500), train=500).codes == -1).all()


# -- a backtest seen through regimes -----------------------------------------------------------------------------------
ROWS = [(10, 10, 10, 10), (10, 11, 9, 10), (10, 12, 10, 12), (12, 13, 11, 11), (11, 14, 11, 14), (14, 14, 12, 13),
        (13, 13, 11, 12), (12, 16, 12, 15), (15, 15, 13, 14), (14, 15, 13, 15)]
CALM_CRISIS = {"crisis": [("2024-01-03", "2024-01-05"), ("2024-01-09", "2024-01-09")]}  # bars 2-4 and 8


def test_regime_stats_by_hand():
    # long from bar 2's open (10) to bar 6's open (13), and from bar 8's open (15), open at the end
    result = run(ROWS, entries=[1, 7], exits=[5])
    regimes = event_regime(make_bars(ROWS).index, CALM_CRISIS, default="calm")
    units = 10_000 / 10
    equity = np.array([10_000, 10_000, units * 12, units * 11, units * 14, units * 13, units * 13, units * 13,
                       units * 13 / 15 * 14, units * 13 / 15 * 15])
    np.testing.assert_allclose(result.equity.to_numpy(), equity)
    r = equity / np.r_[10_000, equity[:-1]] - 1
    # calm closes 0, 1, 5, 6, 7, 9 bring the returns of bars 1, 2, 6, 7, 8; crisis closes 2, 3, 4, 8 of bars 3, 4, 5, 9
    stats = regime_stats(result, regimes)
    assert stats.index.tolist() == ["calm", "crisis"]
    calm, crisis = r[[1, 2, 6, 7, 8]], r[[3, 4, 5, 9]]
    np.testing.assert_allclose(stats["return"], [np.prod(1 + calm) - 1, np.prod(1 + crisis) - 1])
    np.testing.assert_allclose(stats["sharpe_ratio"], [calm.mean() / calm.std(ddof=1) * np.sqrt(365),
                                                       crisis.mean() / crisis.std(ddof=1) * np.sqrt(365)])
    assert stats["bars"].tolist() == [6, 4]
    np.testing.assert_allclose(stats["time_spent"], [0.6, 0.4])
    # trades decided at closes 1 (calm) and 7 (calm); held at closes 2-5 and 8-9
    assert stats["trades"].tolist() == [2, 0]
    np.testing.assert_allclose(stats["win_rate"], [1.0, np.nan])
    np.testing.assert_allclose(stats["exposure"], [2 / 6, 1.0])


def test_regime_stats_has_an_unknown_row_for_the_warm_up():
    bars = random_bars(300, timeframe="1d", seed=2)
    result = backtest(bars, entries=bars.close > bars.open, exits=bars.close < bars.open)
    stats = regime_stats(result, trend_regime(bars))
    assert stats.index.tolist() == ["bull", "bear", "range", "unknown"]
    assert stats["bars"].sum() == 300
    assert stats["trades"].sum() == len(result.trades)
    np.testing.assert_allclose(stats["time_spent"].sum(), 1.0)


@pytest.mark.parametrize(("fill", "want"), [("next_open", ["calm", "calm"]), ("same_close", ["crisis", "crisis"])])
def test_a_trade_gets_the_regime_known_when_its_entry_was_decided(fill, want):
    # entries decided at closes 1 and 7 (calm); with next_open they fill in bars 2 and 8, which are crisis bars
    signals = {"entries": [1, 7], "exits": [5]} if fill == "next_open" else {"entries": [2, 8], "exits": [5]}
    result = run(ROWS, fill=fill, **signals)
    trades = trades_with_regime(result, event_regime(make_bars(ROWS).index, CALM_CRISIS, default="calm"))
    assert trades["entry_idx"].tolist() == [2, 8]
    assert trades["regime"].tolist() == want
    assert trades["regime_confidence"].tolist() == [1.0, 1.0]


def test_a_trade_decided_during_the_warm_up_has_no_regime():
    bars = random_bars(120, timeframe="1d", seed=8)
    result = backtest(bars, entries=np.arange(120) % 20 == 3, exits=np.arange(120) % 20 == 9)
    trades = trades_with_regime(result, trend_regime(bars))
    assert trades["regime"].isna().tolist() == (trades["entry_idx"] - 1 < 59).tolist()
    assert trades["regime"].isna().any()
    assert not trades["regime"].isna().all()


@pytest.mark.parametrize("labels", [None, pd.MultiIndex.from_tuples([("fast", 2), ("slow", 7)])],
                         ids=["numbered", "tuples"])
def test_a_sweep_is_read_one_column_at_a_time(labels):
    bars = random_bars(300, timeframe="1d", seed=5)
    phase = np.arange(300)[:, None] % np.array([15, 23])
    entries, exits = pd.DataFrame(phase == 2, index=bars.index), pd.DataFrame(phase == 12, index=bars.index)
    if labels is not None:
        entries.columns = exits.columns = labels
    result = backtest(bars, entries=entries, exits=exits)
    regimes = trend_regime(bars)
    label = result.columns[1]
    mine = result.records[result.records["col"] == 1]
    trades = trades_with_regime(result, regimes, column=label)
    assert trades["entry_idx"].tolist() == sorted(mine["entry_idx"].tolist())
    assert mine.size != (result.records["col"] == 0).sum()  # the columns trade differently
    assert regime_stats(result, regimes, column=label)["trades"].sum() == mine.size
    assert regime_stats(result, regimes)["trades"].sum() == (result.records["col"] == 0).sum()


def test_regimes_on_other_bars_are_refused():
    result = run(ROWS, entries=[1], exits=[5])
    with pytest.raises(AnalysisError, match="regimes and result must be on the same bars"):
        regime_stats(result, trend_regime(random_bars(50)))


def test_trend_names_the_option_an_indicator_refuses():
    with pytest.raises(AnalysisError, match=r"adx_period: adx: parameter 'period' must be an integer in \[2, 1000\]"):
        trend_regime(random_bars(50), adx_period=1)


def test_regimes_need_one_code_and_confidence_per_bar():
    index = pd.date_range("2024-01-01", periods=3, freq="D", tz="UTC")
    with pytest.raises(AnalysisError, match=r"codes and confidence need one value per bar \(3\)"):
        Regimes("x", ("a",), np.zeros(2), np.ones(3), index)
    regimes = Regimes("x", ("a", "b"), np.array([-1, 0, 1]), np.array([np.nan, 0.5, 1.0]), index)
    assert repr(regimes) == "<Regimes x: 3 bars, 2 known (a 50%, b 50%)>"
    assert not regimes.codes.flags.writeable


def test_at_reads_positions_and_refuses_ones_outside_the_bars():
    regimes = event_regime(make_bars(ROWS).index, CALM_CRISIS, default="calm")
    assert regimes.at([1, 2]).to_dict("list") == {"regime": ["calm", "crisis"], "confidence": [1.0, 1.0]}
    with pytest.raises(AnalysisError, match=r"positions must lie in \[0, 10\), got -1 to 2"):
        regimes.at([-1, 2])
