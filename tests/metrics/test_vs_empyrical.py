"""backgrid's return metrics against empyrical (``empyrical-reloaded``), the reference implementation.

Mapping, empyrical -> backgrid (``r`` per-bar simple returns, ``ppy`` periods per year):

- ``annualization=ppy`` (or ``period="daily"/"weekly"/"monthly"`` = 252 / 52 / 12) -> ``ppy``.
- ``sharpe_ratio(r, annualization=ppy)`` -> ``sharpe_ratio(r, ppy)``; ``sortino_ratio(r, required_return=t)``
  -> ``sortino_ratio(r, ppy, t)`` (both: downside deviation over every bar, ``t`` per bar, no conversion);
  ``annual_return``, ``annual_volatility``, ``calmar_ratio``: same names, same ``ppy``;
  ``cum_returns_final(r)`` -> ``total_return(r)``.
- ``max_drawdown(r)`` (from the value 100 before the first return) -> ``max_drawdown(equity, start=cash)``
  with ``equity = cash * cumprod(1 + r)``: the starting cash is the first peak in both.
- ``omega_ratio(r, required_return=R, annualization=ppy)`` converts an ANNUAL ``R`` to the per-bar
  threshold ``(1 + R) ** (1 / ppy) - 1``; backgrid's ``omega_ratio(r, threshold)`` takes the per-bar
  threshold itself (empyrical's ``annualization=1`` passes ``R`` through unchanged).
- ``alpha_beta(r, b, annualization=ppy)`` -> the registry's ``alpha``/``beta``, which leave out the first
  bar (buy and hold has no return on it): empyrical on ``r[1:], b[1:]``.
- ``value_at_risk(r)``, ``conditional_value_at_risk(r)``, ``tail_ratio(r)``: same names, 5 % tails
  (``np.percentile``'s linear interpolation; the expected shortfall averages the ``floor(0.05 (n - 1)) + 1``
  lowest returns).
- ``excess_sharpe(r, b)`` (per bar) -> ``information_ratio(r, b, ppy)``, annualised by ``sqrt(ppy)``; the
  tracking error is ``annual_volatility(r - b, annualization=ppy)``; ``up_capture(r, b, period=...)`` /
  ``down_capture``: same names; empyrical's ``capture`` takes a period name only, so at other ``ppy`` the
  test composes it from ``annual_return(..., annualization=ppy)``. In the registry all four leave out the
  first bar, as alpha and beta do.
- empyrical's ``cagr`` is its ``annual_return`` (bars / ppy years); backgrid's ``cagr`` counts calendar
  time from the first open to the last close: empyrical's with ``annualization = bars / years``.

Deliberate differences (each pinned by a test below): a ratio over a zero deviation is NaN here, ``inf``
there; a run that ends below zero has annual return -1 here, NaN there; the maximum drawdown of no bars
is 0 here, NaN there; the information ratio is annualised here; a tail ratio without a left tail is NaN
here, ``inf`` there; returns with a NaN (after ruin) have no tails here, where empyrical's expected
shortfall and tail ratio drop the NaNs.
"""

import math

import empyrical as ep
import numpy as np
import pandas as pd
import pytest

from backgrid.data.sources.demo import demo_bars
from backgrid.engine import backtest
from backgrid.engine.records import TRADE
from backgrid.metrics import returns as rt
from backgrid.metrics.registry import DAY_NS, StatsInput, compute_stats

REL = 1e-9
CASH = 10_000.0


def _series(kind: str) -> np.ndarray:
    rng = np.random.default_rng(sum(map(ord, kind)))
    if kind == "normal":
        return rng.normal(0.0005, 0.01, 500)
    if kind == "fat_tailed":
        return rng.standard_t(3, 750) * 0.008 + 0.0003
    if kind == "with_zeros":
        r = rng.normal(0.0004, 0.012, 400)
        r[rng.random(400) < 0.35] = 0.0  # flat bars: out of the market
        return r
    if kind == "short":
        return rng.normal(0.001, 0.02, 5)
    if kind == "all_positive":
        return rng.uniform(0.0001, 0.01, 120)
    if kind == "big_drawdown":
        crash = np.full(60, (0.3 ** (1 / 60)) - 1)  # -70 % over 60 bars
        return np.r_[rng.normal(0.002, 0.01, 100), crash + rng.normal(0, 0.005, 60), rng.normal(0.003, 0.015, 200)]
    raise AssertionError(kind)


