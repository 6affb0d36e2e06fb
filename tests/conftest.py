"""Shared fixtures: every test gets its own empty backgrid home."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest

from backgrid.data.bars import Bars
from backgrid.data.timeframe import Timeframe

if TYPE_CHECKING:
    from pathlib import Path

MINUTE = 60 * 10**9


@pytest.fixture(autouse=True)
def backgrid_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point BACKGRID_HOME at a fresh folder so no test touches ~/.backgrid."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("BACKGRID_HOME", str(home))
    return home


def random_bars(n: int = 500, *, timeframe: str = "1m", seed: int = 0, start_ns: int = 1_704_067_200 * 10**9,
                calendar: str = "crypto", symbol: str = "TEST", step_ns: int | None = None) -> Bars:
    """Valid random-walk bars every ``step_ns`` (default: one timeframe) from ``start_ns``."""
    rng = np.random.default_rng(seed)
    step = step_ns or Timeframe.parse(timeframe).nanos
    ts = start_ns + np.arange(n, dtype=np.int64) * step
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.002, n)))
    open_ = np.r_[100.0, close[:-1]]
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.001, n))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.001, n))
    volume = rng.uniform(1, 100, n).round(3)
    return Bars(symbol, timeframe, ts, open_, high, low, close, volume, calendar=calendar)
