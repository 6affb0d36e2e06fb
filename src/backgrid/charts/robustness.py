"""Plotly figures of a robustness report: bootstrap equity bands, shuffled drawdowns, random entries."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from backgrid.robustness.report import RobustnessReport

__all__ = ["figures"]


def figures(report: RobustnessReport) -> list[Any]:
    """The report's figures, each titled with the strategy's name (checks that did not run are left out)."""
    import plotly.graph_objects as go  # noqa: PLC0415  # plotly is imported for plots only

    out = []
    name = report.name
    if report.bootstrap is not None:
        boot = report.bootstrap
        steps = np.arange(boot.bands.shape[1])
        fig = go.Figure()
        for q, band in zip(boot.quantiles, boot.bands, strict=True):
            fig.add_trace(go.Scatter(x=steps, y=band, mode="lines", name=f"{q:.0%} of resampled runs"))
        actual = np.concatenate([[float(report.result.params["cash"][0])],
                                 float(report.result.params["cash"][0]) + np.cumsum(report.result.records["pnl"])])
        fig.add_trace(go.Scatter(x=steps, y=actual, mode="lines", name="actual", line={"color": "black"}))
        fig.update_layout(title=f"{name}: equity after each trade, bootstrap bands", xaxis_title="trade",
                          yaxis_title="equity")
        out.append(fig)
    if report.shuffles is not None:
        shuffled = report.shuffles
        fig = go.Figure(go.Histogram(x=shuffled.max_drawdown, name="shuffled orders"))
        fig.add_vline(x=shuffled.actual_max_drawdown, line={"color": "black"}, annotation_text="actual")
        fig.update_layout(title=f"{name}: maximum drawdown over {shuffled.final.size:,} trade orders",
                          xaxis_title="maximum drawdown", xaxis_tickformat=".0%", yaxis_title="orders")
        out.append(fig)
    if report.random is not None:
        real = report.sections["significance"]["actual"]
        p_value = report.sections["significance"]["p_value"]
        fig = go.Figure(go.Histogram(x=report.random, name="random entries"))
        fig.add_vline(x=real, line={"color": "black"}, annotation_text=f"actual (p = {p_value:.3f})")
        fig.update_layout(title=f"{name}: total return against random entries", xaxis_title="total return",
                          xaxis_tickformat=".0%", yaxis_title="runs")
        out.append(fig)
    return out