KINDS = ["normal", "fat_tailed", "with_zeros", "short", "all_positive", "big_drawdown"]
PPYS = [252.0, 52.0, 1764.0, 8760.0]


def _close(ours: float, theirs: float) -> None:
    """Equal to 1e-9 relative; NaN only where empyrical is NaN too."""
    theirs = float(theirs)
    if math.isnan(theirs):
        assert math.isnan(ours)
    else:
        assert ours == pytest.approx(theirs, rel=REL, abs=1e-15)


@pytest.mark.parametrize("ppy", PPYS)
@pytest.mark.parametrize("kind", KINDS)
def test_return_metrics_equal_empyrical(kind, ppy):
    r = _series(kind)
    equity = CASH * np.cumprod(1.0 + r)
    _close(rt.total_return(r), ep.cum_returns_final(r))
    _close(rt.annual_return(r, ppy), ep.annual_return(r, annualization=ppy))
    _close(rt.annual_volatility(r, ppy), ep.annual_volatility(r, annualization=ppy))
    _close(rt.sharpe_ratio(r, ppy), ep.sharpe_ratio(r, annualization=ppy))
    _close(rt.max_drawdown(equity, CASH), ep.max_drawdown(r))
    _close(rt.calmar_ratio(r, ppy), ep.calmar_ratio(r, annualization=ppy))
    _close(rt.value_at_risk(r), ep.value_at_risk(r))
    _close(rt.conditional_value_at_risk(r), ep.conditional_value_at_risk(r))
    _close(rt.tail_ratio(r), ep.tail_ratio(r))
    if kind == "all_positive":  # no downside, no loss: empyrical's inf is NaN here (see the tests below)
        assert math.isnan(rt.sortino_ratio(r, ppy))
        assert math.isnan(rt.omega_ratio(r))
        assert ep.sortino_ratio(r, annualization=ppy) == math.inf
    else:
        _close(rt.sortino_ratio(r, ppy), ep.sortino_ratio(r, annualization=ppy))
        _close(rt.omega_ratio(r), ep.omega_ratio(r, annualization=ppy))


@pytest.mark.parametrize(("period", "ppy"), [("daily", 252.0), ("weekly", 52.0), ("monthly", 12.0)])
def test_empyrical_named_periods_are_these_factors(period, ppy):
    r = _series("normal")
    _close(rt.sharpe_ratio(r, ppy), ep.sharpe_ratio(r, period=period))
    _close(rt.sortino_ratio(r, ppy), ep.sortino_ratio(r, period=period))
    _close(rt.annual_return(r, ppy), ep.annual_return(r, period=period))
    _close(rt.annual_volatility(r, ppy), ep.annual_volatility(r, period=period))
    _close(rt.calmar_ratio(r, ppy), ep.calmar_ratio(r, period=period))


@pytest.mark.parametrize("kind", ["normal", "fat_tailed", "with_zeros", "big_drawdown"])
@pytest.mark.parametrize("required", [-0.001, 0.0005, 0.002])
def test_sortino_required_return_is_per_bar_in_both(kind, required):
    r = _series(kind)
    _close(rt.sortino_ratio(r, 252.0, required), ep.sortino_ratio(r, required_return=required, annualization=252))


@pytest.mark.parametrize("kind", ["normal", "fat_tailed", "with_zeros", "big_drawdown"])
@pytest.mark.parametrize(("annual", "ppy"), [(0.05, 252.0), (0.10, 8760.0), (-0.2, 52.0)])
def test_omega_threshold_mapping(kind, annual, ppy):
    """empyrical's required_return is annual: per bar it is ``(1 + R) ** (1 / ppy) - 1``."""
    r = _series(kind)
    per_bar = (1.0 + annual) ** (1.0 / ppy) - 1.0
    _close(rt.omega_ratio(r, per_bar), ep.omega_ratio(r, required_return=annual, annualization=ppy))
    # annualization=1 passes the threshold through unchanged: that is backgrid's argument
    _close(rt.omega_ratio(r, per_bar), ep.omega_ratio(r, required_return=per_bar, annualization=1))
    # and giving backgrid the annual figure as if it were per bar is a different (much higher) bar
    assert rt.omega_ratio(r, annual) != pytest.approx(ep.omega_ratio(r, required_return=annual, annualization=ppy))


