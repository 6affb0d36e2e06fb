"""Walk-forward: splitters, the stitched out-of-sample account, and no look-ahead."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backgrid.data.bars import Bars
from backgrid.engine import backtest
from backgrid.errors import OptimizeError
from backgrid.optimize import Int, splits, walk_forward
from backgrid.strategy.spec import Strategy
from tests.optimize.conftest import SmaCross

SPACE = {"fast": Int(2, 14, 4), "slow": Int(10, 50, 20)}


def ranges(folds: list) -> list[tuple[int, int, int, int]]:
    return [(f.train.start, f.train.stop, f.test.start, f.test.stop) for f in folds]


def test_rolling_anchored_gap_and_embargo_by_hand() -> None:
    idx = pd.date_range("2024-01-01", periods=20, freq="D", tz="UTC")
    assert ranges(splits(idx, train=8, test=4)) == [(0, 8, 8, 12), (4, 12, 12, 16), (8, 16, 16, 20)]
    assert ranges(splits(idx, train=8, test=4, anchored=True)) == [(0, 8, 8, 12), (0, 12, 12, 16), (0, 16, 16, 20)]
    assert ranges(splits(idx, train=8, test=4, gap=2)) == [(0, 8, 10, 14), (4, 12, 14, 18)]
    assert ranges(splits(idx, train=8, test=4, embargo=1)) == [(0, 8, 8, 12), (5, 13, 13, 17)]
    assert ranges(splits(idx, train=8, folds=3)) == [(0, 8, 8, 12), (4, 12, 12, 16), (8, 16, 16, 20)]


def test_durations_follow_the_calendar() -> None:
    idx = pd.date_range("2023-01-01", "2024-12-31", freq="D", tz="UTC")
    folds = splits(idx, train="1y", test="6m")
    assert len(folds) == 2
    first, second = folds
    assert idx[first.train.start] == pd.Timestamp("2023-01-01", tz="UTC")
    assert idx[first.test.start] == pd.Timestamp("2024-01-01", tz="UTC")
    assert idx[first.test.stop] == pd.Timestamp("2024-07-01", tz="UTC")
    assert idx[second.train.start] == pd.Timestamp("2023-07-01", tz="UTC")
    hours = pd.date_range("2024-01-01", periods=100, freq="h", tz="UTC")
    assert ranges(splits(hours, train="24h", test="12h"))[0] == (0, 24, 24, 36)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"train": 0, "test": 4}, "train must be >= 1 bars"),
    ({"train": "2 years", "test": 4}, "train must be a number of bars or a duration"),
    ({"train": 8}, "give test .* or folds"),
    ({"train": 8, "test": 4, "folds": 2}, "give test or folds, not both"),
    ({"train": 18, "test": 4}, "no fold fits in 20 bars"),
    ({"train": 8, "test": 4, "gap": -1}, "gap must be >= 0"),
])
def test_bad_splits_say_why(kwargs: dict, message: str) -> None:
    idx = pd.date_range("2024-01-01", periods=20, freq="D", tz="UTC")
    with pytest.raises(OptimizeError, match=message):
        splits(idx, **kwargs)


def test_the_stitched_account_equals_each_test_window_run_alone(bars: Bars) -> None:
    """Each test window, run by hand from SmaCross's signals with the chosen set and the carried cash."""
    wf = walk_forward(SmaCross, bars, train=500, test=250, space=SPACE, conditions=["fast < slow"], ledger=False,
                      options={"commission": 0.001})
    folds = splits(bars.index, train=500, test=250)
    assert len(wf.folds) == len(folds) == 4
    cash = 10_000.0
    pieces = []
    for fold, (_, row) in zip(folds, wf.folds.iterrows(), strict=True):
        window = bars.take(slice(fold.train.start, fold.test.stop))
        made = SmaCross(fast=int(row["fast"]), slow=int(row["slow"])).signals(window)
        offset = fold.test.start - fold.train.start
        entries = made["entries"].to_numpy().copy()
        entries[:offset] = False
        flat = np.zeros(len(window), dtype=bool)
        flat[-1] = True
        alone = backtest(window, entries=entries, exits=made["exits"].to_numpy(), flat_at=flat, cash=cash,
                         commission=0.001)
        equity = alone.equity.to_numpy()[offset:]
        pieces.append(equity)
        assert row["trades"] == int((alone.trades["entry_idx"] >= offset).sum())
        cash = float(equity[-1])
    np.testing.assert_array_equal(wf.equity.to_numpy(), np.concatenate(pieces))
    assert (wf.trades["exit_idx"] >= 0).all()
    assert wf.stats["final_equity"] == cash
    assert not wf.trades["open"].any()  # every test window ends flat


def test_the_fold_table(strategy: Strategy, bars: Bars) -> None:
    wf = walk_forward(strategy, bars, train=600, test=300, space=SPACE, ledger=False)
    table = wf.folds
    assert list(table.columns[:4]) == ["train_start", "train_end", "test_start", "test_end"]
    for k, row in table.iterrows():  # the chosen set is the best of that fold's own search, IS value included
        search = wf.searches[k]
        assert (row["fast"], row["slow"]) == (search.best["fast"], search.best["slow"])
        assert row["is_value"] == search.best_value
        assert row["oos_value"] == wf.tests[k].stats["sharpe_ratio"]
        assert row["degradation"] == pytest.approx((row["is_value"] - row["oos_value"]) / abs(row["is_value"]))
    assert wf.efficiency == pytest.approx(table["oos_value"].mean() / table["is_value"].mean())
    stability = wf.stability
    assert stability.loc["fast", "distinct"] == table["fast"].nunique()
    assert "walk-forward of sma-cross: 3 folds" in wf.summary()


@settings(max_examples=5, deadline=None)
@given(fold=st.integers(0, 2), seed=st.integers(0, 10_000))
def test_bars_after_a_train_window_never_change_its_choice(fold: int, seed: int) -> None:
    from tests.conftest import random_bars

    bars = random_bars(1500, timeframe="1h", seed=3)
    cut = splits(bars.index, train=600, test=300)[fold].train.stop
    rng = np.random.default_rng(seed)
    scale = np.ones(bars.close.size)
    scale[cut:] = np.exp(np.cumsum(rng.normal(0, 0.01, scale.size - cut)))  # only bars after the train window move
    changed = dataclasses.replace(bars, open=bars.open * scale, high=bars.high * scale, low=bars.low * scale,
                                  close=bars.close * scale)
    assert changed.close[cut:].tolist() != bars.close[cut:].tolist()
    before = walk_forward(SmaCross, bars, train=600, test=300, space=SPACE, ledger=False).folds
    after = walk_forward(SmaCross, changed, train=600, test=300, space=SPACE, ledger=False).folds
    assert before.loc[fold, ["fast", "slow", "is_value"]].equals(after.loc[fold, ["fast", "slow", "is_value"]])
