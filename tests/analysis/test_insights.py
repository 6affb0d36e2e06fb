"""Insights and readings on runs with known answers: trade counts, costs, short selling, regimes, overfitting."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

import backgrid
from backgrid.analysis.insights import (
    MAX_REGIME_SHARE,
    MIN_TRADES,
    NUMBER_FORMATS,
    RULES,
    Insight,
    insights,
    stored_insights,
)
from backgrid.analysis.readings import SCALES, format_value, reading, readings
from backgrid.data.bars import Bars
from backgrid.engine.result import Result
from backgrid.errors import ColumnError, ResultColumnError, RobustnessError
from backgrid.robustness import RobustnessReport

DAY = 86_400 * 10**9
#: words a reader without a finance background does not know; plain mode must not use them
JARGON = ("sharpe", "sortino", "pnl", "drawdown", "pbo", "alpha", "beta", "exposure", "regime", "short",
          "psr", "dsr", "deflated", "probabilistic", "overfit", "borrow_rate")


@pytest.fixture(scope="module")
def spy() -> Bars:
    return backgrid.demo_bars("DEMO-SPY", "1d")


def round_trips(n: int, count: int, *, hold: int = 5, every: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Entry and exit signals of ``count`` trades, each held ``hold`` bars, one every ``every`` bars."""
    step = every or n // (count + 1)
    entries, exits = np.zeros(n, dtype=np.bool_), np.zeros(n, dtype=np.bool_)
    starts = np.arange(count) * step + 1
    entries[starts] = True
    exits[starts + hold] = True
    return entries, exits


def trend_bars(n: int = 400, *, daily: float = 0.002, symbol: str = "TREND") -> Bars:
    """A price that moves by ``daily`` every bar (opens at the previous close): each long trade's gross gain
    is known in advance."""
    close = 100.0 * (1.0 + daily) ** np.arange(1, n + 1)
    open_ = np.r_[100.0, close[:-1]]
    ts = 1_704_067_200 * 10**9 + np.arange(n, dtype=np.int64) * DAY
    return Bars(symbol, "1d", ts, open_, np.maximum(open_, close), np.minimum(open_, close), close,
                np.ones(n), calendar="crypto")


def ids(found: list[Insight]) -> list[str]:
    return [i.id for i in found]


def by_id(found: list[Insight], rule_id: str) -> Insight:
    (one,) = [i for i in found if i.id == rule_id]
    return one


def check_cited(found: list[Insight]) -> None:
    """Every insight is a declared outcome with its severity, cites each number as its message writes it, and
    cites its rule's thresholds among its numbers."""
    for insight in found:
        rule = RULES[insight.id]
        assert insight.severity == rule.severity
        for key, value in insight.numbers.items():
            assert format_value(value, NUMBER_FORMATS[key]) in insight.message, (insight.id, key)
        assert rule.thresholds.items() <= insight.numbers.items(), insight.id


# -- confidence ---------------------------------------------------------------------------------------------

def test_twelve_trades_give_the_low_confidence_insight_in_both_modes(spy: Bars) -> None:
    entries, exits = round_trips(len(spy), 12)
    result = backgrid.backtest(spy, entries=entries, exits=exits)
    assert result.stats["closed_trades"] == 12
    for plain in (False, True):
        found = insights(result, plain=plain)
        few = by_id(found, "few_trades")
        assert few.severity == "warning"
        assert few.numbers == {"closed_trades": 12, "min_trades": 30}
        assert "12" in few.message
        assert "30" in few.message
        check_cited(found)
    assert by_id(insights(result), "few_trades").message != by_id(insights(result, plain=True), "few_trades").message


def test_forty_five_trades_do_not(spy: Bars) -> None:
    entries, exits = round_trips(len(spy), 45, hold=3)
    found = insights(backgrid.backtest(spy, entries=entries, exits=exits))
    assert "few_trades" not in ids(found)
    assert by_id(found, "enough_trades").numbers == {"closed_trades": 45, "min_trades": MIN_TRADES}
    check_cited(found)


