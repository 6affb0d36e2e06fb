"""One interactive page for a backtest: candles with trade markers, equity, drawdown, on one time axis."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from importlib.resources import files
from typing import Any

import numpy as np

__all__ = ["backtest_chart"]

_LIBRARY = "lightweight-charts-4.2.3.standalone.js"

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 16px; background: #fff; color: #222; }}
h1 {{ font-size: 18px; margin: 0 0 4px; }} p {{ margin: 0 0 12px; color: #555; font-size: 13px; }}
.pane {{ width: 100%; margin-bottom: 6px; }} .label {{ font-size: 12px; color: #666; margin: 4px 0; }}
</style></head><body>
<h1>{title}</h1><p>{subtitle}</p>
<p>Arrows: entries (up long, down short), labelled with the rule that fired. Dots: exits, green for a gain, red
for a loss, labelled with the exit reason.{legend}</p>
{panes}
<script>{library}</script>
<script>
const data = {data};
const charts = [];
function make(id, height) {{
  const chart = LightweightCharts.createChart(document.getElementById(id), {{
    height: height, layout: {{ background: {{ color: '#ffffff' }}, textColor: '#333' }},
    timeScale: {{ timeVisible: data.intraday, secondsVisible: false, minBarSpacing: 0.001 }},
    rightPriceScale: {{ minimumWidth: 80 }}, crosshair: {{ mode: 0 }} }});
  charts.push(chart); return chart;
}}
if (data.candles) {{
  const price = make('price', 380).addCandlestickSeries();
  price.setData(data.candles);
  price.setMarkers(data.markers);
  data.overlays.forEach(o => charts[0].addLineSeries({{ color: o.color, lineWidth: 1, title: o.name,
    priceLineVisible: false, lastValueVisible: false }}).setData(o.points));
}}
make('equity', 220).addLineSeries({{ color: '#2962ff', lineWidth: 2 }}).setData(data.equity);
make('drawdown', 160).addAreaSeries({{ lineColor: '#e53935', topColor: 'rgba(229,57,53,0.05)',
  bottomColor: 'rgba(229,57,53,0.4)', invertFilledArea: true }}).setData(data.drawdown);
charts.forEach(c => c.timeScale().subscribeVisibleLogicalRangeChange(range => {{
  if (range) charts.forEach(o => {{ if (o !== c) o.timeScale().setVisibleLogicalRange(range); }});
}}));
charts.forEach(c => c.timeScale().fitContent());  // open on the whole run
</script></body></html>
"""


#: overlay line colours, in turn
_COLORS = ("#ff6d00", "#2962ff", "#8e24aa", "#00897b", "#c0ca33", "#6d4c41", "#d81b60", "#546e7a")


def _points(seconds: np.ndarray, values: np.ndarray) -> list[dict[str, float]]:
    keep = np.isfinite(values)
    return [{"time": int(t), "value": round(float(v), 10)} for t, v in zip(seconds[keep], values[keep], strict=True)]


def backtest_chart(*, title: str, subtitle: str, ts: np.ndarray, equity: np.ndarray, cash: float,
                   ohlc: dict[str, np.ndarray] | None, trades: Any, intraday: bool,
                   overlays: Mapping[str, np.ndarray] | None = None, entry_text: Mapping[str, str] | None = None,
                   ) -> str:
    """The page as a string: candles (when ``ohlc`` is given) with entry/exit markers, equity, drawdown.

    ``ts`` are bar open times (ns); ``trades`` a frame with ``entry_idx``, ``exit_idx``, ``side``,
    ``exit_reason``, ``pnl`` and ``open`` columns. ``overlays`` are lines on the price pane (one value per
    bar, NaN where undefined); ``entry_text`` the text of an entry's marker by side (default: the side).
    """
    seconds = ts // 1_000_000_000
    peak = np.maximum.accumulate(np.r_[cash, equity])[1:]
    payload: dict[str, Any] = {
        "intraday": intraday,
        "equity": _points(seconds, equity),
        "drawdown": _points(seconds, (equity / peak - 1.0) * 100.0),
    }
    if ohlc is not None:
        o, h, lo, c = (ohlc[k] for k in ("open", "high", "low", "close"))
        keep = np.isfinite(o)
        payload["candles"] = [
            {"time": int(t), "open": float(a), "high": float(b), "low": float(d), "close": float(e)}
            for t, a, b, d, e in zip(seconds[keep], o[keep], h[keep], lo[keep], c[keep], strict=True)]
        markers = []
        texts = dict(entry_text or {})
        for t in trades.itertuples():
            long = t.side == "long"
            markers.append({"time": int(seconds[t.entry_idx]), "position": "belowBar" if long else "aboveBar",
                            "color": "#26a69a" if long else "#ef5350", "shape": "arrowUp" if long else "arrowDown",
                            "text": texts.get(t.side, t.side)})
            if not t.open:  # exits: a dot, green for a gain and red for a loss
                markers.append({"time": int(seconds[t.exit_idx]), "position": "aboveBar" if long else "belowBar",
                                "color": "#2e7d32" if t.pnl > 0 else "#c62828", "shape": "circle",
                                "text": t.exit_reason})
        payload["markers"] = sorted(markers, key=lambda m: m["time"])
        payload["overlays"] = [{"name": name, "color": _COLORS[i % len(_COLORS)], "points": _points(seconds, values)}
                               for i, (name, values) in enumerate((overlays or {}).items())]
    panes = "\n".join(f'<div class="label">{label}</div><div id="{pane}" class="pane"></div>'
                      for pane, label in (("price", "price and trades"), ("equity", "equity"),
                                          ("drawdown", "drawdown, %"))
                      if pane != "price" or ohlc is not None)
    library = (files("backgrid.charts") / "static" / _LIBRARY).read_text(encoding="utf-8")
    legend = (" Lines: " + ", ".join(html.escape(name) for name in overlays) + ".") if overlays and ohlc else ""
    return _PAGE.format(title=html.escape(title), subtitle=html.escape(subtitle), panes=panes, library=library,
                        legend=legend,
                        data=json.dumps(payload, separators=(",", ":")))
