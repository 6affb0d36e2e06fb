"""Every registered metric on small inputs worked out by hand, and the edge cases.

The worked example (cash 100, six bars, ``ppy`` = 12, each bar 1/12 of a 365.25-day year):

    returns r  = [0.1, -0.1, 0.1, 0.2, -0.2, 0.3]
    equity     = [110, 99, 108.9, 130.68, 104.544, 135.9072]   (100 * cumprod(1 + r))
    peaks      = [110, 110, 110, 130.68, 130.68, 135.9072]
    drawdown   = [0, -0.1, -0.01, 0, -0.2, 0]
    benchmark  = [100, 110, 99, 99, 108.9, 98.01]              (returns from bar 1: 0.1, -0.1, 0, 0.1, -0.1)
    sorted r   = [-0.2, -0.1, 0.1, 0.1, 0.2, 0.3]                (percentiles: h = q * 5)

Four trades (the last still open, at the last bar):

    side   entry exit pnl  return bars commission slippage borrow
    long   0     2    10   0.10   2    1.0        0.5      0
    short  2     3    -5   -0.05  1    1.0        0.5      0.2
    long   4     5    20   0.20   1    1.0        0.5      0
    short  5     5    -2   -0.02  0    0.5        0.25     0.1   (open)
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backgrid.data.calendar import CRYPTO, FX, US_EQUITY, Calendar
from backgrid.data.sources.demo import demo_bars
from backgrid.data.timeframe import Timeframe
from backgrid.engine import backtest
from backgrid.engine.records import TRADE
from backgrid.metrics import METRICS
from backgrid.metrics import returns as rt
from backgrid.metrics import trades as tr
from backgrid.metrics.registry import DAY_NS, MetricsError, StatsInput, compute_stats, periods_per_year
from backgrid.testing import random_bars

MONTH_NS = 365 * DAY_NS // 12 + DAY_NS // 48  # 365.25 days / 12, exactly (2,629,800 s)
R = np.array([0.1, -0.1, 0.1, 0.2, -0.2, 0.3])
SR = (1 / 15) / math.sqrt(13 / 375)  # per-bar Sharpe: mean 0.4 / 6 = 1/15; sample variance 0.17333 / 5 = 13/375


def _trades(rows: list[tuple]) -> np.ndarray:
    """TRADE records from (side, entry, exit, pnl, return, commission, slippage, borrow, open); the rest 0."""
    out = np.zeros(len(rows), dtype=TRADE)
    names = ("side", "entry_idx", "exit_idx", "pnl", "return", "commission", "slippage", "borrow", "open")
    for name, values in zip(names, zip(*rows, strict=True), strict=True):
        out[name] = values
    out["bars_held"] = out["exit_idx"] - out["entry_idx"]
    return out


TRADES = _trades([
    (1, 0, 2, 10.0, 0.10, 1.0, 0.5, 0.0, False),
    (-1, 2, 3, -5.0, -0.05, 1.0, 0.5, 0.2, False),
    (1, 4, 5, 20.0, 0.20, 1.0, 0.5, 0.0, False),
    (-1, 5, 5, -2.0, -0.02, 0.5, 0.25, 0.1, True),
])


def _input(equity: np.ndarray, *, cash: float = 100.0, trades: np.ndarray | None = None,
           benchmark: np.ndarray | None = None, ppy: float = 12.0, bar_ns: int = MONTH_NS) -> StatsInput:
    n = equity.size
    return StatsInput(equity=np.asarray(equity, dtype=np.float64), cash=cash,
                      ts=np.arange(n, dtype=np.int64) * bar_ns, bar_ns=bar_ns, ppy=ppy,
                      trades=np.zeros(0, dtype=TRADE) if trades is None else trades,
                      benchmark=np.full(n, 100.0) if benchmark is None else np.asarray(benchmark, dtype=np.float64))


@pytest.fixture(scope="module")
def worked() -> dict[str, float]:
    equity = 100.0 * np.cumprod(1.0 + R)
    return compute_stats(_input(equity, trades=TRADES, benchmark=np.array([100, 110, 99, 99, 108.9, 98.01])))


HAND = {
    "start_equity": 100.0,
    "final_equity": 135.9072,
    "total_return": 0.359072,                        # 1.1 * 0.9 * 1.1 * 1.2 * 0.8 * 1.3 - 1
    "annual_return": 1.359072**2 - 1,                # 6 bars at 12 a year = half a year
    "cagr": 1.359072**2 - 1,                         # 6 bars of 1/12 year: the same half year of calendar time
    "annual_volatility": math.sqrt(13 / 375 * 12),
    "sharpe_ratio": SR * math.sqrt(12),              # 0.358057 * 3.4641 = 1.240347
    "sortino_ratio": (1 / 15) / math.sqrt((0.01 + 0.04) / 6) * math.sqrt(12),  # downside over all 6 bars
    "calmar_ratio": (1.359072**2 - 1) / 0.2,         # 0.847077 / 0.2 = 4.235384
    "omega_ratio": 0.7 / 0.3,                        # (0.1 + 0.1 + 0.2 + 0.3) / (0.1 + 0.2)
    "probabilistic_sharpe_ratio": 0.7744394286641378,  # see test_psr_by_hand
    "max_drawdown": -0.2,                            # 104.544 / 130.68 - 1
    "max_drawdown_duration": 2.0,                    # bars 1 and 2 under 110
    "avg_drawdown": -0.15,                           # mean(-0.1, -0.2): two periods
    "ulcer_index": math.sqrt((0.01 + 0.0001 + 0.04) / 6),
    "ulcer_performance_index": (1.359072**2 - 1) / math.sqrt((0.01 + 0.0001 + 0.04) / 6),  # annual return / ulcer
    "value_at_risk": -0.175,                         # h = 0.25: -0.2 + 0.25 * (-0.1 - -0.2)
    "conditional_value_at_risk": -0.2,               # floor(0.25) + 1 = 1 lowest return
    "tail_ratio": 0.275 / 0.175,                     # h = 4.75: 0.2 + 0.75 * 0.1, over |-0.175|
    "exposure": 5 / 6,                               # closes 0, 1 (long), 2 (short), 4 (long), 5 (open short); not 3
    "buy_and_hold_return": 98.01 / 100 - 1,
    "alpha": 1.06**12 - 1,                           # see test_alpha_beta_by_hand
    "beta": -1.75,
    "information_ratio": 0.06 / math.sqrt(0.088) * math.sqrt(12),  # see test_active_return_metrics_by_hand
    "tracking_error": math.sqrt(0.088 * 12),
    "up_capture": (0.72**6 - 1) / (1.21**6 - 1),     # bars buy and hold rose: r = -0.1, -0.2 against 0.1, 0.1
    "down_capture": (1.43**6 - 1) / (0.81**6 - 1),   # bars it fell: r = 0.1, 0.3 against -0.1, -0.1
    "trades": 4.0,
    "closed_trades": 3.0,
    "win_rate": 2 / 3,
    "best_trade": 0.2,
    "worst_trade": -0.05,
    "avg_trade": 0.25 / 3,                           # (0.1 - 0.05 + 0.2) / 3
    "avg_bars_held": 4 / 3,                          # (2 + 1 + 1) / 3
    "profit_factor": 6.0,                            # (10 + 20) / 5
    "expectancy": 25 / 3,                            # (10 - 5 + 20) / 3 in cash
    "sqn": 25 / math.sqrt(475),                      # sqrt(3) * (25/3) / sqrt(475/3): 1.147079
    "kelly_criterion": 5 / 9,                        # W = 2/3, R = mean win 15 / mean loss 5 = 3: 2/3 - (1/3) / 3
    "risk_of_ruin": 0.2**3,                          # ((1 - 2/3) / (1 + 2/3)) ** 3 closed trades
    "long_trades": 2.0,
    "long_win_rate": 1.0,
    "long_pnl": 30.0,
    "short_trades": 1.0,                             # the open short is not closed
    "short_win_rate": 0.0,
    "short_pnl": -5.0,
    "commission_paid": 3.5,                          # every trade, the open one included
    "slippage_paid": 1.75,
    "borrow_paid": 0.3,
}


def test_hand_values_cover_every_metric():
    assert set(HAND) == set(METRICS)


@pytest.mark.parametrize("name", list(HAND))
def test_worked_example(worked, name):
    assert worked[name] == pytest.approx(HAND[name], rel=1e-12, abs=1e-15)


def test_psr_by_hand():
    """Population moments of r about 1/15: m2 = 13/450, m3 = -19/13500, m4 = 41/27000.

    skew = m3 / m2^1.5 = -0.286631, kurt = m4 / m2^2 = 307.5 / 169 = 1.819527;
    z = SR * sqrt(5) / sqrt(1 - skew SR + (kurt - 1) / 4 SR^2) = 0.753547; Phi(z) = 0.774439.
    """
    skew = (-19 / 13500) / (13 / 450) ** 1.5
    kurt = 307.5 / 169
    z = SR * math.sqrt(5) / math.sqrt(1 - skew * SR + (kurt - 1) / 4 * SR**2)
    assert z == pytest.approx(0.7535472274049387, rel=1e-12)
    assert rt.probabilistic_sharpe_ratio(R) == pytest.approx(0.5 * (1 + math.erf(z / math.sqrt(2))), rel=1e-12)
    # against a benchmark Sharpe above the observed one the probability is below one half
    assert rt.probabilistic_sharpe_ratio(R, benchmark_sharpe=0.5) < 0.5


def test_psr_equals_the_formula_with_scipy():
    scipy_stats = pytest.importorskip("scipy.stats")
    r = np.random.default_rng(3).standard_t(4, 400) * 0.01 + 0.001
    sr = r.mean() / r.std(ddof=1)
    skew, kurt = scipy_stats.skew(r), scipy_stats.kurtosis(r, fisher=False)
    for sr_star in (0.0, 0.05, 0.2):
        z = (sr - sr_star) * math.sqrt(r.size - 1) / math.sqrt(1 - skew * sr + (kurt - 1) / 4 * sr**2)
        assert rt.probabilistic_sharpe_ratio(r, sr_star) == pytest.approx(scipy_stats.norm.cdf(z), rel=1e-10)


def test_alpha_beta_by_hand():
    """From bar 1: r = [-0.1, 0.1, 0.2, -0.2, 0.3] (mean 0.06), b = [0.1, -0.1, 0, 0.1, -0.1] (mean 0).

    cov ~ sum(b * (r - 0.06)) = sum(b * r) = -0.01 - 0.01 + 0 - 0.02 - 0.03 = -0.07; var ~ sum(b^2) = 0.04;
    beta = -1.75; alpha = (1 + mean(r - beta b)) ** 12 - 1 = (1 + 0.06 + 1.75 * 0) ** 12 - 1 = 1.012196.
    """
    bench = np.array([100, 110, 99, 99, 108.9, 98.01])
    s = _input(100.0 * np.cumprod(1.0 + R), benchmark=bench)
    np.testing.assert_allclose(s.benchmark_returns[1:], [0.1, -0.1, 0.0, 0.1, -0.1], rtol=1e-12, atol=1e-15)
    stats = compute_stats(s)
    assert stats["beta"] == pytest.approx(-1.75, rel=1e-12)
    assert stats["alpha"] == pytest.approx(1.06**12 - 1, rel=1e-12)
    flat = compute_stats(_input(100.0 * np.cumprod(1.0 + R)))  # a flat benchmark has no variance
    assert math.isnan(flat["alpha"])
    assert math.isnan(flat["beta"])


def test_active_return_metrics_by_hand():
    """From bar 1: active a = r - b = [-0.2, 0.2, 0.2, -0.3, 0.4], mean 0.06.

    Deviations [-0.26, 0.14, 0.14, -0.36, 0.34]: squares sum to 0.352, sample variance 0.088; tracking
    error sqrt(0.088 * 12), information ratio 0.06 / sqrt(0.088) * sqrt(12). Up capture on the bars where
    b > 0 (1 and 4): growth 0.9 * 0.8 = 0.72 against 1.1 * 1.1 = 1.21 over 2 bars, annualised (** 12 / 2);
    down capture on b < 0 (bars 2 and 5): 1.1 * 1.3 = 1.43 against 0.81. Bar 3 (b = 0) is in neither.
    """
    r, b = R[1:], np.array([0.1, -0.1, 0.0, 0.1, -0.1])
    assert rt.tracking_error(r, b, 12.0) == pytest.approx(math.sqrt(0.088 * 12), rel=1e-12)
    assert rt.information_ratio(r, b, 12.0) == pytest.approx(0.06 / math.sqrt(0.088) * math.sqrt(12), rel=1e-12)
    assert rt.up_capture(r, b, 12.0) == pytest.approx((0.72**6 - 1) / (1.21**6 - 1), rel=1e-12)
    assert rt.down_capture(r, b, 12.0) == pytest.approx((1.43**6 - 1) / (0.81**6 - 1), rel=1e-12)
    assert rt.down_capture(r, b, 12.0) < 0  # it gained while buy and hold fell
    # the same returns as the benchmark: no active return, a capture of 1
    assert rt.tracking_error(b, b, 12.0) == 0.0
    assert math.isnan(rt.information_ratio(b, b, 12.0))
    assert rt.up_capture(b, b, 12.0) == rt.down_capture(b, b, 12.0) == 1.0
    # no bar where the benchmark rose (fell): no capture
    assert math.isnan(rt.up_capture(r, -np.abs(b), 12.0))
    assert math.isnan(rt.down_capture(r, np.abs(b), 12.0))
    assert math.isnan(rt.information_ratio(r[:1], b[:1], 12.0))
    assert math.isnan(rt.tracking_error(r[:1], b[:1], 12.0))


def test_quantiles_interpolate_between_order_statistics():
    """h = q (n - 1) on the sorted values, the fraction of h between its two neighbours."""
    x = np.array([3.0, -1.0, 2.0, 0.0, 10.0])  # sorted: -1, 0, 2, 3, 10
    assert rt.quantile(x, 0.05) == pytest.approx(-1.0 + 0.2 * 1.0)   # h = 0.2
    assert rt.quantile(x, 0.95) == pytest.approx(3.0 + 0.8 * 7.0)    # h = 3.8
    assert rt.quantile(x, 0.5) == 2.0
    assert rt.quantile(x, 0.0) == -1.0
    assert rt.quantile(x, 1.0) == 10.0
    assert rt.quantile(np.array([4.0]), 0.05) == 4.0
    assert math.isnan(rt.quantile(np.array([]), 0.05))
    assert math.isnan(rt.quantile(np.array([1.0, math.nan]), 0.05))
    rng = np.random.default_rng(2)
    for n in (2, 7, 100, 1_001):
        y = rng.normal(size=n)
        for q in (0.05, 0.37, 0.95):
            assert rt.quantile(y, q) == pytest.approx(np.percentile(y, 100 * q), rel=1e-12, abs=1e-15)


def test_expected_shortfall_takes_the_lowest_k_plus_one():
    # 41 returns: k = floor(0.05 * 40) = 2, the 3 lowest; a tie at the cut counts up to that number
    x = np.r_[np.full(36, 0.01), -0.05, -0.04, -0.03, -0.03, -0.03]
    assert rt.conditional_value_at_risk(x) == pytest.approx((-0.05 - 0.04 - 0.03) / 3, rel=1e-12)
    assert rt.value_at_risk(x) == pytest.approx(-0.03)  # h = 2: the third lowest exactly
    assert rt.conditional_value_at_risk(np.array([0.5])) == 0.5
    assert rt.conditional_value_at_risk(np.zeros(30)) == 0.0
    for bad in (np.array([]), np.array([0.1, math.nan])):
        assert math.isnan(rt.conditional_value_at_risk(bad))
        assert math.isnan(rt.value_at_risk(bad))
        assert math.isnan(rt.tail_ratio(bad))
    assert math.isnan(rt.tail_ratio(np.zeros(30)))  # the 5th percentile is 0: no left tail to divide by


def test_ulcer_performance_index_edges():
    rising = np.array([0.01, 0.02, 0.03])
    assert math.isnan(rt.ulcer_performance_index(rising, 100.0 * np.cumprod(1.0 + rising), 12.0, 100.0))  # UI 0
    assert math.isnan(rt.ulcer_performance_index(np.array([]), np.array([]), 12.0, 100.0))
    falling = np.array([-0.1, 0.05])
    eq = 100.0 * np.cumprod(1.0 + falling)  # 90, 94.5: drawdowns -0.1, -0.055
    assert rt.ulcer_performance_index(falling, eq, 12.0, 100.0) == pytest.approx(
        ((0.9 * 1.05) ** 6 - 1) / math.sqrt((0.01 + 0.055**2) / 2), rel=1e-12)


def test_risk_of_ruin_counts_closed_trades():
    # W = 2/4 (a break-even trade is not won): (0.5 / 1.5) ** 4
    assert tr.risk_of_ruin(np.array([10.0, -5.0, 20.0, 0.0])) == pytest.approx((1 / 3) ** 4, rel=1e-12)
    assert tr.risk_of_ruin(np.array([1.0, 2.0])) == 0.0  # never lost
    assert tr.risk_of_ruin(np.array([-1.0, -2.0])) == 1.0  # never won
    assert math.isnan(tr.risk_of_ruin(np.array([])))


# ---------------------------------------------------------------------------------------------------
# trade metrics on their own


def test_trade_functions_by_hand():
    pnl = np.array([10.0, -5.0, 20.0, 0.0])  # a break-even trade counts as not won
    assert tr.win_rate(pnl) == 0.5
    assert tr.profit_factor(pnl) == 6.0
    assert tr.expectancy(np.array([0.1, -0.05, 0.2])) == pytest.approx(0.25 / 3)
    # sqn: mean 6.25, sample sd of [10, -5, 20, 0]: SS = 525 - 4 * 39.0625 = 368.75, var 122.9167
    assert tr.sqn(pnl) == pytest.approx(2 * 6.25 / math.sqrt(368.75 / 3), rel=1e-12)
    # kelly: W = 2/4, R = 15 / 5 = 3 -> 0.5 - 0.5 / 3
    assert tr.kelly_criterion(pnl) == pytest.approx(1 / 3, rel=1e-12)


def test_trade_functions_edges():
    none = np.array([])
    for fn in (tr.win_rate, tr.profit_factor, tr.expectancy, tr.sqn, tr.kelly_criterion, tr.risk_of_ruin):
        assert math.isnan(fn(none))
    one = np.array([7.0])
    assert tr.win_rate(one) == 1.0
    assert math.isnan(tr.sqn(one))  # no spread from one trade
    assert math.isnan(tr.profit_factor(one))  # no losses: undefined (backtesting.py: NaN too)
    assert math.isnan(tr.kelly_criterion(one))
    wins = np.array([1.0, 2.0, 3.0])
    assert math.isnan(tr.profit_factor(wins))
    assert math.isnan(tr.kelly_criterion(wins))
    assert tr.sqn(wins) == pytest.approx(math.sqrt(3) * 2.0 / 1.0)
    losses = np.array([-1.0, -3.0])
    assert tr.win_rate(losses) == 0.0
    assert tr.profit_factor(losses) == 0.0
    assert math.isnan(tr.kelly_criterion(losses))
    same = np.array([2.0, 2.0])
    assert math.isnan(tr.sqn(same))


def test_no_trades():
    stats = compute_stats(_input(np.full(5, 100.0)))
    assert stats["trades"] == stats["closed_trades"] == stats["long_trades"] == stats["short_trades"] == 0.0
    assert stats["exposure"] == 0.0
    assert stats["long_pnl"] == stats["short_pnl"] == 0.0
    assert stats["commission_paid"] == stats["slippage_paid"] == stats["borrow_paid"] == 0.0
    for name in ("win_rate", "best_trade", "worst_trade", "avg_trade", "avg_bars_held", "profit_factor",
                 "expectancy", "sqn", "kelly_criterion", "risk_of_ruin", "long_win_rate", "short_win_rate"):
        assert math.isnan(stats[name]), name


def test_one_open_trade_is_not_closed():
    open_long = _trades([(1, 1, 4, 12.0, 0.12, 1.0, 0.0, 0.0, True)])
    stats = compute_stats(_input(np.full(5, 100.0), trades=open_long))
    assert (stats["trades"], stats["closed_trades"]) == (1.0, 0.0)
    assert stats["exposure"] == 4 / 5  # closes 1..4
    assert math.isnan(stats["win_rate"])
    assert stats["commission_paid"] == 1.0


def test_one_closed_trade():
    one = _trades([(-1, 0, 3, 4.0, 0.04, 0.0, 0.0, 0.5, False)])
    stats = compute_stats(_input(np.full(5, 100.0), trades=one))
    assert (stats["short_trades"], stats["short_win_rate"], stats["short_pnl"]) == (1.0, 1.0, 4.0)
    assert (stats["long_trades"], stats["long_pnl"]) == (0.0, 0.0)
    assert math.isnan(stats["long_win_rate"])
    assert (stats["win_rate"], stats["best_trade"], stats["worst_trade"], stats["avg_bars_held"]) == (1.0, 0.04,
                                                                                                       0.04, 3.0)
    assert math.isnan(stats["sqn"])
    assert math.isnan(stats["profit_factor"])
    assert stats["exposure"] == 3 / 5
    assert stats["borrow_paid"] == 0.5


def test_exposure_counts_closes_with_a_position():
    # entered and stopped in bar 2 (no close held); held closes 3, 4 then exited at bar 5's open;
    # a reversal at bar 7: the long holds 6, the short from 7 holds 7, 8, 9 (open to the end)
    rows = _trades([(1, 2, 2, -1.0, -0.01, 0.0, 0.0, 0.0, False), (1, 3, 5, 1.0, 0.01, 0.0, 0.0, 0.0, False),
                    (1, 6, 7, 1.0, 0.01, 0.0, 0.0, 0.0, False), (-1, 7, 9, 1.0, 0.01, 0.0, 0.0, 0.0, True)])
    assert compute_stats(_input(np.full(10, 100.0), trades=rows))["exposure"] == 6 / 10


# ---------------------------------------------------------------------------------------------------
# return and drawdown metrics: edges


def test_flat_equity():
    stats = compute_stats(_input(np.full(8, 100.0)))
    for name in ("total_return", "annual_return", "cagr", "annual_volatility", "max_drawdown",
                 "max_drawdown_duration", "avg_drawdown", "ulcer_index", "buy_and_hold_return", "value_at_risk",
                 "conditional_value_at_risk", "tracking_error"):
        assert stats[name] == 0.0, name
    for name in ("sharpe_ratio", "sortino_ratio", "calmar_ratio", "omega_ratio", "probabilistic_sharpe_ratio",
                 "alpha", "beta", "ulcer_performance_index", "tail_ratio", "information_ratio", "up_capture",
                 "down_capture"):
        assert math.isnan(stats[name]), name


def test_empty():
    s = StatsInput(equity=np.array([]), cash=50.0, ts=np.array([], dtype=np.int64), bar_ns=DAY_NS, ppy=252.0,
                   trades=np.zeros(0, dtype=TRADE), benchmark=np.array([]))
    stats = compute_stats(s)
    assert list(stats) == list(METRICS)
    assert (stats["start_equity"], stats["final_equity"], stats["total_return"], stats["trades"]) == (50, 50, 0, 0)
    assert (stats["max_drawdown"], stats["max_drawdown_duration"], stats["avg_drawdown"], stats["ulcer_index"]) \
        == (0, 0, 0, 0)
    for name in ("annual_return", "cagr", "annual_volatility", "sharpe_ratio", "sortino_ratio", "calmar_ratio",
                 "omega_ratio", "probabilistic_sharpe_ratio", "exposure", "buy_and_hold_return", "alpha", "beta",
                 "win_rate", "ulcer_performance_index", "value_at_risk", "conditional_value_at_risk", "tail_ratio",
                 "information_ratio", "tracking_error", "up_capture", "down_capture", "risk_of_ruin"):
        assert math.isnan(stats[name]), name


def test_first_bar_loss_is_a_drawdown_from_the_cash():
    # cash 100, equity [90, 95, 100, 99]: under the starting peak for bars 0 and 1, recovered at 2
    stats = compute_stats(_input(np.array([90.0, 95.0, 100.0, 99.0])))
    assert stats["max_drawdown"] == pytest.approx(-0.1)
    assert stats["max_drawdown_duration"] == 2.0
    assert stats["avg_drawdown"] == pytest.approx((-0.1 - 0.01) / 2)  # two periods: [-0.1, -0.05] and [-0.01]
    assert stats["ulcer_index"] == pytest.approx(math.sqrt((0.01 + 0.0025 + 0 + 0.0001) / 4))


def test_drawdown_not_recovered_by_the_end():
    equity = np.array([100.0, 120.0, 90.0, 96.0, 108.0])  # under 120 from bar 2 to the end
    assert rt.max_drawdown(equity, 100.0) == pytest.approx(-0.25)
    assert rt.max_drawdown_duration(equity, 100.0) == 3
    assert rt.avg_drawdown(equity, 100.0) == pytest.approx(-0.25)


def test_calmar_and_cagr_edges():
    assert math.isnan(rt.calmar_ratio(np.array([0.01, 0.02]), 252.0))  # never fell
    assert math.isnan(rt.calmar_ratio(np.array([]), 252.0))
    ruined = compute_stats(_input(np.array([50.0, 20.0, -10.0])))  # growth -0.1: no real root
    assert math.isnan(ruined["cagr"])
    assert ruined["annual_return"] == -1.0


def test_cagr_over_calendar_time():
    # 3 daily bars stamped over 3 days of a 365.25-day year: (110 / 100) ** (365.25 / 3) - 1
    s = _input(np.array([100.0, 105.0, 110.0]), ppy=252.0, bar_ns=DAY_NS)
    assert compute_stats(s)["cagr"] == pytest.approx(1.1 ** (365.25 / 3) - 1, rel=1e-12)


def test_sortino_and_omega_thresholds():
    # t = 0.05: excess = [0.05, -0.15, 0.05, 0.15, -0.25, 0.25]
    assert rt.sortino_ratio(R, 1.0, 0.05) == pytest.approx((0.1 / 6) / math.sqrt((0.0225 + 0.0625) / 6))
    assert rt.omega_ratio(R, 0.05) == pytest.approx(0.5 / 0.4)


def _slow_durations(equity: np.ndarray, start: float) -> tuple[int, float]:
    """Longest run of bars under the peak, and the mean of each run's deepest drawdown: a plain loop."""
    peak, run, longest, depths, deepest = start, 0, 0, [], 0.0
    for value in equity:
        peak = max(peak, value)
        dd = value / peak - 1.0
        if dd < 0:
            run += 1
            deepest = min(deepest, dd)
        elif run:
            depths.append(deepest)
            run, deepest = 0, 0.0
        longest = max(longest, run)
    if run:
        depths.append(deepest)
    return longest, float(np.mean(depths)) if depths else 0.0


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(-0.3, 0.3, allow_nan=False), max_size=60), st.floats(0.5, 2.0))
def test_vectorised_drawdowns_equal_a_loop(returns, start):
    equity = np.cumprod(1.0 + np.array(returns, dtype=np.float64))
    longest, avg = _slow_durations(equity, start)
    assert rt.max_drawdown_duration(equity, start) == longest
    assert rt.avg_drawdown(equity, start) == pytest.approx(avg, rel=1e-12, abs=1e-15)


