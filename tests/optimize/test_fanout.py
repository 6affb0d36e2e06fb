"""Fan-out: processes (loky) and a Dask cluster give exactly what one process gives."""

from __future__ import annotations

import pandas as pd
import pytest

from backgrid.data.bars import Bars
from backgrid.errors import OptimizeError
from backgrid.optimize import Int, optimize
from backgrid.optimize.evaluate import chunks
from backgrid.optimize.fanout import Runner
from backgrid.strategy.spec import Strategy

SPACE = {"fast": Int(2, 18, 4), "slow": Int(10, 50, 20)}


def test_chunks_fit_the_budget_and_cover_every_set() -> None:
    parts = chunks(10, per_set=100.0, budget=350.0)
    assert [(p.start, p.stop) for p in parts] == [(0, 3), (3, 6), (6, 9), (9, 10)]
    spread = chunks(10, per_set=1.0, budget=1e9, workers=3)  # plenty of memory: one chunk per worker
    assert [(p.start, p.stop) for p in spread] == [(0, 4), (4, 8), (8, 10)]
    assert [(p.start, p.stop) for p in chunks(2, per_set=1e9, budget=1.0)] == [(0, 1), (1, 2)]  # one set at least
    assert chunks(0, 1.0, 1.0) == []


def test_processes_give_what_one_process_gives(strategy: Strategy, bars: Bars) -> None:
    one = optimize(strategy, bars, space=SPACE, ledger=False)
    two = optimize(strategy, bars, space=SPACE, ledger=False, jobs=2)
    pd.testing.assert_frame_equal(one.trials, two.trials)
    tpe_one = optimize(strategy, bars, space=SPACE, method="tpe", trials=8, batch=4, ledger=False)
    tpe_two = optimize(strategy, bars, space=SPACE, method="tpe", trials=8, batch=4, ledger=False, jobs=2)
    pd.testing.assert_frame_equal(tpe_one.trials, tpe_two.trials)


def test_a_dask_cluster_gives_what_one_process_gives(strategy: Strategy, bars: Bars) -> None:
    distributed = pytest.importorskip("distributed")
    one = optimize(strategy, bars, space=SPACE, ledger=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        by_address = optimize(strategy, bars, space=SPACE, ledger=False, cluster=cluster.scheduler_address)
        with distributed.Client(cluster) as client:
            by_client = optimize(strategy, bars, space=SPACE, ledger=False, cluster=client)
    pd.testing.assert_frame_equal(one.trials, by_address.trials)
    pd.testing.assert_frame_equal(one.trials, by_client.trials)


def test_runner_keeps_the_items_order() -> None:
    with Runner(jobs=2) as run:
        assert list(run.map(pow, [3, 1, 2], 2)) == [9, 1, 4]
    with pytest.raises(OptimizeError, match="jobs must be a whole number"):
        Runner(jobs=True)
