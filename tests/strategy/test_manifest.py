"""``run.json`` and ``result.npz`` of a run folder: identities that can be recomputed, a result equal to the run."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from backgrid.cli.main import app
from backgrid.data.sources.demo import demo_bars
from backgrid.data.store import DataStore
from backgrid.engine import Result
from backgrid.errors import ResultFileError
from backgrid.strategy import load, run
from backgrid.strategy.library import load_library
from backgrid.strategy.manifest import FORMAT, read_manifest

runner = CliRunner()


def _write(*args: object) -> None:
    outcome = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
    assert outcome.exit_code == 0, outcome.output


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run")
    _write("run", "sma-cross", "--out", out)
    return out


def test_the_manifest_names_what_made_the_run(folder):
    manifest = read_manifest(folder)
    assert manifest["format"] == FORMAT
    spec = load_library("sma-cross")
    assert manifest["strategy"]["fingerprint"] == spec.fingerprint() == load(folder / "strategy.yaml").fingerprint()
    bars = demo_bars("DEMO-SPY", "1d")
    (data,) = manifest["data"]
    assert data["fingerprint"] == bars.fingerprint()
    assert (data["symbol"], data["timeframe"], data["bars"]) == ("DEMO-SPY", "1d", len(bars))
    result = Result.load(folder / "result.npz")
    assert manifest["config"]["fingerprint"] == result.config.fingerprint
    assert manifest["run"] == {"bars": 1043, "warmup": 50, "parameter_sets": 1, "grid": {}, "chosen": {},
                               "seed": None}
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name
    assert set(manifest["files"]) == {p.name for p in folder.iterdir()} - {"run.json"}


def test_the_data_fingerprint_is_the_stores_checksum(tmp_path):
    bars = demo_bars("DEMO-SPY", "1d")
    store = DataStore(tmp_path)
    store.write(bars)
    assert store.info("DEMO-SPY", "1d").checksum == bars.fingerprint()
    assert bars.take(slice(1, None)).fingerprint() != bars.fingerprint()


def test_the_stored_result_is_the_run_and_its_stats_are_the_folders(folder):
    stored = Result.load(folder / "result.npz")
    again = run(load_library("sma-cross"), demo_bars("DEMO-SPY", "1d"))
    pd.testing.assert_series_equal(stored.stats, again.stats)
    manifest = read_manifest(folder)
    csv = pd.read_csv(folder / "stats.csv", index_col=0)["value"]
    for key, value in stored.stats.items():
        written = manifest["stats"][key]
        if isinstance(value, float) and math.isnan(value):
            assert written is None, key
        else:
            assert written == value, key  # JSON keeps floats exactly
            assert float(csv[key]) == pytest.approx(value, rel=1e-15, abs=1e-12), key


def test_a_sweep_folder_keeps_the_best_set(tmp_path):
    _write("run", "sma-cross", "--sweep", "fast=5,10,20", "--out", tmp_path)
    manifest = read_manifest(tmp_path)
    best = manifest["run"]["chosen"]
    assert manifest["run"]["grid"] == {"fast": [5, 10, 20]}
    assert manifest["run"]["parameter_sets"] == 3
    stats = pd.read_csv(tmp_path / "stats.csv")
    assert best == {"fast": int(stats.loc[stats["sharpe_ratio"].idxmax(), "fast"])}
    alone = run(load_library("sma-cross"), demo_bars("DEMO-SPY", "1d"), {"fast": [best["fast"]]})
    stored = Result.load(tmp_path / "result.npz")
    assert stored.records.tobytes() == alone.records.tobytes()
    assert manifest["strategy"]["fingerprint"] == load(tmp_path / "strategy.yaml").fingerprint()
    assert manifest["stats"]["sharpe_ratio"] == alone.stats["sharpe_ratio"]


def test_folders_without_a_manifest_or_with_another_one_are_refused(tmp_path):
    with pytest.raises(ResultFileError, match=r"has no run\.json: it is not a run folder"):
        read_manifest(tmp_path)
    (tmp_path / "run.json").write_text("{broken", encoding="utf-8")
    with pytest.raises(ResultFileError, match="cannot be read as a run manifest"):
        read_manifest(tmp_path)
    (tmp_path / "run.json").write_text(json.dumps({"format": "other/2"}), encoding="utf-8")
    with pytest.raises(ResultFileError, match="holds the layout 'other/2'"):
        read_manifest(tmp_path)