def test_psr_is_read_against_095(spy: Bars) -> None:
    entries, exits = round_trips(len(spy), 45, hold=3)
    result = backgrid.backtest(spy, entries=entries, exits=exits)
    psr = result.stats["probabilistic_sharpe_ratio"]
    found = insights(result)
    rule_id = "sharpe_significant" if psr >= 0.95 else "sharpe_not_significant"
    assert by_id(found, rule_id).numbers == {"psr": psr, "min_psr": 0.95}
    rising = backgrid.backtest(trend_bars(), entries=round_trips(400, 40)[0], exits=round_trips(400, 40)[1])
    assert rising.stats["probabilistic_sharpe_ratio"] > 0.95  # a price that only rises: every bar held gains
    assert "sharpe_significant" in ids(insights(rising))


# -- costs --------------------------------------------------------------------------------------------------

def test_a_pnl_smaller_than_its_costs_fails_the_2x_cost_check() -> None:
    # +0.2 % a bar over 5 bars held: about 1 % gross per trade, 0.6 % of commission: net > 0 but < the costs
    bars = trend_bars()
    entries, exits = round_trips(len(bars), 30)
    result = backgrid.backtest(bars, entries=entries, exits=exits, commission=0.003)
    trades = result.trades
    net, costs = trades["pnl"].sum(), trades["commission"].sum()
    assert 0 < net < costs
    for plain in (False, True):
        found = insights(result, plain=plain)
        fragile = by_id(found, "cost_fragile")
        assert fragile.severity == "danger"
        assert fragile.numbers == pytest.approx({"net_pnl": net, "costs": costs, "pnl_at_multiple": net - costs,
                                                 "cost_multiple": 2})
        check_cited(found)


def test_an_edge_larger_than_its_costs_survives_and_a_loss_has_no_edge() -> None:
    bars = trend_bars()
    entries, exits = round_trips(len(bars), 30)
    cheap = backgrid.backtest(bars, entries=entries, exits=exits, commission=0.0005, slippage=0.0005)
    trades = cheap.trades
    robust = by_id(insights(cheap), "cost_robust")
    spent = (trades["commission"] + trades["slippage"]).sum()
    assert robust.numbers["pnl_at_multiple"] == pytest.approx(trades["pnl"].sum() - spent)
    assert spent > trades["commission"].sum()  # slippage counts
    falling = backgrid.backtest(trend_bars(daily=-0.002), entries=entries, exits=exits, commission=0.001)
    assert "no_edge" in ids(insights(falling))
    free = backgrid.backtest(bars, entries=entries, exits=exits)
    assert by_id(insights(free), "no_costs").numbers == {"costs": 0.0}


# -- short selling ------------------------------------------------------------------------------------------

def test_a_short_strategy_is_warned_of_unlimited_loss_and_its_borrow_share() -> None:
    bars = trend_bars(daily=-0.002)
    entries, exits = round_trips(len(bars), 30, hold=8)
    result = backgrid.backtest(bars, short_entries=entries, short_exits=exits, borrow_rate=0.2, commission=0.0005)
    shorts = result.trades
    borrow = shorts["borrow"].sum()
    before = (shorts["pnl"] + shorts["borrow"]).sum()
    assert borrow > 0
    assert before > 0
    for plain in (False, True):
        found = insights(result, plain=plain)
        assert by_id(found, "short_unlimited_loss").numbers == {"short_trades": 30}
        share = by_id(found, "borrow_heavy" if borrow / before > 0.25 else "borrow_light")
        assert share.numbers["borrow_share"] == pytest.approx(borrow / before)
        assert format_value(borrow / before, "percent") in share.message
        check_cited(found)
    heavy = backgrid.backtest(bars, short_entries=entries, short_exits=exits, borrow_rate=2.0)
    heavy_share = by_id(insights(heavy), "borrow_heavy").numbers["borrow_share"]
    assert heavy_share > 0.25
    unpaid = backgrid.backtest(bars, short_entries=entries, short_exits=exits)
    assert "no_borrow_cost" in ids(insights(unpaid))
    long_only = backgrid.backtest(bars, entries=entries, exits=exits)
    assert not {"short_unlimited_loss", "borrow_heavy", "borrow_light"} & set(ids(insights(long_only)))


