"""A result written to disk and read back is the same result: records, curve, statistics, settings, labels."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from backgrid.data.bars import MultiBars
from backgrid.engine import Result, backtest
from backgrid.engine.archive import FORMAT
from backgrid.errors import ResultFileError
from backgrid.testing import random_bars


def _same(a: Result, b: Result) -> None:
    for mine, theirs in ((a.records, b.records), (a.order_records, b.order_records), (a.state, b.state)):
        assert mine.dtype == theirs.dtype
        assert mine.tobytes() == theirs.tobytes()  # bit for bit, NaN prices (market orders) included
    assert np.array_equal(a.equity.to_numpy(), b.equity.to_numpy())
    pd.testing.assert_index_equal(a.index, b.index)
    assert a.columns.equals(b.columns)
    assert a.assets == b.assets
    assert a.warnings == b.warnings
    assert a.config == b.config
    pd.testing.assert_frame_equal(a.trades, b.trades)
    pd.testing.assert_frame_equal(a.ledger(), b.ledger())
    if a.single:
        pd.testing.assert_series_equal(a.stats, b.stats)
    else:
        pd.testing.assert_frame_equal(a.stats, b.stats)


def _signals(n: int, every: int = 17) -> tuple[np.ndarray, np.ndarray]:
    i = np.arange(n)
    return i % every == 0, i % every == every // 2


def test_one_run_round_trips(tmp_path):
    bars = random_bars(400, seed=3)
    entries, exits = _signals(len(bars))
    run = backtest(bars, entries=entries, exits=exits, stop_loss=0.03, commission=0.001)
    path = run.save(tmp_path / "run")
    assert path.name == "run.npz"
    _same(run, Result.load(path))


def test_a_sweep_keeps_its_labels_and_one_column_equals_its_set_run_alone(tmp_path):
    bars = random_bars(300, seed=5)
    entries, exits = _signals(len(bars))
    sweep = backtest(bars, entries=entries, exits=exits, stop_loss=[0.02, 0.05, 0.1])
    again = Result.load(sweep.save(tmp_path / "sweep.npz"))
    _same(sweep, again)
    alone = backtest(bars, entries=entries, exits=exits, stop_loss=0.05)
    picked = again.column(1)
    assert picked.records.tobytes() == alone.records.tobytes()
    assert np.array_equal(picked.equity.to_numpy(), alone.equity.to_numpy())
    pd.testing.assert_series_equal(picked.stats, alone.stats)


def test_a_portfolio_with_splits_round_trips(tmp_path):
    a, b = random_bars(250, seed=1, symbol="AAA"), random_bars(250, seed=2, symbol="BBB")
    ratios = np.ones(len(a))
    ratios[100] = 2.0
    a = replace(a, split_factor=ratios, dividend=np.zeros(len(a)))
    entries, exits = _signals(len(a), 23)
    run = backtest(MultiBars([a, b]), entries=entries, exits=exits, size_type="units", size=5)
    _same(run, Result.load(run.save(tmp_path / "book.npz")))


def test_files_that_are_not_results_are_refused_with_their_path(tmp_path):
    text = tmp_path / "notes.npz"
    text.write_text("not a zip", encoding="utf-8")
    with pytest.raises(ResultFileError, match=r"notes\.npz is not a result file"):
        Result.load(text)
    bare = tmp_path / "bare.npz"
    np.savez(bare, equity=np.zeros(3))
    with pytest.raises(ResultFileError, match="no readable 'meta'"):
        Result.load(bare)
    other = tmp_path / "other.npz"
    np.savez(other, meta=np.frombuffer(b'{"format": "someone-else/9"}', dtype=np.uint8))
    with pytest.raises(ResultFileError, match=f"'someone-else/9'; this backgrid reads '.*/1' and '{FORMAT}'"):
        Result.load(other)
    with pytest.raises(ResultFileError, match=r"missing\.npz"):
        Result.load(tmp_path / "missing.npz")


def test_a_file_of_the_first_layout_reads_back_the_same(tmp_path):
    """Layout 1 kept the bar times in the JSON ``meta``; a file written by that version still loads."""
    bars = random_bars(300, seed=7)
    entries, exits = _signals(len(bars))
    run = backtest(bars, entries=entries, exits=exits, take_profit=0.04)
    with np.load(run.save(tmp_path / "now.npz")) as stored:
        arrays = {name: stored[name] for name in stored.files}
    meta = json.loads(arrays.pop("meta").tobytes())
    assert meta["format"] == FORMAT == "backgrid-result/2"
    meta |= {"format": "backgrid-result/1", "index": arrays.pop("index").tolist()}
    np.savez(tmp_path / "old.npz", meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8), **arrays)
    _same(run, Result.load(tmp_path / "old.npz"))
