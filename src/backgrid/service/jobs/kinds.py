"""What a claimed run does, by its kind: library calls only, files into the attempt's folder, a JSON summary.

A strategy's run is ``{"document": <strategy document>, "options": {...}}`` (the API normalises it); a data
run or a report is ``{"options": {...}}``. Kinds:

    backtest   the document on its data; ``{"report": true}`` adds the tear sheet (tear.html)
    sweep      ``{"sweep": {name: [values]}}``: every combination, in chunks; the best set (by Sharpe) is
               written as a backtest is, with stats.csv of every set
    optimise   ``{"method", "trials", "objective", "constraints", "space", "conditions", "seed", "batch"}``
               as ``backgrid optimize`` takes them (``space``: ``{name: [choices] | value | {low, high,
               step, log}}``); trials.csv, best.json, summary.txt; the trials in :attr:`Outcome.trials`
    walkforward  the search options and ``{"train", "test" | "folds", "gap", "embargo", "anchored"}`` as
               ``backgrid walkforward`` takes them; folds.csv, equity.csv, trades.csv, summary.txt
    robustness   the search options (or ``{"params": {...}}``, the set to check) and the counts
               ``{"shuffles", "random", "jitter", "paths"}`` as ``backgrid robustness``; report.csv
    import, refresh, report   see :mod:`backgrid.service.jobs.datakinds`

What a kind is given and how its errors end the run: :mod:`backgrid.service.jobs.context`. Heavy imports
(the engine, pandas) happen inside the kinds, so that a worker process starts quickly.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from backgrid.errors import OptimizeError
from backgrid.service.jobs import datakinds
from backgrid.service.jobs.context import JobContext, Kind, Outcome, RequestError, check_options
from backgrid.service.jobs.lease import Claim

if TYPE_CHECKING:
    import pandas as pd

    from backgrid.data.bars import Bars
    from backgrid.engine.result import Result
    from backgrid.strategy.compiler import Compiled
    from backgrid.strategy.spec import Strategy

__all__ = ["CHUNKS", "KINDS", "OPTIONS", "execute"]

#: chunks a sweep is cut into: one progress report (and one cancel check) per chunk
CHUNKS = 20


def execute(claim: Claim, ctx: JobContext) -> Outcome:
    """Run ``claim`` by its kind (see :data:`KINDS`)."""
    kind = KINDS.get(claim.kind)
    if kind is None:
        raise RequestError([("kind", f"expected one of {', '.join(KINDS)}, got {claim.kind!r}")])
    return kind(claim, ctx)


# --- the request ------------------------------------------------------------------------------------------------

def _document(request: Mapping[str, Any]) -> Strategy:
    from backgrid.strategy.document import parse  # noqa: PLC0415

    document = request.get("document")
    if not isinstance(document, dict):
        found = type(document).__name__
        raise RequestError([("document", f"expected a strategy document (an object), got {found}")])
    return parse(document, source="document")


def _options(request: Mapping[str, Any], allowed: Sequence[str]) -> dict[str, Any]:
    return check_options(request.get("options") or {}, allowed)


def _json(value: Any) -> Any:
    from backgrid.strategy.manifest import json_value  # noqa: PLC0415

    return json_value(value)


def _stats(stats: pd.Series | pd.DataFrame) -> dict[str, Any]:
    """One set's statistics as JSON numbers (NaN as null)."""
    return {str(name): _json(value) for name, value in cast("pd.Series", stats).items()}


# --- backtest and sweep -----------------------------------------------------------------------------------------