def test_drawdowns_are_fast_on_a_long_series():
    import time

    equity = np.cumprod(1.0 + np.random.default_rng(0).normal(0, 0.01, 1_000_000))
    began = time.perf_counter()
    rt.max_drawdown_duration(equity, 1.0)
    rt.avg_drawdown(equity, 1.0)
    assert time.perf_counter() - began < 1.0  # a Python loop over 1e6 bars takes seconds


# ---------------------------------------------------------------------------------------------------
# annualisation


@pytest.mark.parametrize(("timeframe", "calendar", "expected"), [
    ("1d", US_EQUITY, 252.0),
    ("1d", FX, 252.0),
    ("1d", CRYPTO, 365.0),
    ("1h", CRYPTO, 365.0 * 24),
    ("4h", CRYPTO, 365.0 * 6),
    ("1m", CRYPTO, 365.0 * 1440),
    ("1h", FX, 252.0 * 24),                 # a 24-hour session on weekdays
    ("1h", US_EQUITY, 252.0 * 7),           # 9:30-16:00 binned from the open: 6 full hours and 15:30-16:00
    ("30m", US_EQUITY, 252.0 * 13),
    ("15m", US_EQUITY, 252.0 * 26),
    ("1m", US_EQUITY, 252.0 * 390),
    ("4h", US_EQUITY, 252.0 * 2),           # 9:30-13:30 and 13:30-16:00
    ("1w", US_EQUITY, 365.0 / 7),           # a week is 7 calendar days on any market
    ("1w", CRYPTO, 365.0 / 7),
])
def test_periods_per_year(timeframe, calendar, expected):
    assert periods_per_year(Timeframe.parse(timeframe).nanos, calendar) == pytest.approx(expected, rel=1e-12)


