"""A run folder's tear sheet: ``backgrid report RUN``, ``run --report``, ``--pdf`` and ``--benchmark``."""

from __future__ import annotations

import importlib.util
import json
import re
from html import unescape
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from backgrid.analysis import benchmark_stats, insights, regime_stats, trend_regime
from backgrid.cli.main import app
from backgrid.data.sources.demo import demo_bars
from backgrid.engine import Result
from backgrid.errors import ResultFileError
from backgrid.report import footer, report_run
from backgrid.report.format import format_metric
from backgrid.report.sections import HEADLINE
from backgrid.strategy.manifest import read_manifest

runner = CliRunner()


def _cli(*args: object):
    outcome = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
    assert outcome.exit_code == 0, outcome.output
    return outcome


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    out = tmp_path / "spy"
    _cli("run", "sma-cross", "--out", out, "--report")
    return out


def test_run_report_writes_the_folders_tear_sheet(folder: Path):
    page = (folder / "tear.html").read_text(encoding="utf-8")
    stored = Result.load(folder / "result.npz")
    for name in HEADLINE:
        assert f'data-metric="{name}">{format_metric(name, stored.stats[name])}<' in page, name
    manifest = read_manifest(folder)
    for value in footer(manifest).values():
        assert str(value) in unescape(page), value
    found = insights(stored, regimes=regime_stats(stored, trend_regime(demo_bars("DEMO-SPY", "1d"))))
    for insight in found:
        assert unescape(insight.message) in unescape(page), insight.id
    for name in ("bull", "bear", "range"):
        assert f">{name}<" in page, name


def test_the_report_says_why_regimes_are_left_out(folder: Path):
    manifest = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    manifest["data"][0]["fingerprint"] = "0" * 64  # as if the store's bars had changed since the run
    (folder / "run.json").write_text(json.dumps(manifest), encoding="utf-8")
    written = report_run(folder, folder / "other.html")
    assert written.note == "regimes left out: the store's DEMO-SPY is not the data the run used"
    assert ">bull<" not in written.path.read_text(encoding="utf-8")
    outcome = _cli("report", folder, "--out", folder / "again.html")
    assert "note: regimes left out" in outcome.stderr


def test_a_stored_symbol_as_the_benchmark(folder: Path):
    _cli("demo")
    _cli("report", folder, "--benchmark", "DEMO-BTC", "--out", folder / "btc.html")
    page = unescape((folder / "btc.html").read_text(encoding="utf-8"))
    stored = Result.load(folder / "result.npz")
    btc = demo_bars("DEMO-BTC", "1d")

    stats = benchmark_stats(stored, pd.Series(btc.close, index=btc.index))
    found = [i for i in insights(stored, benchmark=stats | {"name": "DEMO-BTC"}) if "benchmark" in i.id]
    assert found
    assert found[0].message in page


@pytest.mark.skipif(importlib.util.find_spec("weasyprint") is None, reason="WeasyPrint is not installed")
def test_report_pdf_holds_the_headline_numbers(folder: Path):
    pypdf = pytest.importorskip("pypdf", reason="pypdf reads the PDF's text")
    _cli("report", folder, "--pdf")
    text = re.sub(r"\s+", " ", " ".join(p.extract_text() for p in pypdf.PdfReader(str(folder / "tear.pdf")).pages))
    stats = Result.load(folder / "result.npz").stats
    for name in ("total_return", "sharpe_ratio", "max_drawdown", "final_equity"):
        assert format_metric(name, stats[name]) in text, name


def test_a_folder_without_a_result_is_refused(folder: Path):
    (folder / "result.npz").unlink()
    with pytest.raises(ResultFileError, match=r"has no result\.npz"):
        report_run(folder)
    outcome = runner.invoke(app, ["run", "sma-cross", "--report"])
    assert outcome.exit_code == 2
    assert "give --out too" in outcome.output


def test_plain_reads_the_headline_metrics_without_jargon(folder: Path):
    from backgrid.analysis import readings

    _cli("report", folder, "--plain", "--out", folder / "plain.html")
    page = unescape((folder / "plain.html").read_text(encoding="utf-8"))
    stats = Result.load(folder / "result.npz").stats
    plain, jargon = readings(stats.to_dict(), plain=True), readings(stats.to_dict())
    assert plain["sharpe_ratio"] != jargon["sharpe_ratio"]
    for name in HEADLINE:
        if name in plain:
            assert plain[name] in page, name
    assert jargon["sharpe_ratio"] not in page