def _stats_input(r: np.ndarray, bench: np.ndarray, ppy: float, *, bar_ns: int = DAY_NS) -> StatsInput:
    n = r.size
    ts = 1_600_000_000 * 10**9 + np.arange(n, dtype=np.int64) * bar_ns
    return StatsInput(equity=CASH * np.cumprod(1.0 + r), cash=CASH, ts=ts, bar_ns=bar_ns, ppy=ppy,
                      trades=np.zeros(0, dtype=TRADE), benchmark=100.0 * np.cumprod(1.0 + bench))


def _check_registry(stats: dict[str, float], r: np.ndarray, b: np.ndarray, ppy: float) -> None:
    """The registry's values equal empyrical's on returns ``r`` (the first against the cash) and benchmark ``b``.

    ``b[0]`` is buy and hold's return on the first bar (none: 0); alpha and beta leave that bar out.
    """
    _close(stats["total_return"], ep.cum_returns_final(r))
    _close(stats["annual_return"], ep.annual_return(r, annualization=ppy))
    _close(stats["annual_volatility"], ep.annual_volatility(r, annualization=ppy))
    _close(stats["sharpe_ratio"], ep.sharpe_ratio(r, annualization=ppy))
    _close(stats["max_drawdown"], ep.max_drawdown(r))
    _close(stats["calmar_ratio"], ep.calmar_ratio(r, annualization=ppy))
    if (r < 0).any():
        _close(stats["sortino_ratio"], ep.sortino_ratio(r, annualization=ppy))
        _close(stats["omega_ratio"], ep.omega_ratio(r, annualization=ppy))
    _close(stats["value_at_risk"], ep.value_at_risk(r))
    _close(stats["conditional_value_at_risk"], ep.conditional_value_at_risk(r))
    _close(stats["tail_ratio"], ep.tail_ratio(r))
    alpha, beta = ep.alpha_beta(r[1:], b[1:], annualization=ppy)
    _close(stats["alpha"], alpha)
    _close(stats["beta"], beta)
    _close(stats["information_ratio"], ep.excess_sharpe(r[1:], b[1:]) * math.sqrt(ppy))
    _close(stats["tracking_error"], ep.annual_volatility(r[1:] - b[1:], annualization=ppy))
    periods = {252.0: "daily", 52.0: "weekly", 12.0: "monthly"}
    if ppy in periods:
        _close(stats["up_capture"], ep.up_capture(r[1:], b[1:], period=periods[ppy]))
        _close(stats["down_capture"], ep.down_capture(r[1:], b[1:], period=periods[ppy]))
    for name, mask in (("up_capture", b[1:] > 0), ("down_capture", b[1:] < 0)):  # capture() at any ppy
        rs, bs = r[1:][mask], b[1:][mask]
        _close(stats[name], ep.annual_return(rs, annualization=ppy) / ep.annual_return(bs, annualization=ppy))


@pytest.mark.parametrize("ppy", [252.0, 8760.0])
@pytest.mark.parametrize("kind", KINDS)
def test_registry_equals_empyrical(kind, ppy):
    r = _series(kind)
    noise = np.random.default_rng(99).normal(0.0, 0.008, r.size)
    b = 0.6 * r + noise
    b[0] = 0.0
    s = _stats_input(r, b, ppy)
    _check_registry(compute_stats(s), s.equity / np.r_[CASH, s.equity[:-1]] - 1.0, b, ppy)


def test_alpha_beta_leave_out_the_first_bar():
    """Beta on all bars (with buy and hold's 0 on bar 0) is not the registry's; on bars 1.. it is."""
    r = _series("normal")
    b = 0.8 * r + np.random.default_rng(5).normal(0.0, 0.01, r.size)
    b[0] = 0.0
    r[0] = 0.03  # a large first-bar return makes the difference visible
    stats = compute_stats(_stats_input(r, b, 252.0))
    assert stats["beta"] == pytest.approx(ep.beta(r[1:], b[1:]), rel=1e-8)
    assert stats["beta"] != pytest.approx(ep.beta(r, b), rel=1e-6)


def test_benchmark_metrics_leave_out_the_first_bar():
    """Information ratio, tracking error and captures compare bars 1.. (buy and hold has no return on bar 0)."""
    r = _series("normal")
    b = 0.8 * r + np.random.default_rng(6).normal(0.0, 0.01, r.size)
    b[0] = 0.0
    r[0] = 0.03
    stats = compute_stats(_stats_input(r, b, 252.0))
    _close(stats["tracking_error"], ep.annual_volatility(r[1:] - b[1:], annualization=252))
    assert stats["tracking_error"] != pytest.approx(ep.annual_volatility(r - b, annualization=252), rel=1e-6)
    assert stats["information_ratio"] != pytest.approx(ep.excess_sharpe(r, b) * math.sqrt(252), rel=1e-6)


