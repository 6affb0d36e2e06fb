"""``Result``: its errors are backgrid errors, and its stats keep counts as ints."""

import re

import numpy as np
import pandas as pd
import pytest

from backgrid.engine import backtest
from backgrid.errors import BackgridError, EquityNotKeptError, ResultColumnError
from backgrid.metrics import METRICS
from backgrid.testing import random_bars

BARS = random_bars(120, timeframe="1d", seed=4)
ENTRIES = BARS.close > BARS.open
INTEGERS = [name for name, metric in METRICS.items() if metric.integer]


@pytest.mark.parametrize(("ask", "message"), [
    (lambda r, _: r.equity, "equity was not kept (keep_equity=False)"),
    (lambda r, _: r.stats, "stats need the equity curve; run with keep_equity=True"),
    (lambda r, _: r.ledger(), "the ledger needs the equity curve; run with keep_equity=True"),
    (lambda r, path: r.plot(path), "plot needs the equity curve; run with keep_equity=True"),
], ids=["equity", "stats", "ledger", "plot"])
def test_what_needs_the_equity_curve_says_it_was_not_kept(tmp_path, ask, message):
    result = backtest(BARS, entries=ENTRIES, exits=~ENTRIES, keep_equity=False)
    with pytest.raises(EquityNotKeptError, match=re.escape(message)) as info:
        ask(result, tmp_path / "chart.html")
    assert isinstance(info.value, AttributeError)  # callers catching AttributeError keep working
    assert isinstance(info.value, BackgridError)


@pytest.mark.parametrize("ask", [lambda r, _: r.ledger(column=7), lambda r, path: r.plot(path, column=7)],
                         ids=["ledger", "plot"])
def test_an_unknown_column_names_the_columns_there_are(tmp_path, ask):
    result = backtest(BARS, entries=ENTRIES, exits=~ENTRIES, stop_loss=np.array([0.02, 0.05]))
    with pytest.raises(ResultColumnError) as info:
        ask(result, tmp_path / "chart.html")
    assert isinstance(info.value, KeyError)
    assert str(info.value) == "column 7 is not one column of this result; it has [0, 1]"


def test_stats_of_one_column_keep_counts_as_ints():
    stats = backtest(BARS, entries=ENTRIES, exits=~ENTRIES).stats
    assert stats.dtype == object
    assert list(stats.index) == list(METRICS)
    assert stats["trades"] > 0
    for name, value in stats.items():
        want = int if METRICS[name].integer else float
        assert isinstance(value, want), f"{name} is a {type(value).__name__}, expected {want.__name__}"
    assert stats.astype(float)["trades"] == stats["trades"]


def test_stats_of_a_sweep_have_an_int_column_for_each_count():
    stats = backtest(BARS, entries=ENTRIES, exits=~ENTRIES, stop_loss=np.array([0.02, 0.05])).stats
    assert isinstance(stats, pd.DataFrame)
    assert {name for name, dtype in stats.dtypes.items() if dtype == np.int64} == set(INTEGERS)
    assert (stats.drop(columns=INTEGERS).dtypes == np.float64).all()


def test_a_segment_is_the_run_seen_from_a_bar() -> None:
    bars = random_bars(400, timeframe="1h", seed=9)
    rng = np.random.default_rng(9)
    entries, exits = rng.random(400) < 0.05, rng.random(400) < 0.05
    run = backtest(bars, entries=entries, exits=exits, commission=0.001)
    part = run.segment(150, 300)
    np.testing.assert_array_equal(part.equity.to_numpy(), run.equity.to_numpy()[150:300])
    assert part.params["cash"][0] == run.equity.iloc[149]
    inside = run.records[(run.records["entry_idx"] >= 150) & (run.records["entry_idx"] < 300)]
    assert part.records.size == inside.size
    np.testing.assert_array_equal(part.records["entry_idx"], inside["entry_idx"] - 150)
    assert part.index.equals(run.index[150:300])
    assert part.stats["total_return"] == pytest.approx(run.equity.iloc[299] / run.equity.iloc[149] - 1, rel=1e-12)
    with pytest.raises(ResultColumnError, match="a segment needs 0 <= start < stop <= 400"):
        run.segment(300, 200)
