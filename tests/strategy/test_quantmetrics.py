"""The QuantMetrics V4 decision-block request, converted to the native format."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from backgrid import backtest
from backgrid.data.sources.demo import demo_bars
from backgrid.errors import SpecError
from backgrid.indicators.compute import compute
from backgrid.strategy import parse, run


def _request(**changes: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "marketContext": {"market": "DEMO-BTC", "timeframe": "1d", "session": "All", "direction": "Long",
                          "testPeriod": "2y"},
        "decisionBlocks": [
            {"id": "bias", "title": "Market bias", "subConfirmations": [
                {"id": "trend", "label": "Above the 50-day average", "selected": True, "moduleId": "ema",
                 "config": {"period": 50, "operator": "<", "value": "close"}},
                {"id": "unused", "label": "Not selected", "selected": False, "moduleId": "nope", "config": {}}]},
            {"id": "timing", "title": "Timing", "subConfirmations": [
                {"id": "rsi", "label": "RSI oversold", "selected": True, "moduleId": "rsi",
                 "config": {"period": 14, "operator": "<", "value": 45}}]}],
        "exit": {"stopLoss": 1, "takeProfit": 2},
    }
    request.update(changes)
    return request


def test_request_runs_like_the_same_rules_by_hand() -> None:
    spec = parse(_request())
    assert spec.market.period == "2y"
    bars = demo_bars("DEMO-BTC", "1d")
    got = run(spec, bars)
    last = pd.Timestamp(int(bars.ts[-1]), tz="UTC")
    bars = bars.slice(last - pd.DateOffset(years=2), None)
    close = bars.to_pandas().close
    ema, rsi = compute("ema", bars, period=50)["ema"], compute("rsi", bars, period=14)["rsi"]
    atr = compute("atr", bars, period=14)["atr"]
    want = backtest(bars, entries=(ema < close) & (rsi < 45), stop_loss_distance=atr,
                    take_profit_distance=2 * atr)
    assert len(want.trades) > 0
    pd.testing.assert_frame_equal(got.trades, want.trades)


def test_unknown_module_lists_the_available_ones() -> None:
    request = _request()
    request["decisionBlocks"][1]["subConfirmations"][0]["moduleId"] = "rsii"
    with pytest.raises(SpecError) as caught:
        parse(request)
    (path, message), = caught.value.problems
    assert path == "decisionBlocks[1].subConfirmations[0].moduleId"
    assert "unknown module 'rsii'; did you mean 'rsi'?" in message
    assert "available modules: dema, ema, hma" in message


@pytest.mark.parametrize(("change", "path", "expect"), [
    ({"marketContext": {"market": "DEMO-BTC", "timeframe": "1d", "direction": "Both"}}, "marketContext.direction",
     "expected Long or Short"),
    ({"marketContext": {"market": "DEMO-BTC", "timeframe": "1d", "session": "Tokyo"}}, "marketContext.session",
     "unknown session 'Tokyo'"),
    ({"exit": {"stopLoss": -1}}, "exit.stopLoss", "expected a number > 0"),
    ({"decisionBlocks": []}, "decisionBlocks", "at least one decision block"),
])
def test_bad_requests_name_the_field(change: dict[str, Any], path: str, expect: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse(_request(**change))
    assert any(p == path and expect in m for p, m in caught.value.problems), caught.value.problems


def test_session_maps_to_the_kill_zone() -> None:
    request = _request(marketContext={"market": "DEMO-EURUSD", "timeframe": "15m", "session": "London",
                                      "direction": "Short"})
    spec = parse(request)
    assert spec.market.session is not None
    assert spec.market.session.kill_zone == "london"
    assert spec.entries.short is not None
    assert spec.entries.long is None