def _write_run(ctx: JobContext, compiled: Compiled, result: Result, *, document: Strategy,
               grid: Mapping[str, Sequence[Any]] | None = None, chosen: Mapping[str, Any] | None = None,
               report: bool = False) -> list[Path]:
    """One set's run folder: result.npz, trades.parquet, equity.parquet, strategy.yaml, run.json (and tear.html).

    Parquet, not CSV: writing a year of hourly equity as CSV cost more than the backtest (its times are
    formatted one by one); the API hands either out as CSV on request.
    """
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.parquet as pq  # noqa: PLC0415

    from backgrid.strategy.document import dump  # noqa: PLC0415
    from backgrid.strategy.manifest import build_manifest, write_manifest  # noqa: PLC0415

    folder = ctx.folder
    files = [result.save(folder / "result.npz"), folder / "trades.parquet", folder / "equity.parquet",
             folder / "strategy.yaml"]
    # pyarrow directly: DataFrame.to_parquet's path handling doubled the cost of these two small files; no
    # dictionary pages: prices and times seldom repeat, and trying them cost more than the rest of the write
    pq.write_table(pa.Table.from_pandas(result.trades, preserve_index=False), files[1], use_dictionary=False)
    equity = cast("pd.Series", result.equity)  # one set's folder: a single-set result
    times = cast("pd.DatetimeIndex", equity.index).asi8
    pq.write_table(pa.table({"time": pa.array(times, pa.timestamp("ns", tz="UTC")),
                             "equity": pa.array(equity.to_numpy())}), files[2], use_dictionary=False)
    files[3].write_text(dump(document), encoding="utf-8")
    manifest = build_manifest(compiled, result, document=document, grid=grid, chosen=chosen, files=files)
    files.append(write_manifest(folder, manifest))
    if report:
        files.append(_tear_sheet(folder, compiled, result, manifest))
    return files


def _tear_sheet(folder: Path, compiled: Compiled, result: Result, manifest: Mapping[str, Any]) -> Path:
    """tear.html from the run's own bars (the user's store, not the default one ``report_run`` reads)."""
    from backgrid.analysis import insights, regime_stats, trend_regime  # noqa: PLC0415
    from backgrid.data.bars import Bars  # noqa: PLC0415
    from backgrid.report import tear_sheet  # noqa: PLC0415
    from backgrid.report.folder import footer  # noqa: PLC0415

    bars: Bars | None = compiled.data if isinstance(compiled.data, Bars) else None
    regimes = regime_stats(result, trend_regime(bars)) if bars is not None else None
    chosen = manifest["run"]["chosen"]
    title = compiled.strategy.name + (f" — {', '.join(f'{k}={v}' for k, v in chosen.items())}" if chosen else "")
    found = insights(result, regimes=regimes, parameters=len(manifest["run"]["grid"]) or None)
    return Path(tear_sheet(result, folder / "tear.html", title=title, insights=found, regimes=regimes,
                           manifest=footer(manifest)))


def _data(ctx: JobContext, spec: Strategy) -> dict[str, Bars]:
    from backgrid.strategy.market import market_data  # noqa: PLC0415

    ctx.progress(0.0, "loading data")
    return market_data(spec, ctx.data_store())


def _backtest(claim: Claim, ctx: JobContext) -> Outcome:
    from backgrid.strategy.compiler import compile_strategy  # noqa: PLC0415

    spec = _document(claim.request)
    options = _options(claim.request, OPTIONS["backtest"])
    data = _data(ctx, spec)
    ctx.progress(0.1, f"running {spec.name}")
    compiled = compile_strategy(spec, data)
    result = compiled.run()
    ctx.progress(0.9, "writing the files")
    files = _write_run(ctx, compiled, result, document=spec, report=bool(options.get("report")))
    summary = {"stats": _stats(result.stats), "warnings": list(result.warnings), "bars": int(result.index.size)}
    return Outcome(summary, files)


def _grid(options: Mapping[str, Any]) -> dict[str, list[Any]]:
    sweep = options.get("sweep")
    if not isinstance(sweep, dict) or not sweep:
        raise RequestError([("options.sweep", "expected an object of parameter names to lists of values")])
    problems = [(f"options.sweep.{name}", "expected a non-empty list of values")
                for name, values in sweep.items() if not isinstance(values, list) or not values]
    if problems:
        raise RequestError(problems)
    return sweep


def _chunks(count: int, parts: int = CHUNKS) -> list[slice]:
    """``range(count)`` cut into at most ``parts`` slices of nearly equal size."""
    size = math.ceil(count / min(parts, max(count, 1)))
    return [slice(start, min(start + size, count)) for start in range(0, count, size)]


