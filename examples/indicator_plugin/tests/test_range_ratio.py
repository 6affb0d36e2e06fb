"""The plugin passes backgrid's conformance check and a hand-computed case."""

import numpy as np

from backgrid.testing import check_indicator
from my_indicators.range_ratio import range_ratio


def test_conforms():
    check_indicator(range_ratio)


def test_hand_computed():
    high, low = np.array([2.0, 3.0, 5.0]), np.array([1.0, 1.0, 1.0])  # ranges 1, 2, 4
    ratio = range_ratio(high, low, period=2)["ratio"]
    np.testing.assert_allclose(ratio, [np.nan, 2 / 1.5, 4 / 3])  # 2 / mean(1, 2); 4 / mean(2, 4)
