"""The compiler: sweeps as columns, migration, multi-timeframe without look-ahead, warm-up, rule semantics."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import random_bars

from backgrid import backtest
from backgrid.data.bars import Bars
from backgrid.data.resample import resample
from backgrid.data.sources.demo import demo_bars
from backgrid.data.timeframe import Timeframe
from backgrid.errors import SpecError
from backgrid.indicators.compute import compute
from backgrid.strategy import compile_strategy, parse, run
from backgrid.strategy.library import load_library


def _doc(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "schema_version": 2, "name": "t", "market": {"symbols": ["DEMO-SPY"], "timeframe": "1d"},
        "parameters": [{"param": "fast", "default": 10, "min": 5, "max": 50},
                       {"param": "slow", "default": 50, "min": 20, "max": 200}],
        "indicators": {"fast": {"id": "sma", "params": {"period": "$fast"}},
                       "slow": {"id": "sma", "params": {"period": "$slow"}}},
        "entries": {"long": {"crosses_above": ["fast", "slow"]}},
        "exits": {"long": {"crosses_below": ["fast", "slow"]}, "stop_loss": {"percent": "$stop"}},
    }
    doc["parameters"].append({"param": "stop", "default": 5.0, "min": 1.0, "max": 20.0})
    doc.update(changes)
    return doc


def test_sweep_of_two_parameters_equals_the_runs_one_by_one() -> None:
    spec = parse(_doc())
    bars = demo_bars("DEMO-SPY", "1d")
    sweep = {"fast": [5, 10, 20], "stop": [2.0, 5.0]}
    compiled = compile_strategy(spec, bars, sweep)
    swept = compiled.run()
    assert list(swept.columns) == [(f, s) for f in (5, 10, 20) for s in (2.0, 5.0)]
    assert compiled.indicator_runs == (4, 12)  # 3 fast SMAs and one slow SMA, not 12 computations
    for fast in sweep["fast"]:
        for stop in sweep["stop"]:
            one = run(spec, bars, {"fast": [fast], "stop": [stop]})
            assert one.single
            pd.testing.assert_series_equal(swept.stats.loc[(fast, stop)], one.stats.astype(float), check_names=False)
            pd.testing.assert_series_equal(swept.equity[(fast, stop)], one.equity, check_names=False)
            mine = swept.trades[swept.trades["column"] == (fast, stop)].drop(columns="column").reset_index(drop=True)
            pd.testing.assert_frame_equal(mine, one.trades.reset_index(drop=True))


def test_sweep_errors_name_the_parameter() -> None:
    spec = parse(_doc())
    with pytest.raises(SpecError, match=r"sweep.fsat: unknown parameter; did you mean 'fast'"):
        compile_strategy(spec, demo_bars("DEMO-SPY", "1d"), {"fsat": [5]})
    with pytest.raises(SpecError, match=r"sweep.fast: 60 is outside the declared range \[5, 50\]"):
        compile_strategy(spec, demo_bars("DEMO-SPY", "1d"), {"fast": [10, 60]})


def test_v1_document_without_directions_runs_long_only_as_before() -> None:
    v1 = {"schema_version": 1, "name": "old", "symbol": "DEMO-SPY", "timeframe": "1d",
          "indicators": [{"name": "fast", "id": "sma", "params": {"period": 10}},
                         {"name": "slow", "id": "sma", "params": {"period": 50}}],
          "entry": [{"crosses_above": ["fast", "slow"]}], "exit": [{"crosses_below": ["fast", "slow"]}],
          "stop_loss": 0.05, "commission": 0.001}
    spec = parse(v1)
    assert spec.schema_version == 3
    assert spec.entries.short is None
    bars = demo_bars("DEMO-SPY", "1d")
    got = run(spec, bars)
    close = bars.to_pandas().close
    fast, slow = close.rolling(10).mean(), close.rolling(50).mean()
    want = backtest(bars, entries=(fast > slow) & (fast.shift(1) <= slow.shift(1)),
                    exits=(fast < slow) & (fast.shift(1) >= slow.shift(1)), stop_loss=0.05,
                    costs={"commission": 0.001})
    pd.testing.assert_frame_equal(got.trades, want.trades)
    assert (got.trades["side"] == "long").all()
    assert len(got.trades) > 0


def test_an_entry_rule_without_direction_is_long() -> None:
    spec = parse(_doc(entries={"crosses_above": ["fast", "slow"]}))
    assert spec.entries.long is not None
    assert spec.entries.short is None


def test_warmup_is_derived_from_the_graph() -> None:
    spec = parse(_doc(entries={"rising": ["slow[2]", 3]}))
    compiled = compile_strategy(spec, demo_bars("DEMO-SPY", "1d"))
    assert compiled.warmup == 49 + 2 + 3  # SMA(50) defined from bar 49, 2 bars ago, then 3 bars of rising


def test_indicator_fed_by_another_runs_on_its_defined_part() -> None:
    doc = _doc(indicators={"rsi": {"id": "rsi", "params": {"period": 14}},
                           "smooth": {"id": "ema", "params": {"period": 5}, "source": "rsi"}},
               parameters=[], entries={">": ["smooth", 50]}, exits={})
    bars = demo_bars("DEMO-SPY", "1d")
    compiled = compile_strategy(parse(doc), bars)
    rsi = compute("rsi", bars, period=14)["rsi"].to_numpy()
    smooth = np.full(rsi.size, np.nan)
    smooth[14:] = compute("ema", rsi[14:], period=5)["ema"].to_numpy()
    want = np.nan_to_num(smooth, nan=-1) > 50
    assert compiled.warmup == 14 + 4
    np.testing.assert_array_equal(compiled.kwargs["entries"].to_numpy(), want)


def test_rule_semantics_on_a_hand_made_series() -> None:
    close = np.array([1.0, 2.0, 3.0, 2.0, 1.0, 2.0, 3.0, 4.0, 3.0, 5.0])
    ts = random_bars(close.size, timeframe="1d").ts
    bars = Bars("T", Timeframe.parse("1d"), ts, close, close + 1, close - 1, close, np.ones(close.size))
    doc = {"schema_version": 2, "name": "t", "market": {"symbols": [bars.symbol], "timeframe": "1d"},
           "entries": {"long": {"any": [{"rising": ["close", 2]}, {"ago": {"bars": 1, "rule": {"<": ["close", 1.5]}}}]},
                       "short": {"within": {"bars": 2, "rule": {"==": ["close", 3]}}}},
           "exits": {"long": {"between": ["close", 2.5, 3.5]}, "short": {"not": {"falling": ["close", 1]}}}}
    kw = compile_strategy(parse(doc), bars).kwargs
    rising2 = [False, False, True, False, False, False, True, True, False, True]
    ago = [False, True, False, False, False, True, False, False, False, False]
    # `any` is defined once all its parts are: bar 1 (ago's first bar) is still rising's warm-up
    np.testing.assert_array_equal(kw["entries"].to_numpy(), np.logical_or(rising2, ago) & (np.arange(10) >= 2))
    np.testing.assert_array_equal(kw["short_entries"].to_numpy(),
                                  [False, False, True, True, False, False, True, True, True, True])
    np.testing.assert_array_equal(kw["exits"].to_numpy(), (close >= 2.5) & (close <= 3.5))
    np.testing.assert_array_equal(kw["short_exits"].to_numpy(),
                                  [False, True, True, False, False, True, True, True, False, True])


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), hours=st.sampled_from(["4h", "1d"]), lag=st.integers(0, 2))
def test_higher_timeframe_values_appear_only_after_their_bar_closed(seed: int, hours: str, lag: int) -> None:
    bars = random_bars(24 * 30, timeframe="1h", seed=seed)
    doc = {"schema_version": 2, "name": "t", "market": {"symbols": [bars.symbol], "timeframe": "1h"},
           "indicators": {"hi": {"id": "sma", "params": {"period": 3}, "timeframe": hours}},
           "entries": {">": ["close", f"hi[{lag}]"]}}
    spec = parse(doc)
    from backgrid.strategy.evaluate import Evaluator, IndicatorCache

    ev = Evaluator(spec, IndicatorCache(bars), {})
    shown, warm = ev.value(f"hi[{lag}]")
    higher = resample(bars, hours)
    sma = compute("sma", higher, period=3)["sma"].to_numpy()
    closes = higher.close_times()
    decided_at = bars.close_times()
    for i in range(len(bars) - 1, -1, -1 if lag == 0 else -7):
        value = shown[i]
        if np.isnan(value):
            continue
        j = int(np.flatnonzero(sma == value)[-1])
        assert closes[j] <= decided_at[i - lag], "a higher bar's value was used before that bar closed"
    assert np.isnan(shown[:warm]).all()
    # the latest closed higher bar is the one shown (nothing staler either)
    i = len(bars) - 1
    closed = np.flatnonzero(closes[: len(higher) - (0 if higher.last_complete else 1)] <= decided_at[i - lag])
    assert shown[i] == sma[closed[-1]]


def test_multi_symbol_strategy_trades_one_portfolio() -> None:
    spec = parse(_doc(market={"symbols": ["DEMO-SPY", "DEMO-BTC"], "timeframe": "1d"}, exits={},
                      risk={"max_positions": 1}))
    data = {s: demo_bars(s, "1d") for s in ("DEMO-SPY", "DEMO-BTC")}
    result = run(spec, data)
    assert result.assets == ["DEMO-SPY", "DEMO-BTC"]
    open_at = result.trades[["entry_idx", "exit_idx"]].to_numpy()
    for a, (s, e) in enumerate(open_at):  # max_positions=1: trades never overlap
        for s2, e2 in open_at[a + 1:]:
            assert e <= s2 or e2 <= s
    with pytest.raises(SpecError, match="sweep of a multi-symbol strategy"):
        compile_strategy(spec, data, {"fast": [5, 10]})


def test_session_and_end_of_session_on_the_opening_range_document() -> None:
    spec = load_library("opening-range-breakout")
    compiled = compile_strategy(spec, demo_bars("DEMO-SPY", "5m"))
    entries = compiled.kwargs["entries"]
    local = entries.index[entries.to_numpy()].tz_convert("America/New_York")
    assert ((local.hour == 10) & (local.minute < 30)).all()
    assert compiled.kwargs["flat_at"].sum() > 200  # one per trading day of the year


def test_an_engine_option_refused_at_run_time_is_reported_at_its_document_path() -> None:
    # the document's bounds are the engine's, so a parsed document runs; a compiled input changed by hand is
    # refused by the engine and the error names where the document sets that option
    compiled = compile_strategy(parse(_doc()), demo_bars("DEMO-SPY", "1d"))
    changed = dataclasses.replace(compiled, kwargs=compiled.kwargs | {"commission": 1.5})
    with pytest.raises(SpecError, match=r"^t: costs.commission_percent: commission must be a number \(fraction\)"):
        changed.run()
    with pytest.raises(SpecError, match=r"^t: exits.stop_loss: stop_loss must be"):
        dataclasses.replace(compiled, kwargs=compiled.kwargs | {"stop_loss": 2.0}).run()


def test_a_warm_up_longer_than_the_data_is_a_warning() -> None:
    bars = demo_bars("DEMO-SPY", "1d").take(slice(0, 40))  # SMA(50) needs 50 bars
    result = run(parse(_doc()), bars)
    assert result.records.size == 0
    assert result.warnings[0] == ("the rules' warm-up covers all 40 bars of the data: no rule can fire; load more "
                                  "history or shorten the indicators")


def test_a_v2_drawdown_guard_migrates_to_drawdown_limit_and_runs_the_same() -> None:
    guarded = _doc(risk={"max_drawdown_percent": 8, "max_positions": 1})
    spec = parse(guarded)
    assert spec.schema_version == 3
    assert spec.risk.drawdown_limit_percent == 8
    assert spec.risk.max_positions == 1
    bars = demo_bars("DEMO-SPY", "1d")
    v3 = parse(_doc(schema_version=3, risk={"drawdown_limit_percent": 8, "max_positions": 1}))
    got, want = run(spec, bars), run(v3, bars)
    assert (got.state["halt_bar"] >= 0).all()  # the guard does trip on this data
    pd.testing.assert_frame_equal(got.trades, want.trades)
    with pytest.raises(SpecError, match=r"risk: unknown field 'max_drawdown_percent'; did you mean"):
        parse(_doc(schema_version=3, risk={"max_drawdown_percent": 8}))


def test_a_cost_of_the_option_table_reaches_the_engine_from_the_document() -> None:
    compiled = compile_strategy(parse(_doc(costs={"commission_percent": 1, "commission_max": 2.5})),
                                demo_bars("DEMO-SPY", "1d"))
    assert compiled.kwargs["commission"] == 0.01
    assert compiled.kwargs["commission_max"] == 2.5
    result = compiled.run()
    assert result.config.commission_max == 2.5
    assert result.orders["commission"].max() == pytest.approx(2.5)


@pytest.mark.parametrize("applied", [True, False])
def test_execution_corporate_actions_reaches_the_engine(applied: bool) -> None:
    # a dividend of 1.0 on every bar of raw bars: each trade is paid units x 1.0 for every bar it was held over
    # a close, unless the document turns corporate actions off
    bars = demo_bars("DEMO-SPY", "1d")
    bars = dataclasses.replace(bars, dividend=np.ones(len(bars)))
    doc = parse(_doc(execution={"corporate_actions": applied}))
    compiled = compile_strategy(doc, bars)
    assert compiled.kwargs["corporate_actions"] is applied
    trades = compiled.run().trades
    assert len(trades) > 0
    units = trades["size"].to_numpy()
    if applied:  # long trades: held over bars_held closes before the exit's open (next_open fills)
        np.testing.assert_allclose(trades["dividends"].to_numpy(), units * trades["bars_held"].to_numpy())
    else:
        assert (trades["dividends"] == 0.0).all()
