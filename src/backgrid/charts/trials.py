"""Plotly charts of an optimisation's trials: heatmap, slices, parallel coordinates, Pareto front, history, folds.

Every function takes the optimiser's ``trials`` frame: index ``trial``, one column per parameter (int, float,
or a category given as strings), metric columns named like the registry's metrics, the objective ``value``
(``value_0``, ``value_1``... with several objectives), ``feasible`` (the constraints held) and ``state``
(``complete`` / ``failed`` / ``pruned``). Each returns a :class:`plotly.graph_objects.Figure` titled with
``title`` (the strategy's name) and the parameters drawn; :func:`save_html` writes several into one
self-contained page (plotly.js inlined once, nothing fetched from the network).

What is drawn: trials whose ``state`` is ``complete`` (when the column is there). The heatmap, the slices'
colours, the parallel coordinates and the best-so-far line use feasible trials only (``feasible`` True, when
the column is there); the slices and the history draw infeasible trials too, as grey hollow markers, and the
Pareto front is computed among feasible trials. A NaN objective is a blank cell, a missing point or no line.

plotly is imported here only (the ``research`` extra), never by ``backgrid`` itself or the CLI at start.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from backgrid.errors import ChartError

__all__ = ["folds", "heatmap", "history", "parallel", "pareto", "pareto_front", "save_html", "slices"]

AGGREGATES = ("max", "mean", "median", "min")
_INFEASIBLE = "rgba(150,150,150,0.6)"
_FOLD_COLUMNS = ("fold", "train_start", "train_end", "test_start", "test_end", "is_value", "oos_value")


def _frame(trials: Any, argument: str = "trials") -> pd.DataFrame:
    if not isinstance(trials, pd.DataFrame):
        msg = f"{argument} must be a pandas DataFrame, got {type(trials).__name__}"
        raise ChartError(msg)
    if trials.empty:
        msg = f"{argument} is empty: there is nothing to draw (did the optimisation run any trial?)"
        raise ChartError(msg)
    return trials


def _columns(trials: pd.DataFrame, names: Sequence[str], argument: str) -> None:
    missing = [name for name in names if name not in trials.columns]
    if missing:
        msg = f"{argument}: {missing} not among the columns of trials ({', '.join(map(str, trials.columns))})"
        raise ChartError(msg)


def _checked(trials: Any, params: Sequence[str], value: str) -> tuple[pd.DataFrame, list[str]]:
    """The trials frame and the parameters, checked: at least one parameter, every column present."""
    frame = _frame(trials)
    names = list(params)
    if not names:
        msg = "params is empty: name at least one parameter"
        raise ChartError(msg)
    _columns(frame, [*names, value], "params and value")
    return frame, names


def _complete(trials: pd.DataFrame) -> pd.DataFrame:
    return trials[trials["state"] == "complete"] if "state" in trials.columns else trials


def _feasible(trials: pd.DataFrame) -> pd.Series:
    if "feasible" not in trials.columns:
        return pd.Series(data=True, index=trials.index)
    return trials["feasible"].fillna(value=False).astype(bool)


def _categorical(values: pd.Series) -> bool:
    return not (pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values))


def _title(title: str | None, text: str) -> str:
    return f"{title or 'backgrid optimisation'} — {text}"


def _label(name: str) -> str:
    """``sharpe_ratio`` -> ``sharpe ratio``: axis labels people read."""
    return str(name).replace("_", " ")


def _empty(fig: go.Figure, text: str) -> go.Figure:
    fig.add_annotation(text=text, showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5)
    return fig


def _values(trials: pd.DataFrame, value: str) -> pd.Series:
    return pd.to_numeric(trials[value], errors="coerce").astype(np.float64)


def heatmap(trials: pd.DataFrame, x: str, y: str | None = None, value: str = "value", agg: str = "max", *,
            title: str | None = None) -> go.Figure:
    """The objective over two parameters, aggregated (``agg``: max, mean, median, min) over the others.

    Only complete, feasible trials count (an infeasible trial's score is not one the strategy can have).
    A cell no trial reached, or whose values are all NaN, is blank. With one parameter (``y`` None, or
    equal to ``x``) it draws the aggregate against that parameter instead: a line for numbers, bars for
    categories.
    """
    trials = _frame(trials)
    if agg not in AGGREGATES:
        msg = f"agg must be one of {', '.join(AGGREGATES)}, got {agg!r}"
        raise ChartError(msg)
    params = [x] if y is None or y == x else [x, y]
    _columns(trials, [*params, value], "x, y and value")
    done = _complete(trials)
    done = done[_feasible(done)]
    names = ", ".join(params)
    fig = go.Figure(layout={"title": _title(title, f"{_label(value)} ({agg}) by {names}"),
                            "xaxis_title": _label(x), "template": "plotly_white"})
    if done.empty:
        return _empty(fig, "no complete feasible trial")
    scores = _values(done, value)
    if len(params) == 1:
        table = scores.groupby(done[x], sort=True).agg(agg)
        labels = [str(v) for v in table.index]
        fig.update_layout(yaxis_title=f"{_label(value)} ({agg})")
        if _categorical(done[x]):
            fig.add_trace(go.Bar(x=labels, y=table.to_numpy(), name=_label(value)))
        else:
            fig.add_trace(go.Scatter(x=table.index.to_numpy(), y=table.to_numpy(), mode="lines+markers",
                                     name=_label(value), connectgaps=False))
        return fig
    # one row per y, one column per x; a pair no trial reached is NaN, as is a group of NaN values
    grid = scores.groupby([done[y], done[x]], sort=True).agg(agg).unstack(x)  # noqa: PD010
    z = grid.to_numpy(dtype=np.float64)
    xs, ys = [str(v) for v in grid.columns], [str(v) for v in grid.index]
    fig.add_trace(go.Heatmap(z=z, x=xs, y=ys, colorscale="Viridis", hoverongaps=False,
                             colorbar={"title": {"text": f"{_label(value)}<br>({agg})"}},
                             hovertemplate=f"{x}=%{{x}}<br>{y}=%{{y}}<br>{value}=%{{z:.4g}}<extra></extra>"))
    fig.update_layout(yaxis_title=_label(y or x))
    fig.update_xaxes(type="category")
    fig.update_yaxes(type="category")
    return fig


def slices(trials: pd.DataFrame, params: Sequence[str], value: str = "value", *,
           title: str | None = None) -> go.Figure:
    """One scatter per parameter: the objective of each complete trial against that parameter's value.

    Feasible trials are coloured by trial number (later trials darker); infeasible ones are grey and hollow.
    """
    trials, params = _checked(trials, params, value)
    done = _complete(trials)
    fig = make_subplots(rows=1, cols=len(params), shared_yaxes=True, subplot_titles=[_label(p) for p in params])
    fig.update_layout(title=_title(title, f"{_label(value)} by {', '.join(params)}"), template="plotly_white",
                      showlegend=False)
    if done.empty:
        return _empty(fig, "no complete trial")
    ok = _feasible(done)
    scores = _values(done, value)
    order = np.asarray(done.index, dtype=np.float64) if pd.api.types.is_numeric_dtype(done.index) else None
    for k, p in enumerate(params, start=1):
        xs = done[p].astype(str) if _categorical(done[p]) else done[p]
        fig.add_trace(go.Scatter(x=xs[ok], y=scores[ok], mode="markers", name="feasible",
                                 text=[f"trial {t}" for t in done.index[ok]],
                                 marker={"color": order[ok.to_numpy()] if order is not None else None,
                                         "colorscale": "Blues", "showscale": k == len(params),
                                         "colorbar": {"title": {"text": "trial"}}, "size": 7}), row=1, col=k)
        if (~ok).any():
            fig.add_trace(go.Scatter(x=xs[~ok], y=scores[~ok], mode="markers", name="infeasible",
                                     text=[f"trial {t} (infeasible)" for t in done.index[~ok]],
                                     marker={"color": _INFEASIBLE, "symbol": "circle-open", "size": 7}),
                          row=1, col=k)
        fig.update_xaxes(title_text=_label(p), row=1, col=k,
                         type="category" if _categorical(done[p]) else "-")
    fig.update_yaxes(title_text=_label(value), row=1, col=1)
    return fig


def parallel(trials: pd.DataFrame, params: Sequence[str], value: str = "value", *,
             title: str | None = None) -> go.Figure:
    """Parallel coordinates: one axis per parameter and one for the objective, a line per feasible trial.

    A categorical parameter is drawn as the codes of its sorted categories, its axis labelled with their names.
    Trials with a NaN objective have no line (the colour scale needs a number).
    """
    trials, params = _checked(trials, params, value)
    done = _complete(trials)
    done = done[_feasible(done)]
    scores = _values(done, value)
    done, scores = done[scores.notna()], scores[scores.notna()]
    dimensions: list[dict[str, Any]] = []
    for p in params:
        if _categorical(trials[p]):
            categories = sorted(trials[p].dropna().astype(str).unique())
            codes = pd.Categorical(done[p].astype(str), categories=categories).codes
            dimensions.append({"label": _label(p), "values": codes, "tickvals": list(range(len(categories))),
                               "ticktext": categories, "range": [0, max(len(categories) - 1, 1)]})
        else:
            dimensions.append({"label": _label(p), "values": done[p].to_numpy(dtype=np.float64)})
    dimensions.append({"label": _label(value), "values": scores.to_numpy()})
    fig = go.Figure(go.Parcoords(dimensions=dimensions,
                                 line={"color": scores.to_numpy(), "colorscale": "Viridis", "showscale": True,
                                       "colorbar": {"title": {"text": _label(value)}}}))
    fig.update_layout(title=_title(title, f"{_label(value)} over {', '.join(params)}"), template="plotly_white")
    if done.empty:
        return _empty(fig, "no complete feasible trial with a finite value")
    return fig


def pareto_front(values: np.ndarray, maximize: Sequence[bool]) -> np.ndarray:
    """Which rows of ``values`` ``(n, k)`` no other row dominates (True: on the front).

    Row ``a`` dominates ``b`` when it is at least as good on every objective and better on one (better:
    larger for a maximised objective, smaller for a minimised one). A row with a NaN is never on the front
    and dominates nothing; equal rows do not dominate each other, so both stay on the front.
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 2 or v.shape[1] != len(maximize):
        msg = f"values must be (rows, {len(maximize)}) for {len(maximize)} objectives, got shape {v.shape}"
        raise ChartError(msg)
    v = v * np.where(np.asarray(maximize, dtype=bool), 1.0, -1.0)  # every objective maximised
    ok = np.isfinite(v).all(axis=1)
    good = v[ok]
    front = np.zeros(v.shape[0], dtype=bool)
    on = np.ones(good.shape[0], dtype=bool)
    for start in range(0, good.shape[0], 512):  # blocks of rows: memory stays at 512 x n x k booleans
        block = good[start:start + 512, None, :]  # candidates b, tested against every row a
        ge = np.all(good[None, :, :] >= block, axis=2)
        gt = np.any(good[None, :, :] > block, axis=2)
        on[start:start + 512] = ~np.any(ge & gt, axis=1)
    front[np.flatnonzero(ok)] = on
    return front


def pareto(trials: pd.DataFrame, objectives: Sequence[tuple[str, str]], *, title: str | None = None) -> go.Figure:
    """The trials on two (or more) objectives, the Pareto front highlighted.

    ``objectives`` are ``(column, "maximize" | "minimize")`` pairs. Two objectives draw a scatter with the
    front joined by a line; more draw a scatter matrix. The front is computed among complete, feasible
    trials with finite values (:func:`pareto_front`); the other complete trials are drawn grey.
    """
    trials = _frame(trials)
    objectives = list(objectives)
    if len(objectives) < 2:
        msg = f"objectives must name at least two (column, direction) pairs, got {len(objectives)}"
        raise ChartError(msg)
    bad = [d for _, d in objectives if d not in ("maximize", "minimize")]
    if bad:
        msg = f"objectives: each direction is 'maximize' or 'minimize', got {bad}"
        raise ChartError(msg)
    names = [c for c, _ in objectives]
    _columns(trials, names, "objectives")
    done = _complete(trials)
    values = (np.column_stack([_values(done, c).to_numpy() for c in names]) if len(done)
              else np.zeros((0, len(names))))
    front = pareto_front(values, [d == "maximize" for _, d in objectives]) & _feasible(done).to_numpy()
    text = [f"trial {t}" for t in done.index]
    heading = _title(title, " vs ".join(f"{_label(c)} ({d[:3]})" for c, d in objectives))
    if len(names) == 2:
        fig = go.Figure(layout={"title": heading, "xaxis_title": _label(names[0]), "yaxis_title": _label(names[1]),
                                "template": "plotly_white"})
        fig.add_trace(go.Scatter(x=values[~front, 0], y=values[~front, 1], mode="markers", name="dominated",
                                 marker={"color": _INFEASIBLE}, text=[t for t, f in zip(text, front, strict=True)
                                                                      if not f]))
        order = np.argsort(values[front, 0], kind="stable")
        fig.add_trace(go.Scatter(x=values[front, 0][order], y=values[front, 1][order], mode="lines+markers",
                                 name="Pareto front", marker={"color": "#d62728", "size": 9},
                                 text=[t for t, f in zip(text, front, strict=True) if f]))
    else:
        dims = [{"label": _label(c), "values": values[:, i]} for i, c in enumerate(names)]
        fig = go.Figure(go.Splom(dimensions=dims, text=text, showupperhalf=False,
                                 marker={"color": np.where(front, "#d62728", _INFEASIBLE), "size": 7}))
        fig.update_layout(title=heading, template="plotly_white")
    if not front.any():
        _empty(fig, "no complete feasible trial with finite objectives")
    return fig


def history(trials: pd.DataFrame, value: str = "value", direction: str = "maximize", *,
            title: str | None = None) -> go.Figure:
    """The objective of each complete trial in trial order, and the best value so far among feasible trials."""
    trials = _frame(trials)
    if direction not in ("maximize", "minimize"):
        msg = f"direction must be 'maximize' or 'minimize', got {direction!r}"
        raise ChartError(msg)
    _columns(trials, [value], "value")
    done = _complete(trials).sort_index()
    ok = _feasible(done).to_numpy()
    scores = _values(done, value).to_numpy()
    fig = go.Figure(layout={"title": _title(title, f"{_label(value)} by trial ({direction})"),
                            "xaxis_title": "trial", "yaxis_title": _label(value), "template": "plotly_white"})
    if done.empty:
        return _empty(fig, "no complete trial")
    trial = np.asarray(done.index)
    fig.add_trace(go.Scatter(x=trial[ok], y=scores[ok], mode="markers", name="trial",
                             marker={"color": "#1f77b4", "size": 6}))
    if (~ok).any():
        fig.add_trace(go.Scatter(x=trial[~ok], y=scores[~ok], mode="markers", name="infeasible",
                                 marker={"color": _INFEASIBLE, "symbol": "circle-open", "size": 6}))
    counted = np.where(ok & np.isfinite(scores), scores, np.nan)
    best = (np.fmax if direction == "maximize" else np.fmin).accumulate(counted)
    fig.add_trace(go.Scatter(x=trial, y=best, mode="lines", name="best so far", line={"color": "#d62728",
                                                                                      "shape": "hv"}))
    return fig


def folds(folds_frame: pd.DataFrame, equity: pd.Series, *, title: str | None = None) -> go.Figure:
    """Walk-forward: the stitched out-of-sample equity with each fold's test window shaded, and IS vs OOS per fold.

    ``folds_frame`` has the columns ``fold, train_start, train_end, test_start, test_end, is_value,
    oos_value`` (one row a fold); ``equity`` is the out-of-sample equity, indexed by time.
    """
    frame = _frame(folds_frame, "folds_frame")
    _columns(frame, _FOLD_COLUMNS, "folds_frame")
    if not isinstance(equity, pd.Series):
        msg = f"equity must be a pandas Series indexed by time, got {type(equity).__name__}"
        raise ChartError(msg)
    fig = make_subplots(rows=2, cols=1, row_heights=[0.65, 0.35], vertical_spacing=0.12,
                        subplot_titles=["out-of-sample equity (test windows shaded)", "in-sample vs out-of-sample"])
    fig.update_layout(title=_title(title, f"walk-forward, {len(frame)} folds"), template="plotly_white",
                      barmode="group")
    fig.add_trace(go.Scatter(x=equity.index, y=equity.to_numpy(dtype=np.float64), mode="lines",
                             name="OOS equity", line={"color": "#1f77b4"}), row=1, col=1)
    for k, row in enumerate(frame.itertuples(index=False)):
        fig.add_vrect(x0=row.test_start, x1=row.test_end, fillcolor="#ff7f0e" if k % 2 else "#2ca02c",
                      opacity=0.12, line_width=0, row=1, col=1, annotation_text=f"fold {row.fold}",
                      annotation_position="top left", annotation_font_size=10)
    labels = [f"fold {f}" for f in frame["fold"]]
    fig.add_trace(go.Bar(x=labels, y=_values(frame, "is_value"), name="in-sample", marker_color="#7f7f7f"),
                  row=2, col=1)
    fig.add_trace(go.Bar(x=labels, y=_values(frame, "oos_value"), name="out-of-sample", marker_color="#1f77b4"),
                  row=2, col=1)
    fig.update_yaxes(title_text="equity", row=1, col=1)
    fig.update_yaxes(title_text="objective", row=2, col=1)
    return fig


def save_html(figures: Sequence[go.Figure] | go.Figure, path: str | Path, title: str = "backgrid optimisation",
              ) -> Path:
    """Write the figures into ONE self-contained HTML page and return its path.

    plotly.js is inlined once, with the first figure; nothing is fetched from a CDN, so the page opens offline.
    """
    figs = [figures] if isinstance(figures, go.Figure) else list(figures)
    if not figs:
        msg = "figures is empty: give at least one figure"
        raise ChartError(msg)
    parts = [fig.to_html(full_html=False, include_plotlyjs=(i == 0), config={"responsive": True})
             for i, fig in enumerate(figs)]
    page = ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(title)}</title>\n<style>body {{ font-family: system-ui, sans-serif; margin: 16px; }}"
            " .figure { margin-bottom: 24px; }</style></head><body>\n"
            f"<h1>{html.escape(title)}</h1>\n"
            + "\n".join(f'<div class="figure">{part}</div>' for part in parts)
            + "\n</body></html>\n")
    out = Path(path)
    out.write_text(page, encoding="utf-8")
    return out