def test_session_length_sets_bars_per_day():
    half_day = Calendar("half", "session", tz="UTC", open_minute=600, close_minute=780, weekdays=(0, 1, 2, 3, 4))
    assert periods_per_year(3_600 * 10**9, half_day) == 252.0 * 3


@pytest.mark.parametrize("timeframe", ["1h", "4h", "30m"])
def test_bars_per_session_match_the_data(timeframe):
    """The count of intraday bars per session periods_per_year assumes is what backgrid's resampling makes."""
    daily = len(demo_bars("DEMO-SPY", "1d"))
    intraday = len(demo_bars("DEMO-SPY", timeframe))
    assert intraday / daily == periods_per_year(Timeframe.parse(timeframe).nanos, US_EQUITY) / 252.0


def test_periods_per_year_override():
    assert periods_per_year(DAY_NS, US_EQUITY, override=250) == 250.0
    assert periods_per_year(3_600 * 10**9, FX, override=1_638.0) == 1_638.0
    assert periods_per_year(DAY_NS, US_EQUITY, override=np.float64(260.0)) == 260.0
    for bad in (0, -1.0, math.nan, math.inf, "252", True):
        with pytest.raises(MetricsError, match="periods_per_year must be a number > 0"):
            periods_per_year(DAY_NS, US_EQUITY, override=bad)
    with pytest.raises(ValueError, match="bar length must be > 0"):
        periods_per_year(0, CRYPTO)


