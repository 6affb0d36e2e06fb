"""Every ready strategy equals the same logic written by hand against ``backgrid.backtest``.

The hand-written side uses the indicator library for the numbers (tested against TA-Lib on their own) and
pandas for everything the compiler does: rules, look-backs, other timeframes, sessions, stops and sizing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from backgrid import backtest
from backgrid.data.bars import Bars
from backgrid.data.resample import resample
from backgrid.data.sources.demo import demo_bars
from backgrid.engine.result import Result
from backgrid.indicators.compute import compute
from backgrid.strategy import compile_strategy
from backgrid.strategy.library import library_names, load_library


def _run(name: str) -> tuple[Result, Bars]:
    spec = load_library(name)
    bars = demo_bars(spec.market.symbols[0], spec.market.timeframe)
    compiled = compile_strategy(spec, bars)
    return compiled.run(), compiled.data  # type: ignore[return-value]


def _same(got: Result, want: Result) -> None:
    assert len(want.trades) > 0, "the hand-written run must trade, or the comparison proves nothing"
    pd.testing.assert_frame_equal(got.trades, want.trades)
    pd.testing.assert_series_equal(got.equity, want.equity)
    pd.testing.assert_series_equal(got.stats, want.stats)


def _last_year(bars: Bars) -> Bars:
    last = pd.Timestamp(int(bars.ts[-1]), tz="UTC")
    return bars.slice(last - pd.DateOffset(years=1), None)


def _cross_above(a: pd.Series, b: pd.Series | float) -> pd.Series:
    b_prev = b.shift(1) if isinstance(b, pd.Series) else b
    return (a > b) & (a.shift(1) <= b_prev)


def _on_lower(values: pd.Series, higher: Bars, lower: Bars) -> pd.Series:
    """Higher-timeframe values on lower bars from the close of each higher bar (merge_asof on close times)."""
    closes = pd.Series(values.to_numpy(), index=higher.close_times())
    if not higher.last_complete:
        closes = closes.iloc[:-1]
    at = pd.Series(lower.close_times(), name="t")
    merged = pd.merge_asof(at.to_frame(), closes.rename("v").rename_axis("t").reset_index(), on="t")
    return pd.Series(merged["v"].to_numpy(), index=lower.index)


def test_library_has_every_family_the_issue_names() -> None:
    assert len(library_names()) >= 12
    assert {"sma-cross", "rsi-mean-reversion", "bollinger-reversion", "donchian-breakout", "macd-trend",
            "supertrend", "opening-range-breakout", "ict-fvg-london", "mtf-trend-filter", "short-momentum",
            "atr-breakout", "buy-and-hold"} <= set(library_names())


def test_sma_cross() -> None:
    got, bars = _run("sma-cross")
    close = bars.to_pandas().close
    fast, slow = close.rolling(10).mean(), close.rolling(50).mean()
    want = backtest(bars, entries=_cross_above(fast, slow), exits=_cross_above(slow, fast),
                    costs={"commission": 0.0005})
    _same(got, want)


def test_rsi_mean_reversion() -> None:
    got, bars = _run("rsi-mean-reversion")
    close = bars.to_pandas().close
    rsi = compute("rsi", bars, period=2)["rsi"]
    want = backtest(bars, entries=(rsi < 10) & (close > close.rolling(200).mean()), exits=rsi > 70,
                    stop_loss=0.05, max_bars=10, costs={"commission": 0.0005})
    _same(got, want)


def test_bollinger_reversion() -> None:
    got, bars = _run("bollinger-reversion")
    frame = bars.to_pandas()
    bb = compute("bbands", bars, period=20, deviations_up=2.0, deviations_down=2.0)
    atr = compute("atr", bars, period=14)["atr"]
    want = backtest(bars, entries=frame.close < bb["lower"], exits=frame.close > bb["middle"],
                    stop_loss_distance=2 * atr, costs={"commission": 0.001, "slippage": 0.0002})
    _same(got, want)


def test_donchian_breakout() -> None:
    got, bars = _run("donchian-breakout")
    close = bars.to_pandas().close
    entry, exit_ = compute("donchian", bars, period=20), compute("donchian", bars, period=10)
    atr = compute("atr", bars, period=20)["atr"]
    want = backtest(bars, entries=close > entry["upper"].shift(1), short_entries=close < entry["lower"].shift(1),
                    exits=close < exit_["lower"].shift(1), short_exits=close > exit_["upper"].shift(1),
                    stop_loss_distance=2 * atr, size=0.01, size_type="risk", leverage=2.0,
                    costs={"commission": 0.001, "borrow_rate": 0.05})
    _same(got, want)


def test_macd_trend() -> None:
    got, bars = _run("macd-trend")
    close = bars.to_pandas().close
    macd = compute("macd", bars, fast_period=12, slow_period=26, signal_period=9)
    ema = compute("ema", bars, period=200)["ema"]
    want = backtest(bars, entries=_cross_above(macd["macd"], macd["signal"]) & (close > ema),
                    exits=_cross_above(macd["signal"], macd["macd"]), trailing_stop=0.15, costs={"commission": 0.001})
    _same(got, want)


def test_supertrend_reverses() -> None:
    got, bars = _run("supertrend")
    direction = compute("supertrend", bars, period=10, multiplier=3.0)["direction"]
    want = backtest(bars, entries=_cross_above(direction, 0.0), short_entries=_cross_above(-direction, 0.0),
                    costs={"commission": 0.001, "borrow_rate": 0.05})
    _same(got, want)
    assert set(got.trades["side"]) == {"long", "short"}


def test_opening_range_breakout() -> None:
    got, bars = _run("opening-range-breakout")
    bars = _last_year(demo_bars("DEMO-SPY", "5m"))
    halves = resample(bars, "30m")
    high = _on_lower(pd.Series(halves.column("high")), halves, bars)
    local = bars.index.tz_convert("America/New_York")
    minutes = local.hour * 60 + local.minute
    window = (minutes >= 600) & (minutes < 630) & (local.day_of_week < 5)
    close = bars.to_pandas().close
    days = pd.Series(local.date, index=bars.index)
    want = backtest(bars, entries=_cross_above(close, high) & window, stop_loss=0.005, take_profit=0.01,
                    flat_at=days != days.shift(-1).fillna(days.iloc[-1]), lot_size=1.0,
                    costs={"commission_fixed": 1.0, "slippage_ticks": 1, "tick_size": 0.01})
    _same(got, want)
    held = got.trades[~got.trades["open"]]
    assert (held["exit_time"].dt.tz_convert("America/New_York").dt.date
            == held["entry_time"].dt.tz_convert("America/New_York").dt.date).all()


def test_ict_fvg_london() -> None:
    got, bars = _run("ict-fvg-london")
    bars = _last_year(demo_bars("DEMO-EURUSD", "15m"))
    frame = bars.to_pandas()
    fvg = compute("fvg", bars, max_zones=5)
    trend = compute("market_structure", bars, left=5, right=5)["trend"]
    atr = compute("atr", bars, period=14)["atr"]
    local = bars.index.tz_convert("America/New_York")
    zone = pd.Series((local.hour >= 2) & (local.hour < 5), index=bars.index)
    long_ = (frame.low <= fvg["bull_top"]) & (frame.close > fvg["bull_top"]) & (trend == 1) & zone
    short = (frame.high >= fvg["bear_bottom"]) & (frame.close < fvg["bear_bottom"]) & (trend == -1) & zone
    want = backtest(bars, entries=long_, short_entries=short, stop_loss_distance=1.5 * atr,
                    take_profit_distance=3.0 * atr, max_bars=16, costs={"spread": 0.0001})
    _same(got, want)


def test_mtf_trend_filter() -> None:
    got, bars = _run("mtf-trend-filter")
    bars = _last_year(demo_bars("DEMO-BTC", "1h"))
    close = bars.to_pandas().close
    fast, slow = compute("ema", bars, period=20)["ema"], compute("ema", bars, period=50)["ema"]
    days = resample(bars, "1d")
    daily = _on_lower(compute("ema", days, period=50)["ema"], days, bars)
    atr = compute("atr", bars, period=14)["atr"]
    want = backtest(bars, entries=_cross_above(fast, slow) & (close > daily), exits=_cross_above(slow, fast),
                    stop_loss_distance=3 * atr, costs={"commission": 0.001})
    _same(got, want)


def test_short_momentum() -> None:
    got, bars = _run("short-momentum")
    close = bars.to_pandas().close
    roc = compute("roc", bars, period=20)["roc"]
    want = backtest(bars, short_entries=(roc < -5) & (close < close.rolling(100).mean()),
                    short_exits=_cross_above(roc, 0.0), stop_loss=0.08, size=0.5,
                    costs={"commission": 0.0005, "borrow_rate": 0.03})
    _same(got, want)
    assert (got.trades["side"] == "short").all()
    assert got.stats["borrow_paid"] > 0


def test_atr_breakout() -> None:
    got, bars = _run("atr-breakout")
    close = bars.to_pandas().close
    channel = compute("keltner", bars, period=20, atr_period=10, multiplier=2.0)
    atr = compute("atr", bars, period=14)["atr"]
    vol = compute("hist_vol", bars, period=20, periods_per_year=365.0)["hist_vol"] / 100
    want = backtest(bars, entries=_cross_above(close, channel["upper"]), exits=_cross_above(channel["middle"], close),
                    trailing_stop_distance=3 * atr, size=0.4, size_type="volatility", volatility=vol,
                    costs={"commission": 0.001})
    _same(got, want)


def test_buy_and_hold() -> None:
    got, bars = _run("buy-and-hold")
    want = backtest(bars, entries=np.ones(len(bars), dtype=bool), costs={"commission": 0.0005})
    _same(got, want)
    assert len(got.trades) == 1
    assert got.trades["open"].iloc[0]


@pytest.mark.parametrize("name", library_names())
def test_every_ready_strategy_reads_back_from_its_dump(name: str) -> None:
    from backgrid.strategy.document import dump, parse, read_text

    spec = load_library(name)
    again = parse(read_text(dump(spec)))
    assert again == spec
    assert again.fingerprint() == spec.fingerprint()
