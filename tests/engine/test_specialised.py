"""The kernels compiled for a run's options give exactly the results of the general kernel.

A signal not given reaches the kernels as None, and the kernel compiled for that reads nothing of it; given
as an array that never fires, the general kernel reads it at every bar. Both must give bit-identical trade
and order records, equity curves, summaries and final states, on random bars and random signals, for one
account, a sweep of several columns and a portfolio of several symbols (whose bars do not all line up).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from backgrid.data.bars import MultiBars
from backgrid.engine import Result, backtest
from backgrid.testing import random_bars

SIGNALS = ("entries", "exits", "short_entries", "short_exits")
# which signals a run gives, and its settings: long only (W1), reversals with stops (W3), a time stop, all four
RUNS = [
    (("entries", "exits"), {"costs": {"commission": 0.001}}),
    (("entries", "short_entries"), {"stop_loss": 0.02, "take_profit": 0.04, "size": 1.0, "size_type": "units"}),
    (("entries", "exits", "short_entries"), {"max_bars": 7, "costs": {"commission": 0.001, "slippage": 0.0005}}),
    (("short_entries", "short_exits"), {"trailing_stop": 0.03, "costs": {"borrow_rate": 0.05}}),
    (("exits",), {}),
]


def _signals(rng: np.random.Generator, n: int, columns: int, given: tuple[str, ...]) -> dict[str, np.ndarray]:
    shape = (n,) if columns == 1 else (n, columns)
    return {name: rng.random(shape) < 0.06 for name in given}


def _bits(result: Result) -> list[bytes]:
    """Everything the kernels wrote, as raw bytes (NaN-safe, bit for bit)."""
    return [np.ascontiguousarray(a).tobytes() for a in (result.records, result.order_records, result._equity,
                                                        result.summary, result.state)]


def _same_as_general(data: Any, signals: dict[str, np.ndarray], settings: dict[str, Any]) -> None:
    shape = next(iter(signals.values())).shape
    never = {name: np.zeros(shape, dtype=bool) for name in SIGNALS if name not in signals}
    special = backtest(data, **signals, **settings)
    general = backtest(data, **signals, **never, **settings)
    assert _bits(special) == _bits(general)


@pytest.mark.parametrize(("given", "settings"), RUNS)
@pytest.mark.parametrize("seed", range(3))
def test_one_account_and_a_sweep_match_the_general_kernel(given, settings, seed):
    rng = np.random.default_rng(seed)
    bars = random_bars(600, seed=seed)
    for columns in (1, 3):
        _same_as_general(bars, _signals(rng, len(bars), columns, given), settings)


@pytest.mark.parametrize(("given", "settings"), RUNS[:3])
def test_a_portfolio_matches_the_general_kernel(given, settings):
    rng = np.random.default_rng(7)
    symbols = [random_bars(500 - 40 * k, seed=20 + k, symbol=f"S{k}") for k in range(3)]  # unequal lengths
    multi = MultiBars(symbols)
    n = multi.panel(("open",))[0].size
    settings = {**settings, "size": 1.0, "size_type": "units"}
    _same_as_general(multi, _signals(rng, n, len(symbols), given), settings)