def test_information_ratio_is_annualised_empyrical_excess_sharpe_is_not():
    r, b = _series("normal"), _series("fat_tailed")[:500]
    for ppy in (252.0, 8760.0):
        _close(rt.information_ratio(r, b, ppy), ep.excess_sharpe(r, b) * math.sqrt(ppy))
        assert rt.information_ratio(r, b, ppy) != pytest.approx(ep.excess_sharpe(r, b), rel=1e-3)
    _close(rt.information_ratio(r, b, 1.0), ep.excess_sharpe(r, b))  # one period a year: the same number
    steps = np.arange(10) / 8  # a constant active return (exact in binary): NaN here, inf there
    assert math.isnan(rt.information_ratio(steps + 0.25, steps, 252.0))
    assert ep.excess_sharpe(steps + 0.25, steps) == math.inf


def test_up_and_down_capture_annualise_each_subset():
    """empyrical's capture compounds each subset over its own bars, annualised at the period's factor."""
    r = _series("normal")
    b = np.random.default_rng(7).normal(0.0, 0.01, r.size)
    b[::7] = 0.0  # flat bars are in neither subset
    for period, ppy in (("daily", 252.0), ("weekly", 52.0), ("monthly", 12.0)):
        _close(rt.up_capture(r, b, ppy), ep.up_capture(r, b, period=period))
        _close(rt.down_capture(r, b, ppy), ep.down_capture(r, b, period=period))
    # annualising changes the ratio: it is not a ratio of total returns
    up = b > 0
    total = ep.cum_returns_final(r[up]) / ep.cum_returns_final(b[up])
    assert rt.up_capture(r, b, 252.0) != pytest.approx(total, rel=1e-3)


def test_tails_equal_empyrical_on_ties_and_short_series():
    ties = np.r_[np.full(50, -0.01), np.zeros(300), np.full(100, 0.02)]
    np.random.default_rng(1).shuffle(ties)
    for x in (ties, np.array([0.01]), np.array([-0.02, 0.01]), np.array([0.03, -0.01, 0.02])):
        _close(rt.value_at_risk(x), ep.value_at_risk(x))
        _close(rt.conditional_value_at_risk(x), ep.conditional_value_at_risk(x))
        _close(rt.tail_ratio(x), ep.tail_ratio(x))


def test_a_tail_ratio_without_a_left_tail_is_nan_here_inf_in_empyrical():
    r = np.r_[np.zeros(40), np.linspace(0.001, 0.02, 20)]  # the 5th percentile is 0
    assert math.isnan(rt.tail_ratio(r))
    with np.errstate(divide="ignore"):
        assert ep.tail_ratio(r) == math.inf


def test_returns_with_a_nan_have_no_tails_here_empyrical_drops_the_nans():
    r = np.r_[_series("normal"), math.nan]
    for fn in (rt.value_at_risk, rt.conditional_value_at_risk, rt.tail_ratio):
        assert math.isnan(fn(r))
    assert math.isnan(ep.value_at_risk(r))
    _close(ep.conditional_value_at_risk(r), rt.conditional_value_at_risk(r[:-1]))
    _close(ep.tail_ratio(r), rt.tail_ratio(r[:-1]))


def test_cagr_is_empyrical_cagr_over_calendar_years():
    """empyrical's cagr counts len(r) / ppy years; backgrid's counts calendar time (first open to last close)."""
    r = _series("normal")  # 500 daily bars stamped every calendar day: 500 / 365.25 years
    stats = compute_stats(_stats_input(r, np.zeros(r.size), 252.0))
    years = r.size / 365.25
    _close(stats["cagr"], ep.cagr(r, annualization=r.size / years))
    _close(stats["annual_return"], ep.cagr(r, annualization=252))
    assert stats["cagr"] != pytest.approx(stats["annual_return"], rel=1e-3)


def test_max_drawdown_counts_the_starting_cash_as_a_peak():
    """A loss on the first bar is a drawdown in empyrical (anchored at 100) and here (anchored at the cash)."""
    r = np.array([-0.10, 0.05, 0.02])
    equity = CASH * np.cumprod(1.0 + r)  # 9000, 9450, 9639
    assert rt.max_drawdown(equity, CASH) == pytest.approx(ep.max_drawdown(r), rel=REL)
    assert rt.max_drawdown(equity, CASH) == pytest.approx(-0.10)
    assert rt.max_drawdown(equity) == 0.0  # without the anchor the curve only rises


