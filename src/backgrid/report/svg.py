"""Static SVG charts for the tear sheet: lines and areas, heatmaps, histograms, scatters and bars.

Every chart is one ``<svg>`` string with a ``viewBox`` (it scales to the page's width) and no script, so that
the same HTML renders in a browser, offline, and in WeasyPrint. Coordinates are written with one decimal
(a tenth of a pixel). Colours are the Okabe-Ito palette (Okabe and Ito 2008), told apart with every common
colour-vision deficiency; a heatmap runs from vermillion (negative) through white to blue (positive). A line
is downsampled with LTTB to at most ``MAX_POINTS`` points (see :mod:`.lttb`); the numbers it comes from are
not changed.

Axis values are formatted by ``kind``: ``"percent"`` (0.01 is 1%), ``"number"`` (with k/M suffixes from a
million), ``"count"`` or ``"time"`` (x only: nanoseconds since the epoch, UTC).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

import numpy as np
import pandas as pd

from backgrid.report.lttb import lttb

__all__ = ["MAX_POINTS", "PALETTE", "Band", "Line", "bar_chart", "heatmap", "histogram", "line_chart", "scatter"]

#: Okabe-Ito: blue, orange, bluish green, vermillion, sky blue, reddish purple, yellow, black.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442", "#000000")
MAX_POINTS = 2000
WIDTH = 760
_LEFT, _RIGHT, _TOP, _BOTTOM = 62.0, 14.0, 22.0, 24.0
_FONT = 'font-family="Helvetica, Arial, sans-serif" font-size="11"'
_GRID = "#d9d9d9"
_TEXT = "#333333"


@dataclass(frozen=True)
class Line:
    """One series of a line chart; ``fill`` shades the area between it and zero (an underwater curve)."""

    name: str
    x: np.ndarray
    y: np.ndarray
    color: str = PALETTE[0]
    fill: bool = False
    width: float = 1.5


@dataclass(frozen=True)
class Band:
    """A shaded band between ``lower`` and ``upper`` (Monte Carlo percentiles, say)."""

    name: str
    x: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    color: str = PALETTE[4]


# -- ticks and labels ------------------------------------------------------------------------------------
def _nice_step(span: float, count: int) -> float:
    raw = span / max(count, 1)
    magnitude = 10.0 ** math.floor(math.log10(raw))
    return next(f * magnitude for f in (1.0, 2.0, 2.5, 5.0, 10.0) if f * magnitude >= raw * 0.999)


def _ticks(lo: float, hi: float, count: int = 5) -> tuple[np.ndarray, float]:
    """Round values from ``lo`` to ``hi`` about ``count`` apart, and their step."""
    step = _nice_step(hi - lo, count)
    first = math.ceil(lo / step - 1e-9) * step
    return np.arange(first, hi + step * 1e-6, step), step


def _decimals(step: float) -> int:
    """The fewest decimals that write every multiple of ``step`` exactly (2.5 -> 1, 0.02 -> 2)."""
    if not (math.isfinite(step) and step > 0):
        return 2
    return next((d for d in range(7) if abs(step * 10**d - round(step * 10**d)) < 1e-6), 6)


def _label(value: float, kind: str, step: float) -> str:
    """A tick or cell value of ``kind`` written with the decimals that its ``step`` needs."""
    if kind == "percent":
        text = f"{value * 100:.{_decimals(step * 100)}f}%"
    elif kind == "count":
        text = f"{value:,.0f}"
    elif abs(value) >= 1e6 or step >= 1e6:
        text = f"{value / 1e6:,.{_decimals(step / 1e6)}f}M"
    else:
        text = f"{value:,.{_decimals(step)}f}"
    if text.startswith("-") and not any(c in text for c in "123456789"):
        text = text[1:]  # not "-0.0%" for a value a rounding below zero
    return text


_TIME_STEPS = (  # pandas frequency, nominal length in days, label format
    ("10YS", 3652.5, "%Y"), ("5YS", 1826.25, "%Y"), ("2YS", 730.5, "%Y"), ("YS", 365.25, "%Y"),
    ("QS", 91.3, "%Y-%m"), ("MS", 30.4, "%Y-%m"), ("W-MON", 7.0, "%Y-%m-%d"), ("D", 1.0, "%m-%d"),
    ("6h", 0.25, "%m-%d %H:%M"), ("h", 1 / 24, "%H:%M"), ("15min", 1 / 96, "%H:%M"), ("min", 1 / 1440, "%H:%M"),
)


def _time_ticks(lo: float, hi: float) -> list[tuple[float, str]]:
    """Calendar ticks between two times (ns): the coarsest frequency that gives at least three."""
    span_days = (hi - lo) / 86_400e9
    for freq, days, fmt in _TIME_STEPS:
        if span_days / days >= 3 or freq == "min":
            stamps = pd.date_range(pd.Timestamp(int(lo), tz="UTC").floor("min"), pd.Timestamp(int(hi), tz="UTC"),
                                   freq=freq)
            stamps = stamps[(stamps.asi8 >= lo) & (stamps.asi8 <= hi)]
            if len(stamps) > 9:  # 2YS on 9 years gives 5; thin what a frequency overshoots
                stamps = stamps[:: math.ceil(len(stamps) / 8)]
            return [(float(s.value), s.strftime(fmt)) for s in stamps]
    return []  # pragma: no cover  # "min" always answers


# -- frame -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Frame:
    x0: float
    x1: float
    y0: float
    y1: float
    height: float
    log: bool = False

    def px(self, x: np.ndarray | float) -> np.ndarray:
        span = self.x1 - self.x0 or 1.0
        return _LEFT + (np.asarray(x, dtype=np.float64) - self.x0) / span * (WIDTH - _LEFT - _RIGHT)

    def py(self, y: np.ndarray | float) -> np.ndarray:
        v = np.asarray(y, dtype=np.float64)
        if self.log:
            v = np.log10(np.where(v > 0, v, np.nan))
        span = self.y1 - self.y0 or 1.0
        return self.height - _BOTTOM - (v - self.y0) / span * (self.height - _TOP - _BOTTOM)


def _svg(height: float, body: list[str], label: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height:.0f}" width="{WIDTH}" '
            f'height="{height:.0f}" role="img" aria-label="{escape(label)}" {_FONT}>' + "".join(body) + "</svg>")


def _axes(f: _Frame, *, x_kind: str, y_kind: str, x_ticks: list[tuple[float, str]] | None = None) -> list[str]:
    out = []
    bottom = f.height - _BOTTOM
    if f.log:
        values = _log_ticks(10.0 ** f.y0, 10.0 ** f.y1)
        step = float(np.min(np.diff(values))) if values.size > 1 else float(values[0]) if values.size else 1.0
        y_ticks = [(float(v), _label(float(v), y_kind, step)) for v in values]
    else:
        values, step = _ticks(f.y0, f.y1)
        y_ticks = [(float(v), _label(float(v), y_kind, step)) for v in values]
    for v, text in y_ticks:
        y = float(f.py(v))
        out.append(f'<line x1="{_LEFT}" x2="{WIDTH - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="{_GRID}" '
                   f'stroke-width="0.6"/><text x="{_LEFT - 4}" y="{y + 3.5:.1f}" text-anchor="end" '
                   f'fill="{_TEXT}">{escape(text)}</text>')
    if x_ticks is None:
        if x_kind == "time":
            x_ticks = _time_ticks(f.x0, f.x1)
        else:
            xv, xstep = _ticks(f.x0, f.x1, 6)
            x_ticks = [(float(v), _label(float(v), x_kind, xstep)) for v in xv]
    for v, text in x_ticks:
        x = float(f.px(v))
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{bottom}" y2="{bottom + 4}" stroke="{_TEXT}"/>'
                   f'<text x="{x:.1f}" y="{bottom + 15}" text-anchor="middle" fill="{_TEXT}">{escape(text)}</text>')
    out.append(f'<line x1="{_LEFT}" x2="{WIDTH - _RIGHT}" y1="{bottom}" y2="{bottom}" stroke="{_TEXT}"/>')
    return out


def _log_ticks(lo: float, hi: float) -> np.ndarray:
    """1-2-5 ticks of each decade between ``lo`` and ``hi`` (> 0); a narrower span keeps linear ticks."""
    if hi / lo < 10:
        return _ticks(lo, hi)[0]
    decades = np.arange(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
    values = (10.0 ** decades[:, None] * np.array([1.0, 2.0, 5.0])).ravel()
    return np.asarray(values[(values >= lo) & (values <= hi)])


def _legend(items: Sequence[tuple[str, str]]) -> list[str]:
    out, x = [], _LEFT + 8
    for name, color in items:
        out.append(f'<rect x="{x:.1f}" y="3" width="10" height="10" fill="{color}"/>'
                   f'<text x="{x + 14:.1f}" y="12" fill="{_TEXT}">{escape(name)}</text>')
        x += 24 + 6.2 * len(name)
    return out


def _path(xs: np.ndarray, ys: np.ndarray) -> str:
    return "M" + "L".join(f"{a:.1f},{b:.1f}" for a, b in zip(xs.tolist(), ys.tolist(), strict=True))


def _limits(values: Sequence[np.ndarray], *, log: bool, include_zero: bool) -> tuple[float, float]:
    joined = np.concatenate([np.asarray(v, dtype=np.float64).ravel() for v in values] or [np.zeros(0)])
    joined = joined[np.isfinite(joined) & ((joined > 0) if log else True)]
    if not joined.size:
        return (0.0, 1.0)
    lo, hi = float(joined.min()), float(joined.max())
    if include_zero:
        lo, hi = min(lo, 0.0), max(hi, 0.0)
    if log:
        lo, hi = math.log10(lo), math.log10(hi)
    if hi - lo < 1e-12:
        pad = abs(lo) * 0.05 or 1.0
        return lo - pad, hi + pad
    pad = (hi - lo) * 0.04
    return lo - (0 if include_zero and lo == 0 else pad), hi + (0 if include_zero and hi == 0 else pad)


# -- charts ------------------------------------------------------------------------------------------------
def line_chart(lines: Sequence[Line], *, bands: Sequence[Band] = (), log: bool = False, x_kind: str = "time",
               y_kind: str = "number", height: float = 230, label: str = "line chart") -> str:
    """Lines (each downsampled to ``MAX_POINTS``) over shaded bands, with a log y axis when ``log``."""
    kept = []
    for line in lines:
        pos = lttb(np.asarray(line.x, dtype=np.float64),
                   np.log10(np.where(line.y > 0, line.y, np.nan)) if log else line.y, MAX_POINTS)
        kept.append((line, np.asarray(line.x, dtype=np.float64)[pos], np.asarray(line.y, dtype=np.float64)[pos]))
    thinned: list[tuple[Band, np.ndarray, np.ndarray, np.ndarray]] = []
    for band in bands:  # a band is smooth: every k-th point is enough
        step = max(1, math.ceil(band.x.size / MAX_POINTS))
        bx, lower, upper = (np.asarray(a, dtype=np.float64)[::step] for a in (band.x, band.lower, band.upper))
        thinned.append((band, bx, lower, upper))
    # the axis spans every x given, also where a line has no value (a rolling Sharpe ratio of flat equity)
    xs = [np.asarray(line.x, dtype=np.float64) for line in lines] + [t[1] for t in thinned]
    x_all = np.concatenate(xs) if xs else np.zeros(1)
    x_all = x_all if x_all.size else np.zeros(1)
    ys = [k[2] for k in kept] + [t[2] for t in thinned] + [t[3] for t in thinned]
    y0, y1 = _limits(ys, log=log, include_zero=any(line.fill for line in lines))
    f = _Frame(float(x_all.min()), float(x_all.max()), y0, y1, height, log)
    body = _axes(f, x_kind=x_kind, y_kind=y_kind)
    for band, bx, lo, hi in thinned:
        px, top, low = f.px(bx), f.py(hi), f.py(lo)
        body.append(f'<path d="{_path(px, top)}L{_path(px[::-1], low[::-1])[1:]}Z" fill="{band.color}" '
                    f'fill-opacity="0.3" stroke="none"/>')
    for line, lx, ly in kept:
        if not lx.size:
            continue
        px, py = f.px(lx), f.py(ly)
        if line.fill:
            zero = float(f.py(0.0))
            body.append(f'<path d="{_path(px, py)}L{px[-1]:.1f},{zero:.1f}L{px[0]:.1f},{zero:.1f}Z" '
                        f'fill="{line.color}" fill-opacity="0.35" stroke="none"/>')
        body.append(f'<path d="{_path(px, py)}" fill="none" stroke="{line.color}" stroke-width="{line.width}" '
                    'stroke-linejoin="round"/>')
    body += _legend([(b.name, b.color) for b in bands] + [(line.name, line.color) for line in lines])
    return _svg(height, body, label)


def _diverging(value: float, scale: float) -> str:
    """White at 0, blue (#0072B2) at +scale, vermillion (#D55E00) at -scale."""
    if not math.isfinite(value) or scale <= 0:
        return "#f2f2f2"
    t = min(abs(value) / scale, 1.0)
    target = (0x00, 0x72, 0xB2) if value > 0 else (0xD5, 0x5E, 0x00)
    r, g, b = (round(255 + (c - 255) * t) for c in target)
    return f"#{r:02x}{g:02x}{b:02x}"


def heatmap(rows: Sequence[object], columns: Sequence[object], values: np.ndarray, *, kind: str = "percent",
            label: str = "heatmap", row_title: str = "", column_title: str = "") -> str:
    """A grid of coloured cells with their values written in them (an empty cell for NaN)."""
    v = np.asarray(values, dtype=np.float64)
    cell_h = 18.0
    top = 18.0 + (14.0 if column_title else 0.0)
    height = top + cell_h * len(rows) + 6
    cell_w = (WIDTH - _LEFT - _RIGHT) / max(len(columns), 1)
    finite = v[np.isfinite(v)]
    scale = float(np.quantile(np.abs(finite), 0.95)) if finite.size else 0.0
    body = []
    if column_title:
        body.append(f'<text x="{_LEFT + (WIDTH - _LEFT - _RIGHT) / 2:.1f}" y="11" text-anchor="middle" '
                    f'fill="{_TEXT}">{escape(column_title)}</text>')
    if row_title:
        body.append(f'<text x="4" y="{top - 5:.1f}" fill="{_TEXT}">{escape(row_title)}</text>')
    for j, name in enumerate(columns):
        body.append(f'<text x="{_LEFT + (j + 0.5) * cell_w:.1f}" y="{top - 5:.1f}" text-anchor="middle" '
                    f'fill="{_TEXT}">{escape(str(name))}</text>')
    step = 0.001 if kind == "percent" else 0.01
    for i, name in enumerate(rows):
        y = top + i * cell_h
        body.append(f'<text x="{_LEFT - 4}" y="{y + 12.5:.1f}" text-anchor="end" fill="{_TEXT}">'
                    f'{escape(str(name))}</text>')
        for j in range(len(columns)):
            value = float(v[i, j])
            x = _LEFT + j * cell_w
            body.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{cell_w - 1:.1f}" height="{cell_h - 1}" '
                        f'fill="{_diverging(value, scale)}"/>')
            if math.isfinite(value):
                ink = "#ffffff" if scale and abs(value) / scale > 0.6 else "#111111"
                body.append(f'<text x="{x + cell_w / 2:.1f}" y="{y + 12.5:.1f}" text-anchor="middle" '
                            f'fill="{ink}">{escape(_label(value, kind, step))}</text>')
    return _svg(height, body, label)


