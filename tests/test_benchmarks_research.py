"""Smoke test of the research benchmark (benchmarks/research.py): its workloads on tiny sizes, no timing goals.

It keeps the benchmark's code running against the optimize API and its peers; the figures come from
``python -m benchmarks --suite research``.
"""

from __future__ import annotations

import math

import pytest

pytest.importorskip("vectorbt")
pytest.importorskip("backtesting")
pytest.importorskip("optuna")

from benchmarks import research  # after the peers are known to be installed

FAST, SLOW = range(5, 16, 5), range(20, 41, 10)


def test_r1_grid_matches_the_engine() -> None:
    row = research.r1(rows=2_000, fast=FAST, slow=SLOW)
    assert row.ours > 0
    assert row.peer is not None
    assert row.peer > 0


def test_r2_walk_forward_agrees_with_vectorbt_in_sample() -> None:
    rows = research.r2(rows=2_000, fast=FAST, slow=SLOW, train=800, folds=3, step=2, jobs=(1,))
    assert [r.workload.rsplit("=", 1)[1] for r in rows] == ["1"]


def test_r3_tpe_and_sambo_run() -> None:
    row = research.r3(rows=2_000, trials=6, tries=15, fast=FAST, slow=SLOW)
    assert row.peer is not None
    assert math.isfinite(row.peer)


def test_r4_shuffles_or_skips() -> None:
    row = research.r4(rows=20_000, trades=100, shuffles=100, repeat=1)
    assert row.met in {"yes", "NO", "-"}


def test_table_renders() -> None:
    row = research.Row("R9 x", 1.0, "peer", 2.0, "2.00x", "<= 1 s", "NO", "a note")
    assert "R9: a note" in research.render([row])