def _sweep(claim: Claim, ctx: JobContext) -> Outcome:
    import numpy as np  # noqa: PLC0415
    import pandas as pd  # noqa: PLC0415

    from backgrid.strategy.compiler import compile_strategy, parameter_sets  # noqa: PLC0415
    from backgrid.strategy.document import parse  # noqa: PLC0415

    spec = _document(claim.request)
    options = _options(claim.request, OPTIONS["sweep"])
    grid = _grid(options)
    sets = parameter_sets(spec, grid)
    data = _data(ctx, spec)
    started = time.monotonic()
    frames = []
    for part in _chunks(len(sets)):
        chunk = sets[part]
        stats = compile_strategy(spec, data, sets=chunk).run().stats
        frame = stats.to_frame().T if isinstance(stats, pd.Series) else stats
        frames.append(frame.set_axis(range(part.start, part.stop)))
        done = part.stop / len(sets)
        ctx.progress(0.05 + 0.85 * done, f"{part.stop:,} of {len(sets):,} parameter sets "
                                         f"({time.monotonic() - started:.1f} s)")
    table = pd.concat(frames)
    names = list(grid)
    table.insert(0, "set", range(len(sets)))
    for position, name in enumerate(names):
        table.insert(1 + position, name, [s[name] for s in sets])
    sharpe = table["sharpe_ratio"].to_numpy(dtype=np.float64)
    best = int(np.nanargmax(sharpe)) if np.isfinite(sharpe).any() else 0
    chosen = {name: _json(sets[best][name]) for name in names}
    document = spec.to_dict()
    for param in document.get("parameters", []):
        if param["param"] in chosen:
            param["default"] = chosen[param["param"]]
    best_spec = parse(document, source="document (the best parameter set)")
    ctx.progress(0.9, "running the best set and writing its files")
    compiled = compile_strategy(best_spec, data)
    result = compiled.run()
    stats_file = ctx.folder / "stats.csv"
    table.to_csv(stats_file, index=False)
    files = [stats_file, *_write_run(ctx, compiled, result, document=best_spec, grid=grid, chosen=chosen,
                                     report=bool(options.get("report")))]
    summary = {"sets": len(sets), "best": {"set": best, "params": chosen, "stats": _stats(result.stats)},
               "warnings": list(result.warnings), "bars": int(result.index.size)}
    return Outcome(summary, files)


# --- optimise ---------------------------------------------------------------------------------------------------

_SEARCH = ["method", "trials", "objective", "constraints", "space", "conditions", "seed", "batch"]


def _space(spec: Strategy, given: Any, conditions: Sequence[str]) -> Any:
    """The search space: ``{name: [choices] | value | {"low", "high", "step", "log"}}`` over declared parameters."""
    from backgrid.optimize import Float, Int, Space  # noqa: PLC0415

    if given is None:
        return Space.from_parameters(spec.parameters, None, conditions=conditions)
    if not isinstance(given, dict):
        raise RequestError([("options.space", f"expected an object, got {type(given).__name__}")])
    space: dict[str, Any] = {}
    for name, value in given.items():
        if not isinstance(value, dict):
            space[name] = value
            continue
        try:
            declared = spec.parameter(name)
        except KeyError as exc:
            raise RequestError([(f"options.space.{name}", str(exc.args[0]))]) from None
        unknown = sorted(set(value) - {"low", "high", "step", "log"})
        if unknown or "low" not in value or "high" not in value:
            expected = f"expected {{low, high}} with an optional step and log, got keys {sorted(value)}"
            raise RequestError([(f"options.space.{name}", expected)])
        if declared.integer:
            space[name] = Int(value["low"], value["high"], value.get("step") or 1, log=bool(value.get("log")))
        else:
            space[name] = Float(value["low"], value["high"], value.get("step"), log=bool(value.get("log")))
    return Space.from_parameters(spec.parameters, space, conditions=conditions)


def _trial(result: Any, number: Any, row: pd.Series, metrics: Sequence[str]) -> dict[str, Any]:
    from backgrid.optimize.search import value_columns  # noqa: PLC0415

    columns = value_columns(len(result.objectives))
    return {"number": _json(number),
            "params": {k: _json(v) for k, v in result.space.full({n: row[n] for n in result.params}).items()},
            "objectives": {o.name: _json(row[c]) for o, c in zip(result.objectives, columns, strict=True)},
            "metrics": {m: _json(row[m]) for m in metrics}, "feasible": bool(row["feasible"]),
            "state": str(row["state"])}


