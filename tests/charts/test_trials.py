"""Charts of optimisation trials: each builds on small frames, draws what the frame says, and survives edge cases."""

import itertools
import re

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from backgrid.charts import trials as charts
from backgrid.errors import ChartError


def _trials(n=60, seed=0, objectives=1):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "fast": rng.choice([5, 10, 15, 20], n),                 # int
        "stop": rng.choice([0.01, 0.02, 0.05], n),              # float
        "mode": rng.choice(["long", "short", "both"], n),       # categorical
        "sharpe_ratio": rng.normal(size=n),
        "total_return": rng.normal(0.1, 0.2, n),
        "max_drawdown": -rng.random(n) * 0.3,
        "trades": rng.integers(0, 50, n),
    }, index=pd.RangeIndex(n, name="trial"))
    if objectives == 1:
        frame["value"] = frame["sharpe_ratio"]
    else:
        for k in range(objectives):
            frame[f"value_{k}"] = rng.normal(size=n)
    frame["feasible"] = rng.random(n) > 0.2
    frame["state"] = rng.choice(["complete", "complete", "complete", "failed", "pruned"], n)
    frame.loc[frame["state"] == "failed", ["sharpe_ratio", "value"] if objectives == 1 else "sharpe_ratio"] = np.nan
    return frame


PARAMS = ["fast", "stop", "mode"]


def _used(frame):
    return frame[(frame["state"] == "complete") & frame["feasible"]]


@pytest.mark.parametrize("agg", ["max", "mean", "median", "min"])
@pytest.mark.parametrize(("x", "y"), [("fast", "stop"), ("mode", "fast"), ("stop", "mode")])
def test_heatmap_cells_are_the_pivot_table_aggregate(x, y, agg):
    frame = _trials()
    frame.loc[frame.index[:5], "value"] = np.nan  # some NaN values
    fig = charts.heatmap(frame, x, y, agg=agg, title="sma-cross")
    (trace,) = fig.data
    assert isinstance(trace, go.Heatmap)
    expected = _used(frame).pivot_table(index=y, columns=x, values="value", aggfunc=agg)
    got = pd.DataFrame(np.asarray(trace.z, dtype=float), index=list(trace.y), columns=list(trace.x))
    expected.index = [str(v) for v in expected.index]
    expected.columns = [str(v) for v in expected.columns]
    got = got.loc[expected.index, expected.columns]  # pivot_table drops the all-NaN rows and columns we keep
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=0, atol=0, equal_nan=True)
    assert "sma-cross" in fig.layout.title.text
    assert x in fig.layout.title.text
    assert y in fig.layout.title.text
    assert fig.layout.xaxis.title.text == x.replace("_", " ")


def test_heatmap_leaves_cells_no_trial_reached_blank():
    frame = pd.DataFrame({"a": [1, 1, 2], "b": [1, 2, 1], "value": [0.5, np.nan, 2.0], "feasible": True,
                          "state": "complete"})
    (trace,) = charts.heatmap(frame, "a", "b").data
    z = np.asarray(trace.z, dtype=float)
    assert list(trace.x) == ["1", "2"]
    assert list(trace.y) == ["1", "2"]
    np.testing.assert_array_equal(z, [[0.5, 2.0], [np.nan, np.nan]])  # (b=2, a=1) NaN value, (b=2, a=2) never run


def test_heatmap_excludes_infeasible_trials():
    frame = pd.DataFrame({"a": [1, 1], "b": [1, 1], "value": [1.0, 9.0], "feasible": [True, False],
                          "state": "complete"})
    assert np.asarray(charts.heatmap(frame, "a", "b").data[0].z).tolist() == [[1.0]]


@pytest.mark.parametrize("x", ["fast", "stop", "mode"])
def test_heatmap_of_one_parameter_draws_value_against_it(x):
    frame = _trials()
    fig = charts.heatmap(frame, x, agg="mean", title="sma-cross")
    (trace,) = fig.data
    expected = _used(frame).groupby(x)["value"].mean()
    assert isinstance(trace, go.Bar if x == "mode" else go.Scatter)
    np.testing.assert_allclose(np.asarray(trace.y, dtype=float), expected.to_numpy())
    assert [str(v) for v in trace.x] == [str(v) for v in expected.index]
    assert charts.heatmap(frame, x, x).data[0].type == trace.type  # x == y is one parameter too


def test_every_chart_builds_on_all_nan_values():
    frame = _trials()
    frame["value"] = np.nan
    figures = [charts.heatmap(frame, "fast", "stop"), charts.heatmap(frame, "mode"),
               charts.slices(frame, PARAMS, "value"), charts.parallel(frame, PARAMS, "value"),
               charts.history(frame, "value", "maximize"),
               charts.pareto(frame, [("value", "maximize"), ("total_return", "maximize")])]
    for fig in figures:
        assert isinstance(fig, go.Figure)
        fig.to_json()  # serialises: plotly accepted every property
    assert np.isnan(np.asarray(figures[0].data[0].z, dtype=float)).all()


