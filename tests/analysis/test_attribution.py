"""Trade attribution: account state, market and the rule that fired at each entry, against independent references."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from backgrid import backtest, demo_bars
from backgrid.analysis.attribution import attribute_trades, explain
from backgrid.analysis.regimes import trades_with_regime, trend_regime
from backgrid.data.bars import Bars, MultiBars
from backgrid.errors import AnalysisError
from backgrid.indicators import compute
from backgrid.strategy import parse, run
from backgrid.strategy.library import load_library
from tests.engine.scenario_kit import exact, make_bars, mask


@pytest.fixture(scope="module")
def spy() -> Bars:
    return demo_bars("DEMO-SPY", "1d")


def _flat(closes: list[float]) -> list[tuple[float, float, float, float]]:
    return [(c, c, c, c) for c in closes]


def _doc(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "schema_version": 3, "name": "t", "market": {"symbols": ["TEST"], "timeframe": "1d"},
        "entries": {"long": {"any": [{"all": [{">": ["close", 15]}, {">": ["volume", 0]}]},
                                     {"<": ["close", 9]}]}},
        "exits": {"long": {"==": ["close", 12]}},
    }
    doc.update(changes)
    return doc


def _sma_cross(bars: Bars, fast: int, slow: int) -> tuple[pd.Series, pd.Series]:
    return (compute("sma", bars, period=fast)["sma"].reset_index(drop=True),
            compute("sma", bars, period=slow)["sma"].reset_index(drop=True))


def test_sma_cross_rules_and_values_agree_with_pandas(spy: Bars) -> None:
    spec = load_library("sma-cross")
    trades = attribute_trades(run(spec, spy), strategy=spec, data=spy)
    fast, slow = _sma_cross(spy, 10, 50)
    assert len(trades) > 5
    for _, t in trades.iterrows():
        d = t["entry_idx"] - 1  # next_open: decided at the close before the fill
        assert fast[d] > slow[d]
        assert fast[d - 1] <= slow[d - 1]
        assert t["entry_rule"] == "entries.long"
        assert t["entry_values"] == {"fast": fast[d], "slow": slow[d]}
        assert t["entry_condition"] == "SMA(10) crossed above SMA(50)"
        if t["open"]:
            assert t["exit_rule"] == "end"
            assert t["exit_values"] == {}
            continue
        x = t["exit_idx"] - 1
        assert fast[x] < slow[x]
        assert fast[x - 1] >= slow[x - 1]
        assert t["exit_rule"] == "exits.long"
        assert t["exit_values"] == {"fast": fast[x], "slow": slow[x]}


def test_market_at_entry_equals_natr_and_volume_at_the_decision_bar(spy: Bars) -> None:
    spec = load_library("sma-cross")
    trades = attribute_trades(run(spec, spy), data=spy)
    d = trades["entry_idx"].to_numpy() - 1
    natr = compute("natr", spy, period=14)["natr"].to_numpy()
    volume = spy.volume
    assert trades["volatility_at_entry"].tolist() == natr[d].tolist()  # the same module: bit-identical
    assert trades["volume_at_entry"].tolist() == volume[d].tolist()
    assert d.min() >= 20
    relative = [volume[i] / volume[i - 20:i].mean() for i in d]
    assert trades["relative_volume"].to_numpy() == pytest.approx(relative, rel=1e-12)
    assert "entry_rule" not in trades  # no strategy: no reasons


def test_without_data_the_market_columns_are_missing(spy: Bars) -> None:
    trades = attribute_trades(run(load_library("sma-cross"), spy))
    for name in ("volatility_at_entry", "volume_at_entry", "relative_volume"):
        assert trades[name].isna().all()


def test_other_parameters_do_not_explain_the_run(spy: Bars) -> None:
    # with fast = 20 the crosses happen elsewhere: the rule checked at the run's bars must come out false somewhere
    spec = load_library("sma-cross")
    trades = attribute_trades(run(spec, spy), strategy=spec, data=spy, params={"fast": 20})
    assert trades["entry_rule"].isna().any()
    missing = trades[trades["entry_rule"].isna()].iloc[0]
    assert missing["entry_values"] == {}
    assert missing["entry_condition"] is None


def test_same_close_fills_are_decided_at_the_fill_bar(spy: Bars) -> None:
    spec = parse(load_library("sma-cross").model_dump(by_alias=True, exclude_none=True)
                 | {"execution": {"fill": "same_close"}})
    result = run(spec, spy)
    assert result.config.fill == "same_close"
    trades = attribute_trades(result, strategy=spec, data=spy)
    fast, _ = _sma_cross(spy, 10, 50)
    d = trades["entry_idx"].to_numpy()
    assert trades["entry_rule"].eq("entries.long").all()
    assert [v["fast"] for v in trades["entry_values"]] == fast[d].tolist()
    assert trades["drawdown_at_entry"].tolist() == result.ledger()["drawdown"].to_numpy()[d].tolist()


def test_an_any_reports_the_child_that_was_true() -> None:
    # closes: bar 1 (8) is below 9 -> any[1]; bar 4 (16) is above 15 with volume -> any[0], an `all` reported whole
    bars = make_bars(_flat([10, 8, 12, 10, 16, 12, 10, 10]))
    spec = parse(_doc())
    trades = attribute_trades(run(spec, bars), strategy=spec, data=bars)
    assert trades["entry_idx"].tolist() == [2, 5]
    assert trades["entry_rule"].tolist() == ["entries.long.any[1]", "entries.long.any[0]"]
    assert trades["entry_values"].tolist() == [{"close": 8.0}, {"close": 16.0, "volume": 1000.0}]
    assert trades["exit_rule"].tolist() == ["exits.long", "exits.long"]
    assert trades["exit_values"].tolist() == [{"close": 12.0}, {"close": 12.0}]
    # entered at bar 2's open (12), exit decided at bar 2's close (12), filled at bar 3's open (10)
    assert explain(trades.iloc[0]) == ("Long entered 2024-01-03 because the close was below 9 (close 8.00); exited "
                                       "2024-01-04 because the close equalled 12 (close 12.00) at 10.00 (-16.7 %).")


def test_a_nested_any_is_descended_to_the_rule_that_held() -> None:
    bars = make_bars(_flat([10, 8, 12, 10, 10]))
    spec = parse(_doc(entries={"long": {"any": [{">": ["close", 15]},
                                                {"any": [{">": ["close", 20]}, {"<": ["close", 9]}]}]}}))
    trades = attribute_trades(run(spec, bars), strategy=spec, data=bars)
    assert trades["entry_rule"].tolist() == ["entries.long.any[1].any[1]"]


def test_size_percent_heat_and_drawdown_by_hand() -> None:
    # 10 units. A: decided bar 0, filled at bar 1's open 10 (equity before: 1,000); exit decided bar 2 (close 8),
    # filled at bar 3's open 8: equity 980, drawdown -2 %. B: decided bar 3, filled at bar 4's open 9: 90 of 980;
    # at bar 4's close (10) the position is worth 100 of equity 990.
    rows = [(10, 10, 10, 10), (10, 10, 10, 10), (9, 9, 8, 8), (8, 8, 8, 8), (9, 10, 9, 10), (10, 10, 10, 10)]
    bars = make_bars(rows)
    result = backtest(bars, entries=mask(6, [0, 3]), exits=mask(6, [2]), size=10, size_type="units", cash=1_000)
    trades = attribute_trades(result)
    assert trades["entry_price"].tolist() == [10.0, 9.0]
    assert trades["size_percent"].tolist() == [exact(10.0), exact(100 * 90 / 980)]
    assert trades["heat"].tolist() == [exact(100 / 1_000), exact(100 / 990)]
    assert trades["drawdown_at_entry"].tolist() == [exact(0.0), exact(980 / 1_000 - 1)]
    # fewer than 20 bars before the decision: no relative volume
    assert attribute_trades(result, data=bars)["relative_volume"].isna().all()


def test_a_stop_loss_exit_is_reported_as_such() -> None:
    # entered at bar 1's open (100); bar 2's low (90) passes the 5 % stop at 95
    bars = make_bars([(100, 100, 100, 100), (100, 100, 100, 100), (99, 99, 90, 92), (92, 92, 92, 92)])
    spec = parse(_doc(entries={"long": {">": ["close", 99]}}, exits={"stop_loss": {"percent": 5}},
                      sizing={"units": 1}))
    trades = attribute_trades(run(spec, bars), strategy=spec, data=bars)
    first = trades.iloc[0]
    assert (first["exit_reason"], first["exit_rule"], first["exit_values"]) == ("stop_loss", "stop_loss", {})
    assert first["exit_condition"] is None
    assert explain(first) == ("Long entered 2024-01-02 because the close was above 99 (close 100.00); exited "
                              "2024-01-03 by stop loss at 95.00 (-5.0 %).")


def test_a_portfolio_heat_sums_both_positions() -> None:
    # 10 units each. A fills at bar 1's open (10); B at bar 2's open (20), and closes bar 2 at 22: equity 1,020,
    # gross value 10 x 10 + 10 x 22 at that close.
    a = make_bars(_flat([10, 10, 10, 10]), symbol="A")
    b = make_bars([(20, 20, 20, 20), (20, 20, 20, 20), (20, 22, 20, 22), (22, 22, 22, 22)], symbol="B")
    entries = pd.DataFrame({"A": [True, False, False, False], "B": [False, True, False, False]}, index=a.index)
    result = backtest(MultiBars([a, b]), entries=entries, size=10, size_type="units", cash=1_000)
    trades = attribute_trades(result, data=MultiBars([a, b]))
    assert trades["symbol"].tolist() == ["A", "B"]
    assert trades["size_percent"].tolist() == [exact(10.0), exact(20.0)]
    assert trades["heat"].tolist() == [exact(0.1), exact((100 + 220) / 1_020)]
    assert trades["volume_at_entry"].tolist() == [1_000.0, 1_000.0]
    with pytest.raises(AnalysisError, match="no bars for 'B'"):
        attribute_trades(result, data={"A": a})


def test_a_portfolio_strategy_reads_each_symbols_own_rules() -> None:
    a = make_bars(_flat([10, 8, 12, 10]), symbol="A")
    b = make_bars(_flat([10, 16, 12, 10]), symbol="B")
    spec = parse(_doc(market={"symbols": ["A", "B"], "timeframe": "1d"}, sizing={"units": 1}))
    trades = attribute_trades(run(spec, MultiBars([a, b])), strategy=spec, data=MultiBars([a, b]))
    assert dict(zip(trades["symbol"], trades["entry_rule"], strict=True)) == {
        "A": "entries.long.any[1]", "B": "entries.long.any[0]"}


def test_a_sweeps_column_picks_that_column(spy: Bars) -> None:
    spec = load_library("sma-cross")
    result = run(spec, spy, {"fast": [5, 10]})
    label = result.columns[0]
    trades = attribute_trades(result, strategy=spec, data=spy, column=label)
    mine = result.trades[[c == label for c in result.trades["column"]]].drop(columns="column")
    pd.testing.assert_frame_equal(trades[mine.columns], mine.reset_index(drop=True))
    fast, _ = _sma_cross(spy, 5, 50)
    d = trades["entry_idx"].to_numpy() - 1
    assert trades["entry_rule"].eq("entries.long").all()
    assert [v["fast"] for v in trades["entry_values"]] == fast[d].tolist()
    assert trades["entry_condition"].eq("SMA(5) crossed above SMA(50)").all()
    with pytest.raises(AnalysisError, match="column="):
        attribute_trades(result, column=(7,))


def test_regimes_come_from_trades_with_regime(spy: Bars) -> None:
    result = run(load_library("sma-cross"), spy)
    regimes = trend_regime(spy)
    trades = attribute_trades(result, regimes=regimes)
    expected = trades_with_regime(result, regimes)
    pd.testing.assert_series_equal(trades["regime"], expected["regime"])
    pd.testing.assert_series_equal(trades["regime_confidence"], expected["regime_confidence"])


def test_an_open_trade_is_explained_as_still_open() -> None:
    row = {"side": "short", "entry_time": pd.Timestamp("2024-01-02 14:30", tz="UTC"),
           "exit_time": pd.Timestamp("2024-01-05", tz="UTC"), "exit_price": 50.0, "return": 0.0125,
           "exit_reason": "end", "open": True}
    assert explain(row) == "Short entered 2024-01-02 14:30; still open, marked at 50.00 (+1.2 %) on 2024-01-05."
    assert explain(row | {"open": False, "exit_reason": "signal"}) == (
        "Short entered 2024-01-02 14:30; exited 2024-01-05 by an exit signal at 50.00 (+1.2 %).")
    with pytest.raises(AnalysisError, match=r"trade_row .* lacks exit_price"):
        explain({k: v for k, v in row.items() if k != "exit_price"})


def test_errors_name_the_argument(spy: Bars) -> None:
    spec = load_library("sma-cross")
    result = run(spec, spy)
    with pytest.raises(AnalysisError, match="strategy needs data"):
        attribute_trades(result, strategy=spec)
    with pytest.raises(AnalysisError, match="strategy must be a Strategy"):
        attribute_trades(result, strategy={"name": "x"}, data=spy)  # type: ignore[arg-type]
    with pytest.raises(AnalysisError, match="data must be the bars the result ran on"):
        attribute_trades(result, data=spy.take(np.arange(100)))
    with pytest.raises(AnalysisError, match="data must be Bars"):
        attribute_trades(result, data=spy.to_pandas())
    with pytest.raises(AnalysisError, match="params names \\['slowest'\\]"):
        attribute_trades(result, strategy=spec, data=spy, params={"slowest": 3})
    with pytest.raises(AnalysisError, match="params apply to a strategy"):
        attribute_trades(result, params={"fast": 3})
