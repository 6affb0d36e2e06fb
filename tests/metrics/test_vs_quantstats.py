"""backgrid's tail, ulcer, ruin and benchmark metrics against quantstats, each difference of definition pinned.

Mapping, quantstats (``quantstats.stats``, returns as a daily ``pd.Series``) -> backgrid:

- ``tail_ratio(R)`` -> ``tail_ratio(r)``: the same (pandas' linear quantiles, NaN without a left tail).
- ``conditional_value_at_risk(R, method="historical")`` -> ``conditional_value_at_risk(r)``, except for ties
  at the cut: quantstats averages every return at or below the 5 % quantile, backgrid (as empyrical) the
  ``floor(0.05 (n - 1)) + 1`` lowest.
- ``value_at_risk(R)`` is parametric (a normal distribution's 5 % quantile from the mean and the standard
  deviation); backgrid's is historical (the returns' own 5 % quantile).
- ``ulcer_performance_index(R)`` = total compounded return / an ulcer index averaged over ``n - 1`` bars;
  backgrid's = annual return / the registry's ulcer index (averaged over ``n``).
- ``risk_of_ruin(R)`` = ``((1 - W) / (1 + W)) ** n`` with ``W`` the share of winning bars among the nonzero
  ones and ``n`` every bar; backgrid's takes the closed trades: ``W`` their win rate (break-even trades are
  not won) and ``n`` their number.
- ``information_ratio(R, B)`` is per bar and 0 for a constant active return; backgrid's is annualised by
  ``sqrt(ppy)`` and NaN then.
"""

import math
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest
import quantstats.stats as qs

from backgrid.engine.records import TRADE
from backgrid.metrics import returns as rt
from backgrid.metrics import trades as tr
from backgrid.metrics.registry import DAY_NS, StatsInput, compute_stats

REL = 1e-9


def _daily(values: np.ndarray) -> pd.Series:
    return pd.Series(values, index=pd.date_range("2021-01-01", periods=values.size, freq="D"))


def _returns(seed: int, n: int = 600) -> np.ndarray:
    return np.random.default_rng(seed).standard_t(4, n) * 0.01 + 0.0004


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_tail_ratio_equals_quantstats(seed):
    r = _returns(seed)
    assert rt.tail_ratio(r) == pytest.approx(qs.tail_ratio(_daily(r)), rel=REL)
    no_left_tail = np.r_[np.zeros(40), np.linspace(0.001, 0.02, 20)]
    assert math.isnan(rt.tail_ratio(no_left_tail))
    assert math.isnan(qs.tail_ratio(_daily(no_left_tail)))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_expected_shortfall_equals_quantstats_historical(seed):
    r = _returns(seed)  # continuous: no tie at the cut
    assert rt.conditional_value_at_risk(r) == pytest.approx(
        qs.conditional_value_at_risk(_daily(r), method="historical"), rel=REL)


def test_expected_shortfall_with_ties_at_the_cut_differs_from_quantstats():
    """20 returns of -0.02, 100 of -0.01 and 880 gains: the 5 % quantile is -0.01, inside the ties.

    backgrid averages the 50 lowest (``floor(0.05 * 999) + 1``): 20 of -0.02 and 30 of -0.01, -0.014;
    quantstats every return at or below -0.01: (20 * -0.02 + 100 * -0.01) / 120.
    """
    r = np.r_[np.full(100, -0.01), np.linspace(0.001, 0.02, 880), np.full(20, -0.02)]
    assert rt.value_at_risk(r) == pytest.approx(-0.01, rel=1e-12)
    assert rt.conditional_value_at_risk(r) == pytest.approx(-0.014, rel=1e-12)
    assert qs.conditional_value_at_risk(_daily(r), method="historical") == pytest.approx(-1.4 / 120, rel=1e-12)


@pytest.mark.parametrize("seed", [0, 1])
def test_value_at_risk_is_historical_quantstats_is_parametric(seed):
    r = _returns(seed)
    parametric = r.mean() + r.std(ddof=1) * NormalDist().inv_cdf(0.05)
    assert qs.value_at_risk(_daily(r)) == pytest.approx(parametric, rel=REL)
    assert rt.value_at_risk(r) == pytest.approx(_daily(r).quantile(0.05), rel=REL)  # the returns' own quantile
    assert rt.value_at_risk(r) != pytest.approx(parametric, rel=1e-2)  # fat tails: the normal one is not it