def test_short_trades_that_lost_before_borrow_are_heavy() -> None:
    bars = trend_bars(daily=0.002)  # rising: every short loses
    entries, exits = round_trips(len(bars), 30)
    found = insights(backgrid.backtest(bars, short_entries=entries, short_exits=exits, borrow_rate=0.05))
    heavy = by_id(found, "borrow_heavy")
    assert heavy.numbers["short_pnl_before_borrow"] < 0
    assert "borrow_share" not in heavy.numbers
    check_cited(found)


# -- regimes ------------------------------------------------------------------------------------------------

def volatility_regime_bars(blocks: int = 8, size: int = 50, seed: int = 3) -> tuple[Bars, np.ndarray]:
    """Blocks of calm bars that drift down and volatile bars that trend up; the regime of each bar."""
    rng = np.random.default_rng(seed)
    high = np.repeat(np.arange(blocks) % 2 == 1, size)
    steps = np.where(high, rng.normal(0.004, 0.02, high.size), rng.normal(-0.001, 0.002, high.size))
    close = 100.0 * np.exp(np.cumsum(steps))
    open_ = np.r_[100.0, close[:-1]]
    ts = 1_704_067_200 * 10**9 + np.arange(high.size, dtype=np.int64) * DAY
    bars = Bars("VOL", "1d", ts, open_, np.maximum(open_, close), np.minimum(open_, close), close,
                np.ones(high.size), calendar="crypto")
    return bars, np.where(high, "high", "low")


def regime_table(result: Result, regime: np.ndarray) -> pd.DataFrame:
    """Per regime: the strategy's compounded return over its bars, trades entered there, share of bars."""
    equity = result.equity.to_numpy()
    returns = np.r_[equity[0] / float(result.params["cash"][0]), equity[1:] / equity[:-1]] - 1.0
    entered = regime[result.trades["entry_idx"].to_numpy()]
    rows = {name: {"return": float(np.prod(1.0 + returns[regime == name]) - 1.0),
                   "trades": int((entered == name).sum()), "time_spent": float(np.mean(regime == name))}
            for name in ("low", "high")}
    return pd.DataFrame.from_dict(rows, orient="index")


def test_a_strategy_that_only_works_in_high_volatility_is_regime_dependent() -> None:
    bars, regime = volatility_regime_bars()
    n = len(bars)
    always = backgrid.backtest(bars, entries=np.r_[True, np.zeros(n - 1, dtype=np.bool_)],
                               exits=np.zeros(n, dtype=np.bool_))
    table = regime_table(always, regime)
    assert table.loc["high", "return"] > 0 > table.loc["low", "return"]
    for plain in (False, True):
        found = insights(always, regimes=table, plain=plain)
        dependent = by_id(found, "regime_dependent")
        assert "'high'" in dependent.message
        assert dependent.numbers["regime_share"] == 1.0
        assert dependent.numbers["regime_return"] == table.loc["high", "return"]
        assert dependent.numbers["regime_time"] == 0.5
        check_cited(found)


def test_regime_share_over_the_threshold_flags_and_spread_gains_do_not(spy: Bars) -> None:
    result = backgrid.backtest(spy, entries=round_trips(len(spy), 12)[0], exits=round_trips(len(spy), 12)[1])
    frame = pd.DataFrame({"return": [0.01, 0.02, 0.5], "trades": [4, 4, 4], "time_spent": [0.3, 0.4, 0.3]},
                         index=["low", "normal", "high"])
    share = by_id(insights(result, regimes=frame), "regime_dependent").numbers["regime_share"]
    assert share == pytest.approx(0.5 / 0.53)
    assert share > MAX_REGIME_SHARE
    spread = frame.assign(**{"return": [0.1, 0.08, 0.12]})
    robust = by_id(insights(result, regimes=spread), "regime_robust")
    assert robust.numbers["regimes_profitable"] == 3
    assert robust.numbers["regime_share"] == pytest.approx(0.12 / 0.30)
    assert "regime" not in "".join(ids(insights(result, regimes=frame.assign(**{"return": [-0.1, 0.0, -0.2]}))))
    with pytest.raises(ColumnError, match="time_spent"):
        insights(result, regimes=frame.drop(columns="time_spent"))


# -- overfitting --------------------------------------------------------------------------------------------

