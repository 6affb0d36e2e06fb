"""The demo source: any timeframe, cut to a window, consistent with resampling the minutes."""

import numpy as np
import pandas as pd

from backgrid.data.resample import resample
from backgrid.data.sources import DataSource
from backgrid.data.sources.demo import DemoSource, demo_bars, demo_minutes
from backgrid.data.timeframe import Timeframe


def test_demo_bars_are_resampled_minutes_cut_to_the_window():
    daily = demo_bars("DEMO-SPY", "1d", start="2023-01-01", end="2023-02-01")
    assert daily.synthetic
    assert daily.source == "demo"
    assert daily.index[0] >= pd.Timestamp("2023-01-01", tz="UTC")
    assert daily.index[-1] < pd.Timestamp("2023-02-01", tz="UTC")
    full = resample(demo_minutes("DEMO-SPY"), "1d")
    np.testing.assert_array_equal(daily.close, full.slice("2023-01-01", "2023-02-01").close)
    assert len(daily) == np.busday_count("2023-01-01", "2023-02-01")  # every weekday: holidays are not modelled


def test_demo_source_implements_the_port():
    source = DemoSource()
    assert isinstance(source, DataSource)
    bars = source.fetch("DEMO-EURUSD", Timeframe("4h"), start=pd.Timestamp("2024-01-01", tz="UTC"))
    assert bars.timeframe == Timeframe("4h")
    assert bars.calendar.name == "fx"
