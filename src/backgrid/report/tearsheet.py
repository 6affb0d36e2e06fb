"""``tear_sheet``: one self-contained HTML page (or its PDF) of a backtest's statistics, charts and trades.

The page has no script and no reference outside itself: styles are inlined and every chart is inline SVG
(:mod:`.svg`), so it opens offline and WeasyPrint prints the same file. Sections, in order: headline
statistics with their readings and insights; equity against buy and hold; drawdown and underwater; monthly
and yearly returns; rolling Sharpe ratio and volatility; return and trade-PnL distributions; holding times;
MFE/MAE; long/short; regimes; the trade list; validation (when given); a reproducibility footer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

import pandas as pd

from backgrid._version import __version__
from backgrid.engine.result import Result
from backgrid.errors import ReportError
from backgrid.report.format import cell
from backgrid.report.pdf import write_pdf
from backgrid.report.sections import sections
from backgrid.report.validation import validation_section
from backgrid.report.view import RunView, view

__all__ = ["MANIFEST_KEYS", "tear_sheet"]

#: The footer's fields, in order; a field neither given nor known is written "not recorded".
MANIFEST_KEYS = ("document_hash", "data_hash", "config_hash", "engine_version", "seed", "generated")

_CSS = """
@page { size: A4; margin: 12mm 11mm 14mm;
  @bottom-right { content: counter(page) " / " counter(pages); font-size: 8pt; color: #666; } }
* { box-sizing: border-box; }
body { font-family: Helvetica, Arial, sans-serif; font-size: 10pt; color: #222; max-width: 980px;
  margin: 0 auto; padding: 14px; line-height: 1.35; }
h1 { font-size: 18pt; margin: 0 0 2px; }
h2 { font-size: 13pt; border-bottom: 2px solid #0072B2; padding-bottom: 2px; margin: 20px 0 8px;
  break-after: avoid; }
h3 { font-size: 10.5pt; margin: 12px 0 4px; break-after: avoid; }
.sub { color: #555; margin: 0 0 6px; }
nav { font-size: 8.5pt; margin: 4px 0 8px; }
nav a { color: #0072B2; margin-right: 8px; text-decoration: none; white-space: nowrap; }
.cards { display: flex; flex-wrap: wrap; margin: 0 -3px; }
.card { width: calc(25% - 6px); margin: 3px; padding: 5px 7px; border: 1px solid #d9d9d9; border-radius: 4px;
  break-inside: avoid; }
.card .value { font-size: 14pt; font-weight: bold; color: #0072B2; }
.card .name { font-weight: bold; font-size: 8.5pt; }
.card .reading { font-size: 7.5pt; color: #555; }
svg { width: 100%; height: auto; display: block; }
figure { margin: 6px 0 10px; break-inside: avoid; }
figcaption { font-size: 8pt; color: #555; }
table { border-spacing: 0; width: 100%; font-size: 8.5pt; margin: 4px 0 8px; }
thead { display: table-header-group; }
th { text-align: left; border-bottom: 1.5px solid #888; padding: 2px 5px; }
td { border-bottom: 1px solid #e6e6e6; padding: 2px 5px; }
tr { break-inside: avoid; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
.trades table { font-size: 7pt; }
.trades td { white-space: nowrap; }
.insights { list-style: none; padding: 0; margin: 0; }
.insight { border-left: 4px solid #0072B2; padding: 3px 8px; margin: 4px 0; background: #f6f8fa;
  break-inside: avoid; }
.insight.good { border-left-color: #009E73; }
.insight.warning { border-left-color: #E69F00; }
.insight.danger { border-left-color: #D55E00; }
.severity { font-size: 7.5pt; text-transform: uppercase; color: #666; }
.figures { font-size: 8pt; color: #444; }
footer { font-size: 8pt; color: #555; border-top: 1px solid #ccc; margin-top: 18px; padding-top: 6px;
  break-inside: avoid; }
footer td { border: none; padding: 1px 6px 1px 0; word-break: break-all; }
"""

_NAV = (("headline", "statistics"), ("equity", "equity"), ("drawdown", "drawdown"), ("returns", "returns"),
        ("rolling", "rolling"), ("distributions", "distributions"), ("holding", "holding"),
        ("excursions", "MFE/MAE"), ("long-short", "long/short"), ("regimes", "regimes"), ("trades", "trades"),
        ("validation", "validation"), ("reproducibility", "reproducibility"))


def _footer(result: Result, manifest: Mapping[str, Any] | None) -> str:
    known: dict[str, Any] = {"engine_version": __version__,
                             "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")}
    if result.config is not None:
        known["config_hash"] = result.config.fingerprint
    known.update(dict(manifest or {}))
    keys = [*MANIFEST_KEYS, *(k for k in known if k not in MANIFEST_KEYS)]
    rows = "".join(f"<tr><td>{escape(str(k).replace('_', ' '))}</td><td><code>"
                   f"{cell(known[k]) if k in known and known[k] is not None else 'not recorded'}</code></td></tr>"
                   for k in keys)
    return f'<footer id="reproducibility"><b>Reproducibility</b><table>{rows}</table></footer>'


def _header(v: RunView, title: str | None) -> str:
    heading = title or "backgrid tear sheet"
    if v.label and v.label not in heading:
        heading += f" — {v.label}"
    period = (f"{v.when(v.index[0])} to {v.when(v.index[-1])} UTC, {v.equity.size:,} bars"
              if v.equity.size else "no bars")
    return f"<header><h1>{escape(heading)}</h1><p class=sub>{period}</p></header>"


def render(result: Result, *, column: Any = None, benchmark: Any = None, title: str | None = None,
           insights: Sequence[Any] | None = None, regimes: pd.DataFrame | None = None,
           validation: Any = None, manifest: Mapping[str, Any] | None = None, log_scale: bool = False,
           plain: bool = False) -> str:
    """The tear sheet's HTML (see :func:`tear_sheet`)."""
    v = view(result, column, benchmark)
    if regimes is not None and not isinstance(regimes, pd.DataFrame):
        msg = f"regimes: expected a pandas DataFrame (one row per regime), got {type(regimes).__name__}"
        raise ReportError(msg)
    parts = [*sections(v, insights=list(insights or ()), regimes=regimes, log_scale=log_scale, plain=plain),
             validation_section(validation)]
    present = {a for a, _ in _NAV if f'<section id="{a}"' in "".join(parts)} | {"reproducibility"}
    nav = "<nav>" + "".join(f'<a href="#{a}">{escape(t)}</a>' for a, t in _NAV if a in present) + "</nav>"
    head = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>'
            f'{escape(title or "backgrid tear sheet")}</title><meta name="viewport" content="width=device-width">'
            f"<style>{_CSS}</style></head><body>")
    return head + _header(v, title) + nav + "".join(parts) + _footer(result, manifest) + "</body></html>"


def tear_sheet(result: Result, path: str | Path | None = None, *, column: Any = None, title: str | None = None,
               benchmark: Any = None, insights: Sequence[Any] | None = None, regimes: pd.DataFrame | None = None,
               validation: Any = None, manifest: Mapping[str, Any] | None = None,
               log_scale: bool = False, plain: bool = False) -> Path | str:
    """Write the tear sheet of ``result`` to ``path`` (``.html`` or ``.pdf``) and return the path; no path: the HTML.

    ``column`` picks the parameter set of a sweep (default: the first). ``insights`` are mappings or objects
    with ``id``, ``severity`` ("info", "good", "warning" or "danger"), ``title``, ``message`` and ``numbers``
    (name -> value). ``regimes`` is a frame with one row per regime (``time_spent``, ``return``,
    ``sharpe_ratio``, ``trades``, ``win_rate``, ``exposure``...). ``validation`` is what was computed about
    the run's robustness (see :mod:`backgrid.report.validation`). ``manifest`` fills the footer
    (``document_hash``, ``data_hash``, ``config_hash``, ``engine_version``, ``seed``, ``generated``; the
    config's fingerprint, the version and the time are known by default). ``log_scale`` draws equity on a
    log axis; ``plain`` reads the headline metrics without jargon. ``benchmark`` (prices: a Series on times,
    or one value per bar) replaces the run's buy and hold in the equity chart; the statistics (alpha, beta,
    buy and hold return) keep the run's buy and hold.
    A PDF needs the ``pdf`` extra (WeasyPrint).

    >>> import backgrid
    >>> bars = backgrid.demo_bars("DEMO-SPY", "1d")
    >>> page = tear_sheet(backgrid.backtest(bars, entries=bars.column("close") > 0, exits=None))
    >>> page.startswith("<!DOCTYPE html>") and "Headline statistics" in page
    True
    """
    out = None if path is None else Path(path)
    if out is not None and out.suffix.lower() not in {".html", ".htm", ".pdf"}:
        msg = f"path: expected a name ending in .html or .pdf, got {str(out)!r}"
        raise ReportError(msg)
    page = render(result, column=column, benchmark=benchmark, title=title, insights=insights, regimes=regimes,
                  validation=validation, manifest=manifest, log_scale=log_scale, plain=plain)
    if out is None:
        return page
    if out.suffix.lower() == ".pdf":
        return write_pdf(page, out)
    out.write_text(page, encoding="utf-8")
    return out