def test_overfitting_figures_and_parameters_per_trade(spy: Bars) -> None:
    result = backgrid.backtest(spy, entries=round_trips(len(spy), 12)[0], exits=round_trips(len(spy), 12)[1])
    bad = insights(result, robustness={"dsr": 0.4, "pbo": 0.7, "sensitivity": 0.3}, parameters=3)
    assert {"deflated_sharpe_low", "likely_overfit", "fragile_parameters", "too_many_parameters"} <= set(ids(bad))
    assert by_id(bad, "too_many_parameters").numbers["trades_per_parameter"] == 4.0
    assert by_id(bad, "likely_overfit").severity == "danger"
    check_cited(bad)
    good = insights(result, robustness={"dsr": 0.97, "pbo": 0.5, "sensitivity": 0.5}, parameters=1)
    assert {"deflated_sharpe_ok", "overfit_unlikely", "stable_parameters",
            "enough_trades_per_parameter"} <= set(ids(good))  # the thresholds themselves pass
    check_cited(good)
    assert not {"deflated_sharpe_ok", "likely_overfit"} & set(ids(insights(result, robustness={"dsr": math.nan})))
    with pytest.raises(RobustnessError, match="psr"):
        insights(result, robustness={"psr": 0.9})


def test_a_robustness_report_is_read_for_dsr_pbo_and_plateau(spy: Bars) -> None:
    result = backgrid.backtest(spy, entries=round_trips(len(spy), 12)[0], exits=round_trips(len(spy), 12)[1])
    report = RobustnessReport("sma", {"fast": 10}, result, {"deflated_sharpe": {"dsr": 0.3, "psr": 0.6},
                                                             "pbo": {"pbo": 0.8}, "plateau": {"score": 0.9}})
    found = insights(result, robustness=report)
    assert by_id(found, "deflated_sharpe_low").numbers["dsr"] == 0.3
    assert by_id(found, "likely_overfit").numbers["pbo"] == 0.8
    assert by_id(found, "stable_parameters").numbers["sensitivity"] == 0.9


# -- benchmark, exposure, drawdown, plain mode, columns, stored runs ----------------------------------------

def test_benchmark_exposure_and_drawdown(spy: Bars) -> None:
    result = backgrid.backtest(spy, entries=round_trips(len(spy), 12)[0], exits=round_trips(len(spy), 12)[1])
    stats = result.stats
    found = insights(result)
    compared = by_id(found, "trails_benchmark" if stats["total_return"] < stats["buy_and_hold_return"]
                     else "beats_benchmark")
    assert compared.numbers["gap"] == pytest.approx(abs(stats["total_return"] - stats["buy_and_hold_return"]))
    assert "buy and hold" in compared.message
    given = insights(result, benchmark={"name": "SPY after warm-up", "benchmark_return": -0.5})
    assert "SPY after warm-up" in by_id(given, "beats_benchmark").message
    drawdown = next(i for i in found if i.id.startswith("drawdown_"))
    assert f"could lose {abs(stats['max_drawdown']):.1%}" in drawdown.message
    exposure = next(i for i in found if i.id.startswith("exposure_"))
    assert exposure.numbers["exposure"] == stats["exposure"]
    check_cited(found)


def test_plain_mode_uses_no_jargon() -> None:
    bars = trend_bars(daily=-0.002)
    entries, exits = round_trips(len(bars), 12, hold=8)
    result = backgrid.backtest(bars, short_entries=entries, short_exits=exits, borrow_rate=0.2, commission=0.001)
    table = pd.DataFrame({"return": [0.2, -0.1], "trades": [6, 6], "time_spent": [0.5, 0.5]}, index=["up", "down"])
    kwargs = {"regimes": table, "robustness": {"dsr": 0.4, "pbo": 0.7, "sensitivity": 0.3}, "parameters": 2}
    jargon, plain = insights(result, **kwargs), insights(result, plain=True, **kwargs)
    assert ids(jargon) == ids(plain)
    assert len(plain) >= 12
    for said, simple in zip(jargon, plain, strict=True):
        assert said.message != simple.message
        assert said.numbers == simple.numbers
        text = (simple.title + " " + simple.message).lower()
        assert not [word for word in JARGON if word in text], simple.id
    check_cited(plain)


