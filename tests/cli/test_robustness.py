"""``backgrid robustness``: search, then every check; --set skips the search; outputs and usage errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from backgrid.cli.main import app

runner = CliRunner(env={"COLUMNS": "200"})
SMALL = ["sma-cross", "--symbol", "DEMO-BTC", "--param", "fast=5:20:5", "--param", "slow=50:100:25",
         "--shuffles", "500", "--random", "20", "--jitter", "4", "--paths", "3"]


def invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def test_robustness_searches_then_checks_the_best_set(tmp_path: Path) -> None:
    result = invoke("robustness", *SMALL, "--out", tmp_path)
    assert result.exit_code == 0, result.output
    text = result.stdout
    for words in ("deflated Sharpe", "random entries: p =", "trade shuffles", "costs: x1", "jitter",
                  "resampled prices", "plateau", "PBO"):
        assert words in text, words
    frame = pd.read_csv(tmp_path / "report.csv")
    assert set(frame["check"]) >= {"deflated_sharpe", "significance", "pbo", "costs"}
    page = (tmp_path / "robustness.html").read_text(encoding="utf-8")
    assert page.count("plotly.js v") <= 1


def test_a_given_set_skips_the_search_and_json_is_exact() -> None:
    result = invoke("robustness", *SMALL, "--set", "fast=10", "--set", "slow=50", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["params"] == {"fast": 10, "slow": 50}
    assert "pbo" not in doc["checks"]  # no search, no PBO
    assert doc["checks"]["significance"]["runs"] == 20


def test_a_bad_set_names_the_option() -> None:
    result = runner.invoke(app, ["robustness", *SMALL, "--set", "fast=5:10"])
    assert result.exit_code == 2
    assert "--set" in result.output
