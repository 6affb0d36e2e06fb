"""Small runs for the tear sheet's tests: an SMA cross on the demo S&P 500 days."""

from __future__ import annotations

import pytest

import backgrid
from backgrid import indicators
from backgrid.engine.result import Result


def sma_cross(bars: backgrid.Bars, fast: int = 10, slow: int = 30, **options: object) -> Result:
    a = indicators.compute("sma", bars, period=fast)["sma"]
    b = indicators.compute("sma", bars, period=slow)["sma"]
    return backgrid.backtest(bars, entries=a > b, exits=a < b, **options)


@pytest.fixture(scope="session")
def spy() -> backgrid.Bars:
    return backgrid.demo_bars("DEMO-SPY", "1d")


@pytest.fixture(scope="session")
def result(spy: backgrid.Bars) -> Result:
    return sma_cross(spy, commission=0.001)
