"""Generated markets and signals shared by the engine's Hypothesis tests."""

import numpy as np

from backgrid.data.bars import Bars

DAY = 86_400 * 10**9
SIGNALS = ("entries", "exits", "short_entries", "short_exits")


def random_market(rng: np.random.Generator, n: int, density: float) -> tuple[Bars, dict[str, np.ndarray]]:
    """Daily bars of a random walk with gaps on a fifth of the opens and wicks, and random signals."""
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, n)))
    gaps = np.where(rng.random(n) < 0.2, rng.normal(0, 0.03, n), 0.0)
    open_ = np.r_[100.0, close[:-1]] * np.exp(gaps)
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0, 0.01, n)))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0, 0.01, n)))
    ts = 1_704_067_200 * 10**9 + np.arange(n, dtype=np.int64) * DAY
    bars = Bars("P", "1d", ts, open_, high, low, close, np.ones(n), calendar="crypto")
    return bars, {name: rng.random(n) < density for name in SIGNALS}
