"""``backgrid optimize`` and ``backgrid walkforward``: search a strategy's parameters, and walk them forward.

Both load the strategy and its data as ``backgrid run`` does (the same STRATEGY argument and data options)
and combine library calls only: :func:`backgrid.optimize.optimize` and :func:`backgrid.optimize.walk_forward`.
The search options are checked before any data is read; a malformed one is a usage error (exit 2) that
names the option. Progress goes to standard error; ``--json`` prints exactly JSON on standard output.

``optimize --out DIR`` keeps its study in ``DIR/study/``: run the same command again and it resumes where it
stopped (after Ctrl-C too: exit 130), ``--fresh`` starts afresh.
"""

from __future__ import annotations

import json
import math
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from backgrid.cli.common import (
    command,
    console,
    error_console,
    options_of,
    progress,
    progress_bar,
    with_options,
    write_json,
)
from backgrid.cli.listing import JSON_OPTION, Column, Listing
from backgrid.cli.strategies import StrategyArgument, data_options, load_strategy

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence

    import pandas as pd

    from backgrid.data.bars import Bars
    from backgrid.optimize import OptimizeResult, Space, WalkForwardResult
    from backgrid.strategy.spec import Strategy

#: trials printed by ``backgrid optimize``
TOP = 10

MethodOption = Annotated[str, typer.Option(
    "--method", help="How to search: grid (every combination), random, or Optuna's tpe, cmaes, qmc, nsga2, nsga3.")]
TrialsOption = Annotated[int | None, typer.Option(
    "--trials", min=1, help="Parameter sets a random or Optuna search evaluates (a grid tries all of its own).")]
ObjectiveOption = Annotated[list[str] | None, typer.Option(
    "--objective", help="The metric to maximise (sharpe, sortino, calmar, return, ...; min:NAME to minimise). "
    "Repeat for several objectives (a Pareto front). Default: sharpe.")]
ConstraintOption = Annotated[list[str] | None, typer.Option(
    "--constraint", help="What a parameter set must meet to count, e.g. 'trades>=30'. Repeatable.")]
ParamOption = Annotated[list[str] | None, typer.Option(
    "--param", help="Narrow a declared parameter: fast=5:50, fast=5:50:5 (a step), stop=0.01:0.1:log, "
    "ma=10,20,30 (choices) or slow=100 (held). Repeatable; given any, only those vary (default: every declared "
    "parameter over its declared range).")]
ConditionOption = Annotated[list[str] | None, typer.Option(
    "--condition", help="A relation every parameter set meets, e.g. 'fast<slow'. Repeatable.")]
SeedOption = Annotated[int, typer.Option("--seed", help="Seed of the random and Optuna samplers.")]
BatchOption = Annotated[int | None, typer.Option(
    "--batch", min=1, help="Sets an Optuna sampler proposes at once, run as one engine call (default 16).")]
JobsOption = Annotated[int, typer.Option(
    "--jobs", "-j", help="Local processes that share each batch (-1: one per core).")]
ClusterOption = Annotated[str | None, typer.Option(
    "--cluster", help="Run the batches on the Dask cluster at this address, e.g. tcp://host:8786.")]
MemoryOption = Annotated[str | None, typer.Option(
    "--max-memory", help="Memory one batch may use, e.g. 2GB or 512M (default 2G).")]


def search_options(method: MethodOption = "grid", trials: TrialsOption = None, objective: ObjectiveOption = None,
                   constraint: ConstraintOption = None, param: ParamOption = None,
                   condition: ConditionOption = None, seed: SeedOption = 0, batch: BatchOption = None,
                   jobs: JobsOption = 1, cluster: ClusterOption = None, max_memory: MemoryOption = None) -> None:
    """The search options of ``optimize`` and ``walkforward`` (see :func:`~backgrid.cli.common.with_options`)."""


def fold_options(
    train: Annotated[str, typer.Option("--train", help="Train window: bars (500) or a duration (2y, 6m, 30d, "
                                       "12h, 90min; m is months).")],
    test: Annotated[str | None, typer.Option("--test", help="Test window after each train window, as --train "
                                             "(or --folds).")] = None,
    folds: Annotated[int | None, typer.Option("--folds", min=1, help="Cut the bars after the first train window "
                                              "into this many test windows (instead of --test).")] = None,
    gap: Annotated[str, typer.Option("--gap", help="Bars (or a duration) left out between a train window and "
                                     "its test window.")] = "0",
    embargo: Annotated[str, typer.Option("--embargo", help="Bars (or a duration) skipped after each test "
                                         "window.")] = "0",
    anchored: Annotated[bool, typer.Option("--anchored", help="Every train window starts at the first bar "
                                           "(default: they roll).")] = False,
) -> None:
    """The fold options of ``walkforward``."""


