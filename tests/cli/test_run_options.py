"""``backgrid run --cash`` and ``--source``: a bad amount is refused, a source is chosen."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from backgrid.cli.main import app
from backgrid.data.store import DataStore
from tests.conftest import random_bars

runner = CliRunner(env={"COLUMNS": "200"})


@pytest.fixture
def strategy_file(tmp_path: Path) -> Path:
    store = DataStore()  # the test's BACKGRID_HOME
    store.write(replace(random_bars(300, timeframe="1h", symbol="ACME", seed=1), source="csv"))
    store.write(replace(random_bars(200, timeframe="1h", symbol="ACME", seed=2), source="vendor"))
    path = tmp_path / "s.json"
    path.write_text(json.dumps({
        "schema_version": 3, "name": "t", "market": {"symbols": ["ACME"], "timeframe": "1h"},
        "indicators": {"fast": {"id": "sma", "params": {"period": 5}}},
        "entries": {"long": {"crosses_above": ["close", "fast"]}},
        "exits": {"long": {"crosses_below": ["close", "fast"]}}}), encoding="utf-8")
    return path


@pytest.mark.parametrize("cash", ["0", "-5"])
def test_cash_that_is_not_positive_is_refused(strategy_file: Path, cash: str) -> None:
    result = runner.invoke(app, ["run", str(strategy_file), "--source", "csv", "--cash", cash])
    assert result.exit_code == 1
    assert "cash" in result.output
    assert "sharpe_ratio" not in result.output  # nothing ran


def test_source_picks_the_series_and_names_itself_when_missing(strategy_file: Path) -> None:
    ambiguous = runner.invoke(app, ["run", str(strategy_file)])
    assert ambiguous.exit_code == 1
    assert "--source" in ambiguous.output
    for source, bars in (("csv", 300), ("vendor", 200)):
        result = runner.invoke(app, ["run", str(strategy_file), "--source", source])
        assert result.exit_code == 0, result.output
        assert f"{bars:,} bars from" in result.output