def test_result_stats_annualise_with_the_calendar():
    bars = random_bars(300, timeframe="1h", seed=4)  # crypto: 8760 bars a year
    entries = np.zeros(300, dtype=bool)
    entries[::20] = True
    exits = np.roll(entries, 7)
    result = backtest(bars, entries=entries, exits=exits)
    equity = result.equity.to_numpy()
    r = equity / np.r_[result.params["cash"][0], equity[:-1]] - 1.0
    assert result.stats["annual_volatility"] == pytest.approx(r.std(ddof=1) * math.sqrt(8760), rel=1e-12)
    assert result.stats["sharpe_ratio"] == pytest.approx(r.mean() / r.std(ddof=1) * math.sqrt(8760), rel=1e-12)


def test_annualising_a_short_minute_run_overflows_to_inf_quietly():
    r = np.full(100, 0.002)  # 100 minutes up 0.2 % each: 1.002 ** 525600 = e ** 1051, past a float
    assert rt.annual_return(r, 525_600.0) == math.inf
    assert rt.compound(1.22, 5_256.0) == math.inf  # 1.002 ** 100 = 1.22
    assert rt.compound(0.0, 3.0) == -1.0
    assert rt.annual_volatility_compounded(r + np.linspace(0, 1e-4, 100), 525_600.0) == math.inf
    minutes = _input(10_000.0 * np.cumprod(1.0 + r), cash=10_000.0, ppy=525_600.0, bar_ns=60 * 10**9,
                     benchmark=100.0 * np.cumprod(1.0 + np.linspace(-0.001, 0.001, 100)))
    stats = compute_stats(minutes)
    assert stats["annual_return"] == stats["cagr"] == stats["alpha"] == math.inf


@pytest.mark.parametrize("ppy", [12.0, 52.0, 252.0])
def test_compounded_volatility_is_the_textbook_formula(ppy):
    """sqrt((var + (1 + g)^2)^ppy - (1 + g)^(2 ppy)), rewritten in the code so that it cannot overflow."""
    r = np.random.default_rng(8).normal(0.0008, 0.012, 300)
    g = np.prod(1.0 + r) ** (1.0 / r.size) - 1.0
    var = r.var(ddof=1)
    expected = math.sqrt((var + (1.0 + g) ** 2) ** ppy - (1.0 + g) ** (2.0 * ppy))
    assert rt.annual_volatility_compounded(r, ppy) == pytest.approx(expected, rel=1e-9)
    assert math.isnan(rt.annual_volatility_compounded(np.array([0.1, -1.5]), ppy))  # ruined
