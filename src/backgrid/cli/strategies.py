"""``backgrid run`` and ``backgrid strategies ...``: run, browse and check strategy documents."""

from __future__ import annotations

import functools
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

from backgrid.cli.common import App, command, console, error_console, progress, styled, with_options, write_json
from backgrid.cli.listing import CSV_OPTION, JSON_OPTION, Column, Listing, emit

if TYPE_CHECKING:
    from collections.abc import Mapping

    import pandas as pd

    from backgrid.engine.result import Result
    from backgrid.strategy.compiler import Compiled
    from backgrid.strategy.spec import Strategy

app = App(help="Browse, show and check strategy documents.", no_args_is_help=True)


def _strategy(name_or_file: str) -> Strategy:
    """A strategy file, or the name of a ready strategy."""
    from backgrid.strategy.document import load  # noqa: PLC0415
    from backgrid.strategy.library import load_library  # noqa: PLC0415

    path = Path(name_or_file)
    if path.suffix.lower() in (".yaml", ".yml", ".json") or path.exists():
        return load(path)
    return load_library(name_or_file)


def _sweep(options: list[str], strategy: Strategy) -> dict[str, list[Any]]:
    """``--sweep fast=5,10,20`` (or ``fast=5:50:5``, or just ``fast`` for its declared range)."""
    from backgrid.errors import SpecError  # noqa: PLC0415
    from backgrid.strategy.spec import steps  # noqa: PLC0415

    sweep: dict[str, list[Any]] = {}
    for option in options:
        name, _, values = option.partition("=")
        try:
            param = strategy.parameter(name.strip())
        except KeyError as exc:
            raise SpecError([(f"--sweep {name}", str(exc.args[0]))]) from None
        if not values:
            sweep[param.param] = param.grid()
            continue
        number = int if param.integer else float
        kind = "integers" if param.integer else "numbers"
        malformed = SpecError([(f"--sweep {name}", f"expected {kind} as a,b,c or start:stop:step, got {values!r}")])
        try:
            numbers = [number(v) for v in values.split(":" if ":" in values else ",")]
        except ValueError:
            raise malformed from None
        if ":" not in values:
            sweep[param.param] = numbers
            continue
        if len(numbers) != 3:  # start, stop and step
            raise malformed
        lo, hi, step = numbers
        if not step > 0:
            raise SpecError([(f"--sweep {name}", f"the step of start:stop:step must be > 0, got {step}")])
        sweep[param.param] = steps(lo, hi, step)
    return sweep


def _format(name: str, value: float) -> str:
    from backgrid.metrics import METRICS  # noqa: PLC0415

    if math.isnan(value):
        return "-"
    unit = METRICS[name].unit if name in METRICS else ""
    if unit == "fraction":
        return f"{value:.2%}"
    if unit == "count":
        return f"{int(value):,}"
    return f"{value:,.2f}" if unit == "cash" else f"{value:,.4g}"


def _stats_table(stats: pd.Series | pd.DataFrame) -> Any:
    """A listing of a run's statistics, or of the best 15 parameter sets of a sweep by Sharpe ratio."""
    import pandas as pd  # noqa: PLC0415

    if isinstance(stats, pd.Series):
        records = [{"metric": str(name), "value": float(value)} for name, value in stats.items()]
        return Listing([Column("metric"), Column("value", lambda r: _format(r["metric"], r["value"]), "right")],
                       records)
    best = stats.sort_values("sharpe_ratio", ascending=False)  # one row per parameter set
    names = [str(name or "column") for name in best.index.names]  # a sweep's: the swept parameters
    shown = {"total_return": "return", "sharpe_ratio": "Sharpe", "max_drawdown": "max DD", "trades": "trades",
             "win_rate": "win rate", "profit_factor": "PF"}
    records = []
    for label, row in best.head(15).iterrows():
        keys = label if isinstance(label, tuple) else (label,)
        records.append({**dict(zip(names, keys, strict=True)), **{m: float(row[m]) for m in shown}})
    columns = [Column(n, justify="right") for n in names]
    columns += [Column(header, functools.partial(_metric_cell, m), "right") for m, header in shown.items()]
    caption = None
    if len(best) > 15:
        caption = f"best 15 of {len(best)} parameter sets by Sharpe ratio; all of them in stats.csv"
    return Listing(columns, records, caption=caption)