@dataclass(frozen=True)
class _Search:
    """The checked search options: what :func:`backgrid.optimize.optimize` is given, and the trials to run."""

    options: dict[str, Any]
    total: int

    @property
    def method(self) -> str:
        return str(self.options["method"])


def _refuse(option: str, message: str) -> NoReturn:
    """A usage error (exit 2) that names the option."""
    raise typer.BadParameter(message, param_hint=option)


def _search(spec: Strategy, *, method: str, trials: int | None, objective: list[str] | None,
            constraint: list[str] | None, param: list[str] | None, condition: list[str] | None, seed: int,
            batch: int | None, jobs: int, cluster: str | None, max_memory: str | None) -> _Search:
    """Check the search options against the strategy (usage errors name the option)."""
    from backgrid.errors import OptimizeError  # noqa: PLC0415
    from backgrid.optimize import METHODS, parse_constraints, parse_objectives  # noqa: PLC0415
    from backgrid.strategy.footprint import parse_bytes  # noqa: PLC0415

    objectives, constraints = objective or ["sharpe"], constraint or []
    if method not in METHODS:
        _refuse("--method", f"expected one of {', '.join(METHODS)}, got {method!r}")
    try:
        parsed = parse_objectives(objectives)
    except OptimizeError as exc:
        _refuse("--objective", str(exc))
    if method == "cmaes" and len(parsed) > 1:
        _refuse("--objective", "cmaes optimises one objective; for several use nsga2, nsga3, tpe, qmc, grid "
                "or random")
    try:
        parse_constraints(constraints)
    except OptimizeError as exc:
        _refuse("--constraint", str(exc))
    space = _space(spec, param or [], condition or [])
    if method == "grid" and trials is not None:
        _refuse("--trials", f"a grid tries all of its {len(space.grid()):,} parameter sets; --trials is for "
                "the other methods")
    if method != "grid" and trials is None:
        _refuse("--trials", f"a {method} search needs --trials N (how many parameter sets to evaluate)")
    options: dict[str, Any] = {"method": method, "trials": trials, "objective": objectives,
                               "constraints": constraints, "space": space, "seed": seed, "batch": batch,
                               "jobs": jobs, "cluster": cluster}
    if max_memory is not None:
        try:
            options["memory"] = parse_bytes(max_memory)
        except ValueError as exc:
            _refuse("--max-memory", str(exc))
    return _Search(options, len(space.grid()) if trials is None else trials)


def _space(spec: Strategy, params: Sequence[str], conditions: Sequence[str]) -> Space:
    """The search space of ``--param`` and ``--condition`` over the strategy's declared parameters."""
    from backgrid.errors import OptimizeError  # noqa: PLC0415
    from backgrid.optimize import Space  # noqa: PLC0415

    given: dict[str, Any] = {}
    for text in params:
        name, value = _dimension(spec, text)
        if name in given:
            _refuse("--param", f"{name} is given twice")
        given[name] = value
    try:
        Space.from_parameters(spec.parameters, given or None)
    except OptimizeError as exc:
        _refuse("--param", str(exc))
    try:
        return Space.from_parameters(spec.parameters, given or None, conditions=conditions)
    except OptimizeError as exc:
        _refuse("--condition", str(exc))


def _dimension(spec: Strategy, text: str) -> tuple[str, Any]:
    """``fast=5:50``, ``fast=5:50:5``, ``stop=0.01:0.1:log``, ``ma=10,20,30`` or ``slow=100``."""
    from backgrid.errors import OptimizeError  # noqa: PLC0415
    from backgrid.optimize import Float, Int  # noqa: PLC0415

    name, _, values = (part.strip() for part in text.partition("="))
    try:
        declared = spec.parameter(name)
    except KeyError as exc:
        _refuse("--param", f"{text!r}: {exc.args[0]}")
    number = int if declared.integer else float
    malformed = (f"{text!r}: expected {'integers' if declared.integer else 'numbers'} as name=low:high, "
                 "name=low:high:step, name=low:high:log, name=a,b,c or name=value")
    parts = values.split(":")
    try:
        if len(parts) == 1:
            choices = [number(v) for v in values.split(",")]
            return name, choices if len(choices) > 1 else choices[0]
        if len(parts) > 3:
            _refuse("--param", malformed)
        low, high = number(parts[0]), number(parts[1])
        log = len(parts) == 3 and parts[2].strip() == "log"
        step = number(parts[2]) if len(parts) == 3 and not log else None
    except ValueError:
        _refuse("--param", malformed)
    try:
        if declared.integer:
            return name, Int(int(low), int(high), int(step or 1), log=log)
        return name, Float(low, high, step, log=log)
    except OptimizeError as exc:
        _refuse("--param", f"{text!r}: {exc}")


