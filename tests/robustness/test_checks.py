"""Checks that re-run a strategy: random entries, jitter, costs, resampled prices, plateau, PBO, the report."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from backgrid.data.bars import Bars
from backgrid.engine import backtest
from backgrid.errors import RobustnessError
from backgrid.optimize import CodeTarget, Int, TrialLedger, optimize
from backgrid.robustness import (
    cost_stress,
    dsr,
    jitter,
    pbo,
    plateau,
    random_entries,
    report,
    resampled_paths,
    trials_pbo,
)
from backgrid.robustness.checks import _random_starts
from backgrid.strategy.code import CodeStrategy, Parameter
from tests.conftest import random_bars
from tests.optimize.conftest import SmaCross

SPACE = {"fast": Int(2, 14, 4), "slow": Int(10, 50, 20)}


@pytest.fixture
def bars() -> Bars:
    return random_bars(1500, timeframe="1h", seed=3)


def test_random_starts_keep_holding_times_and_never_overlap() -> None:
    rng = np.random.default_rng(0)
    holds = np.array([5, 1, 30, 7])
    for _ in range(200):
        starts = _random_starts(rng, holds, 100)
        ends = starts + holds
        assert (starts[1:] > ends[:-1]).all()  # a free bar between an exit and the next entry
        assert starts[0] >= 0
        assert ends[-1] + 1 <= 99  # the last exit fills inside the data
    with pytest.raises(RobustnessError, match="no room"):
        _random_starts(rng, np.array([60, 60]), 100)


def test_random_runs_trade_as_often_and_as_long(bars: Bars) -> None:
    target = CodeTarget(SmaCross, {"commission": 0.001})
    real = target.run(bars, [{"fast": 6, "slow": 30}]).records
    found = random_entries(target, bars, {"fast": 6, "slow": 30}, n=20, seed=1)
    assert found.random.size == 20
    rng = np.random.default_rng(1)  # the same draws, run by hand: trades and their holding times are the real ones'
    holds = np.maximum(real["bars_held"], 1)
    order = rng.permutation(holds.size)
    starts = _random_starts(rng, holds[order], len(bars))
    entries, exits = np.zeros(len(bars), dtype=bool), np.zeros(len(bars), dtype=bool)
    entries[starts] = True
    exits[starts + holds[order]] = True
    alone = backtest(bars, entries=entries, exits=exits, commission=0.001)
    assert sorted(alone.records["bars_held"]) == sorted(holds)
    assert alone.stats["total_return"] == found.random[0]
    assert found.p_value == (1 + int(np.sum(found.random >= found.actual))) / 21


class Prescient(CodeStrategy):
    """Enters before every 12-bar rise of the close (it sees the future: a real edge random entries lack)."""

    parameters = (Parameter(param="hold", default=12, min=2, max=50),)

    def signals(self, bars: Bars) -> dict[str, object]:
        close = bars.close
        ahead = np.r_[close[self.hold + 1:], np.full(self.hold + 1, np.nan)] / np.r_[close[1:], np.nan]
        entries = np.nan_to_num(ahead, nan=0.0) > 1.01
        return {"entries": entries, "max_bars": self.hold}


def test_an_edge_is_significant_and_noise_is_not(bars: Bars) -> None:
    edge = random_entries(CodeTarget(Prescient), bars, {"hold": 12}, n=99, seed=0)
    assert edge.p_value == 0.01  # no random run beats it: (1 + 0) / (1 + 99)
    noise = random_entries(CodeTarget(SmaCross), bars, {"fast": 6, "slow": 30}, n=99, seed=0)
    assert noise.p_value > 0.05


def test_jitter_stays_in_the_declared_ranges(bars: Bars) -> None:
    target = CodeTarget(SmaCross)
    found = jitter(target, bars, {"fast": 10, "slow": 30}, fraction=0.2, n=30, seed=2)
    for values in found.sets:
        assert isinstance(values["fast"], int)
        assert 8 <= values["fast"] <= 12
        assert 24 <= values["slow"] <= 36
    again = SmaCross(**found.sets[3]).run(bars).stats["sharpe_ratio"]
    assert found.scores[3] == again
    assert found.base == SmaCross(fast=10, slow=30).run(bars).stats["sharpe_ratio"]


def test_cost_stress_multiplies_every_cost(bars: Bars) -> None:
    target = CodeTarget(SmaCross, {"commission": 0.001, "slippage": 0.0005})
    found = cost_stress(target, bars, {"fast": 6, "slow": 30})
    for multiple, value in zip(found.multiples, found.scores, strict=True):
        alone = SmaCross(fast=6, slow=30).run(bars, commission=0.001 * multiple, slippage=0.0005 * multiple)
        assert value == alone.stats["sharpe_ratio"]
    assert found.scores[0] > found.scores[1] > found.scores[2]


def test_resampled_paths_are_valid_bars_that_keep_each_bars_shape(bars: Bars) -> None:
    found = resampled_paths(CodeTarget(SmaCross), bars, {"fast": 6, "slow": 30}, n=5, seed=4)
    assert found.scores.size == 5
    assert np.isfinite(found.scores).all()
    assert found.actual == SmaCross(fast=6, slow=30).run(bars).stats["sharpe_ratio"]


def test_plateau_by_hand(bars: Bars) -> None:
    search = optimize(SmaCross, bars, space={"fast": Int(2, 20, 2), "slow": Int(30, 30)}, ledger=False)
    trials = search.trials
    best = search.best_trial
    if best["value"] <= 0:
        assert math.isnan(plateau(search))
        return
    near = trials[(abs(trials["fast"] - best["fast"]) <= 2) & (trials.index != best.name)]  # 10 % of 18 < step 2
    assert plateau(search) == pytest.approx(near["value"].mean() / best["value"], rel=1e-12)


def test_trials_pbo_is_pbo_of_the_trials_returns(bars: Bars) -> None:
    search = optimize(SmaCross, bars, space=SPACE, conditions=["fast < slow"], ledger=False)
    found = trials_pbo(search, blocks=8)
    columns = []
    for _, row in search.trials.iterrows():
        equity = SmaCross(fast=int(row["fast"]), slow=int(row["slow"])).run(bars).equity.to_numpy()
        columns.append(equity[1:] / equity[:-1] - 1.0)
    expected = pbo(np.column_stack(columns), blocks=8)
    assert found.pbo == expected.pbo
    np.testing.assert_allclose(found.logits, expected.logits, rtol=1e-12)  # growth products vs quotients


def test_the_report_runs_every_check_and_deflates_with_the_ledger(bars: Bars) -> None:
    search = optimize(SmaCross, bars, space=SPACE, conditions=["fast < slow"])
    found = report(SmaCross, bars, search=search, shuffles=500, random_runs=20, jitter_sets=5, paths=3)
    assert set(found.sections) == {"deflated_sharpe", "shuffles", "bootstrap", "significance", "jitter", "costs",
                                   "paths", "plateau", "pbo"}
    known = TrialLedger().summary("SmaCross")
    assert found.sections["deflated_sharpe"]["trials"] == known.trials == len(search.trials)
    equity = found.result.equity.to_numpy()
    returns = equity[1:] / equity[:-1] - 1.0
    assert found.sections["deflated_sharpe"]["dsr"] == dsr(returns, n_trials=known.trials,
                                                           trials_variance=known.sharpe_variance)
    assert found.params == search.best
    text = found.summary()
    assert "deflated Sharpe" in text
    assert all(len(line) <= 100 for line in text.splitlines())
    assert all(len(line) <= 80 for line in text.splitlines()[1:])  # the first names the parameter set
    frame = found.to_frame()
    assert isinstance(frame, pd.DataFrame)
    assert {"check", "figure", "value"} == set(frame.columns)
