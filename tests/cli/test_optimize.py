"""``backgrid optimize`` and ``backgrid walkforward`` on small demo data: outputs that agree, usage errors, resuming."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import backgrid.optimize
from backgrid.cli.main import app
from backgrid.optimize import Int, optimize
from backgrid.strategy.document import load, override
from backgrid.strategy.library import load_library
from backgrid.strategy.market import market_data

runner = CliRunner(env={"COLUMNS": "200"})
#: sma-cross on DEMO-BTC daily (2021-2024), over 4 x 3 parameter sets
SMALL = ["sma-cross", "--symbol", "DEMO-BTC", "--param", "fast=5:20:5", "--param", "slow=50:100:25"]


def invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def best_row(trials: pd.DataFrame) -> pd.Series:
    usable = trials[trials["feasible"] & np.isfinite(trials["value"])]
    return usable.sort_values("value", ascending=False, kind="stable").iloc[0]


def test_help_lists_both_commands():
    result = invoke("--help")
    assert "optimize" in result.output
    assert "walkforward" in result.output


def test_optimize_writes_outputs_that_agree(tmp_path: Path):
    out = tmp_path / "opt"
    result = invoke("optimize", *SMALL, "--condition", "fast<slow", "--constraint", "trades>=5", "--out", out)
    assert result.exit_code == 0, result.output
    for name in ("trials.parquet", "trials.csv", "best.json", "strategy.yaml", "summary.txt", "study/study.json"):
        assert (out / name).stat().st_size > 0, name
    trials = pd.read_parquet(out / "trials.parquet")
    assert len(trials) == 12
    assert len(pd.read_csv(out / "trials.csv")) == 12
    best = json.loads((out / "best.json").read_text(encoding="utf-8"))
    row = best_row(trials)
    assert best["trial"] == row.name
    assert best["params"] == {"fast": row["fast"], "slow": row["slow"]}
    assert best["objectives"] == {"sharpe_ratio": pytest.approx(row["value"])}
    assert best["metrics"]["trades"] == row["trades"]
    assert best["metrics"]["total_return"] == pytest.approx(row["total_return"])
    reloaded = load(out / "strategy.yaml")
    assert {p.param: p.default for p in reloaded.parameters} == best["params"]
    assert reloaded.market.symbols == ["DEMO-BTC"]
    label = f"fast={best['params']['fast']}, slow={best['params']['slow']}"
    assert f"best: {label}" in result.stdout
    assert f"best: {label}" in (out / "summary.txt").read_text(encoding="utf-8")
    assert "sharpe_ratio" in result.stdout.splitlines()[0]  # the top trials' table comes first
    assert "grid search: 12 of 12" in result.stderr
    assert "resumed" not in result.stderr


def test_optimize_json_is_exactly_the_best_and_the_top_trials(tmp_path: Path):
    result = invoke("optimize", *SMALL, "--out", tmp_path, "--json")
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["best"] == json.loads((tmp_path / "best.json").read_text(encoding="utf-8"))
    assert len(printed["top"]) == 10
    assert printed["top"][0] == printed["best"]
    values = [t["objectives"]["sharpe_ratio"] for t in printed["top"]]
    assert values == sorted(values, reverse=True)


@pytest.mark.parametrize(("args", "option"), [
    (["--param", "fst=5:20"], "--param"),
    (["--param", "fast=5:x"], "--param"),
    (["--param", "fast=1:20"], "--param"),  # outside the declared range
    (["--constraint", "trades>>3"], "--constraint"),
    (["--constraint", "trdes>=3"], "--constraint"),
    (["--objective", "sharp"], "--objective"),
    (["--method", "anneal"], "--method"),
    (["--method", "tpe"], "--trials"),  # a sampler needs a number of trials
    (["--condition", "fast<slwo"], "--condition"),
    (["--max-memory", "2X"], "--max-memory"),
])
def test_bad_search_options_are_usage_errors_naming_the_option(tmp_path: Path, args: list[str], option: str):
    result = invoke("optimize", "sma-cross", "--out", tmp_path, *args)
    assert result.exit_code == 2, result.output
    assert f"Invalid value for {option}:" in " ".join(result.stderr.split())
    assert not any(tmp_path.iterdir())  # refused before anything ran


def test_an_interrupted_study_resumes_where_it_stopped(tmp_path: Path):
    spec = override(load_library("sma-cross"), symbols=["DEMO-BTC"])

    def stop(done: int, total: int) -> None:
        assert (done, total) == (4, 12)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):  # the first batch of 4 is kept in the study
        optimize(spec, market_data(spec), method="tpe", trials=12, batch=4, objective="sharpe",
                 space={"fast": Int(5, 20, 5), "slow": Int(50, 100, 25)}, study=tmp_path / "study", progress=stop)
    result = invoke("optimize", *SMALL, "--method", "tpe", "--trials", 12, "--batch", 4, "--out", tmp_path)
    assert result.exit_code == 0, result.output
    assert len(pd.read_parquet(tmp_path / "trials.parquet")) == 12
    assert "tpe search: 4 of 12" not in result.stderr  # the kept batch is not evaluated again
    assert "tpe search: 8 of 12" in result.stderr
    assert f"resumed the study in {tmp_path / 'study'}" in result.stderr
    assert "resumed the study" in (tmp_path / "summary.txt").read_text(encoding="utf-8")
    again = invoke("optimize", *SMALL, "--method", "tpe", "--trials", 12, "--batch", 4, "--out", tmp_path, "--fresh")
    assert again.exit_code == 0, again.output
    assert "tpe search: 4 of 12" in again.stderr
    assert "resumed" not in again.stderr


def test_a_study_started_otherwise_is_refused_clearly(tmp_path: Path):
    assert invoke("optimize", *SMALL, "--out", tmp_path).exit_code == 0
    result = invoke("optimize", *SMALL, "--constraint", "trades>=5", "--out", tmp_path)
    assert result.exit_code == 1
    assert "was started with other settings (constraints differ)" in " ".join(result.stderr.split())


def test_ctrl_c_keeps_the_study_and_exits_130(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    def interrupted(*_: object, progress, **__: object):
        progress(4, 12)
        raise KeyboardInterrupt

    monkeypatch.setattr(backgrid.optimize, "optimize", interrupted)
    result = invoke("optimize", *SMALL, "--out", tmp_path)
    assert result.exit_code == 130
    message = (f"interrupted after 4 of 12 trials; the study in {tmp_path} is kept: run the same command again to "
               "resume")
    assert message in " ".join(result.stderr.split())


def test_the_charts(tmp_path: Path):
    assert invoke("optimize", *SMALL, "--out", tmp_path / "o").exit_code == 0
    assert (tmp_path / "o" / "optimize.html").stat().st_size > 0
    result = invoke("walkforward", *SMALL, "--train", "2y", "--test", "6m", "--out", tmp_path / "w")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "w" / "walkforward.html").stat().st_size > 0


def test_walkforward_writes_the_folds_and_the_stitched_account(tmp_path: Path):
    result = invoke("walkforward", *SMALL, "--train", "2y", "--test", "6m", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    folds = pd.read_csv(tmp_path / "folds.csv", index_col="fold")
    assert len(folds) == 4  # 2021-2022 to train; 2023 and 2024 in four half-year tests
    assert len(pd.read_parquet(tmp_path / "folds.parquet")) == 4
    equity = pd.read_parquet(tmp_path / "equity.parquet")["equity"]
    assert equity.index[0] == pd.Timestamp("2023-01-01", tz="UTC")
    assert equity.index.is_monotonic_increasing
    trades = pd.read_parquet(tmp_path / "trades.parquet")
    assert set(trades["fold"]) <= set(range(4))
    assert len(trades) == folds["trades"].sum()
    summary = (tmp_path / "summary.txt").read_text(encoding="utf-8")
    assert summary.startswith("walk-forward of sma-cross: 4 folds")
    assert "efficiency" in result.stdout
    assert "2023-01-01 – 2023-06-30" in result.stdout


def test_walkforward_json_and_folds_within_the_window(tmp_path: Path):
    result = invoke("walkforward", *SMALL, "--from", "2022-01-01", "--train", 300, "--folds", 3, "--gap", 2,
                    "--out", tmp_path, "--json")
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert [f["fold"] for f in printed["folds"]] == [0, 1, 2]
    assert printed["folds"][0]["train_start"] == "2022-01-01T00:00:00+00:00"
    assert set(printed["folds"][0]["params"]) == {"fast", "slow"}
    assert printed["summary"]["objective"] == "sharpe_ratio"
    assert "trades" in printed["summary"]["out_of_sample"]


def test_walkforward_usage_errors(tmp_path: Path):
    both = invoke("walkforward", *SMALL, "--train", "2y", "--test", "6m", "--folds", 3, "--out", tmp_path)
    assert both.exit_code == 2
    assert "--test / --folds" in both.stderr
    several = invoke("walkforward", *SMALL, "--train", "2y", "--test", "6m", "--objective", "sharpe",
                     "--objective", "sortino", "--out", tmp_path)
    assert several.exit_code == 2
    assert "Invalid value for --objective" in several.stderr


def test_walkforward_ctrl_c_exits_130_and_a_bad_window_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    bad = invoke("walkforward", *SMALL, "--train", "2x", "--test", "6m", "--out", tmp_path)
    assert bad.exit_code == 1
    assert "train must be a number of bars or a duration" in " ".join(bad.stderr.split())

    def interrupted(*_: object, progress, **__: object):
        progress(1, 4)
        raise KeyboardInterrupt

    monkeypatch.setattr(backgrid.optimize, "walk_forward", interrupted)
    result = invoke("walkforward", *SMALL, "--train", "2y", "--test", "6m", "--out", tmp_path)
    assert result.exit_code == 130
    assert "interrupted after 1 of 4 folds" in result.stderr


def test_a_study_in_a_database_is_shared_by_runs_with_other_folders(tmp_path: Path):
    # Optuna's RDB storage (SQLite here; PostgreSQL is tested in tests/optimize): a second run, writing
    # elsewhere, finds the first run's 8 trials in the database and evaluates only the 4 it lacks
    url = f"sqlite:///{tmp_path / 'study.db'}"
    first = invoke("optimize", *SMALL, "--method", "tpe", "--trials", 8, "--batch", 4, "--storage", url,
                   "--out", tmp_path / "a")
    assert first.exit_code == 0, first.output
    second = invoke("optimize", *SMALL, "--method", "tpe", "--trials", 12, "--batch", 4, "--storage", url,
                    "--out", tmp_path / "b")
    assert second.exit_code == 0, second.output
    assert "tpe search: 4 of 12" not in second.stderr
    assert "tpe search: 12 of 12" in second.stderr
    trials = pd.read_parquet(tmp_path / "b" / "trials.parquet")
    assert len(trials) == 12
    kept = pd.read_parquet(tmp_path / "a" / "trials.parquet")
    pd.testing.assert_frame_equal(trials.loc[kept.index, kept.columns], kept)


@pytest.mark.parametrize(("args", "says"), [
    (["--storage", "sqlite:///x.db"], "a grid search keeps its study in the --out folder"),
    (["--method", "tpe", "--trials", "4", "--storage", "not a url"], "expected a database URL"),
])
def test_bad_storage_is_a_usage_error(tmp_path: Path, args: list[str], says: str):
    result = invoke("optimize", *SMALL, "--out", tmp_path, *args)
    assert result.exit_code == 2, result.output
    assert "Invalid value for --storage:" in " ".join(result.stderr.split())
    assert says in " ".join(result.stderr.split())
    assert not any(tmp_path.iterdir())