def _metric_cell(metric: str, record: Mapping[str, Any]) -> str:
    return _format(metric, record[metric])


def _write(out: Path, compiled: Compiled, result: Result, grid: dict[str, list[Any]]) -> list[Path]:
    """Write the run's files into ``out`` (a sweep's: see :mod:`backgrid.cli.sweeps`) and its chart."""
    from backgrid.cli.sweeps import label, overlays, with_defaults, write_sweep  # noqa: PLC0415
    from backgrid.data.bars import Bars  # noqa: PLC0415
    from backgrid.strategy.document import dump, load  # noqa: PLC0415
    from backgrid.strategy.manifest import build_manifest, write_manifest  # noqa: PLC0415
    from backgrid.strategy.summary import summary  # noqa: PLC0415

    out.mkdir(parents=True, exist_ok=True)
    spec = compiled.strategy
    if result.single:
        best = {name: values[0] for name, values in grid.items()}
        chosen = with_defaults(spec, best)
        files = [out / "stats.csv", out / "trades.csv", out / "equity.csv", out / "summary.txt",
                 out / "strategy.yaml"]
        result.stats.to_csv(files[0], header=["value"])
        result.trades.to_csv(files[1], index=False)
        result.equity.to_csv(files[2])
        files[3].write_text(summary(chosen) + "\n", encoding="utf-8")
        files[4].write_text(dump(chosen), encoding="utf-8")
        column = None
    else:
        files, best = write_sweep(out, spec, result, summary(spec), grid)
        column = tuple(best.values())
    values = compiled.parameter_sets[0] | best
    title = f"{spec.name}" + (f" — {label(list(best), list(best.values()))}" if best else "")
    bars = compiled.data if isinstance(compiled.data, Bars) else None
    files.append(result.plot(out / "chart.html", column=column, title=title,
                             overlays=overlays(spec, bars, values) if bars is not None else None,
                             entry_rules={side: f"entries.{side}" for side in ("long", "short")}))
    picked = result if result.single else result.column(column)
    files.append(picked.save(out / "result.npz"))  # the chosen set: what a report or a diff of the folder reads
    document = load(out / "strategy.yaml")  # the document the folder holds: a sweep's has the chosen set's defaults
    manifest = build_manifest(compiled, result, document=document, grid=grid, chosen=best,
                              stats=cast("pd.Series", picked.stats),  # one column: a Series
                              files=files)
    files.append(write_manifest(out, manifest))
    return files


#: the strategy and the data options of ``backgrid run``, shared by the commands that load a strategy's data
StrategyArgument = Annotated[str, typer.Argument(metavar="STRATEGY", help="A strategy file (.yaml / .json) or the "
                                                 "name of a ready strategy (backgrid strategies list).")]
SymbolOption = Annotated[list[str] | None, typer.Option("--symbol", "-s", help="Trade these symbols instead.")]
TimeframeOption = Annotated[str | None, typer.Option("--timeframe", "-t", help="Trade bars of this timeframe "
                                                     "instead.")]
StartOption = Annotated[str | None, typer.Option("--from", help="First date (inclusive), e.g. 2023-01-01.")]
EndOption = Annotated[str | None, typer.Option("--to", help="End date (exclusive).")]
CashOption = Annotated[float | None, typer.Option("--cash", help="Starting cash (> 0).")]
SourceOption = Annotated[str | None, typer.Option("--source", help="Read the stored series of this source (csv, "
                         "demo, ...) when a symbol is stored from several; sets market.source.")]


