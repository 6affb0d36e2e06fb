"""The SVG renderer's axis labels, ticks and colours."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from backgrid.report import svg


def test_labels_take_the_decimals_of_their_step() -> None:
    assert [svg._label(v, "percent", 0.025) for v in (0.0, 0.025, 0.05)] == ["0.0%", "2.5%", "5.0%"]
    assert [svg._label(v, "percent", 0.1) for v in (-0.1, 0.2)] == ["-10%", "20%"]
    assert svg._label(-0.0004, "percent", 0.001) == "0.0%"
    assert svg._label(1_250_000.0, "number", 250_000.0) == "1.25M"
    assert svg._label(12_500.0, "number", 2500.0) == "12,500"
    assert svg._label(1.1, "number", 0.01) == "1.10"
    assert svg._label(3.0, "count", 1.0) == "3"


def test_ticks_are_round_and_cover_the_range() -> None:
    ticks, step = svg._ticks(0.013, 0.087)
    assert step == 0.02
    assert np.allclose(ticks, [0.02, 0.04, 0.06, 0.08])
    assert svg._log_ticks(1.0, 1000.0).tolist() == [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]


def test_time_ticks_by_span() -> None:
    start = pd.Timestamp("2021-01-01", tz="UTC").value
    years = svg._time_ticks(start, pd.Timestamp("2024-12-31", tz="UTC").value)
    assert [t for _, t in years] == ["2021", "2022", "2023", "2024"]
    hours = svg._time_ticks(start, pd.Timestamp("2021-01-01 06:00", tz="UTC").value)
    assert [t for _, t in hours] == ["00:00", "01:00", "02:00", "03:00", "04:00", "05:00", "06:00"]


def test_diverging_colours() -> None:
    assert svg._diverging(0.0, 1.0) == "#ffffff"
    assert svg._diverging(1.0, 1.0) == "#0072b2"  # Okabe-Ito blue
    assert svg._diverging(-2.0, 1.0) == "#d55e00"  # vermillion, clipped at the scale
    assert svg._diverging(float("nan"), 1.0) == "#f2f2f2"


def test_a_line_is_downsampled_and_log_axis_is_logarithmic() -> None:
    x = np.arange(10_000, dtype=np.float64)
    y = np.exp(np.linspace(0.0, np.log(1000.0), x.size))
    page = svg.line_chart([svg.Line("y", x, y)], log=True, x_kind="count")
    d = re.search(r'<path d="(M[^"]*)" fill="none"', page)
    assert d is not None
    points = [tuple(map(float, p.split(","))) for p in d.group(1)[1:].split("L")]
    assert len(points) == svg.MAX_POINTS
    heights = np.array([p[1] for p in points])
    assert np.allclose(np.diff(heights), np.diff(heights)[0], atol=0.15)  # exp growth is a straight line on log
    for tick in (">10<", ">100<", ">1,000<"):
        assert tick in page


def test_a_line_without_a_value_draws_its_axes():
    # a rolling Sharpe ratio of flat equity is NaN at every bar: the chart spans the bars and draws no line
    page = svg.line_chart([svg.Line("flat", np.arange(10.0), np.full(10, np.nan), svg.PALETTE[0])])
    assert page.startswith("<svg")
    assert "<path" not in page.split("</g>")[-1]
