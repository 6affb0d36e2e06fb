"""The metrics a run without its equity curve still answers (``SUMMARY_METRICS``), from the engine's summary:
equal bit for bit to the same run's metrics computed from the curve, on runs of every kind (long and short,
stops, costs, leverage and ruin, sweeps, a portfolio). The curve-needing metrics say what they need."""

from __future__ import annotations

import numpy as np
import pytest

from backgrid.data.bars import MultiBars
from backgrid.engine import backtest
from backgrid.errors import EquityNotKeptError, MetricsError
from backgrid.metrics import METRICS
from backgrid.metrics.columns import SUMMARY_METRICS, summary_stats
from backgrid.testing.synthetic import random_bars
from tests.engine.scenario_kit import run
from tests.engine.test_ruin import LEVERED_LONG

NAMES = sorted(SUMMARY_METRICS)


def same(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal values, NaN where NaN, and the same sign of zero."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return bool(np.array_equal(a, b, equal_nan=True) and np.array_equal(np.signbit(a), np.signbit(b)))


def signals(n: int, m: int, seed: int, rate: float = 0.03) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.random((n, m)) < rate, rng.random((n, m)) < rate


CASES = {
    "long": {},
    "short, costs": {"direction": "short", "costs": {"commission": 0.001, "slippage": 0.0005}},
    "both, stops": {"direction": "both", "stop_loss": 0.02, "take_profit": 0.03, "trailing_stop": 0.015},
    "levered": {"leverage": 5.0, "size": 4.0, "size_type": "equity"},
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_sweep_without_its_curve_answers_the_same_metrics(case: str) -> None:
    bars = random_bars(2_000, seed=7)
    entries, exits = signals(len(bars), 12, seed=len(case))
    options = dict(CASES[case])
    if options.get("direction") in {"short", "both"}:
        direction = options.pop("direction")
        kwargs = {"short_entries": entries, "short_exits": exits}
        if direction == "both":
            kwargs |= {"entries": exits, "exits": entries}
    else:
        kwargs = {"entries": entries, "exits": exits}
    full = backtest(bars, **kwargs, **options).metrics(NAMES)
    lean = backtest(bars, **kwargs, **options, keep_equity=False).metrics(NAMES)
    assert full["trades"].sum() > 0
    for name in NAMES:
        assert same(lean[name].to_numpy(), full[name].to_numpy()), name
        assert lean[name].dtype == full[name].dtype


def test_a_ruined_account_and_a_flat_one() -> None:
    ruined = run(LEVERED_LONG, entries=[0, 2, 3], size=200, size_type="units", leverage=2.0)
    lean = run(LEVERED_LONG, entries=[0, 2, 3], size=200, size_type="units", leverage=2.0, keep_equity=False)
    assert same(lean.metrics(NAMES).iloc[0].to_numpy(float), ruined.metrics(NAMES).iloc[0].to_numpy(float))
    assert lean.metrics(["max_drawdown", "total_return"]).iloc[0].tolist() == [-1.0, -1.0]
    flat = run(LEVERED_LONG, entries=[], keep_equity=False).metrics(["max_drawdown", "total_return"])
    assert same(flat.iloc[0].to_numpy(), np.array([0.0, 0.0]))  # +0.0, as the curve's 0 / peak - 1


def test_a_portfolio_without_its_curve() -> None:
    data = MultiBars([random_bars(1_500, seed=s, symbol=sym) for s, sym in ((1, "AAA"), (2, "BBB"))])
    rng = np.random.default_rng(3)
    entries = rng.random((1_500, 2)) < 0.02
    exits = rng.random((1_500, 2)) < 0.02
    kwargs = {"entries": entries, "exits": exits, "size": 0.4, "size_type": "equity",
              "costs": {"commission": 0.001}}
    full = backtest(data, **kwargs).metrics(NAMES)
    lean = backtest(data, **kwargs, keep_equity=False).metrics(NAMES)
    for name in NAMES:
        assert same(lean[name].to_numpy(), full[name].to_numpy()), name


def test_metrics_that_need_the_curve_say_so() -> None:
    bars = random_bars(300, seed=1)
    entries, exits = signals(300, 2, seed=1)
    lean = backtest(bars, entries=entries, exits=exits, keep_equity=False)
    with pytest.raises(EquityNotKeptError, match="sharpe_ratio, cagr need the equity curve; run with keep_equity"):
        lean.metrics(["total_return", "sharpe_ratio", "cagr"])
    with pytest.raises(MetricsError, match="sharpe_ratio need the equity curve"):
        summary_stats(np.ones(1), np.zeros(1), np.ones(1), 3, lean.records[:0], np.ones(3), ["sharpe_ratio"])
    assert set(METRICS) - SUMMARY_METRICS >= {"sharpe_ratio", "sortino_ratio", "annual_return", "ulcer_index",
                                              "value_at_risk", "ulcer_performance_index", "information_ratio",
                                              "up_capture"}
    assert "risk_of_ruin" in SUMMARY_METRICS  # from the closed trades alone
