"""Range ratio: a bar's high-low range relative to its average over the last N bars."""

from __future__ import annotations

import numpy as np

from backgrid.indicators import Output, Param, indicator
from backgrid.indicators.kernels.core_nb import sma_nb


@indicator(
    "my_range_ratio",
    name="Range ratio",
    category="volatility",
    description="The bar's high-low range divided by its average over the last N bars.",
    tier="beginner",
    inputs=("high", "low"),
    params=(Param.int("period", 20, min=1, max=1000, help="Bars in the average range."),),
    outputs=(Output("ratio", "line", "1 means an average range; 2 twice the average"),),
    warmup=lambda period, **_: period - 1,
    confirmation="none: each value uses bars up to and including its own",
)
def range_ratio(high: np.ndarray, low: np.ndarray, *, period: int) -> dict[str, np.ndarray]:
    """Range over its moving average."""
    spread = high - low
    return {"ratio": spread / sma_nb(spread, period)}
