"""``backgrid engine options`` and ``backgrid engine schema``: the option table for people and for programs."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from backgrid.cli.main import app
from backgrid.engine.options import OPTIONS, json_schema


def test_options_lists_every_option_in_80_columns_without_cutting_values() -> None:
    result = CliRunner(env={"COLUMNS": "80"}).invoke(app, ["engine", "options"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    names = [line.split()[0] for line in lines if line.startswith("  ") and not line.startswith("   ")]
    assert names == [n for group in dict.fromkeys(o.group for o in OPTIONS.values())
                     for n, o in OPTIONS.items() if o.group == group]
    assert "      0 < x <= 1000; default 1.0" in lines  # leverage's range, whole
    assert "      units | cash | equity | risk | volatility; default 'equity'" in lines


def test_options_json_and_schema_are_exact_json() -> None:
    runner = CliRunner()
    table = json.loads(runner.invoke(app, ["engine", "options", "--json"]).stdout)
    assert [row["name"] for row in table] == list(OPTIONS)
    assert next(row for row in table if row["name"] == "commission")["document"] == "costs.commission_percent"
    assert json.loads(runner.invoke(app, ["engine", "schema"]).stdout) == json_schema()