def data_options(symbol: SymbolOption = None, timeframe: TimeframeOption = None, start: StartOption = None,
                 end: EndOption = None, cash: CashOption = None, source: SourceOption = None) -> None:
    """The data options of the commands that load a strategy's data (see :func:`with_options`)."""


def load_strategy(strategy_file: str, *, symbol: list[str] | None = None, timeframe: str | None = None,
                  start: str | None = None, end: str | None = None, cash: float | None = None,
                  source: str | None = None) -> Strategy:
    """The strategy of a command's STRATEGY argument, with its data options applied (checked again)."""
    from backgrid.strategy.document import override, parse  # noqa: PLC0415

    spec = _strategy(strategy_file)
    if symbol or timeframe or start or end or cash is not None:  # --cash 0 is checked (and refused), not dropped
        spec = override(spec, symbols=symbol or None, timeframe=timeframe, start=start, end=end, cash=cash)
    if source is not None:  # checked and recorded in the strategy (its identity, and strategy.yaml with --out)
        document = spec.to_dict()
        document["market"]["source"] = source
        spec = parse(document, source=f"{spec.name} (with --source {source})")
    return spec


@command
@with_options(data_options)
def run(
    strategy_file: StrategyArgument,
    sweep: list[str] | None = typer.Option(None, "--sweep", help="Sweep a declared parameter: name=5,10,20, "
                                    "name=5:50:5, or name alone for its declared range. Repeat for a grid."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write stats, trades, equity, a chart and the "
                                    "sentence into this folder."),
    max_memory: str | None = typer.Option(None, "--max-memory", help="Memory a sweep may use, e.g. 8G or 512M "
                                          "(default: what the system has available)."),
    fetch: bool = typer.Option(False, "--fetch", help="Fetch from market-data vendors what the store lacks: "
                               "symbols not stored, and the part of the range a vendor's series lacks."),
    report: bool = typer.Option(False, "--report", help="Also write the tear sheet, tear.html, into the --out "
                                "folder (backgrid report FOLDER writes it later, or as a PDF)."),
    **data: Any,
) -> None:
    """Backtest a strategy document on its data and print the stats and what it does in plain English.

    A symbol the store lacks is fetched with --fetch, or when you agree on a terminal.
    """
    from backgrid.cli.fetching import fetch_missing  # noqa: PLC0415
    from backgrid.strategy.compiler import compile_strategy  # noqa: PLC0415
    from backgrid.strategy.footprint import available_memory, estimate, parse_bytes  # noqa: PLC0415
    from backgrid.strategy.market import market_data  # noqa: PLC0415
    from backgrid.strategy.summary import summary  # noqa: PLC0415

    if report and out is None:
        msg = "the tear sheet is written into the run folder: give --out too"
        raise typer.BadParameter(msg, param_hint="--report")
    spec = load_strategy(strategy_file, **data)
    grid = _sweep(sweep or [], spec)
    try:
        limit, limit_from = (parse_bytes(max_memory), "--max-memory") if max_memory else (available_memory(),
                                                                                            "MemAvailable")
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--max-memory") from None
    fetch_missing(spec.market, fetch=fetch)  # before the spinner: it may ask a question
    screen = console()
    with progress("loading data") as step:
        data = market_data(spec, progress=step)
        if grid:  # one parameter set allocates what a single backtest does
            step("estimating memory and time")
            footprint = estimate(spec, data, grid)
            footprint.check(limit, source=limit_from)
            error_console().print(f"sweep: {footprint.describe()}", markup=False, soft_wrap=True)
        step(f"compiling {spec.name}")
        compiled = compile_strategy(spec, data, grid)
        step(_running(len(compiled.parameter_sets)))
        result = compiled.run()
    sentence = summary(spec)
    synthetic = any(getattr(bars, "synthetic", False) for bars in data.values())
    screen.print(styled((spec.name, "bold"), f" — {sentence}"))
    screen.print(f"{len(result.index):,} bars from "
                 f"{result.index[0]:%Y-%m-%d} to {result.index[-1]:%Y-%m-%d}"
                 f"{' (SYNTHETIC demo data)' if synthetic else ''}; warm-up {compiled.warmup} bars; orders fill "
                 f"{'at the next open' if spec.execution.fill == 'next_open' else 'at the same close'}")
    screen.print(_stats_table(result.stats))
    for warning in result.warnings:  # why a run could not trade: on stderr, printed as written
        error_console().print(f"warning: {warning}", markup=False, soft_wrap=True)
    if out is not None:
        files = _write(out, compiled, result, grid)
        screen.print(f"wrote {', '.join(f.name for f in files)} to {out}")
        if report:
            from backgrid.cli.runs import write_report  # noqa: PLC0415

            write_report(out)


