"""The chart page's own script, run in Node against a recording stand-in for lightweight-charts.

No browser here: the stand-in records what the page asks the library to draw (series, their points, markers,
the visible range), which is what a headless browser's screenshot would show.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from backgrid.data.sources.demo import demo_bars
from backgrid.engine import backtest

NODE = shutil.which("node")

STUB = """
const calls = { charts: [], series: [], fitContent: 0 };
globalThis.document = { getElementById: id => ({ id }) };
function series(kind, options) {
  const s = { kind, title: options && options.title, points: 0, markers: [] };
  calls.series.push(s);
  return { setData: d => { s.points = d.length; }, setMarkers: m => { s.markers = m.map(x => x.text); } };
}
globalThis.LightweightCharts = { createChart: (el, options) => {
  calls.charts.push({ id: el.id, minBarSpacing: options.timeScale.minBarSpacing });
  const time = { fitContent: () => { calls.fitContent += 1; }, subscribeVisibleLogicalRangeChange: () => {},
                 setVisibleLogicalRange: () => {} };
  return { timeScale: () => time, addCandlestickSeries: o => series('candles', o),
           addLineSeries: o => series('line', o), addAreaSeries: o => series('area', o) };
} };
"""


@pytest.mark.skipif(NODE is None, reason="needs node to run the page's script")
def test_the_page_draws_overlays_markers_and_opens_on_the_whole_run(tmp_path):
    bars = demo_bars("DEMO-BTC", "1h")
    close = bars.to_pandas()["close"]
    fast, slow = close.rolling(20).mean(), close.rolling(100).mean()
    result = backtest(bars, entries=fast > slow, exits=fast < slow)
    html = result.plot(tmp_path / "c.html", title="sma-cross", entry_rules={"long": "entries.long"},
                       overlays={"fast": fast.to_numpy(), "slow": slow.to_numpy()}).read_text(encoding="utf-8")
    script = re.findall(r"<script>(.*?)</script>", html, re.DOTALL)[-1]
    page = tmp_path / "page.js"
    page.write_text(STUB + script + "\nconsole.log(JSON.stringify(calls));\n", encoding="utf-8")
    run = subprocess.run([NODE, str(page)], capture_output=True, text=True, check=False, timeout=60)
    assert run.returncode == 0, run.stderr
    calls = json.loads(run.stdout)
    assert [c["id"] for c in calls["charts"]] == ["price", "equity", "drawdown"]
    assert calls["fitContent"] == 3  # every pane opens on the whole run
    # 35k bars in a pane of ~1,000 pixels need bars narrower than the library's default minimum of 0.5 px
    assert all(c["minBarSpacing"] * len(bars) < 1000 for c in calls["charts"])
    candles, *rest = calls["series"]
    assert candles["points"] == len(bars)
    lines = {s["title"]: s["points"] for s in rest if s["kind"] == "line" and s.get("title")}
    assert lines == {"fast": int(fast.notna().sum()), "slow": int(slow.notna().sum())}
    entries = len(result.trades)
    assert candles["markers"].count("entries.long") == entries
