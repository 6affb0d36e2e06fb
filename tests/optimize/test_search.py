"""optimize(): every method's best against brute force, constraints, several objectives, batching and errors."""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from backgrid.data.bars import Bars
from backgrid.errors import OptimizeError
from backgrid.optimize import Int, Space, optimize, pareto_front
from backgrid.strategy.compiler import run
from backgrid.strategy.document import parse
from backgrid.strategy.spec import Strategy
from tests.optimize.conftest import DOC, SmaCross

SPACE = {"fast": Int(2, 14, 4), "slow": Int(10, 50, 20)}  # 4 x 3 = 12 sets


def one_by_one(values: dict[str, Any], bars: Bars) -> pd.Series:
    """The statistics of one parameter set, run alone from a document whose defaults are that set."""
    doc = copy.deepcopy(DOC)
    for p in doc["parameters"]:
        p["default"] = values.get(p["param"], p["default"])
    stats = run(parse(doc), bars).stats
    assert isinstance(stats, pd.Series)
    return stats


def brute_force_best(bars: Bars, objective: str = "sharpe_ratio") -> tuple[dict[str, int], float]:
    best, best_value = {}, -math.inf
    for fast in range(2, 15, 4):
        for slow in range(10, 51, 20):
            if fast >= slow:
                continue
            value = float(one_by_one({"fast": fast, "slow": slow}, bars)[objective])
            if value > best_value:
                best, best_value = {"fast": fast, "slow": slow}, value
    return best, best_value


def test_grid_best_equals_a_brute_force_loop(strategy: Strategy, bars: Bars) -> None:
    result = optimize(strategy, bars, space=SPACE, conditions=["fast < slow"], ledger=False)
    best, value = brute_force_best(bars)
    assert result.best == best
    assert result.best_value == value  # the same arithmetic, column by column: exact
    assert len(result.trials) == 10  # 12 combinations, 2 of them with fast >= slow
    for _, row in result.trials.iterrows():
        alone = one_by_one({"fast": int(row["fast"]), "slow": int(row["slow"])}, bars)
        assert row["value"] == alone["sharpe_ratio"] or (np.isnan(row["value"]) and np.isnan(alone["sharpe_ratio"]))
        assert row["trades"] == alone["trades"]


def test_chunks_of_any_size_change_nothing(strategy: Strategy, bars: Bars) -> None:
    whole = optimize(strategy, bars, space=SPACE, ledger=False)
    tiny = optimize(strategy, bars, space=SPACE, ledger=False, memory=1)  # one set per engine call
    pd.testing.assert_frame_equal(whole.trials, tiny.trials)


def test_tpe_never_beats_the_grid_on_a_space_the_grid_covers(strategy: Strategy, bars: Bars) -> None:
    grid = optimize(strategy, bars, space=SPACE, ledger=False)
    for seed in range(3):
        tpe = optimize(strategy, bars, space=SPACE, method="tpe", trials=8, seed=seed, batch=4, ledger=False)
        assert len(tpe.trials) == 8
        assert tpe.best_value <= grid.best_value
        for _, row in tpe.trials.iterrows():  # each trial's numbers are the grid's for the same set
            same = grid.trials[(grid.trials["fast"] == row["fast"]) & (grid.trials["slow"] == row["slow"])]
            assert float(same["value"].iloc[0]) == row["value"]


@pytest.mark.parametrize("method", ["random", "tpe", "cmaes", "qmc", "nsga2", "nsga3"])
def test_every_method_is_seeded_and_reproducible(method: str, strategy: Strategy, bars: Bars) -> None:
    kwargs: dict[str, Any] = {"space": SPACE, "method": method, "trials": 6, "seed": 7, "batch": 3, "ledger": False}
    first, again = optimize(strategy, bars, **kwargs), optimize(strategy, bars, **kwargs)
    pd.testing.assert_frame_equal(first.trials, again.trials)
    assert len(first.trials) == 6


def test_conditions_are_never_broken(strategy: Strategy, bars: Bars) -> None:
    space = {"fast": Int(2, 40, 2), "slow": Int(10, 60, 10)}
    for method in ("grid", "random", "tpe"):
        trials = None if method == "grid" else 12
        result = optimize(strategy, bars, space=space, method=method, trials=trials, conditions=["fast * 2 <= slow"],
                          ledger=False)
        assert (result.trials["fast"] * 2 <= result.trials["slow"]).all()
    grid = optimize(strategy, bars, space=space, conditions=["fast * 2 <= slow"], ledger=False)
    expected = sum(1 for f in range(2, 41, 2) for s in range(10, 61, 10) if f * 2 <= s)
    assert len(grid.trials) == expected


def test_constraints_mark_trials_infeasible_and_the_best_is_feasible(strategy: Strategy, bars: Bars) -> None:
    result = optimize(strategy, bars, space=SPACE, constraints=["trades >= 20", "max_drawdown > -0.3"], ledger=False)
    trials = result.trials
    expected = (trials["trades"] >= 20) & (trials["max_drawdown"] > -0.3)
    assert (trials["feasible"] == expected).all()
    assert 0 < expected.sum() < len(trials)  # the case exercises both sides
    best = trials.loc[trials["feasible"], "value"].max()
    assert result.best_value == best
    assert result.best_trial["feasible"]


def test_constraints_no_trial_meets_say_so(strategy: Strategy, bars: Bars) -> None:
    result = optimize(strategy, bars, space=SPACE, constraints="trades >= 100000", ledger=False)
    with pytest.raises(OptimizeError, match=r"every trial breaks a constraint \(trades >= 100000\)"):
        _ = result.best