def test_zero_deviation_is_nan_here_inf_in_empyrical():
    constant = np.full(20, 0.001)
    assert math.isnan(rt.sharpe_ratio(constant, 252.0))
    assert ep.sharpe_ratio(constant) == math.inf
    gains = np.array([0.01, 0.02, 0.0, 0.03])
    assert math.isnan(rt.sortino_ratio(gains, 252.0))
    assert ep.sortino_ratio(gains) == math.inf
    assert math.isnan(rt.omega_ratio(gains))
    assert math.isnan(ep.omega_ratio(gains))


def test_ruin_and_empty_edges():
    ruin = np.array([0.5, -1.2, 0.1, 0.0, 0.0])  # equity goes below zero; 252 / 5 is not a whole power
    assert rt.annual_return(ruin, 252.0) == -1.0
    with np.errstate(invalid="ignore"):
        assert math.isnan(ep.annual_return(ruin))
    empty = np.array([])
    assert rt.max_drawdown(empty, CASH) == 0.0
    assert math.isnan(ep.max_drawdown(empty))
    for ours, theirs in ((rt.annual_return(empty, 252.0), ep.annual_return(empty)),
                         (rt.annual_volatility(empty, 252.0), ep.annual_volatility(empty)),
                         (rt.sharpe_ratio(empty, 252.0), ep.sharpe_ratio(empty)),
                         (rt.sortino_ratio(empty, 252.0), ep.sortino_ratio(empty)),
                         (rt.calmar_ratio(empty, 252.0), ep.calmar_ratio(empty)),
                         (rt.omega_ratio(empty), ep.omega_ratio(empty))):
        assert math.isnan(ours)
        assert math.isnan(theirs)
    one = np.array([0.01])
    for ours, theirs in ((rt.annual_volatility(one, 252.0), ep.annual_volatility(one)),
                         (rt.sharpe_ratio(one, 252.0), ep.sharpe_ratio(one)),
                         (rt.sortino_ratio(one, 252.0), ep.sortino_ratio(one)),
                         (rt.omega_ratio(one), ep.omega_ratio(one))):
        assert math.isnan(ours)
        assert math.isnan(theirs)


@pytest.fixture(scope="module")
def sma_cross():
    bars = demo_bars("DEMO-SPY", "1d")
    close = bars.to_pandas()["close"]
    fast, slow = close.rolling(10).mean(), close.rolling(30).mean()
    return bars, backtest(bars, entries=fast > slow, exits=fast < slow, short_entries=fast < slow,
                          short_exits=fast > slow, costs={"commission": 0.001, "slippage": 0.0005})


def test_backtest_stats_equal_empyrical(sma_cross):
    bars, result = sma_cross
    stats = result.stats
    equity = result.equity.to_numpy()
    r = equity / np.r_[CASH, equity[:-1]] - 1.0
    close = bars.to_pandas()["close"].to_numpy()
    b = np.r_[0.0, close[1:] / close[:-1] - 1.0]
    assert stats["closed_trades"] > 10
    assert (r < 0).any()
    _check_registry(stats.to_dict(), r, b, 252.0)  # DEMO-SPY is us-equity daily: 252 bars a year


def test_backtest_drawdown_equals_the_engine_summary(sma_cross):
    """The kernel's running drawdown (peak from the starting cash) and the metric agree."""
    _, result = sma_cross
    assert result.stats["max_drawdown"] == pytest.approx(-result.summary[0, 1], rel=REL)


def test_sweep_columns_equal_empyrical_each():
    bars = demo_bars("DEMO-SPY", "1d")
    close = bars.to_pandas()["close"]
    fast = pd.DataFrame({w: close.rolling(w).mean() for w in (5, 10, 20)})
    slow = close.rolling(40).mean()
    entries = fast.gt(slow, axis=0)
    result = backtest(bars, entries=entries, exits=fast.lt(slow, axis=0), costs={"commission": 0.001})
    equity = result.equity.to_numpy()
    for c, w in enumerate(entries.columns):
        r = equity[:, c] / np.r_[CASH, equity[:-1, c]] - 1.0
        row = result.stats.loc[w]
        _close(row["sharpe_ratio"], ep.sharpe_ratio(r, annualization=252))
        _close(row["max_drawdown"], ep.max_drawdown(r))
        _close(row["annual_return"], ep.annual_return(r, annualization=252))
