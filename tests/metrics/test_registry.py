"""The registry's declarations: every metric has a unit, and counts come back as ints."""

import math

import numpy as np
import pytest

from backgrid.metrics import METRICS
from backgrid.metrics.registry import UNITS, Metric, MetricsError, compute_stats
from tests.metrics.test_formulas import TRADES, _input


def test_every_metric_has_a_unit_that_says_what_its_values_mean():
    for name, metric in METRICS.items():
        assert metric.unit in UNITS, f"{name}: unit {metric.unit!r}"
        assert metric.description, name
    assert all(UNITS.values())


@pytest.mark.parametrize("unit", ["", "percent", "Cash"])
def test_a_metric_without_a_known_unit_is_refused(unit):
    with pytest.raises(MetricsError, match=f"metric 'x': unit must be one of cash, fraction, .*, got {unit!r}"):
        Metric("x", unit, "a metric", lambda s: s.cash)


def test_a_count_is_declared_an_integer():
    with pytest.raises(MetricsError, match="metric 'n': a count is a whole number; declare it with integer=True"):
        Metric("n", "count", "a count", lambda s: s.trades.size)
    assert Metric("n", "count", "a count", lambda s: s.trades.size, integer=True).integer
    assert all(m.integer for m in METRICS.values() if m.unit == "count")


@pytest.mark.parametrize("case", ["trades", "no trades", "empty"])
def test_integer_metrics_return_ints_and_the_others_floats(case):
    equity = {"trades": 100.0 * np.cumprod(1.0 + np.array([0.1, -0.1, 0.1, 0.2, -0.2, 0.3])),
              "no trades": np.full(5, 100.0), "empty": np.array([])}[case]
    stats = compute_stats(_input(equity, trades=TRADES if case == "trades" else None,
                                 benchmark=np.full(equity.size, 100.0)))
    for name, value in stats.items():
        if METRICS[name].integer:
            assert isinstance(value, int | np.integer), f"{name} is a {type(value).__name__}, expected an int"
            assert not isinstance(value, bool), name
        else:
            assert isinstance(value, float), f"{name} is a {type(value).__name__}, expected a float"
    if case == "trades":
        assert (stats["trades"], stats["closed_trades"], stats["long_trades"], stats["short_trades"]) == (4, 3, 2, 1)
        assert stats["max_drawdown_duration"] == 2  # bars 1 and 2 below the peak of bar 0
        assert math.isclose(stats["avg_bars_held"], 4 / 3)  # a mean of bars: a float, with the same unit
