"""The HTML chart: self-contained, with the candles, trade markers, equity and drawdown of the run."""

import json
import re

import numpy as np
import pandas as pd
import pytest

from backgrid.engine import backtest
from backgrid.testing import random_bars


def payload(html: str) -> dict:
    return json.loads(re.search(r"const data = (\{.*?\});\n", html, re.DOTALL).group(1))


def test_chart_holds_candles_markers_equity_and_drawdown(tmp_path):
    bars = random_bars(200, timeframe="1d", seed=9)
    close = bars.to_pandas().close
    fast, slow = close.rolling(5).mean(), close.rolling(20).mean()
    result = backtest(bars, entries=fast > slow, short_entries=fast < slow, stop_loss=0.03)
    path = result.plot(tmp_path / "run.html")
    html = path.read_text(encoding="utf-8")
    assert "LightweightCharts.createChart" in html
    assert "<script src=" not in html  # nothing fetched from the network
    data = payload(html)
    assert len(data["candles"]) == 200
    assert data["candles"][0]["open"] == pytest.approx(bars.open[0])
    trades = result.trades
    exits = int((~trades["open"]).sum())
    assert len(data["markers"]) == len(trades) + exits
    assert data["equity"][-1]["value"] == pytest.approx(result.equity.iloc[-1])
    drawdown = np.array([p["value"] for p in data["drawdown"]])
    assert drawdown.max() <= 0
    assert drawdown.min() == pytest.approx(result.stats["max_drawdown"] * 100)
    assert "trades, total return" in html


def test_portfolio_chart_has_no_candles_and_long_runs_are_cut(tmp_path):
    a, b = random_bars(300, timeframe="1d", seed=1, symbol="A"), random_bars(300, timeframe="1d", seed=2, symbol="B")
    entries = pd.DataFrame({"A": a.close > a.open, "B": b.close > b.open}, index=a.index)
    result = backtest([a, b], entries=entries, exits=~entries, size=0.5)
    data = payload(result.plot(tmp_path / "p.html", max_bars=100).read_text(encoding="utf-8"))
    assert "candles" not in data
    assert len(data["equity"]) == 100
    with pytest.raises(KeyError, match="is not one column"):
        result.plot(tmp_path / "x.html", column="nope")
