"""The analysis benchmark: market regimes on 1M bars, the tear sheet of a 1M-bar run, a year's HTML and PDF.

Reproduce: ``PYTHONPATH=src:. python -m benchmarks --suite analysis`` (about a minute on 2 cores).

- A1, A2: ``trend_regime`` and ``volatility_regime`` (ATR %) of 1,000,000 one-minute random-walk bars
  (goal < 0.2 s each, the issue's "regimes on 1M bars").
- A3: the tear sheet's HTML of a backtest on those bars (SMA 50/200 cross), its statistics included, the
  backtest itself not timed (goal < 2 s and < 5 MB).
- A4: the same page for one year of daily bars next to quantstats' HTML report of the same bar returns
  (``quantstats.reports.html``, as its documentation shows it; matplotlib renders its charts).
- A5: that year's PDF through WeasyPrint (goal < 2 s), next to Chromium printing the same page
  (Playwright's ``page.pdf()``, the browser started for it), the alternative the report package weighed.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from backgrid.analysis import trend_regime, volatility_regime
from backgrid.engine import backtest
from backgrid.indicators import compute
from backgrid.report import tear_sheet
from backgrid.testing import random_bars
from benchmarks.common import median_time
from benchmarks.research import Row, _met, render

CHROMIUM = Path("/usr/bin/chromium")


def _sma_cross(bars: Any) -> Any:
    fast, slow = (compute("sma", bars, period=p)["sma"] for p in (50, 200))
    return backtest(bars, entries=fast > slow, exits=fast < slow, commission=0.001)


def _fresh(result: Any) -> Any:
    """The result with its statistics and trade frame not yet computed (they are cached on first use)."""
    for cached in ("stats", "trades"):
        result.__dict__.pop(cached, None)
    return result


def _quantstats(result: Any, folder: Path) -> float:
    import quantstats  # noqa: PLC0415  # a benchmark peer

    returns = result.equity.pct_change().fillna(0.0)
    returns.index = returns.index.tz_localize(None)
    seconds, _ = median_time(lambda: quantstats.reports.html(returns, output=str(folder / "qs.html")), 1)
    return seconds


def _chromium(page: str, folder: Path) -> float | None:
    if not CHROMIUM.exists():
        return None
    from playwright.sync_api import sync_playwright  # noqa: PLC0415  # a benchmark peer

    html = folder / "year.html"
    html.write_text(page, encoding="utf-8")

    def printed() -> None:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM))
            tab = browser.new_page()
            tab.goto(html.as_uri())
            tab.pdf(path=str(folder / "chromium.pdf"))
            browser.close()

    seconds, _ = median_time(printed, 3)
    return seconds


def run(rows: int, repeat: int) -> None:
    """Run A1-A5 and print the table."""
    n = rows or 1_000_000
    bars = random_bars(n, timeframe="1m", seed=1)
    a1, _ = median_time(lambda: trend_regime(bars), repeat)
    a2, _ = median_time(lambda: volatility_regime(bars), repeat)
    result = _sma_cross(bars)
    a3, page = median_time(lambda: tear_sheet(_fresh(result)), repeat)
    size = len(str(page).encode()) / 1e6
    year = random_bars(365, timeframe="1d", seed=2)
    yearly = _sma_cross(year)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        a4, one_year = median_time(lambda: tear_sheet(_fresh(yearly)), repeat)
        qs = _quantstats(yearly, folder)
        a5, _ = median_time(lambda: tear_sheet(_fresh(yearly), folder / "year.pdf"), repeat)
        chromium = _chromium(str(one_year), folder)
    table = [
        Row(f"A1 trend regime, {n:,} bars", a1, "-", None, "-", "< 0.2 s", _met(a1 < 0.2)),
        Row(f"A2 volatility regime, {n:,} bars", a2, "-", None, "-", "< 0.2 s", _met(a2 < 0.2)),
        Row(f"A3 tear sheet HTML, {n:,} bars", a3, "-", None, "-", "< 2 s, < 5 MB", _met(a3 < 2 and size < 5),
            note=f"{size:.2f} MB, {result.records.size:,} trades"),
        Row("A4 tear sheet HTML, 1 year daily", a4, "quantstats html", qs, f"{qs / a4:.1f}x", "-", "-"),
        Row("A5 tear sheet PDF, 1 year daily", a5, "Chromium page.pdf", chromium,
            f"{chromium / a5:.1f}x" if chromium else "-", "< 2 s", _met(a5 < 2),
            note="WeasyPrint imported before the timed calls; Chromium's time includes starting the browser"),
    ]
    print(f"analysis benchmark: medians of {repeat}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} "
          f"CPUs; pandas {pd.__version__}, numpy {np.__version__}")
    print(render(table))