def test_several_objectives_give_the_pareto_front(strategy: Strategy, bars: Bars) -> None:
    result = optimize(strategy, bars, space=SPACE, objective=["sharpe", "drawdown"], ledger=False)
    trials = result.trials
    assert {"value_0", "value_1"} <= set(trials)
    front = result.pareto
    values = trials[["value_0", "value_1"]].to_numpy()
    for k, row in enumerate(values):  # brute force: on the front iff nobody is >= on both and > on one
        dominated = any((other >= row).all() and (other > row).any() for other in values)
        assert (trials.index[k] in front.index) == (not dominated and np.isfinite(row).all())
    assert result.best_trial.name in front.index
    nsga = optimize(strategy, bars, space=SPACE, method="nsga2", trials=8, objective=["sharpe", "drawdown"],
                    ledger=False)
    assert len(nsga.pareto) >= 1


def test_pareto_front_hand_case() -> None:
    values = np.array([[1.0, 1.0], [2.0, 0.0], [0.5, 0.5], [2.0, 1.0], [np.nan, 5.0]])
    assert pareto_front(values, ["maximize", "maximize"]).tolist() == [False, False, False, True, False]
    assert pareto_front(values, ["maximize", "minimize"]).tolist() == [False, True, False, False, False]


def test_a_callable_objective_sees_every_metric(strategy: Strategy, bars: Bars) -> None:
    def return_per_trade(stats: pd.Series) -> float:
        return float(stats["total_return"]) / max(int(stats["trades"]), 1)

    result = optimize(strategy, bars, space=SPACE, objective=return_per_trade, ledger=False)
    trials = result.trials
    expected = trials["total_return"] / trials["trades"].clip(lower=1)
    np.testing.assert_array_equal(trials["value"].to_numpy(), expected.to_numpy())
    assert "sortino_ratio" in trials


def test_minimised_metrics_pick_the_lowest(strategy: Strategy, bars: Bars) -> None:
    result = optimize(strategy, bars, space=SPACE, objective="annual_volatility", ledger=False)
    assert result.objectives[0].direction == "minimize"
    assert result.best_value == result.trials["value"].min()


def test_a_code_strategy_optimises_like_a_document(bars: Bars) -> None:
    result = optimize(SmaCross, bars, space=SPACE, conditions=["fast < slow"], ledger=False,
                      options={"commission": 0.001})
    for _, row in result.trials.iterrows():
        alone = SmaCross(fast=int(row["fast"]), slow=int(row["slow"])).run(bars, commission=0.001).stats
        assert row["value"] == alone["sharpe_ratio"]
    assert result.backtest().stats["sharpe_ratio"] == result.best_value


def test_the_best_set_reruns_to_the_same_numbers(strategy: Strategy, bars: Bars) -> None:
    result = optimize(strategy, bars, space=SPACE, ledger=False)
    again = result.backtest()
    assert again.stats["sharpe_ratio"] == result.best_value
    assert "best: fast=" in result.summary()


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"method": "annealing"}, "method must be one of grid, random, tpe"),
    ({"method": "random"}, "random search needs trials >= 1"),
    ({"trials": 5}, "a grid evaluates all of its 12 combinations"),
    ({"objective": "sharpie"}, "unknown metric 'sharpie'; did you mean"),
    ({"objective": "max:sharpe", "direction": "up"}, "direction must be 'maximize' or 'minimize'"),
    ({"objective": ["sharpe", "drawdown"], "method": "cmaes", "trials": 4}, "cmaes optimises one objective"),
    ({"constraints": "trades at least 30"}, "expected 'metric op number'"),
    ({"constraints": "trade >= 30"}, "unknown metric 'trade'; did you mean 'trades'"),
    ({"conditions": ["fast < slwo"]}, "names 'slwo', which is not a parameter; did you mean 'slow'"),
    ({"space": {"fsat": Int(2, 10)}}, "space names 'fsat', which the strategy does not declare; did you mean 'fast'"),
    ({"space": {"fast": Int(1, 10)}}, r"space.fast: \[1, 10\] leaves the declared range \[2, 40\]"),
    ({"jobs": 0}, "jobs must be a whole number >= 1"),
    ({"method": "tpe", "trials": 4, "batch": 0}, "batch must be a whole number >= 1"),
    ({"metrics": ["sharp"]}, "unknown metric 'sharp' to record"),
])
def test_bad_requests_name_what_is_wrong(kwargs: dict[str, Any], message: str, strategy: Strategy,
                                         bars: Bars) -> None:
    kwargs = {"space": SPACE, "ledger": False} | kwargs
    with pytest.raises(OptimizeError, match=message):
        optimize(strategy, bars, **kwargs)


def test_a_space_object_is_used_as_given(strategy: Strategy, bars: Bars) -> None:
    space = Space({"fast": Int(2, 6, 4)}, fixed={"slow": 50})
    result = optimize(strategy, bars, space=space, ledger=False)
    assert result.trials["fast"].tolist() == [2, 6]
    assert result.best["slow"] == 50


def test_the_package_is_the_function(strategy: Strategy, bars: Bars) -> None:
    import backgrid  # the top-level names are what is tested

    by_name = backgrid.optimize(strategy, bars, space=SPACE, ledger=False)
    pd.testing.assert_frame_equal(by_name.trials, optimize(strategy, bars, space=SPACE, ledger=False).trials)
    assert backgrid.optimize.Int is Int
    assert backgrid.walk_forward.__module__ == "backgrid.optimize.walkforward"
