"""The validation section: what was computed about the run's robustness, drawn as it is given.

``validation`` is a mapping with any of these keys (the rest are skipped), or a
:class:`~backgrid.robustness.report.RobustnessReport` (its deflated Sharpe, bootstrap bands, PBO and every
check's figures):

- ``walk_forward``: a :class:`~backgrid.optimize.walkforward.WalkForwardResult`, or a mapping with ``folds``
  (a frame, one row per fold) and ``equity`` (the stitched out-of-sample equity, a Series on times);
- ``pbo``: a :class:`~backgrid.robustness.pbo.PBOResult`, a mapping with ``pbo`` (and ``logits``,
  ``probability_of_loss`` when known) or the probability itself;
- ``sharpe``: a mapping of numbers, such as ``psr``, ``dsr``, ``min_trl``, ``trials``;
- ``monte_carlo``: a :class:`~backgrid.robustness.montecarlo.BootstrapResult`, or a mapping with
  ``quantiles`` and ``bands`` (one equity path per quantile, after each trade);
- ``sensitivity``: a frame of one metric over two parameters (rows x columns), drawn as a heatmap;
  ``sensitivity_metric`` names the metric;
- ``checks``: a frame with columns ``check``, ``figure``, ``value`` (``RobustnessReport.to_frame()``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from backgrid.errors import ReportError
from backgrid.report import svg
from backgrid.report.format import cell
from backgrid.report.sections import field, figure, section, table

__all__ = ["KEYS", "validation_section"]

KEYS = ("walk_forward", "pbo", "sharpe", "monte_carlo", "sensitivity", "sensitivity_metric", "checks")
_SHARPE_NAMES = {"psr": "probabilistic Sharpe ratio", "dsr": "deflated Sharpe ratio",
                 "min_trl": "minimum track record length (bars)", "trials": "trials", "sharpe": "Sharpe ratio",
                 "trials_variance": "variance of the trials' Sharpe ratios"}


def _from_report(report: Any) -> dict[str, Any]:
    sections = report.sections
    out: dict[str, Any] = {"checks": report.to_frame()}
    if "deflated_sharpe" in sections:
        out["sharpe"] = sections["deflated_sharpe"]
    if "pbo" in sections:
        out["pbo"] = sections["pbo"]
    if getattr(report, "bootstrap", None) is not None:
        out["monte_carlo"] = report.bootstrap
    return out


def _walk_forward(wf: Any) -> str:
    folds, curve = field(wf, "folds"), field(wf, "equity")
    parts = []
    if curve is not None and len(curve):
        x = pd.DatetimeIndex(curve.index).as_unit("ns").asi8
        chart = svg.line_chart([svg.Line("out-of-sample equity", x, curve.to_numpy(dtype=np.float64))],
                               height=190, label="walk-forward out-of-sample equity")
        parts.append(figure(chart, "the test windows' equity, stitched"))
    if folds is not None and len(folds):
        rows = [[cell(k), *(cell(v) for v in row)] for k, row in zip(folds.index, folds.itertuples(index=False),
                                                                     strict=True)]
        parts.append(table([str(folds.index.name or "fold"), *map(str, folds.columns)], rows))
    return "<h3>Walk-forward</h3>" + "".join(parts) if parts else ""


def _pbo(found: Any) -> str:
    if isinstance(found, int | float):
        found = {"pbo": float(found)}
    value, logits = field(found, "pbo"), field(found, "logits")
    loss = field(found, "probability_of_loss")
    text = f"<p>Probability of backtest overfitting (PBO): <b>{cell(float(value))}</b>"
    if loss is not None:
        text += f"; probability of an out-of-sample loss: <b>{cell(float(loss))}</b>"
    text += "</p>"
    if logits is not None and np.size(logits):
        chart = svg.histogram(np.asarray(logits, dtype=np.float64), bins=30, kind="number", marker=0.0,
                              marker_name="logit 0", color=svg.PALETTE[5], label="PBO logits")
        text += figure(chart, "logit of the in-sample best's out-of-sample rank in each split; "
                              "below 0 is below the median")
    return "<h3>Probability of backtest overfitting</h3>" + text


def _sharpe(numbers: Mapping[str, Any]) -> str:
    rows = [[_SHARPE_NAMES.get(str(k), str(k)), cell(v)] for k, v in dict(numbers).items()]
    return "<h3>Sharpe ratio significance</h3>" + table(["figure", "value"], rows)


def _monte_carlo(mc: Any) -> str:
    quantiles, bands = field(mc, "quantiles"), field(mc, "bands")
    if quantiles is None or bands is None:
        return ""
    q = [float(v) for v in quantiles]
    paths = np.asarray(bands, dtype=np.float64)
    x = np.arange(paths.shape[1], dtype=np.float64)
    lo, hi = int(np.argmin(q)), int(np.argmax(q))
    median = int(np.argmin(np.abs(np.asarray(q) - 0.5)))
    chart = svg.line_chart([svg.Line(f"{q[median]:.0%} path", x, paths[median])],
                           bands=[svg.Band(f"{q[lo]:.0%}-{q[hi]:.0%}", x, paths[lo], paths[hi])], x_kind="count",
                           height=200, label="Monte Carlo equity bands")
    summary = getattr(mc, "summary", None)
    extra = table(["figure", "value"], [[str(k), cell(v)] for k, v in summary().items()]) if callable(summary) else ""
    return ("<h3>Monte Carlo equity bands</h3>" + figure(chart, "equity after each trade, trades resampled "
                                                                "with replacement") + extra)


def _sensitivity(grid: pd.DataFrame, metric: str | None) -> str:
    chart = svg.heatmap([cell(v) for v in grid.index], [cell(v) for v in grid.columns], grid.to_numpy(),
                        kind="number", label="parameter sensitivity", row_title=str(grid.index.name or ""),
                        column_title=str(grid.columns.name or ""))
    return "<h3>Parameter sensitivity</h3>" + figure(chart, f"{metric or 'the objective'} over the two parameters")


def _checks(frame: pd.DataFrame) -> str:
    rows = [[cell(a), cell(b), cell(c)] for a, b, c in frame[["check", "figure", "value"]].itertuples(index=False)]
    return "<h3>Every check</h3>" + table(["check", "figure", "value"], rows, text=(0, 1))


def validation_section(validation: Any) -> str:
    """The section for ``validation`` (see the module docstring); empty for None."""
    if validation is None:
        return ""
    given = _from_report(validation) if hasattr(validation, "sections") else validation
    if not isinstance(given, Mapping):
        msg = f"validation: expected a mapping or a RobustnessReport, got {type(validation).__name__}"
        raise ReportError(msg)
    unknown = sorted(set(map(str, given)) - set(KEYS))
    if unknown:
        msg = f"validation: unknown key(s) {', '.join(unknown)}; expected some of {', '.join(KEYS)}"
        raise ReportError(msg)
    parts = []
    if given.get("walk_forward") is not None:
        parts.append(_walk_forward(given["walk_forward"]))
    if given.get("pbo") is not None:
        parts.append(_pbo(given["pbo"]))
    if given.get("sharpe"):
        parts.append(_sharpe(given["sharpe"]))
    if given.get("monte_carlo") is not None:
        parts.append(_monte_carlo(given["monte_carlo"]))
    if given.get("sensitivity") is not None:
        parts.append(_sensitivity(given["sensitivity"], given.get("sensitivity_metric")))
    if given.get("checks") is not None:
        parts.append(_checks(given["checks"]))
    parts = [p for p in parts if p]
    return section("validation", "Validation", *parts) if parts else ""