def _search(ctx: JobContext, spec: Strategy, options: Mapping[str, Any], data: Any) -> dict[str, Any]:
    """What :func:`backgrid.optimize.optimize` is given for the search options, with batches of 5 % at most."""
    from backgrid.optimize import TrialLedger  # noqa: PLC0415
    from backgrid.optimize.evaluate import DocumentTarget  # noqa: PLC0415
    from backgrid.optimize.search import DEFAULT_MEMORY  # noqa: PLC0415

    method = options.get("method", "grid")
    space = _space(spec, options.get("space"), options.get("conditions") or [])
    search: dict[str, Any] = {"method": method, "trials": options.get("trials"), "space": space,
                              "objective": options.get("objective", "sharpe"),
                              "constraints": options.get("constraints"), "seed": options.get("seed", 0),
                              "ledger": TrialLedger(f"sqlite:///{ctx.data_store().home / 'ledger.sqlite'}")}
    if ctx.settings.cluster:  # the job's sets fan out on the Dask cluster instead of this machine's cores
        search["cluster"] = ctx.settings.cluster
    total = len(space.grid()) if method == "grid" else options.get("trials")
    if isinstance(total, int) and total > 0:  # else the library names what is wrong with the trials
        # a batch (one engine call, one progress report, one cancel check) is 5 % of the trials at most
        step = math.ceil(total / CHUNKS)
        search["batch"] = options.get("batch") or step
        search["memory"] = min(DEFAULT_MEMORY, int(DocumentTarget(spec).set_bytes(data) * step) + 1)
    return search


def _one_symbol(data: Mapping[str, Bars], kind: str) -> Bars:
    if len(data) != 1:
        raise RequestError([("document.market.symbols", f"a {kind} trades one symbol, got {', '.join(data)}")])
    return next(iter(data.values()))


def _optimise(claim: Claim, ctx: JobContext) -> Outcome:
    import json  # noqa: PLC0415

    from backgrid.optimize import optimize  # noqa: PLC0415
    from backgrid.optimize.search import value_columns  # noqa: PLC0415

    spec = _document(claim.request)
    options = _options(claim.request, OPTIONS["optimise"])
    data = _data(ctx, spec)
    search = _search(ctx, spec, options, data)
    method = search["method"]

    def report(done: int, of: int) -> None:
        ctx.progress(0.05 + 0.9 * done / max(of, 1), f"{done:,} of {of:,} trials")

    result = optimize(spec, data, study=ctx.folder / "study", resume=False, progress=report, **search)
    skip = {*result.params, *value_columns(len(result.objectives)), "feasible", "state"}
    metrics = [str(c) for c in result.trials.columns if c not in skip]
    trials = [_trial(result, number, row, metrics) for number, row in result.trials.iterrows()]
    files = [ctx.folder / "trials.csv", ctx.folder / "summary.txt"]
    result.trials.to_csv(files[0])
    files[1].write_text(result.summary() + "\n", encoding="utf-8")
    try:
        best = _trial(result, result.best_trial.name, result.best_trial, metrics)
    except OptimizeError:  # no trial counts: the run still succeeds, with no best set
        best = None
    if best is not None:
        files.append(ctx.folder / "best.json")
        files[-1].write_text(json.dumps(best, indent=2) + "\n", encoding="utf-8")
    summary = {"method": method, "trials": len(trials), "best": best, "text": result.summary()}
    return Outcome(summary, files, trials)


# --- walkforward and robustness ---------------------------------------------------------------------------------

_FOLDS = ["train", "test", "folds", "gap", "embargo", "anchored"]


