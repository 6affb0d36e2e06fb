"""The plain-English sentence."""

from __future__ import annotations

from backgrid.strategy import parse
from backgrid.strategy.library import library_names, load_library
from backgrid.strategy.summary import summary


def test_the_issue_example_reads_as_written() -> None:
    spec = parse({
        "schema_version": 2, "name": "x", "market": {"symbols": ["DEMO-BTC"], "timeframe": "1h"},
        "indicators": {"fast": {"id": "sma", "params": {"period": 10}}, "slow": {"id": "sma", "params": {"period": 50}},
                       "rsi": {"id": "rsi", "params": {"period": 14}}},
        "entries": {"all": [{"crosses_above": ["fast", "slow"]}, {"<": ["rsi", 70]}]},
        "exits": {"stop_loss": {"percent": 2}, "take_profit": {"percent": 4}},
        "sizing": {"risk_percent": 1},
    })
    assert summary(spec) == ("Go long DEMO-BTC on 1h when SMA(10) crosses above SMA(50) and RSI(14) is below 70; "
                             "exit at a 2% stop-loss or a 4% take-profit; risk 1% of equity per trade.")


def test_both_directions_sessions_and_time_exits() -> None:
    text = summary(load_library("opening-range-breakout"))
    assert text.startswith("Go long DEMO-SPY on 5m between 10:00 and 10:30 America/New_York time on Monday, ")
    assert "be flat at the end of each session" in text
    text = summary(load_library("donchian-breakout"))
    assert "; go short when the close is below DONCHIAN(20) lower 1 bar ago;" in text
    assert "exit longs when" in text
    assert "exit shorts when" in text
    assert "an 8% stop-loss" in summary(load_library("short-momentum"))


def test_every_ready_strategy_has_a_sentence() -> None:
    for name in library_names():
        text = summary(load_library(name))
        assert text.startswith("Go ")
        assert text.endswith(".")
        assert "$" not in text