def test_a_sweep_column_reads_as_that_parameter_set_alone(spy: Bars) -> None:
    a, x = round_trips(len(spy), 12)
    b, y = round_trips(len(spy), 40, hold=3)
    both = backgrid.backtest(spy, entries=np.column_stack([a, b]), exits=np.column_stack([x, y]), commission=0.001)
    alone = backgrid.backtest(spy, entries=b, exits=y, commission=0.001)
    assert insights(both, column=1) == insights(alone)
    assert insights(both) == insights(backgrid.backtest(spy, entries=a, exits=x, commission=0.001))
    with pytest.raises(ResultColumnError, match="column 7"):
        insights(both, column=7)


def test_a_run_stored_before_insights_says_run_it_again(spy: Bars) -> None:
    (hint,) = stored_insights({"stats": {}})
    assert hint.id == "insights_missing"
    assert hint.severity == "info"
    assert "run it again to see insights" in hint.message
    assert stored_insights(None) == [hint]
    assert "run it again" in stored_insights({}, plain=True)[0].message
    result = backgrid.backtest(spy, entries=round_trips(len(spy), 12)[0], exits=round_trips(len(spy), 12)[1])
    found = insights(result)
    assert stored_insights({"insights": [i.to_dict() for i in found]}) == found
    assert found[0].to_dict() == {"id": "few_trades", "severity": "warning", "title": RULES["few_trades"].title,
                                  "message": found[0].message, "numbers": {"closed_trades": 12, "min_trades": 30}}


# -- readings -----------------------------------------------------------------------------------------------

def test_sharpe_15_reads_good_in_both_modes() -> None:
    assert reading("sharpe_ratio", 1.5) == "Sharpe ratio 1.50: good risk-adjusted return (1.00 to 2.00 is good)"
    simple = reading("sharpe_ratio", 1.5, plain=True)
    assert simple.startswith("Return for the risk taken 1.50: good")
    assert "sharpe" not in simple.lower()


@pytest.mark.parametrize(("metric", "value", "verdict", "bounds"), [
    ("sharpe_ratio", -0.5, "negative", "below 0.00"),
    ("sharpe_ratio", 1.0, "good", "1.00 to 2.00"),  # a bound belongs to the band above it
    ("sharpe_ratio", 3.5, "suspiciously high", "3.00 or more"),
    ("sortino_ratio", 1.2, "good", "1.00 to 2.00"),
    ("max_drawdown", -0.25, "deep", "losing 20.0% to 35.0%"),
    ("max_drawdown", -0.05, "mild", "losing under 10.0%"),
    ("max_drawdown", -0.40, "severe", "losing over 35.0%"),
    ("win_rate", 0.45, "moderate", "40.0% to 60.0%"),
    ("profit_factor", 0.8, "losing", "below 1.00"),
    ("total_return", 0.12, "a gain", "0.0% or more"),
    ("cagr", 0.08, "moderate", "5.0% to 15.0%"),
    ("exposure", 0.95, "high", "90.0% or more"),
    ("closed_trades", 12, "too few to trust", "below 30"),
    ("probabilistic_sharpe_ratio", 0.97, "significant", "0.95 or more"),
])
def test_readings_name_the_band_and_its_bounds(metric: str, value: float, verdict: str, bounds: str) -> None:
    for plain in (False, True):
        text = reading(metric, value, plain=plain)
        assert f": {verdict}" in text
        assert text.endswith(f"({bounds} is {verdict})")


def test_readings_of_a_result_cover_every_headline_metric(spy: Bars) -> None:
    stats = backgrid.backtest(spy, entries=round_trips(len(spy), 12)[0], exits=round_trips(len(spy), 12)[1]).stats
    read = readings(stats)
    assert list(read) == list(SCALES)
    assert read["closed_trades"].startswith("Closed trades 12: too few to trust")
    assert readings({"sharpe_ratio": math.nan, "win_rate": None}) == {"sharpe_ratio": "Sharpe ratio: not available",
                                                                      "win_rate": "Win rate: not available"}


def test_every_scale_rises_from_minus_infinity() -> None:
    for scale in SCALES.values():
        lows = [b.low for b in scale.bands]
        assert lows[0] == -math.inf
        assert all(a < b for a, b in itertools.pairwise(lows)), scale.metric