def test_ulcer_performance_index_is_annual_return_over_the_ulcer_index():
    """quantstats divides the total compounded return by an ulcer index over n - 1 bars; backgrid the annual
    return by its ulcer index over n bars."""
    r = _returns(3, 400)
    n, ppy, cash = r.size, 252.0, 100.0
    equity = cash * np.cumprod(1.0 + r)
    ulcer = rt.ulcer_index(equity, cash)
    assert qs.ulcer_index(_daily(r)) == pytest.approx(ulcer * math.sqrt(n / (n - 1)), rel=REL)
    assert qs.ulcer_performance_index(_daily(r)) == pytest.approx(
        rt.total_return(r) / (ulcer * math.sqrt(n / (n - 1))), rel=REL)
    ours = rt.ulcer_performance_index(r, equity, ppy, cash)
    assert ours == pytest.approx(rt.annual_return(r, ppy) / ulcer, rel=REL)
    assert ours != pytest.approx(qs.ulcer_performance_index(_daily(r)), rel=1e-2)


def test_risk_of_ruin_equals_quantstats_on_the_trades():
    """quantstats' formula on the closed trades' results (none break even) is backgrid's."""
    pnl = np.random.default_rng(4).normal(0.001, 0.02, 60)
    assert (pnl != 0).all()
    assert tr.risk_of_ruin(pnl) == pytest.approx(qs.risk_of_ruin(_daily(pnl)), rel=REL)


def test_risk_of_ruin_counts_break_even_trades_as_not_won():
    """quantstats leaves zeros out of the win rate but counts them in the exponent; backgrid counts them as
    trades that were not won."""
    pnl = np.array([0.02, -0.01, 0.0, 0.03, 0.0, -0.02, 0.01, 0.0])  # 3 won, 2 lost, 3 even
    theirs = qs.risk_of_ruin(_daily(pnl))
    assert theirs == pytest.approx(((1 - 3 / 5) / (1 + 3 / 5)) ** 8, rel=1e-12)
    assert tr.risk_of_ruin(pnl) == pytest.approx(((1 - 3 / 8) / (1 + 3 / 8)) ** 8, rel=1e-12)


def test_risk_of_ruin_takes_the_trades_not_the_bars():
    """In the registry it comes from the closed trades; quantstats on the bar returns answers another number."""
    r = _returns(5, 200)
    trades = np.zeros(4, dtype=TRADE)
    trades["pnl"] = [5.0, -2.0, 3.0, 1.0]
    trades["entry_idx"] = [0, 50, 100, 150]
    trades["exit_idx"] = [40, 90, 140, 190]
    trades["open"] = [False, False, False, True]  # the open trade is not counted
    s = StatsInput(equity=100.0 * np.cumprod(1.0 + r), cash=100.0, ts=np.arange(200, dtype=np.int64) * DAY_NS,
                   bar_ns=DAY_NS, ppy=252.0, trades=trades, benchmark=np.full(200, 10.0))
    ours = compute_stats(s)["risk_of_ruin"]
    assert ours == pytest.approx(((1 - 2 / 3) / (1 + 2 / 3)) ** 3, rel=1e-12)
    assert ours != pytest.approx(qs.risk_of_ruin(_daily(s.returns)), rel=1e-3)


@pytest.mark.parametrize("ppy", [252.0, 52.0])
def test_information_ratio_is_quantstats_annualised(ppy):
    r = _returns(6, 500)
    b = 0.7 * r + np.random.default_rng(7).normal(0.0, 0.006, 500)
    theirs = qs.information_ratio(_daily(r), _daily(b))
    assert rt.information_ratio(r, b, ppy) == pytest.approx(theirs * math.sqrt(ppy), rel=REL)
    steps = (np.arange(10) - 4) / 1024  # a constant active return (exact in binary): NaN here, 0 there
    assert math.isnan(rt.information_ratio(steps + 2 / 1024, steps, ppy))
    assert qs.information_ratio(_daily(steps + 2 / 1024), _daily(steps)) == 0