def _running(parameter_sets: int) -> str:
    """The progress line of a run: a first run compiles the engine's kernels (about 10 s), later ones load them."""
    from backgrid.engine.jit import kernel_compiled  # noqa: PLC0415

    if not kernel_compiled(columns=parameter_sets):
        return f"compiling the engine (first run only), then running {parameter_sets} parameter set(s)"
    return f"running {parameter_sets} parameter set(s)"


@app.command("list")
@command
def list_(json_: bool = JSON_OPTION, csv_: bool = CSV_OPTION) -> None:
    """List the ready strategies with what each does."""
    from backgrid.strategy.library import library_names, load_library  # noqa: PLC0415

    specs = [load_library(name) for name in library_names()]
    records = [{"name": s.name, "symbols": list(s.market.symbols), "timeframe": str(s.market.timeframe),
                "description": s.description} for s in specs]
    columns = [Column("name"), Column("market", lambda r: f"{', '.join(r['symbols'])} {r['timeframe']}", wrap=True),
               Column("description", wrap=True)]
    emit([Listing(columns, records, title="Ready strategies (backgrid run NAME)")], json_=json_, csv_=csv_)


@app.command("show")
@command
def show(name: str = typer.Argument(..., help="A ready strategy's name, or a strategy file."),
         json_: bool = typer.Option(False, "--json", help="Print the document as JSON instead of YAML.")) -> None:
    """Print a strategy's document, exactly as a file would hold it (YAML starts with its sentence as a comment)."""
    from backgrid.strategy.document import dump  # noqa: PLC0415
    from backgrid.strategy.summary import summary  # noqa: PLC0415

    spec = _strategy(name)
    if json_:
        sys.stdout.write(dump(spec, fmt="json"))
        return
    sentence = " ".join(summary(spec).split())  # one line: a comment cannot span lines
    sys.stdout.write(f"# {sentence}\n{dump(spec, fmt='yaml')}")


@app.command("validate")
@command
def validate(files: list[Path] = typer.Argument(..., help="Strategy files to check.")) -> None:
    """Check strategy files: shape, names, indicator parameters. Exits with 1 when one is malformed."""
    from backgrid.errors import SpecError  # noqa: PLC0415
    from backgrid.strategy.document import load  # noqa: PLC0415
    from backgrid.strategy.summary import summary  # noqa: PLC0415

    failed = 0
    screen, refusals = console(), error_console()
    for file in files:
        try:
            spec = load(file)
        except SpecError as exc:
            failed += 1
            refusals.print(styled(("✗", "red"), f" {exc}"), soft_wrap=True)
            continue
        screen.print(styled(("✓", "green"), f" {file}: {summary(spec)}"), soft_wrap=True)
    if failed:
        raise typer.Exit(1)


@app.command("schema")
@command
def schema() -> None:
    """Print the JSON Schema of strategy documents (for editors and the web UI)."""
    from backgrid.strategy.spec import json_schema  # noqa: PLC0415

    write_json(json_schema())