def _data(spec: Strategy) -> dict[str, Bars]:
    """The strategy's bars, as ``backgrid run`` reads them (the store, or the demo generator)."""
    from backgrid.strategy.market import market_data  # noqa: PLC0415

    with progress("loading data") as step:
        return market_data(spec, progress=step)


@contextmanager
def _running(description: str, total: int, *, what: str, after: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar fed by the library's ``progress(done, total)``; Ctrl-C says how far it got (exit 130)."""
    seen = [0, total]
    with progress_bar(description) as update:
        def report(done: int, total: int) -> None:
            seen[:] = [done, total]
            update(done, total)

        try:
            yield report
        except KeyboardInterrupt:
            error_console().print(f"interrupted after {seen[0]:,} of {seen[1]:,} {what}; {after}", soft_wrap=True)
            raise typer.Exit(130) from None


def _plain(value: Any) -> Any:
    """A JSON value: numpy scalars as Python's, NaN and infinities as null, times as ISO text."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    value = value.item() if hasattr(value, "item") else value
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _wrote(files: Sequence[Path | None], out: Path) -> None:
    error_console().print(f"wrote {', '.join(f.name for f in files if f is not None)} to {out}", soft_wrap=True)


# --- optimize ---------------------------------------------------------------------------------------------------

def _metrics(result: OptimizeResult) -> list[str]:
    from backgrid.optimize.search import value_columns  # noqa: PLC0415

    skip = {*result.params, *value_columns(len(result.objectives)), "feasible", "state"}
    return [str(c) for c in result.trials.columns if c not in skip]


def _record(result: OptimizeResult, row: pd.Series, metrics: Sequence[str]) -> dict[str, Any]:
    """One trial as JSON: its number, the full parameter set, its objective(s) and ``metrics``."""
    from backgrid.optimize.search import value_columns  # noqa: PLC0415

    columns = value_columns(len(result.objectives))
    return {"trial": _plain(row.name),
            "params": {k: _plain(v) for k, v in result.space.full({n: row[n] for n in result.params}).items()},
            "objectives": {o.name: _plain(row[c]) for o, c in zip(result.objectives, columns, strict=True)},
            "metrics": {m: _plain(row[m]) for m in metrics}}


def _top(result: OptimizeResult) -> pd.DataFrame:
    """The feasible trials with a defined first objective, best first (ties: in trial order), at most TOP."""
    import numpy as np  # noqa: PLC0415

    from backgrid.optimize.search import value_columns  # noqa: PLC0415

    first = value_columns(len(result.objectives))[0]
    trials = result.trials
    usable = trials[trials["feasible"] & np.isfinite(trials[first].to_numpy(dtype=np.float64))]
    ascending = result.objectives[0].direction == "minimize"
    top: pd.DataFrame = usable.sort_values(first, ascending=ascending, kind="stable").head(TOP)
    return top


def _top_listing(result: OptimizeResult, records: list[dict[str, Any]]) -> Listing:
    from backgrid.cli.strategies import _format  # noqa: PLC0415

    def param(name: str) -> Column:
        return Column(name, lambda r: str(r["params"][name]), "right")

    def objective(name: str) -> Column:
        return Column(name, lambda r: _format(name, math.nan if r["objectives"][name] is None
                                              else r["objectives"][name]), "right")

    columns = [Column("trial", lambda r: str(r["trial"]), "right"), *map(param, result.params),
               *(objective(o.name) for o in result.objectives),
               Column("trades", lambda r: str(r["metrics"].get("trades", "")), "right")]
    feasible = int(result.trials["feasible"].sum())
    caption = (f"best {len(records)} of {feasible:,} feasible trial(s) ({len(result.trials):,} in all) by "
               f"{result.objectives[0].name}")
    return Listing(columns, records, caption=caption)


def _write_search(out: Path, spec: Strategy, result: OptimizeResult, best: dict[str, Any] | None,
                  resumed: bool) -> list[Path | None]:
    """The trials table, the summary, the best set (JSON, and as the defaults of strategy.yaml), the charts."""
    from backgrid.cli.sweeps import with_defaults  # noqa: PLC0415
    from backgrid.strategy.document import dump  # noqa: PLC0415

    out.mkdir(parents=True, exist_ok=True)
    files: list[Path | None] = [out / "trials.parquet", out / "trials.csv", out / "summary.txt"]
    result.trials.to_parquet(out / "trials.parquet")
    result.trials.to_csv(out / "trials.csv")
    summary = result.summary()
    if resumed:
        summary += f"\nresumed the study in {result.study} (the trials of earlier runs are kept)"
    (out / "summary.txt").write_text(summary + "\n", encoding="utf-8")
    if best is not None:
        files += [out / "best.json", out / "strategy.yaml"]
        (out / "best.json").write_text(json.dumps(best, indent=2) + "\n", encoding="utf-8")
        header = "".join(f"# {line}\n" for line in result.summary().splitlines())
        (out / "strategy.yaml").write_text(f"{header}# the parameters' defaults below are the best set\n"
                                           + dump(with_defaults(spec, best["params"])), encoding="utf-8")
    files.append(result.plot(out / "optimize.html"))
    return files


@command
@with_options(data_options, search_options)
def optimize(
    strategy_file: StrategyArgument,
    out: Annotated[Path, typer.Option("--out", "-o", help="Write the trials, the best set and the charts into "
                                      "this folder; the study is kept in its study/ folder to resume.")],
    fresh: Annotated[bool, typer.Option("--fresh", help="Start the study afresh (its earlier trials are "
                                        "removed) instead of resuming it.")] = False,
    storage: Annotated[str | None, typer.Option(
        "--storage", envvar="BACKGRID_STORAGE_URL", help="Keep an Optuna search's study in this database "
        "(postgresql://user@host/db, sqlite:///study.db) instead of the --out folder: workers on several "
        "machines share it, and a trial whose worker died is retried.")] = None,
    json_: bool = JSON_OPTION,
    **options: Any,
) -> None:
    """Search a strategy's parameters for the best objective; print the top trials and write the best set."""
    from backgrid.errors import OptimizeError  # noqa: PLC0415
    from backgrid.optimize import optimize as search_parameters  # noqa: PLC0415

    spec = load_strategy(strategy_file, **options_of(data_options, options))
    search = _search(spec, **options_of(search_options, options))
    if storage is not None:
        _check_storage(storage, search.method)
        search.options["storage"] = storage
    data = _data(spec)
    study = out / "study"
    resumed = not fresh and (study / "study.json").is_file()  # the library refuses one started otherwise
    with _running(f"{search.method} search", search.total, what="trials",
                  after=f"the study in {out} is kept: run the same command again to resume") as report:
        result = search_parameters(spec, data, study=study, resume=not fresh, progress=report, **search.options)
    if resumed:
        error_console().print(f"resumed the study in {study}: {len(result.trials):,} trials in all",
                              soft_wrap=True)
    metrics = _metrics(result)
    try:
        best = _record(result, result.best_trial, metrics)
    except OptimizeError:  # no trial counts: the trials are written, then the error says why
        _write_search(out, spec, result, None, resumed)
        raise
    files = _write_search(out, spec, result, best, resumed)
    records = [_record(result, row, metrics) for _, row in _top(result).iterrows()]
    if json_:
        write_json({"best": best, "top": records})
    else:
        screen = console()
        screen.print(_top_listing(result, records))
        screen.print(result.summary())
    _wrote(files, out)


def _check_storage(url: str, method: str) -> None:
    """A database URL SQLAlchemy can read, for a method that keeps an Optuna study (usage errors otherwise)."""
    import sqlalchemy as sa  # noqa: PLC0415  # the optimize extra's

    if method in {"grid", "random"}:
        _refuse("--storage", f"a {method} search keeps its study in the --out folder; a database is for the "
                "Optuna methods (tpe, cmaes, qmc, nsga2, nsga3)")
    try:
        sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        _refuse("--storage", f"expected a database URL such as postgresql://user@host/db or sqlite:///study.db, "
                f"got {url!r}")


# --- walkforward ------------------------------------------------------------------------------------------------

def _length(text: str) -> int | str:
    """A window length: a whole number of bars, or a duration (``2y``, ``6m``...) for the library to read."""
    return int(text) if text.strip().isdigit() else text


def _fold_data(spec: Strategy, data: Mapping[str, Bars]) -> tuple[Strategy, Bars]:
    """The one symbol's bars in the strategy's window (--from/--to, market.period), and the strategy without it."""
    from backgrid.strategy.compiler import without_window  # noqa: PLC0415

    if len(data) != 1:
        _refuse("--symbol", f"a walk-forward trades one symbol, got {', '.join(data)}")
    return without_window(spec, next(iter(data.values())))


def _when(value: pd.Timestamp) -> str:
    return f"{value:%Y-%m-%d}" if value == value.normalize() else f"{value:%Y-%m-%d %H:%M}"


def _fold_records(result: WalkForwardResult) -> list[dict[str, Any]]:
    return [{"fold": _plain(number), **{k: _plain(row[k]) for k in ("train_start", "train_end", "test_start",
                                                                     "test_end")},
             "params": {name: _plain(row[name]) for name in result.params},
             "is_value": _plain(row["is_value"]), "oos_value": _plain(row["oos_value"]),
             "degradation": _plain(row["degradation"]), "trades": _plain(row["trades"])}
            for number, row in result.folds.iterrows()]


def _fold_listing(result: WalkForwardResult) -> Listing:
    from backgrid.cli.strategies import _format  # noqa: PLC0415

    folds = result.folds

    def span(kind: str) -> Column:
        return Column(kind, lambda r: f"{_when(folds.loc[r['fold'], f'{kind}_start'])} – "
                                      f"{_when(folds.loc[r['fold'], f'{kind}_end'])}", wrap=True)

    def value(header: str, key: str) -> Column:
        return Column(header, lambda r: _format(result.objective, math.nan if r[key] is None else r[key]), "right")

    def param(name: str) -> Column:
        return Column(name, lambda r: str(r["params"][name]), "right")

    columns = [Column("fold", lambda r: str(r["fold"]), "right"), span("train"), span("test"),
               *map(param, result.params), value("IS", "is_value"), value("OOS", "oos_value"),
               Column("degr.", lambda r: "-" if r["degradation"] is None else f"{r['degradation']:.0%}", "right"),
               Column("trades", lambda r: str(r["trades"]), "right")]
    return Listing(columns, _fold_records(result),
                   caption=f"IS, OOS: {result.objective} in and out of sample; degr.: (IS - OOS) / |IS|")


def _write_walk(out: Path, result: WalkForwardResult) -> list[Path | None]:
    out.mkdir(parents=True, exist_ok=True)
    files: list[Path | None] = [out / name for name in ("folds.csv", "folds.parquet", "equity.parquet",
                                                        "trades.parquet", "summary.txt")]
    result.folds.to_csv(out / "folds.csv")
    result.folds.to_parquet(out / "folds.parquet")
    result.equity.to_frame().to_parquet(out / "equity.parquet")
    result.trades.to_parquet(out / "trades.parquet", index=False)
    (out / "summary.txt").write_text(result.summary() + "\n", encoding="utf-8")
    files.append(result.plot(out / "walkforward.html"))
    return files


@command
@with_options(fold_options, data_options, search_options)
def walkforward(
    strategy_file: StrategyArgument,
    out: Annotated[Path, typer.Option("--out", "-o", help="Write the folds, the stitched out-of-sample equity "
                                      "and trades, and the charts into this folder.")],
    json_: bool = JSON_OPTION,
    **options: Any,
) -> None:
    """Optimise on each train window, trade the best set on the test window after it; print the folds."""
    from backgrid.optimize import splits, walk_forward  # noqa: PLC0415

    cut = options_of(fold_options, options)
    if (cut["test"] is None) == (cut["folds"] is None):
        _refuse("--test / --folds", "give one of them: the test window's length, or how many folds")
    if len(options["objective"] or []) > 1:
        _refuse("--objective", f"a walk-forward measures one objective in and out of sample, got "
                f"{len(options['objective'])}")
    spec = load_strategy(strategy_file, **options_of(data_options, options))
    search = _search(spec, **options_of(search_options, options))
    searching = search.options | {"objective": search.options["objective"][0]}  # one: checked above
    spec, bars = _fold_data(spec, _data(spec))
    cutting: dict[str, Any] = {key: None if cut[key] is None else _length(cut[key])
                               for key in ("train", "test", "gap", "embargo")}
    cutting |= {"folds": cut["folds"], "anchored": cut["anchored"]}
    count = len(splits(bars.index, **cutting))
    with _running("walk-forward folds", count, what="folds", after="a walk-forward keeps nothing: run it again",
                  ) as report:
        result = walk_forward(spec, bars, **cutting, progress=report, **searching)
    files = _write_walk(out, result)
    if json_:
        stats = {str(k): _plain(v) for k, v in result.stats.items()}
        write_json({"folds": _fold_records(result),
                    "summary": {"objective": result.objective, "efficiency": _plain(result.efficiency),
                                "out_of_sample": stats}})
    else:
        screen = console()
        screen.print(_fold_listing(result))
        screen.print(result.summary())
    _wrote(files, out)
