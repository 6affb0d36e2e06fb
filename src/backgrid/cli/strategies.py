"""``backgrid run`` and ``backgrid strategies ...``: run, browse and check strategy documents."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from backgrid.cli.common import command, console, error_console

if TYPE_CHECKING:
    import pandas as pd

    from backgrid.engine.result import Result
    from backgrid.strategy.compiler import Compiled
    from backgrid.strategy.spec import Strategy

app = typer.Typer(help="Browse, show and check strategy documents.", no_args_is_help=True)


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
    import pandas as pd  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415

    table = Table()
    if isinstance(stats, pd.Series):
        table.add_column("metric")
        table.add_column("value", justify="right")
        for name, value in stats.items():
            table.add_row(str(name), _format(str(name), float(value)))
        return table
    best = stats.sort_values("sharpe_ratio", ascending=False)  # one row per parameter set
    names = [name or "column" for name in best.index.names]  # a sweep's: the swept parameters
    shown = ["total_return", "sharpe_ratio", "max_drawdown", "trades", "win_rate", "profit_factor"]
    headers = ["return", "Sharpe", "max DD", "trades", "win rate", "PF"]
    for column in [*names, *headers]:
        table.add_column(str(column), justify="right")
    for label, row in best.head(15).iterrows():
        keys = label if isinstance(label, tuple) else (label,)
        table.add_row(*(str(k) for k in keys), *(_format(m, float(row[m])) for m in shown))
    if len(best) > 15:
        table.caption = f"best 15 of {len(best)} parameter sets by Sharpe ratio; all of them in stats.csv"
    return table


def _write(out: Path, compiled: Compiled, result: Result, grid: dict[str, list[Any]]) -> list[Path]:
    """Write the run's files into ``out`` (a sweep's: see :mod:`backgrid.cli.sweeps`) and its chart."""
    from backgrid.cli.sweeps import label, overlays, with_defaults, write_sweep  # noqa: PLC0415
    from backgrid.data.bars import Bars  # noqa: PLC0415
    from backgrid.strategy.document import dump  # noqa: PLC0415
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
    return files


@command
def run(
    strategy_file: str = typer.Argument(..., metavar="STRATEGY", help="A strategy file (.yaml / .json) or the name "
                                        "of a ready strategy (backgrid strategies list)."),
    symbol: list[str] | None = typer.Option(None, "--symbol", "-s", help="Trade these symbols instead."),
    timeframe: str | None = typer.Option(None, "--timeframe", "-t", help="Trade bars of this timeframe instead."),
    start: str | None = typer.Option(None, "--from", help="First date (inclusive), e.g. 2023-01-01."),
    end: str | None = typer.Option(None, "--to", help="End date (exclusive)."),
    cash: float | None = typer.Option(None, "--cash", help="Starting cash."),
    sweep: list[str] | None = typer.Option(None, "--sweep", help="Sweep a declared parameter: name=5,10,20, "
                                    "name=5:50:5, or name alone for its declared range. Repeat for a grid."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write stats, trades, equity, a chart and the "
                                    "sentence into this folder."),
    max_memory: str | None = typer.Option(None, "--max-memory", help="Memory a sweep may use, e.g. 8G or 512M "
                                          "(default: what the system has available)."),
) -> None:
    """Backtest a strategy document on its data and print the stats and what it does in plain English."""
    from backgrid.strategy.compiler import compile_strategy  # noqa: PLC0415
    from backgrid.strategy.document import override  # noqa: PLC0415
    from backgrid.strategy.footprint import available_memory, estimate, parse_bytes  # noqa: PLC0415
    from backgrid.strategy.market import market_data  # noqa: PLC0415
    from backgrid.strategy.summary import summary  # noqa: PLC0415

    spec = _strategy(strategy_file)
    if symbol or timeframe or start or end or cash:
        spec = override(spec, symbols=symbol or None, timeframe=timeframe, start=start, end=end, cash=cash)
    grid = _sweep(sweep or [], spec)
    try:
        limit, source = (parse_bytes(max_memory), "--max-memory") if max_memory else (available_memory(),
                                                                                        "MemAvailable")
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--max-memory") from None
    screen = console()
    with screen.status("loading data") as status:
        data = market_data(spec, progress=status.update)
        if grid:  # one parameter set allocates what a single backtest does
            status.update("estimating memory and time")
            footprint = estimate(spec, data, grid)
            footprint.check(limit, source=source)
            error_console().print(f"sweep: {footprint.describe()}", markup=False, soft_wrap=True)
        status.update(f"compiling {spec.name}")
        compiled = compile_strategy(spec, data, grid)
        status.update(f"running {len(compiled.parameter_sets)} parameter set(s)")
        result = compiled.run()
    sentence = summary(spec)
    synthetic = any(getattr(bars, "synthetic", False) for bars in data.values())
    screen.print(f"[bold]{spec.name}[/] — {sentence}")
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


@app.command("list")
@command
def list_() -> None:
    """List the ready strategies with what each does."""
    from rich.table import Table  # noqa: PLC0415

    from backgrid.strategy.library import library_names, load_library  # noqa: PLC0415

    table = Table(title="Ready strategies (backgrid run NAME)", title_justify="left")
    for column in ("name", "market", "description"):
        table.add_column(column, no_wrap=column != "description")
    for name in library_names():
        spec = load_library(name)
        table.add_row(name, f"{', '.join(spec.market.symbols)} {spec.market.timeframe}", spec.description)
    console().print(table)


@app.command("show")
@command
def show(name: str = typer.Argument(..., help="A ready strategy's name, or a strategy file."),
         json_: bool = typer.Option(False, "--json", help="Print the document as JSON instead of YAML.")) -> None:
    """Print a strategy's document and its plain-English sentence."""
    from backgrid.strategy.document import dump  # noqa: PLC0415
    from backgrid.strategy.summary import summary  # noqa: PLC0415

    spec = _strategy(name)
    screen = console()
    screen.print(f"# {summary(spec)}", markup=False, soft_wrap=True)
    screen.print(dump(spec, fmt="json" if json_ else "yaml"), markup=False, end="")


@app.command("validate")
@command
def validate(files: list[Path] = typer.Argument(..., help="Strategy files to check.")) -> None:
    """Check strategy files: shape, names, indicator parameters. Exits with 1 when one is malformed."""
    from backgrid.errors import SpecError  # noqa: PLC0415
    from backgrid.strategy.document import load  # noqa: PLC0415
    from backgrid.strategy.summary import summary  # noqa: PLC0415

    failed = 0
    screen = console()
    for file in files:
        try:
            spec = load(file)
        except SpecError as exc:
            failed += 1
            screen.print(f"[red]✗[/] {exc}", soft_wrap=True)
            continue
        screen.print(f"[green]✓[/] {file}: {summary(spec)}", soft_wrap=True)
    if failed:
        raise typer.Exit(1)


@app.command("schema")
@command
def schema() -> None:
    """Print the JSON Schema of strategy documents (for editors and the web UI)."""
    import json  # noqa: PLC0415

    from backgrid.strategy.spec import json_schema  # noqa: PLC0415

    console().print_json(json.dumps(json_schema()))