def histogram(values: np.ndarray, *, bins: int = 40, kind: str = "percent", color: str = PALETTE[0],
              marker: float | None = None, marker_name: str = "", height: float = 200,
              label: str = "histogram") -> str:
    """Counts of the finite ``values`` in ``bins`` equal bins; ``marker`` draws a vertical line (zero, say)."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    counts, edges = np.histogram(v, bins=bins) if v.size else (np.zeros(1), np.array([0.0, 1.0]))
    f = _Frame(float(edges[0]), float(edges[-1]), 0.0, float(counts.max() or 1) * 1.05, height)
    body = _axes(f, x_kind=kind, y_kind="count")
    left, right, top = f.px(edges[:-1]), f.px(edges[1:]), f.py(counts)
    base = float(f.py(0.0))
    for a, b, t in zip(left.tolist(), right.tolist(), top.tolist(), strict=True):
        if base - t > 0:
            body.append(f'<rect x="{a:.1f}" y="{t:.1f}" width="{max(b - a - 0.6, 0.4):.1f}" '
                        f'height="{base - t:.1f}" fill="{color}"/>')
    if marker is not None and edges[0] <= marker <= edges[-1]:
        x = float(f.px(marker))
        body.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{_TOP}" y2="{base}" stroke="{PALETTE[3]}" '
                    'stroke-width="1.5" stroke-dasharray="4 3"/>')
        if marker_name:
            body.append(f'<text x="{x + 4:.1f}" y="{_TOP - 4}" fill="{PALETTE[3]}">{escape(marker_name)}</text>')
    return _svg(height, body, label)


def scatter(x: np.ndarray, y: np.ndarray, groups: Sequence[tuple[str, np.ndarray, str]], *,
            x_kind: str = "percent", y_kind: str = "percent", height: float = 260, label: str = "scatter") -> str:
    """Points of ``(x, y)``; each group ``(name, mask, colour)`` draws the points its mask selects."""
    xs, ys = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    x0, x1 = _limits([xs], log=False, include_zero=True)
    y0, y1 = _limits([ys], log=False, include_zero=True)
    f = _Frame(x0, x1, y0, y1, height)
    body = _axes(f, x_kind=x_kind, y_kind=y_kind)
    for _, mask, color in groups:
        ok = mask & np.isfinite(xs) & np.isfinite(ys)
        dots = "".join(f"M{a - 1.8:.1f},{b:.1f}a1.8,1.8 0 1,0 3.6,0a1.8,1.8 0 1,0 -3.6,0"
                       for a, b in zip(f.px(xs[ok]).tolist(), f.py(ys[ok]).tolist(), strict=True))
        if dots:
            body.append(f'<path d="{dots}" fill="{color}" fill-opacity="0.7"/>')
    body += _legend([(name, color) for name, _, color in groups])
    return _svg(height, body, label)


def bar_chart(labels: Sequence[object], values: np.ndarray, *, kind: str = "percent", height: float = 200,
              label: str = "bar chart") -> str:
    """One bar per label from zero, blue when positive and vermillion when negative, its value above it."""
    v = np.asarray(values, dtype=np.float64)
    y0, y1 = _limits([v], log=False, include_zero=True)
    n = max(len(labels), 1)
    f = _Frame(0.0, float(n), y0, y1 + (y1 - y0) * 0.08, height)
    ticks = [(i + 0.5, str(name)) for i, name in enumerate(labels)]
    if n > 16:
        ticks = ticks[:: math.ceil(n / 16)]
    body = _axes(f, x_kind="number", y_kind=kind, x_ticks=ticks)
    zero = float(f.py(0.0))
    width = (WIDTH - _LEFT - _RIGHT) / n
    for i, value in enumerate(v.tolist()):
        if not math.isfinite(value):
            continue
        top = float(f.py(value))
        x = _LEFT + i * width + width * 0.15
        body.append(f'<rect x="{x:.1f}" y="{min(top, zero):.1f}" width="{width * 0.7:.1f}" '
                    f'height="{abs(zero - top):.1f}" fill="{PALETTE[0] if value >= 0 else PALETTE[3]}"/>')
        if n <= 30:
            body.append(f'<text x="{x + width * 0.35:.1f}" y="{min(top, zero) - 3:.1f}" text-anchor="middle" '
                        f'font-size="9" fill="{_TEXT}">{escape(_label(value, kind, 0.001))}</text>')
    return _svg(height, body, label)
