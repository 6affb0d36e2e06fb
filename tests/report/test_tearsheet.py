"""The tear sheet's HTML: self-contained, every section, and every number equal to the result's own."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from html import escape
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import backgrid
from backgrid.analysis.readings import readings
from backgrid.engine.result import Result
from backgrid.errors import ReportError, ResultColumnError
from backgrid.metrics import METRICS
from backgrid.metrics import returns as rt
from backgrid.report import tear_sheet
from backgrid.report.sections import HEADLINE, TRADE_ROWS, drawdown_periods, rolling_stats, rolling_window
from backgrid.robustness import report
from backgrid.robustness.montecarlo import bootstrap_trades
from backgrid.robustness.pbo import pbo
from backgrid.strategy.library import load_library
from backgrid.testing.synthetic import random_bars
from tests.report.conftest import sma_cross

# written here, not imported: the test's own reading of each unit
EXPECTED = {"fraction": lambda x: f"{100 * x:.2f}%", "cash": lambda x: f"{x:,.2f}", "ratio": lambda x: f"{x:.2f}",
            "probability": lambda x: f"{x:.3f}", "count": lambda x: f"{int(x):,}",
            "bars": lambda x: f"{x:,.0f}" if float(x).is_integer() else f"{x:,.1f}"}
SECTIONS = ("headline", "equity", "drawdown", "returns", "rolling", "distributions", "holding", "excursions",
            "long-short", "trades", "reproducibility")


def expected(name: str, value: object) -> str:
    v = float(value)  # type: ignore[arg-type]
    if math.isnan(v):
        return "n/a"
    text = EXPECTED[METRICS[name].unit](value)
    return text.lstrip("-") if float(re.sub(r"[^0-9.-]", "", text)) == 0 else text  # no "-0.00%"


def cards(page: str) -> dict[str, str]:
    return dict(re.findall(r'data-metric="(\w+)">([^<]*)<', page))


@pytest.fixture(scope="module")
def page(result: Result) -> str:
    out = tear_sheet(result)
    assert isinstance(out, str)
    return out


def test_one_file_without_external_references(page: str) -> None:
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page
    assert "<link" not in page
    assert "@import" not in page
    assert "url(" not in page
    targets = re.findall(r'\b(?:src|href)\s*=\s*"([^"]*)"', page)
    assert targets
    assert all(t.startswith("#") for t in targets)
    assert "<img" not in page
    assert "<iframe" not in page


def test_every_section(page: str) -> None:
    for anchor in SECTIONS:
        assert f'id="{anchor}"' in page, anchor
    assert page.count("<svg") >= 9  # equity, underwater, months, years, 2 rolling, 2 distributions, holding, MFE


def test_headline_cards_equal_the_stats(page: str, result: Result) -> None:
    shown = cards(page)
    assert list(shown) == list(HEADLINE)
    for name in HEADLINE:
        assert shown[name] == expected(name, result.stats[name]), name
    assert shown["sharpe_ratio"] == f"{result.stats['sharpe_ratio']:.2f}"


def test_every_statistic_with_its_reading(page: str, result: Result) -> None:
    read = readings(result.stats)  # the cards read a metric in its declared bands, where it has them
    assert {"sharpe_ratio", "max_drawdown", "win_rate", "total_return"} <= read.keys() & set(HEADLINE)
    for name, metric in METRICS.items():
        value, reading = expected(name, result.stats[name]), escape(metric.description)
        if name in HEADLINE:  # a card: value, name, reading
            reading = escape(read.get(name, metric.description))
            card = (f'<div class="value" data-metric="{name}">{value}</div><div class="name">'
                    f'{name.replace("_", " ")}</div><div class="reading">{reading}</div>')
            assert card in page, name
        else:
            assert f"<td>{name.replace('_', ' ')}</td><td class=num>{value}</td><td>{reading}</td>" in page, name
    assert page.count("<td>sharpe ratio</td>") == 0  # each statistic once


def test_yearly_returns_from_year_end_equity(page: str, result: Result) -> None:
    equity = result.equity
    ends = equity.groupby(equity.index.year).last()
    before = pd.concat([pd.Series([float(result.params["cash"][0])]), ends.iloc[:-1]]).to_numpy()
    for year, r in zip(ends.index, ends.to_numpy() / before - 1.0, strict=True):
        assert f">{100 * r:.1f}%<" in page, year  # in the heatmap's year column and above its bar


def test_drawdown_periods_hand_case() -> None:
    dd = np.array([0.0, -0.1, -0.2, 0.0, -0.05, -0.3, -0.1])
    assert drawdown_periods(dd) == [(3, 5, None, -0.3), (0, 2, 3, -0.2)]
    assert drawdown_periods(np.zeros(4)) == []


def test_deepest_drawdown_is_max_drawdown(page: str, result: Result) -> None:
    table = page[page.index("Deepest drawdowns"):]
    first = re.search(r"<tbody><tr><td class=num>([^<]*)<", table)
    assert first is not None
    assert first.group(1) == expected("max_drawdown", result.stats["max_drawdown"])


def test_rolling_window_and_stats() -> None:
    assert rolling_window(252.0, 1043) == 126
    assert rolling_window(252.0, 100) == 25
    assert rolling_window(525_600.0, 1_000_000) == 250_000
    r = np.random.default_rng(1).normal(0.001, 0.01, 300)
    sharpe, vol = rolling_stats(r, 50, 252.0)
    assert sharpe.size == vol.size == 251
    for end in (49, 120, 299):
        window = r[end - 49:end + 1]
        assert sharpe[end - 49] == pytest.approx(rt.sharpe_ratio(window, 252.0), rel=1e-9)
        assert vol[end - 49] == pytest.approx(rt.annual_volatility(window, 252.0), rel=1e-9)


def test_long_short_breakdown_equals_the_side_metrics(spy: backgrid.Bars) -> None:
    a = backgrid.indicators.compute("sma", spy, period=10)["sma"]
    b = backgrid.indicators.compute("sma", spy, period=30)["sma"]
    run = backgrid.backtest(spy, entries=a > b, exits=a < b, short_entries=a < b, short_exits=a > b)
    s = run.stats
    assert s["long_trades"]
    assert s["short_trades"]
    page = str(tear_sheet(run))
    for side in ("long", "short"):
        row = (f"<td>{side}</td><td class=num>{s[f'{side}_trades']:,}</td><td class=num>"
               f"{expected('win_rate', s[f'{side}_win_rate'])}</td><td class=num>"
               f"{expected('long_pnl', s[f'{side}_pnl'])}</td>")
        assert row in page, side
    closed = run.trades[~run.trades["open"]]
    assert f"<td>all</td><td class=num>{len(closed):,}</td>" in page
    assert f"{100 * closed['return'].mean():.2f}%" in page


def test_trade_list_of_a_long_run_keeps_the_first_and_last() -> None:
    run = sma_cross(random_bars(40_000, timeframe="1m"), 3, 10)
    n = len(run.trades)
    assert n > 2 * TRADE_ROWS
    page = str(tear_sheet(run))
    trades = page[page.index('<section id="trades">'):]
    assert f"{n - 2 * TRADE_ROWS:,} trades omitted" in trades
    numbers = re.findall(r"<tr><td class=num>(\d+)</td>", trades)
    assert numbers == [str(i) for i in [*range(1, TRADE_ROWS + 1), *range(n - TRADE_ROWS + 1, n + 1)]]


def test_small_run_lists_every_trade(page: str, result: Result) -> None:
    trades = page[page.index('<section id="trades">'):]
    assert len(re.findall(r"<tr><td class=num>\d+</td>", trades)) == len(result.trades)
    first = result.trades.iloc[0]
    assert f"<td>{first['entry_time']:%Y-%m-%d}</td>" in trades  # daily bars: dates
    assert expected("long_pnl", first["pnl"]) in trades


def test_a_sweep_column(spy: backgrid.Bars) -> None:
    run = sma_cross(spy, stop_loss=[0.02, 0.05])
    assert not run.single
    second = run.columns[1]
    page = str(tear_sheet(run, column=second, title="SMA"))
    row = run.stats.iloc[1]
    assert cards(page) == {name: expected(name, row[name]) for name in HEADLINE}
    assert "<h1>SMA — column=1</h1>" in page  # a sweep of keyword lists is numbered
    trades = page[page.index('<section id="trades">'):]
    assert len(re.findall(r"<tr><td class=num>\d+</td>", trades)) == int(row["trades"])
    assert cards(str(tear_sheet(run)))["trades"] == f"{int(run.stats.iloc[0]['trades']):,}"
    with pytest.raises(ResultColumnError, match="not one column"):
        tear_sheet(run, column="nope")


@dataclass
class Insight:
    id: str
    severity: str
    title: str
    message: str
    numbers: dict[str, float]


def test_insights_regimes_and_footer(result: Result) -> None:
    insights = [{"id": "a", "severity": "warning", "title": "Few trades", "message": "Only 20 trades.",
                 "numbers": {"trades": 20}},
                Insight("b", "danger", "Deep drawdown", "Fell <30%.", {"max_drawdown": -0.2938})]
    regimes = pd.DataFrame({"time_spent": [0.6, 0.4], "return": [0.12, -0.05], "sharpe_ratio": [1.234, -0.5],
                            "trades": [12, 8]}, index=pd.Index(["bull", "bear"], name="regime"))
    page = str(tear_sheet(result, insights=insights, regimes=regimes,
                          manifest={"document_hash": "abc123", "data_hash": "def456", "seed": 7}))
    assert '<li class="insight warning"><b>Few trades</b>' in page
    assert "Fell &lt;30%." in page
    assert "max_drawdown -0.2938" in page
    assert "trades 20" in page
    assert ("<tr><td>bull</td><td class=num>60.00%</td><td class=num>12.00%</td><td class=num>1.23</td>"
            "<td class=num>12</td></tr>") in page
    footer = page[page.index('<footer id="reproducibility">'):]
    for text in ("abc123", "def456", ">7<", result.config.fingerprint, backgrid.__version__, " UTC"):
        assert text in footer, text
    assert "not recorded" not in footer
    bare = str(tear_sheet(result))
    assert bare[bare.index("<footer"):].count("not recorded") == 3  # document hash, data hash, seed


def test_validation_section(result: Result) -> None:
    pnl = result.records["pnl"]
    booted = bootstrap_trades(pnl, 10_000.0, n=200, seed=1)
    grid = pd.DataFrame([[0.5, 0.8], [0.9, 1.1]], index=pd.Index([10, 20], name="fast"),
                        columns=pd.Index([30, 50], name="slow"))
    folds = pd.DataFrame({"is_value": [1.2, 0.9], "oos_value": [0.4, 0.7]}, index=pd.Index([1, 2], name="fold"))
    oos = result.equity.iloc[500:]
    page = str(tear_sheet(result, validation={
        "walk_forward": {"folds": folds, "equity": oos}, "pbo": {"pbo": 0.25, "logits": np.linspace(-2, 2, 20)},
        "sharpe": {"psr": 0.95, "dsr": 0.61, "min_trl": 412.0}, "monte_carlo": booted, "sensitivity": grid,
        "sensitivity_metric": "sharpe_ratio"}))
    section = page[page.index('<section id="validation">'):page.index("<footer")]
    for text in ("Walk-forward", "<b>0.25</b>", "deflated Sharpe ratio</td><td class=num>0.61",
                 "minimum track record length (bars)</td><td class=num>412", "Monte Carlo equity bands",
                 "Parameter sensitivity", ">1.10<", "sharpe_ratio over the two parameters", "<td>1</td>"):
        assert text in section, text
    assert section.count("<svg") == 4  # OOS equity, logits, bands, sensitivity
    assert 'id="validation"' not in str(tear_sheet(result))


def test_validation_from_a_bare_pbo_and_bad_keys(result: Result) -> None:
    assert "<b>0.4</b>" in str(tear_sheet(result, validation={"pbo": 0.4}))
    with pytest.raises(ReportError, match=r"unknown key.*pbox"):
        tear_sheet(result, validation={"pbox": 0.4})
    with pytest.raises(ReportError, match="expected a mapping"):
        tear_sheet(result, validation=[0.4])


def test_log_scale_and_a_benchmark(result: Result) -> None:
    page = str(tear_sheet(result, log_scale=True))
    assert "Equity against buy and hold (log scale)" in page
    prices = pd.Series(np.linspace(100.0, 200.0, result.index.size), index=result.index)
    page = str(tear_sheet(result, benchmark=prices))
    assert "Equity against benchmark (linear scale)" in page
    assert cards(page)["buy_and_hold_return"] == expected("buy_and_hold_return", result.stats["buy_and_hold_return"])
    with pytest.raises(ReportError, match="one price per bar"):
        tear_sheet(result, benchmark=[1.0, 2.0])


def test_writes_the_path(tmp_path: Path, result: Result) -> None:
    out = tear_sheet(result, tmp_path / "run.html")
    assert out == tmp_path / "run.html"
    assert Path(out).read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    with pytest.raises(ReportError, match=r"\.html or \.pdf"):
        tear_sheet(result, tmp_path / "run.png")
    with pytest.raises(ReportError, match="expected a backgrid Result"):
        tear_sheet("result")  # type: ignore[arg-type]
    with pytest.raises(ReportError, match="regimes: expected a pandas DataFrame"):
        tear_sheet(result, regimes=[1, 2])  # type: ignore[arg-type]


def test_a_long_run_stays_small_and_every_line_is_downsampled() -> None:
    run = sma_cross(random_bars(300_000, timeframe="1m"), 50, 200)
    page = str(tear_sheet(run))
    assert len(page.encode()) < 5_000_000
    paths = re.findall(r'<path d="(M[^"]*)" fill="none"', page)
    assert len(paths) >= 5
    assert max(p.count("L") + 1 for p in paths) <= 2000
    assert cards(page)["trades"] == f"{int(run.stats['trades']):,}"


def test_validation_from_the_real_objects(spy: backgrid.Bars) -> None:
    checks = report(load_library("sma-cross"), spy, shuffles=100, random_runs=0, jitter_sets=0, paths=0,
                    ledger=False)
    page = str(tear_sheet(checks.result, validation=checks))
    section = page[page.index('<section id="validation">'):page.index("<footer")]
    dsr = checks.sections["deflated_sharpe"]["psr"]
    assert f"probabilistic Sharpe ratio</td><td class=num>{dsr:.4g}</td>" in section
    assert "Monte Carlo equity bands" in section
    assert section.count("<tr><td>costs</td>") == len(checks.sections["costs"])  # every check's figures
    found = pbo(np.random.default_rng(0).normal(0, 0.01, (400, 8)), 8)
    walk = SimpleNamespace(folds=pd.DataFrame({"oos_value": [0.5]}), equity=checks.result.equity.iloc[-100:])
    page = str(tear_sheet(checks.result, validation={"pbo": found, "walk_forward": walk}))
    assert f"(PBO): <b>{found.pbo:.4g}</b>" in page
    assert f"out-of-sample loss: <b>{found.probability_of_loss:.4g}</b>" in page
    assert 'aria-label="PBO logits"' in page
    assert 'aria-label="walk-forward out-of-sample equity"' in page


def test_a_portfolio_names_the_symbol_of_each_trade() -> None:
    btc, eth = backgrid.demo_bars("DEMO-BTC", "1d"), backgrid.demo_bars("DEMO-ETH", "1d")
    signals = {}
    for bars in (btc, eth):
        fast = backgrid.indicators.compute("sma", bars, period=10)["sma"].to_numpy()
        slow = backgrid.indicators.compute("sma", bars, period=30)["sma"].to_numpy()
        signals[bars.symbol] = (fast > slow, fast < slow)
    entries = pd.DataFrame({k: e for k, (e, _) in signals.items()}, index=btc.index)
    exits = pd.DataFrame({k: x for k, (_, x) in signals.items()}, index=btc.index)
    run = backgrid.backtest([btc, eth], entries=entries, exits=exits, size=0.4)
    page = str(tear_sheet(run))
    trades = page[page.index('<section id="trades">'):]
    assert "<th>symbol</th>" in trades
    assert trades.count("<td>DEMO-ETH</td>") == int((run.trades["symbol"] == "DEMO-ETH").sum()) > 0
    assert cards(page)["buy_and_hold_return"] == expected("buy_and_hold_return", run.stats["buy_and_hold_return"])


def test_a_run_without_a_trade_has_a_tear_sheet():
    bars = random_bars(365, timeframe="1d", seed=2)
    flat = backgrid.backtest(bars, entries=np.zeros(len(bars), dtype=bool), exits=None)
    page = tear_sheet(flat)
    assert "Headline statistics" in page
    assert f'data-metric="trades">{expected("trades", 0)}<' in page
