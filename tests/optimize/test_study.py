"""Studies on disk: a stopped study resumes where it stopped; other settings are refused; the trial ledger."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from backgrid.data.bars import Bars
from backgrid.errors import StudyMismatchError
from backgrid.metrics.registry import periods_per_year
from backgrid.optimize import Int, TrialLedger, optimize
from backgrid.strategy.spec import Strategy

SPACE = {"fast": Int(2, 14, 4), "slow": Int(10, 50, 20)}


class StopError(Exception):
    """Raised from the progress callback: a Ctrl-C between batches."""


def stop_after(batches: int) -> Any:
    seen = []

    def progress(done: int, _total: int) -> None:
        seen.append(done)
        if len(seen) == batches:
            raise StopError

    return progress


@pytest.mark.parametrize(("method", "trials"), [("grid", None), ("random", 10), ("tpe", 10)])
def test_a_stopped_study_resumes_to_the_uninterrupted_result(method: str, trials: int | None, strategy: Strategy,
                                                             bars: Bars, tmp_path: Path) -> None:
    kwargs: dict[str, Any] = {"space": SPACE, "method": method, "trials": trials, "seed": 5, "ledger": False,
                              "batch": 3 if method == "tpe" else None}
    whole = optimize(strategy, bars, **kwargs)
    small = {"memory": whole.target.set_bytes(bars) * 3} if method != "tpe" else {}  # batches of 3 sets
    with pytest.raises(StopError):
        optimize(strategy, bars, study=tmp_path / "s", progress=stop_after(1), **kwargs, **small)
    kept = len(pd.concat([pd.read_parquet(f) for f in (tmp_path / "s" / "trials").glob("*.parquet")])) \
        if method != "tpe" else None
    assert kept in (3, None)
    resumed = optimize(strategy, bars, study=tmp_path / "s", **kwargs, **small)
    assert len(resumed.trials) == len(whole.trials)
    if method == "tpe":  # the sampler saw the same history up to the stop, and resumes from its storage
        assert resumed.best_value <= max(whole.best_value, resumed.best_value)
        assert resumed.trials.iloc[:3].equals(whole.trials.iloc[:3])
    else:
        pd.testing.assert_frame_equal(resumed.trials, whole.trials)


def test_resuming_with_other_settings_names_them(strategy: Strategy, bars: Bars, tmp_path: Path) -> None:
    optimize(strategy, bars, space=SPACE, study=tmp_path, ledger=False)
    with pytest.raises(StudyMismatchError, match=r"\(objectives, seed differ\)"):
        optimize(strategy, bars, space=SPACE, study=tmp_path, ledger=False, objective="sortino", seed=1)
    fresh = optimize(strategy, bars, space=SPACE, study=tmp_path, ledger=False, objective="sortino", resume=False)
    assert fresh.objectives[0].name == "sortino_ratio"
    with pytest.raises(StudyMismatchError, match="data"):
        optimize(strategy, bars.take(slice(0, 1000)), space=SPACE, study=tmp_path, ledger=False,
                 objective="sortino")


def test_a_journal_trial_left_running_is_retried(strategy: Strategy, bars: Bars, tmp_path: Path) -> None:
    import optuna

    optimize(strategy, bars, space=SPACE, method="tpe", trials=4, batch=2, study=tmp_path, ledger=False)
    from optuna.storages.journal import JournalFileBackend

    storage = optuna.storages.JournalStorage(JournalFileBackend(str(tmp_path / "optuna.journal")))
    study = optuna.load_study(study_name=optuna.get_all_study_names(storage)[0], storage=storage)
    killed = study.ask({"fast": optuna.distributions.IntDistribution(2, 14, step=4),
                        "slow": optuna.distributions.IntDistribution(10, 50, step=20)})  # a worker died here
    params = killed.params
    result = optimize(strategy, bars, space=SPACE, method="tpe", trials=6, batch=2, study=tmp_path, ledger=False)
    assert len(result.trials) == 6
    states = {t.number: t.state for t in study.get_trials()}
    assert states[killed.number] == optuna.trial.TrialState.FAIL
    retried = [t for t in study.get_trials() if t.number > killed.number and "stats" in t.user_attrs]
    assert retried[0].params == params  # the killed trial's set is the first one asked again


def test_the_ledger_counts_every_distinct_set_across_runs(strategy: Strategy, bars: Bars) -> None:
    first = optimize(strategy, bars, space={"fast": Int(2, 6, 4), "slow": Int(10, 30, 20)})
    assert first.ledger_trials == 4
    again = optimize(strategy, bars, space={"fast": Int(2, 10, 4), "slow": Int(10, 30, 20)})
    assert again.ledger_trials == 6  # (2|6, 10|30) were counted once
    ledger = TrialLedger()
    summary = ledger.summary("sma-cross")
    rows = ledger.trials("sma-cross")
    assert summary.trials == len(rows) == 6
    ppy = periods_per_year(bars.timeframe.nanos, bars.calendar)
    sharpe = pd.concat([first.trials, again.trials]).drop_duplicates(["fast", "slow"])["sharpe_ratio"]
    defined = sharpe.dropna().to_numpy()
    assert summary.undefined == sharpe.isna().sum() == 1  # fast = slow = 10 never crosses
    expected = np.var(defined / np.sqrt(ppy), ddof=1)
    assert summary.sharpe_variance == pytest.approx(expected, rel=1e-12)  # sums in another order
    assert rows["periods"].eq(len(bars) - 1).all()
    assert {"fast", "slow"} <= set(rows["params"].iloc[0])
    other = optimize(strategy, bars, space={"fast": Int(2, 6, 4)}, family="my-family")
    assert other.ledger_trials == 2
    assert ledger.summary("sma-cross").trials == 6


def test_without_a_ledger_nothing_is_written(strategy: Strategy, bars: Bars, backgrid_home: Path) -> None:
    optimize(strategy, bars, space=SPACE, ledger=False)
    assert not (backgrid_home / "ledger.sqlite").exists()
