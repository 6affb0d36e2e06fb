"""The kinds, run by a worker on real strategy documents and demo data: summaries, files, errors, cancels."""

from __future__ import annotations

import hashlib
import math
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from backgrid.service.jobs.context import RequestError, error_of
from backgrid.service.jobs.worker import Worker
from backgrid.service.settings import Settings
from backgrid.service.store.db import Store
from backgrid.service.store.models import Fold, Run, Trial
from backgrid.service.userdata import user_store
from backgrid.strategy import run
from backgrid.strategy.document import parse
from backgrid.strategy.library import load_library
from backgrid.strategy.market import market_data
from tests.service.conftest import USER, artifact_rows, insert_run, run_row


@pytest.fixture
def document() -> dict:
    """sma-cross on DEMO-SPY daily bars, over a short window (a quick run)."""
    data = load_library("sma-cross").to_dict()
    data["market"]["start"] = "2020-01-01"
    return data


def _run(store: Store, settings: Settings, kind: str, request: dict) -> object:
    run_id = insert_run(store, kind=kind, request=request)
    assert Worker(settings, store=store).run_once()
    return run_row(store, run_id)


def test_backtest_matches_the_library_exactly(store: Store, settings: Settings, document: dict) -> None:
    row = _run(store, settings, "backtest", {"document": document, "options": {"report": True}})
    assert row.status == "succeeded", row.error
    spec = parse(document)
    expected = run(spec, market_data(spec, user_store(settings.home, USER))).stats
    assert row.summary["stats"]["total_return"] == float(expected["total_return"])
    assert row.summary["stats"]["trades"] == int(expected["trades"])
    assert row.summary["bars"] > 100
    artifacts = artifact_rows(store, row.id)
    assert [a.name for a in artifacts] == ["equity.parquet", "result.npz", "run.json", "strategy.yaml",
                                           "tear.html", "trades.parquet"]
    for artifact in artifacts:
        path = settings.artifacts / artifact.path
        assert artifact.path.startswith(f"{row.id}/attempt-1/")
        assert hashlib.sha256(path.read_bytes()).hexdigest() == artifact.sha256
        assert path.stat().st_size == artifact.size
    assert "<html" in (settings.artifacts / artifacts[4].path).read_text(encoding="utf-8").lower()


def test_a_bad_document_fails_at_once_naming_the_path(store: Store, settings: Settings, document: dict) -> None:
    document["indicators"]["fast"]["params"]["period"] = -3
    row = _run(store, settings, "backtest", {"document": document})
    assert (row.status, row.attempts) == ("failed", 1)
    assert row.error["code"] == "spec_error"
    assert any(d["path"].startswith("indicators.fast") for d in row.error["details"]), row.error
    assert artifact_rows(store, row.id) == []


def test_a_malformed_request_fails_naming_the_option(store: Store, settings: Settings, document: dict) -> None:
    row = _run(store, settings, "sweep", {"document": document, "options": {"sweep": {"fast": []}, "x": 1}})
    assert (row.status, row.error["code"]) == ("failed", "request_error")
    assert row.error["details"] == [{"path": "options.x", "message": "not an option of this kind; expected one "
                                                                      "of sweep, report"}]


def test_errors_other_than_bad_input_are_retryable() -> None:
    assert error_of(RequestError([("kind", "no")]))[1] is False
    error, retryable = error_of(OSError("disk full"))
    assert (error, retryable) == ({"error": "disk full", "code": "o_s_error", "details": None}, True)


def test_sweep_finds_the_best_set_in_chunks(store: Store, settings: Settings, document: dict) -> None:
    grid = {"fast": [5, 10, 20], "slow": [50, 100]}
    row = _run(store, settings, "sweep", {"document": document, "options": {"sweep": grid}})
    assert row.status == "succeeded", row.error
    spec = parse(document)
    stats = run(spec, market_data(spec, user_store(settings.home, USER)), grid).stats
    best = stats["sharpe_ratio"].astype(float).idxmax()
    assert row.summary["sets"] == 6
    assert (row.summary["best"]["params"]["fast"], row.summary["best"]["params"]["slow"]) == best
    assert row.summary["best"]["stats"]["total_return"] == float(stats.loc[best, "total_return"])
    assert "stats.csv" in [a.name for a in artifact_rows(store, row.id)]


def test_optimise_returns_its_trials(store: Store, settings: Settings, document: dict) -> None:
    options = {"method": "grid", "space": {"fast": [5, 10], "slow": {"low": 50, "high": 70, "step": 10}},
               "objective": "sharpe"}
    row = _run(store, settings, "optimise", {"document": document, "options": options})
    assert row.status == "succeeded", row.error
    assert row.summary["trials"] == 6
    assert {tuple(sorted(row.summary["best"]["params"].items()))} <= {
        (("fast", f), ("slow", s)) for f in (5, 10) for s in (50, 60, 70)}
    assert {"trials.csv", "best.json", "summary.txt"} <= {a.name for a in artifact_rows(store, row.id)}
    with store.session(write=False) as session:  # the trials, stored with the run
        trials = session.scalars(sa.select(Trial).where(Trial.run_id == row.id).order_by(Trial.number)).all()
    assert sorted((t.params["fast"], t.params["slow"]) for t in trials) == [
        (f, s) for f in (5, 10) for s in (50, 60, 70)]
    best = max(trials, key=lambda t: t.value if t.value is not None else -math.inf)
    assert best.params == row.summary["best"]["params"]