def _walkforward(claim: Claim, ctx: JobContext) -> Outcome:
    from backgrid.optimize import walk_forward  # noqa: PLC0415
    from backgrid.strategy.compiler import without_window  # noqa: PLC0415

    spec = _document(claim.request)
    options = _options(claim.request, OPTIONS["walkforward"])
    if "train" not in options or ("test" in options) == ("folds" in options):
        raise RequestError([("options", "expected train, and one of test (a window) or folds (a count)")])
    objective = options.get("objective", "sharpe")
    if not isinstance(objective, str):
        raise RequestError([("options.objective", "a walk-forward measures one objective in and out of sample")])
    spec, bars = without_window(spec, _one_symbol(_data(ctx, spec), "walk-forward"))
    search = _search(ctx, spec, options, bars)
    for name in ("batch", "memory"):  # each fold's search is small: its own batches
        search.pop(name, None)
    search["objective"] = objective
    cut = {name: options[name] for name in _FOLDS if name in options}

    def report(done: int, of: int) -> None:
        ctx.progress(0.05 + 0.9 * done / max(of, 1), f"{done:,} of {of:,} folds")

    result = walk_forward(spec, bars, progress=report, **cut, **search)
    files = [ctx.folder / name for name in ("folds.csv", "equity.csv", "trades.csv", "summary.txt")]
    result.folds.to_csv(files[0])
    result.equity.to_csv(files[1])
    result.trades.to_csv(files[2], index=False)
    files[3].write_text(result.summary() + "\n", encoding="utf-8")
    folds = [{"fold": _json(number), **{k: str(row[k]) for k in ("train_start", "train_end", "test_start",
                                                                   "test_end")},
              "params": {name: _json(row[name]) for name in result.params},
              **{k: _json(row[k]) for k in ("is_value", "oos_value", "degradation", "trades")}}
             for number, row in result.folds.iterrows()]
    summary = {"objective": result.objective, "efficiency": _json(result.efficiency), "folds": folds,
               "out_of_sample": _stats(result.stats), "text": result.summary()}
    return Outcome(summary, files, folds=folds)


_CHECKS = {"shuffles": 10_000, "random": 500, "jitter": 50, "paths": 50}


def _robustness(claim: Claim, ctx: JobContext) -> Outcome:
    from backgrid.optimize import optimize  # noqa: PLC0415
    from backgrid.robustness import report  # noqa: PLC0415

    spec = _document(claim.request)
    options = _options(claim.request, OPTIONS["robustness"])
    bars = _one_symbol(_data(ctx, spec), "robustness check")
    search = _search(ctx, spec, options, bars)
    params = options.get("params")
    if params is not None and not isinstance(params, dict):
        found_type = type(params).__name__
        raise RequestError([("options.params", f"expected an object of parameter values, got {found_type}")])
    found = None
    if params is None:

        def searched(done: int, of: int) -> None:
            ctx.progress(0.05 + 0.45 * done / max(of, 1), f"{done:,} of {of:,} trials")

        found = optimize(spec, bars, progress=searched, **search)
    ctx.progress(0.5, "robustness checks")
    counts = {name: options.get(name, default) for name, default in _CHECKS.items()}
    checked = report(spec, bars, params=params, search=found, shuffles=counts["shuffles"],
                     random_runs=counts["random"], jitter_sets=counts["jitter"], paths=counts["paths"],
                     seed=search["seed"], ledger=search["ledger"])
    frame = checked.to_frame()
    files = [ctx.folder / "report.csv", ctx.folder / "summary.txt"]
    frame.to_csv(files[0], index=False)
    files[1].write_text(checked.summary() + "\n", encoding="utf-8")
    summary = {"params": {k: _json(v) for k, v in checked.params.items()},
               "checks": {name: {k: _json(v) for k, v in figures.items()}
                          for name, figures in checked.sections.items()},
               "text": checked.summary()}
    return Outcome(summary, files)


#: the kinds, by the name a run's ``kind`` holds
#: the options each kind takes (the API refuses any other before queueing)
OPTIONS: dict[str, tuple[str, ...]] = {
    "backtest": ("report",), "sweep": ("sweep", "report"), "optimise": tuple(_SEARCH),
    "walkforward": (*_SEARCH, *_FOLDS), "robustness": (*_SEARCH, *_CHECKS, "params"), **datakinds.OPTIONS}

KINDS: dict[str, Kind] = {"backtest": _backtest, "sweep": _sweep, "optimise": _optimise,
                          "walkforward": _walkforward, "robustness": _robustness, **datakinds.KINDS}
