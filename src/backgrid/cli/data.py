"""``backgrid data ...``: import, list, show, resample and delete stored series."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import typer

from backgrid.cli.common import command, console

if TYPE_CHECKING:
    from collections.abc import Sequence

    import pandas as pd
    from rich.table import Table

    from backgrid.data.sources.csv import CsvFormatName
    from backgrid.data.store import SeriesInfo
    from backgrid.data.validate import ValidationReport

app = typer.Typer(help="Import, inspect and resample market data in the local store.", no_args_is_help=True)


def series_table(infos: Sequence[SeriesInfo], *, title: str = "Stored series", brief: bool = False) -> Table:
    """A table with one row per stored series; ``brief`` keeps symbol, timeframe, bars and dates."""
    from rich import box  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415

    names = ["symbol", "timeframe", "bars", "first bar", "last bar"]
    if not brief:
        names = ["source", *names, "updated", "note"]
    table = Table(title=title, box=box.SIMPLE_HEAD)
    for name in names:
        table.add_column(name, justify="right" if name == "bars" else "left", no_wrap=True)
    for info in infos:
        note = "synthetic" if info.synthetic else ""
        if not info.last_complete:
            note = ", ".join(filter(None, [note, "last bar incomplete"]))
        cells = {"source": info.source, "symbol": info.symbol, "timeframe": str(info.timeframe),
                 "bars": f"{info.rows:,}", "first bar": _when(info.first_ts), "last bar": _when(info.last_ts),
                 "updated": info.updated_at.strftime("%Y-%m-%d %H:%M"), "note": note}
        table.add_row(*(cells[name] for name in names))
    return table


def _when(stamp: pd.Timestamp | None) -> str:
    return "-" if stamp is None else stamp.strftime("%Y-%m-%d %H:%M")


def print_report(report: ValidationReport) -> None:
    """Print a validation report, colouring each finding by severity."""
    out = console()
    if not report.findings:
        out.print(f"[green]validation: {report.rows_in:,} rows, no problems found[/]")
    else:
        colours = {"error": "red", "warning": "yellow", "fixed": "cyan"}
        out.print(f"validation: {len(report.errors)} error(s), {len(report.warnings)} warning(s), "
                  f"{report.rows_in:,} rows in, {report.rows_out:,} rows kept")
        for f in report.findings:
            out.print(f"  [{colours[f.severity]}]{f.severity}[/] [{f.check}] {f.message}", soft_wrap=True)
    for line in report.inferred:  # what was guessed, not told: the user should know
        out.print(f"  [yellow]inferred[/] {line}", soft_wrap=True)


@app.command("import")
@command
def import_(
    file: Path = typer.Argument(..., help="CSV or Parquet file.", exists=False),
    symbol: str = typer.Option(..., "--symbol", "-s", help="Symbol to store the series under."),
    timeframe: str = typer.Option(..., "--timeframe", "-t", help="Bar length: 1m 5m 15m 30m 1h 4h 1d 1w."),
    format_: str = typer.Option("auto", "--format", "-f",
                                help="CSV layout: auto, yahoo, tradingview, binance, metatrader, generic."),
    tz: str = typer.Option("UTC", "--tz", help="Time zone of times written without an offset."),
    date_format: str | None = typer.Option(None, "--date-format", help="strftime pattern of the time column."),
    calendar: str | None = typer.Option(None, "--calendar", help="crypto, us-equity or fx (default: inferred)."),
    fix: list[str] = typer.Option([], "--fix", help="Repair this check instead of refusing (repeatable); "
                                                    "'all' repairs everything repairable."),
    warn: list[str] = typer.Option([], "--warn", help="Only warn about this check (repeatable)."),
    mode: str = typer.Option("replace", "--mode", help="replace the stored series, or merge into it."),
    source: str | None = typer.Option(None, "--source", help="Store under this source name (default: the format)."),
    sep: str | None = typer.Option(None, "--sep", help="Column separator of a CSV file (default: detected)."),
    decimal: str | None = typer.Option(None, "--decimal", help="Decimal mark of a CSV file, . or , "
                                                               "(default: detected)."),
) -> None:
    """Validate a file and store it; nothing is written unless validation passes."""
    from backgrid.data.frames import load_parquet  # noqa: PLC0415
    from backgrid.data.sources.csv import load_csv  # noqa: PLC0415
    from backgrid.data.store import DataStore  # noqa: PLC0415
    from backgrid.data.validate import ValidationPolicy  # noqa: PLC0415
    from backgrid.errors import DataError, ValidationError  # noqa: PLC0415

    if mode not in ("replace", "merge"):
        msg = f"--mode must be replace or merge, got {mode!r}"
        raise DataError(msg)
    policy: ValidationPolicy | dict[str, str] | str
    policy = "lenient" if "all" in fix else {**dict.fromkeys(warn, "warn"), **dict.fromkeys(fix, "fix")}
    options: dict[str, Any] = {"symbol": symbol, "timeframe": timeframe, "tz": tz, "date_format": date_format,
               "calendar": calendar, "policy": policy}
    try:
        if file.suffix.lower() in (".parquet", ".pq"):
            bars, report = load_parquet(file, **options)
        else:
            bars, report = load_csv(file, format=cast("CsvFormatName", format_), sep=sep, decimal=decimal,
                                    **options)  # format checked there
    except ValidationError as exc:
        print_report(cast("ValidationReport", exc.report))  # validation raises it with its ValidationReport
        console().print("[red]nothing was imported[/] (use --fix CHECK or --warn CHECK to accept these rows)")
        raise typer.Exit(1) from None
    if source:
        from dataclasses import replace  # noqa: PLC0415

        bars = replace(bars, source=source)
    info = DataStore().write(bars, mode=mode)  # type: ignore[arg-type]
    print_report(report)
    if info.merge is not None:
        console().print(info.merge.describe(), soft_wrap=True)
    console().print(series_table([info], title="Imported"))


@app.command("list")
@command
def list_(
    source: str | None = typer.Option(None, "--source", help="Only this source."),
    symbol: str | None = typer.Option(None, "--symbol", "-s", help="Only this symbol."),
) -> None:
    """List the series in the store."""
    from backgrid.data.store import DataStore  # noqa: PLC0415

    store = DataStore()
    infos = store.list(source=source, symbol=symbol)
    if not infos:
        console().print(f"the store at {store.home} is empty; try [bold]backgrid demo[/] or "
                        "[bold]backgrid data import FILE --symbol S --timeframe T[/]")
        return
    console().print(series_table(infos))


@app.command("show")
@command
def show(
    symbol: str = typer.Argument(..., help="Symbol to show."),
    timeframe: str | None = typer.Option(None, "--timeframe", "-t", help="Timeframe (default: the shortest)."),
    source: str | None = typer.Option(None, "--source", help="Source, when several have the symbol."),
) -> None:
    """Summarise a stored series and validate it again."""
    from backgrid.data.store import DataStore  # noqa: PLC0415
    from backgrid.data.validate import validate  # noqa: PLC0415
    from backgrid.errors import SeriesNotFoundError  # noqa: PLC0415

    store = DataStore()
    if timeframe is None:
        found = store.list(source=source, symbol=symbol)
        if not found:
            msg = f"no series for {symbol!r} in the store at {store.home}"
            raise SeriesNotFoundError(msg)
        timeframe = str(min(found, key=lambda i: i.timeframe).timeframe)
    bars = store.read(symbol, timeframe, source=source, verify=True)
    info = store.info(symbol, timeframe, source=bars.source)
    out = console()
    facts = {
        "series": f"{info.symbol} {info.timeframe} from {info.source}"
                  + (" (SYNTHETIC demo data)" if info.synthetic else ""),
        "bars": f"{info.rows:,}, {_when(info.first_ts)} .. {_when(info.last_ts)} UTC"
                + ("" if info.last_complete else ", last bar incomplete"),
        "calendar": bars.calendar.name + ("" if bars.calendar.inferred is None else
                                          f" (inferred, {bars.calendar.inferred.confidence} confidence; see below)"),
        "updated": info.updated_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
        "file": f"{info.path} ({info.size_bytes:,} bytes)",
        "checksum": f"sha256 {info.checksum} (verified)",
    }
    for key, value in facts.items():
        out.print(f"[bold]{key:>9}[/]  {value}", soft_wrap=True)
    if len(bars):
        frame = bars.to_pandas()
        out.print(frame.describe().loc[["min", "mean", "max"]].to_string(float_format=lambda x: f"{x:,.4f}"))
    print_report(validate(bars))


@app.command("resample")
@command
def resample_(
    symbol: str = typer.Argument(..., help="Symbol to resample."),
    from_: str = typer.Option(..., "--from", help="Stored timeframe to read."),
    to: str = typer.Option(..., "--to", help="Target timeframe to write."),
    source: str | None = typer.Option(None, "--source", help="Source, when several have the symbol."),
) -> None:
    """Resample a stored series to a higher timeframe and store the result."""
    from backgrid.data.resample import resample  # noqa: PLC0415
    from backgrid.data.store import DataStore  # noqa: PLC0415

    store = DataStore()
    bars = resample(store.read(symbol, from_, source=source), to)
    info = store.write(bars)
    console().print(series_table([info], title=f"{symbol} {from_} -> {to}"))


@app.command("delete")
@command
def delete(
    symbol: str = typer.Argument(..., help="Symbol to delete."),
    timeframe: str | None = typer.Option(None, "--timeframe", "-t", help="Only this timeframe."),
    source: str | None = typer.Option(None, "--source", help="Only this source."),
) -> None:
    """Delete stored series of a symbol; exits with 1 when nothing matched."""
    from backgrid.data.store import DataStore  # noqa: PLC0415
    from backgrid.errors import SeriesNotFoundError  # noqa: PLC0415

    store = DataStore()
    removed = store.delete(symbol, timeframe, source=source)
    if not removed:
        which = " ".join(filter(None, [repr(symbol), timeframe, source and f"from source {source!r}"]))
        msg = f"nothing to delete: no series {which} in the store at {store.home}"
        raise SeriesNotFoundError(msg)
    console().print(f"deleted {removed} series of {symbol}")