def test_a_cancelled_sweep_stops_within_a_second(store: Store, settings: Settings, document: dict) -> None:
    # 4,000 sets on 35,000 hourly bars: a few seconds of work, in 20 chunks
    grid = {"fast": list(range(5, 45)), "slow": list(range(50, 150))}
    document["market"] = {"symbols": ["DEMO-BTC"], "timeframe": "1h"}
    run_id = insert_run(store, kind="sweep", request={"document": document, "options": {"sweep": grid}})
    worker = Worker(settings, store=store)
    thread = threading.Thread(target=worker.run_once)
    thread.start()
    deadline = time.monotonic() + 60
    while run_row(store, run_id).progress < 0.2:  # some chunks done: the sweep is under way
        assert time.monotonic() < deadline, "the sweep never got going"
        time.sleep(0.01)
    with store.engine.begin() as conn:
        conn.execute(sa.update(Run.__table__).values(cancel_requested=True))
    asked = time.monotonic()
    thread.join(10)
    stopped = time.monotonic() - asked
    row = run_row(store, run_id)
    assert row.status == "cancelled"
    assert row.progress < 0.9
    assert stopped < 1.0
    assert worker.outcomes["cancelled"] == 1
    assert not list(Path(settings.artifacts, run_id, "attempt-1").glob("result.npz"))


def test_walkforward_folds(store: Store, settings: Settings, document: dict) -> None:
    options = {"train": 250, "folds": 3, "space": {"fast": [5, 10], "slow": [50]}, "objective": "sharpe"}
    row = _run(store, settings, "walkforward", {"document": document, "options": options})
    assert row.status == "succeeded", row.error
    assert len(row.summary["folds"]) == 3
    assert {f["params"]["fast"] for f in row.summary["folds"]} <= {5, 10}
    assert "total_return" in row.summary["out_of_sample"]
    assert {"folds.csv", "equity.csv", "trades.csv", "summary.txt"} == {a.name for a in artifact_rows(store, row.id)}
    with store.session(write=False) as session:  # the folds, stored with the run, as the summary has them
        folds = session.scalars(sa.select(Fold).where(Fold.run_id == row.id).order_by(Fold.number)).all()
    assert [(f.train_start, f.test_end, f.params) for f in folds] == [
        (f["train_start"], f["test_end"], f["params"]) for f in row.summary["folds"]]
    assert [f.stats["oos_value"] for f in folds] == [f["oos_value"] for f in row.summary["folds"]]


def test_robustness_of_a_given_set(store: Store, settings: Settings, document: dict) -> None:
    options = {"params": {"fast": 10, "slow": 50}, "shuffles": 50, "random": 5, "jitter": 3, "paths": 3}
    row = _run(store, settings, "robustness", {"document": document, "options": options})
    assert row.status == "succeeded", row.error
    assert row.summary["params"] == {"fast": 10, "slow": 50}
    assert "deflated_sharpe" in row.summary["checks"]
    assert "report.csv" in {a.name for a in artifact_rows(store, row.id)}


def test_progress_is_stored_each_step_with_an_eta_and_throttled_below(store: Store, settings: Settings) -> None:
    from backgrid.service.api.routes.runs import EVENT_POLL_SECONDS
    from backgrid.service.jobs import lease
    from backgrid.service.jobs.context import PROGRESS_FLOOR, JobContext

    assert PROGRESS_FLOOR == EVENT_POLL_SECONDS  # no sooner than the event stream reads the row
    run_id = insert_run(store, kind="fake")
    claim = lease.claim(store, queue="manual", worker="w", lease_seconds=30)
    assert claim is not None
    ctx = JobContext(settings, store, claim, settings.home)
    ctx.progress(0.5, "half at once")  # within 50 ms of the claim: the claim's start stays
    assert (run_row(store, run_id).progress, run_row(store, run_id).message) == (0.0, "started")
    time.sleep(PROGRESS_FLOOR)
    ctx.progress(0.5, "half")
    row = run_row(store, run_id)
    assert (row.progress, row.message) == (0.5, "half")
    assert row.eta_seconds is not None
    assert row.eta_seconds >= 0
    time.sleep(PROGRESS_FLOOR)
    ctx.progress(0.51, "a little more")  # under the step, within half a second: not stored
    assert run_row(store, run_id).progress == 0.5
    ctx.progress(0.545, "a sweep's chunk")  # 4.5 %: a kind's 5 % step, stored
    assert run_row(store, run_id).progress == 0.545
