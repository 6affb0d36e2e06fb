"""Scaled out on PostgreSQL: Optuna's RDB storage with heartbeats retries a dead worker's trial; the ledger.

These use the real server at 127.0.0.1:5432 (database ``test``); they skip, saying so, where it is absent.
"""

from __future__ import annotations

import time

import pytest

from backgrid.data.bars import Bars
from backgrid.optimize import Int, TrialLedger, optimize
from backgrid.optimize import search as search_module
from backgrid.strategy.spec import Strategy

URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SPACE = {"fast": Int(2, 14, 4), "slow": Int(10, 50, 20)}


def _server() -> bool:
    import sqlalchemy as sa

    engine = sa.create_engine(URL, connect_args={"connect_timeout": 2})
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
    except Exception:  # noqa: BLE001  # any failure means: no server to test against
        return False
    finally:
        engine.dispose()
    return True


pytestmark = [pytest.mark.skipif(not _server(), reason=f"no PostgreSQL server at {URL} (start one to test the "
                                                       "scaled-out mode)"),
              pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning"),  # heartbeat_interval
              pytest.mark.filterwarnings("ignore:Heartbeat of storage:UserWarning")]  # the test asks by hand


def test_a_dead_workers_trial_is_failed_and_retried(strategy: Strategy, bars: Bars,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import optuna

    monkeypatch.setattr(search_module, "HEARTBEAT_SECONDS", 1)  # grace period 2 s
    kwargs = {"space": SPACE, "method": "tpe", "batch": 2, "storage": URL, "ledger": False, "seed": 11}
    optimize(strategy, bars, trials=2, resume=False, **kwargs)
    storage = optuna.storages.RDBStorage(URL, heartbeat_interval=1, grace_period=2)
    name = next(n for n in optuna.get_all_study_names(storage) if n.startswith("backgrid-")
                and optuna.load_study(study_name=n, storage=storage).user_attrs == {}
                and len(optuna.load_study(study_name=n, storage=storage).trials) == 2)
    study = optuna.load_study(study_name=name, storage=storage)
    dead = study.ask({"fast": optuna.distributions.IntDistribution(2, 14, step=4),
                      "slow": optuna.distributions.IntDistribution(10, 50, step=20)})
    storage.record_heartbeat(dead._trial_id)  # a worker that beat once, then was killed
    time.sleep(2.5)
    result = optimize(strategy, bars, trials=4, **kwargs)  # another worker joins the same study
    assert len(result.trials) == 4
    trials = {t.number: t for t in study.get_trials()}
    assert trials[dead.number].state == optuna.trial.TrialState.FAIL
    retried = optuna.storages.RetryHeartbeatStaleTrialCallback.retried_trial_number
    retry = [t for t in trials.values() if retried(t) == dead.number]
    assert len(retry) == 1
    assert retry[0].params == dead.params
    assert "stats" in retry[0].user_attrs  # the retry was evaluated
    storage.engine.dispose()


def test_the_ledger_on_postgresql(strategy: Strategy, bars: Bars) -> None:
    ledger = TrialLedger(URL)
    family = f"pg-test-{time.time_ns()}"
    optimize(strategy, bars, space={"fast": Int(2, 6, 4), "slow": Int(10, 30, 20)}, ledger=ledger, family=family)
    optimize(strategy, bars, space={"fast": Int(2, 10, 4), "slow": Int(10, 30, 20)}, ledger=ledger, family=family)
    assert ledger.summary(family).trials == 6
    ledger.close()