@pytest.mark.parametrize("draw", [
    lambda t: charts.heatmap(t, "fast", "stop"), lambda t: charts.slices(t, PARAMS),
    lambda t: charts.parallel(t, PARAMS), charts.history,
    lambda t: charts.pareto(t, [("value", "maximize"), ("trades", "minimize")]),
], ids=["heatmap", "slices", "parallel", "history", "pareto"])
def test_an_empty_frame_is_a_clear_error_naming_the_argument(draw):
    with pytest.raises(ChartError, match=r"^trials is empty") as info:
        draw(_trials().iloc[:0])
    assert isinstance(info.value, ValueError)


def test_a_missing_column_is_named():
    with pytest.raises(ChartError, match=r"x, y and value: \['slow'\] not among the columns"):
        charts.heatmap(_trials(), "fast", "slow")
    with pytest.raises(ChartError, match="agg must be one of max, mean, median, min"):
        charts.heatmap(_trials(), "fast", "stop", agg="sum")
    with pytest.raises(ChartError, match="params is empty"):
        charts.slices(_trials(), [])
    with pytest.raises(ChartError, match="folds_frame is empty"):
        charts.folds(pd.DataFrame(), pd.Series(dtype=float))


def test_slices_draw_one_subplot_per_parameter():
    frame = _trials()
    fig = charts.slices(frame, PARAMS, "value", title="sma-cross")
    done = frame[frame["state"] == "complete"]
    axes = {trace.xaxis for trace in fig.data}
    assert axes == {"x", "x2", "x3"}
    assert sum(len(trace.x) for trace in fig.data) == len(done) * len(PARAMS)
    assert fig.layout.xaxis3.type == "category"
    assert [a.text for a in fig.layout.annotations] == PARAMS
    assert "fast, stop, mode" in fig.layout.title.text


def test_parallel_maps_categories_to_labelled_codes():
    frame = _trials()
    fig = charts.parallel(frame, PARAMS, "value", title="sma-cross")
    (trace,) = fig.data
    dims = {d.label: d for d in trace.dimensions}
    assert list(dims) == ["fast", "stop", "mode", "value"]
    assert list(dims["mode"].ticktext) == ["both", "long", "short"]
    used = _used(frame).dropna(subset=["value"])
    codes = pd.Categorical(used["mode"], categories=["both", "long", "short"]).codes
    np.testing.assert_array_equal(np.asarray(dims["mode"].values), codes)
    np.testing.assert_array_equal(np.asarray(dims["value"].values), used["value"].to_numpy())


def _brute_front(values, maximize):
    v = np.where(maximize, 1, -1) * values
    front = []
    for i, a in enumerate(v):
        if not np.isfinite(a).all():
            front.append(False)
            continue
        dominated = any(np.isfinite(b).all() and (b >= a).all() and (b > a).any() for j, b in enumerate(v) if j != i)
        front.append(not dominated)
    return np.array(front)


def test_pareto_front_of_a_hand_case():
    values = np.array([[1.0, 5.0], [2.0, 4.0], [2.0, 4.0], [1.5, 3.0], [3.0, 1.0], [0.5, 0.5], [np.nan, 9.0],
                       [3.0, 0.5]])
    # maximise both: (1,5), both (2,4), (3,1) are the front; (1.5,3) < (2,4); (3,0.5) < (3,1); NaN never
    expected = [True, True, True, False, True, False, False, False]
    assert charts.pareto_front(values, [True, True]).tolist() == expected
    # minimise the second: (0.5, 0.5) and (3, 0.5) lead it
    assert charts.pareto_front(values, [True, False]).tolist() == _brute_front(values, [True, False]).tolist()
    assert charts.pareto_front(values, [True, False]).tolist() == [False, False, False, False, False, False, False,
                                                                    True]


@pytest.mark.parametrize(("seed", "k"), list(itertools.product(range(4), [2, 3])))
def test_pareto_front_equals_a_brute_force_dominance_check(seed, k):
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 6, (80, k)).astype(float)  # small integers: ties and duplicates
    values[rng.random(80) < 0.05, 0] = np.nan
    maximize = list(rng.random(k) < 0.5)
    np.testing.assert_array_equal(charts.pareto_front(values, maximize), _brute_front(values, maximize))


@pytest.mark.parametrize("k", [2, 3])
def test_pareto_highlights_the_front_of_several_objectives(k):
    frame = _trials(objectives=k)
    objectives = [(f"value_{i}", "maximize" if i % 2 == 0 else "minimize") for i in range(k)]
    fig = charts.pareto(frame, objectives, title="sma-cross")
    done = frame[frame["state"] == "complete"]
    values = done[[c for c, _ in objectives]].to_numpy()
    front = _brute_front(values, [d == "maximize" for _, d in objectives]) & done["feasible"].to_numpy()
    if k == 2:
        dominated, on_front = fig.data
        assert on_front.name == "Pareto front"
        assert sorted(zip(on_front.x, on_front.y, strict=True)) == sorted(map(tuple, values[front]))
        assert len(dominated.x) == (~front).sum()
    else:
        (trace,) = fig.data
        assert (np.asarray(trace.marker.color) == "#d62728").sum() == front.sum()
    assert "sma-cross" in fig.layout.title.text
    nothing = frame.assign(state="failed")  # no complete trial: the figure still builds, with a note
    assert "no complete feasible trial" in charts.pareto(nothing, objectives).layout.annotations[-1].text
    with pytest.raises(ChartError, match="at least two"):
        charts.pareto(frame, objectives[:1])
    with pytest.raises(ChartError, match="'maximize' or 'minimize'"):
        charts.pareto(frame, [("value_0", "max"), ("value_1", "minimize")])


@pytest.mark.parametrize("direction", ["maximize", "minimize"])
def test_history_best_so_far_counts_feasible_complete_trials(direction):
    frame = pd.DataFrame({"value": [1.0, 3.0, np.nan, 5.0, 2.0, 0.5], "feasible": [True, True, True, False, True, True],
                          "state": ["complete", "complete", "complete", "complete", "pruned", "complete"]},
                         index=pd.RangeIndex(6, name="trial"))
    fig = charts.history(frame, "value", direction, title="sma-cross")
    best = next(trace for trace in fig.data if trace.name == "best so far")
    assert list(best.x) == [0, 1, 2, 3, 5]
    expected = [1.0, 3.0, 3.0, 3.0, 3.0] if direction == "maximize" else [1.0, 1.0, 1.0, 1.0, 0.5]
    np.testing.assert_array_equal(np.asarray(best.y, dtype=float), expected)
    with pytest.raises(ChartError, match="direction must be"):
        charts.history(frame, "value", "up")


def _folds():
    starts = pd.date_range("2024-01-01", periods=4, freq="90D")
    frame = pd.DataFrame({"fold": range(3), "train_start": starts[:3] - pd.Timedelta("365D"),
                          "train_end": starts[:3], "test_start": starts[:3], "test_end": starts[1:],
                          "is_value": [1.2, 0.9, 1.5], "oos_value": [0.4, -0.1, 0.8]})
    index = pd.date_range(starts[0], starts[-1], freq="1D")
    equity = pd.Series(10_000 * np.cumprod(1 + np.random.default_rng(0).normal(0, 0.01, index.size)), index=index)
    return frame, equity


def test_folds_shade_each_test_window_and_compare_is_with_oos():
    frame, equity = _folds()
    fig = charts.folds(frame, equity, title="sma-cross")
    assert len(fig.layout.shapes) == 3
    line, is_bars, oos_bars = fig.data
    assert len(line.x) == equity.size
    assert list(is_bars.y) == [1.2, 0.9, 1.5]
    assert list(oos_bars.y) == [0.4, -0.1, 0.8]
    assert list(oos_bars.x) == ["fold 0", "fold 1", "fold 2"]
    assert "sma-cross" in fig.layout.title.text
    with pytest.raises(ChartError, match=r"folds_frame: \['oos_value'\] not among the columns"):
        charts.folds(frame.drop(columns="oos_value"), equity)


def test_save_html_inlines_plotly_once_and_fetches_nothing(tmp_path):
    frame = _trials()
    folds_frame, equity = _folds()
    figures = [charts.heatmap(frame, "fast", "stop"), charts.slices(frame, PARAMS), charts.history(frame),
               charts.folds(folds_frame, equity)]
    path = charts.save_html(figures, tmp_path / "trials.html", title="sma-cross <trials>")
    page = path.read_text(encoding="utf-8")
    assert len(re.findall(r"\* plotly\.js v\d", page)) == 1
    assert page.count('class="figure"') == 4
    assert not re.search(r"<script[^>]*\bsrc\s*=", page)  # no CDN, no network
    assert "<title>sma-cross &lt;trials&gt;</title>" in page
    single = charts.save_html(figures[0], tmp_path / "one.html", title="one")
    assert len(re.findall(r"\* plotly\.js v\d", single.read_text(encoding="utf-8"))) == 1
    with pytest.raises(ChartError, match="figures is empty"):
        charts.save_html([], tmp_path / "none.html")
