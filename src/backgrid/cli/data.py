"""``backgrid data ...``: import, fetch, refresh, list, show, resample and delete stored series; list providers."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import typer

from backgrid.cli.common import App, command, console, error_console, progress, styled
from backgrid.cli.listing import CSV_OPTION, JSON_OPTION, Column, Listing, emit
from backgrid.data.watch import format_ttl

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from datetime import datetime

    import pandas as pd
    from rich.console import Console

    from backgrid.data.sources.csv import CsvFormatName
    from backgrid.data.store import DataStore, SeriesInfo
    from backgrid.data.validate import ValidationReport

app = App(help="Import, inspect and resample market data in the local store.", no_args_is_help=True)


def series_listing(infos: Sequence[SeriesInfo], *, title: str = "Stored series", brief: bool = False) -> Listing:
    """A listing with one record per stored series; ``brief`` shows symbol, timeframe, bars and dates."""
    headers = ["symbol", "timeframe", "bars", "first bar", "last bar"]
    if not brief:
        headers = ["source", *headers, "updated", "note"]
    columns = {
        "source": Column("source"), "symbol": Column("symbol"), "timeframe": Column("timeframe"),
        "bars": Column("bars", lambda r: f"{r['bars']:,}", justify="right"),
        "first bar": Column("first bar", lambda r: _when(r["first_bar"]), wrap=True),
        "last bar": Column("last bar", lambda r: _when(r["last_bar"]), wrap=True),
        "updated": Column("updated", lambda r: _when(r["updated"]), wrap=True, optional=True),
        "note": Column("note", _note, wrap=True),
    }
    records = [{"source": i.source, "symbol": i.symbol, "timeframe": str(i.timeframe), "bars": i.rows,
                "first_bar": _iso(i.first_ts), "last_bar": _iso(i.last_ts), "updated": _iso(i.updated_at),
                "synthetic": i.synthetic, "last_complete": i.last_complete, "adjustment": i.adjustment}
               for i in infos]
    return Listing([columns[h] for h in headers], records, title=title)


def _iso(stamp: pd.Timestamp | datetime | None) -> str | None:
    return None if stamp is None else stamp.isoformat()


def _when(iso: str | None) -> str:
    """``2024-01-02 03:04`` from an ISO time, ``-`` for none."""
    return "-" if iso is None else iso[:16].replace("T", " ")


def _note(record: Mapping[str, Any]) -> str:
    notes = ["synthetic" if record["synthetic"] else "", "" if record["last_complete"] else "last bar incomplete"]
    return ", ".join(filter(None, notes))


#: ``data show``'s words for what a series' prices account for.
_ADJUSTMENT_TEXT = {"raw": "raw (as traded)", "splits": "adjusted for splits",
                    "total": "adjusted for splits and dividends"}


def print_report(report: ValidationReport, *, screen: Console | None = None) -> None:
    """Print a validation report, colouring each finding by severity (standard output unless ``screen``)."""
    out = screen or console()
    if not report.findings:
        out.print(styled((f"validation: {report.rows_in:,} rows, no problems found", "green")))
    else:
        colours = {"error": "red", "warning": "yellow", "fixed": "cyan"}
        out.print(f"validation: {len(report.errors)} error(s), {len(report.warnings)} warning(s), "
                  f"{report.rows_in:,} rows in, {report.rows_out:,} rows kept")
        for f in report.findings:
            out.print(styled("  ", (f.severity, colours[f.severity]), f" [{f.check}] {f.message}"), soft_wrap=True)
    for line in report.inferred:  # what was guessed, not told: the user should know
        out.print(styled("  ", ("inferred", "yellow"), f" {line}"), soft_wrap=True)


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
    adjustment: str = typer.Option("raw", "--adjustment",
                                   help="What the prices already account for: raw (as traded), splits "
                                        "(e.g. a Yahoo download) or total (splits and dividends)."),
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
               "calendar": calendar, "policy": policy, "adjustment": adjustment}
    try:
        if file.suffix.lower() in (".parquet", ".pq"):
            bars, report = load_parquet(file, **options)
        else:
            bars, report = load_csv(file, format=cast("CsvFormatName", format_), sep=sep, decimal=decimal,
                                    **options)  # format checked there
    except ValidationError as exc:
        refusal = error_console()
        print_report(cast("ValidationReport", exc.report), screen=refusal)  # raised with its report
        refusal.print(styled(("nothing was imported", "red"),
                             " (use --fix CHECK or --warn CHECK to accept these rows)"), soft_wrap=True)
        raise typer.Exit(1) from None
    if source:
        from dataclasses import replace  # noqa: PLC0415

        bars = replace(bars, source=source)
    info = DataStore().write(bars, mode=mode)  # type: ignore[arg-type]
    print_report(report)
    if info.merge is not None:
        console().print(info.merge.describe(), soft_wrap=True)
    console().print(series_listing([info], title="Imported"))


@app.command("list")
@command
def list_(
    source: str | None = typer.Option(None, "--source", help="Only this source."),
    symbol: str | None = typer.Option(None, "--symbol", "-s", help="Only this symbol."),
    json_: bool = JSON_OPTION,
    csv_: bool = CSV_OPTION,
) -> None:
    """List the series in the store."""
    from backgrid.data.store import DataStore  # noqa: PLC0415

    store = DataStore()
    infos = store.list(source=source, symbol=symbol)
    if not infos and not (json_ or csv_):
        console().print(f"the store at {store.home} is empty; try `backgrid demo` or "
                        "`backgrid data import FILE --symbol S --timeframe T`", soft_wrap=True)
        return
    emit([series_listing(infos)], json_=json_, csv_=csv_)


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
        "bars": f"{info.rows:,}, {_when(_iso(info.first_ts))} .. {_when(_iso(info.last_ts))} UTC"
                + ("" if info.last_complete else ", last bar incomplete"),
        "calendar": bars.calendar.name + ("" if bars.calendar.inferred is None else
                                          f" (inferred, {bars.calendar.inferred.confidence} confidence; see below)"),
        "prices": _ADJUSTMENT_TEXT[info.adjustment],
        "updated": f"{info.updated_at:%Y-%m-%d %H:%M:%S} UTC",
        "file": f"{info.path} ({info.size_bytes:,} bytes)",
        "checksum": f"sha256 {info.checksum} (verified)",
    }
    for key, value in facts.items():
        out.print(styled((f"{key:>9}", "bold"), f"  {value}"), soft_wrap=True)
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
    console().print(series_listing([info], title=f"{symbol} {from_} -> {to}"))


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


def _when_option(value: str | None, option: str) -> pd.Timestamp | None:
    """A ``--from``/``--to`` value as a UTC time (naive: UTC); a clear error when it is no time."""
    import pandas as pd  # noqa: PLC0415

    from backgrid.errors import DataError  # noqa: PLC0415

    if value is None:
        return None
    try:
        stamp = pd.Timestamp(value)
    except ValueError as exc:
        msg = f"{option} must be a date or time such as 2024-01-31 or 2024-01-31T12:00, got {value!r}"
        raise DataError(msg) from exc
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _lineage_lines(info: SeriesInfo) -> list[str]:
    return [f"  {e.vendor}: {e.start:%Y-%m-%d %H:%M} .. {e.end:%Y-%m-%d %H:%M} UTC, fetched "
            f"{e.fetched_at:%Y-%m-%d %H:%M}" for e in info.lineage]


@app.command("fetch")
@command
def fetch(
    symbol: str = typer.Argument(..., help="Symbol as the vendor names it (BTC/USDT, AAPL, EURUSD=X)."),
    provider: list[str] = typer.Option([], "--provider", "-p",
                                       help="Vendor to ask (repeatable: asked in order); see `backgrid data "
                                            "providers`."),
    asset_class: str | None = typer.Option(None, "--asset-class", "-a",
                                           help="Ask this asset class's chain of vendors: crypto, equity or fx."),
    timeframe: str = typer.Option("1d", "--timeframe", "-t", help="Bar length: 1m 5m 15m 30m 1h 4h 1d 1w."),
    from_: str | None = typer.Option(None, "--from", help="First bar's open time (UTC when naive)."),
    to: str | None = typer.Option(None, "--to", help="End of the range, excluded (default: now)."),
) -> None:
    """Fetch bars from market-data vendors into the store; only what the store lacks is fetched."""
    from backgrid.data.providers.chain import chain_of, default_chain  # noqa: PLC0415
    from backgrid.data.store import DataStore  # noqa: PLC0415
    from backgrid.errors import DataError  # noqa: PLC0415

    if bool(provider) == bool(asset_class):
        msg = "name the vendors with --provider P (repeatable) or a chain with --asset-class crypto|equity|fx"
        raise DataError(msg)
    source = default_chain(asset_class) if asset_class else chain_of(provider)
    start, end = _when_option(from_, "--from"), _when_option(to, "--to")
    store = DataStore()
    with progress(f"fetching {symbol} {timeframe} from {source.name}"):
        store.backfill(source, symbol, timeframe, start=start, end=end)
    info = store.info(symbol, timeframe, source.name)
    out = console()
    out.print(series_listing([info], title=f"Fetched into source {source.name}", brief=True))
    out.print("served by:")
    for line in _lineage_lines(info):
        out.print(line, soft_wrap=True)


@app.command("refresh")
@command
def refresh(
    symbols: list[str] | None = typer.Argument(None, help="Symbols to refresh (default: every series from a vendor)."),
    watched_: bool = typer.Option(False, "--watched", help="Refresh the watched series whose ttl ran out "
                                                          "(backgrid data watched), and only those."),
) -> None:
    """Append the newest bars to stored series that came from vendors; exits with 1 when one fails."""
    from backgrid.data.providers.chain import vendor_source  # noqa: PLC0415
    from backgrid.data.store import DataStore  # noqa: PLC0415
    from backgrid.errors import BackgridError, DataError, SeriesNotFoundError, SourceError  # noqa: PLC0415

    store = DataStore()
    if watched_:
        if symbols:
            msg = "--watched refreshes the watch list; name no symbols with it"
            raise DataError(msg)
        _refresh_watched(store)
        return
    wanted: list[str | None] = list(symbols) if symbols else [None]
    infos = [i for s in wanted for i in store.list(symbol=s)]
    out, err = console(), error_console()
    done, failed = 0, 0
    for info in infos:
        label = f"{info.symbol} {info.timeframe} from {info.source}"
        try:
            source = vendor_source(info.source)
        except SourceError:
            out.print(f"{label}: skipped (not from a vendor)", soft_wrap=True)
            continue
        try:
            after = store.refresh(source, info.symbol, info.timeframe)
        except BackgridError as exc:
            err.print(styled(("failed:", "bold red"), f" {label}: {exc}"), soft_wrap=True)
            failed += 1
            continue
        done += 1
        out.print(f"{label}: {after.rows - info.rows:+,} bar(s), last {_when(_iso(after.last_ts))}", soft_wrap=True)
    if not infos:
        which = ", ".join(symbols) if symbols else "anything"
        msg = f"nothing to refresh: the store at {store.home} holds no series of {which}"
        raise SeriesNotFoundError(msg)
    if failed:
        err.print(f"{failed} series failed, {done} refreshed")
        raise typer.Exit(1)


def _refresh_watched(store: DataStore) -> None:
    """``data refresh --watched``: one line per watch; exits with 1 when one failed."""
    from backgrid.errors import SeriesNotFoundError  # noqa: PLC0415

    results = store.refresh_watched()
    if not results:
        msg = f"nothing to refresh: the watch list of {store.home} is empty; add to it with `backgrid data watch`"
        raise SeriesNotFoundError(msg)
    out, err = console(), error_console()
    for r in results:
        label = f"{r.watch.symbol} {r.watch.timeframe} from {r.watch.provider}"
        if r.status == "failed":
            err.print(styled(("failed:", "bold red"), f" {label}: {r.error}"), soft_wrap=True)
        elif r.status == "fresh":
            out.print(f"{label}: fresh (ttl {format_ttl(r.watch.ttl)})", soft_wrap=True)
        else:
            out.print(f"{label}: {r.added:+,} bar(s)", soft_wrap=True)
    failed = sum(r.status == "failed" for r in results)
    if failed:
        err.print(f"{failed} watched series failed, {len(results) - failed} fresh or refreshed")
        raise typer.Exit(1)


@app.command("watch")
@command
def watch(
    symbol: str = typer.Argument(..., help="Symbol as the vendor names it (BTC/USDT, AAPL, EURUSD=X)."),
    timeframe: str = typer.Option(..., "--timeframe", "-t", help="Bar length: 1m 5m 15m 30m 1h 4h 1d 1w."),
    provider: str | None = typer.Option(None, "--provider", "-p",
                                        help="Vendor or asset class (crypto, equity, fx) to fetch from (default: "
                                             "the stored series' vendor, else the asset class the symbol "
                                             "suggests)."),
    ttl: str | None = typer.Option(None, "--ttl", help="Refresh when older than this: 30m, 6h, 1d, 2w "
                                                       "(default: one bar)."),
) -> None:
    """Add a series to the watch list that `backgrid data refresh --watched` (and the service) keeps fresh."""
    from backgrid.data.store import DataStore  # noqa: PLC0415

    added = DataStore().watch(symbol, timeframe, provider, ttl=ttl)
    console().print(f"watching {added.symbol} {added.timeframe} from {added.provider}, refreshed when older than "
                    f"{format_ttl(added.ttl)}", soft_wrap=True)


@app.command("unwatch")
@command
def unwatch(
    symbol: str = typer.Argument(..., help="Symbol to stop watching."),
    timeframe: str | None = typer.Option(None, "--timeframe", "-t", help="Only this timeframe."),
    provider: str | None = typer.Option(None, "--provider", "-p", help="Only this vendor or asset class."),
) -> None:
    """Remove series from the watch list (the stored bars stay); exits with 1 when nothing matched."""
    from backgrid.data.store import DataStore  # noqa: PLC0415
    from backgrid.errors import SeriesNotFoundError  # noqa: PLC0415

    store = DataStore()
    removed = store.unwatch(symbol, timeframe, provider)
    if not removed:
        which = " ".join(filter(None, [repr(symbol), timeframe, provider and f"from {provider!r}"]))
        msg = f"nothing to unwatch: {which} is not on the watch list of {store.home}"
        raise SeriesNotFoundError(msg)
    console().print(f"stopped watching {removed} series of {symbol}")


@app.command("watched")
@command
def watched(json_: bool = JSON_OPTION, csv_: bool = CSV_OPTION) -> None:
    """List the watch list: each series' vendor, ttl, last bar and whether a refresh is due."""
    from datetime import UTC, datetime  # noqa: PLC0415

    from backgrid.data.store import DataStore  # noqa: PLC0415
    from backgrid.errors import SeriesNotFoundError  # noqa: PLC0415

    store = DataStore()
    now = datetime.now(UTC)
    records = []
    for w in store.watched():
        try:
            info: SeriesInfo | None = store.info(w.symbol, w.timeframe, w.provider)
        except SeriesNotFoundError:
            info = None
        records.append({"symbol": w.symbol, "timeframe": str(w.timeframe), "provider": w.provider,
                        "ttl": format_ttl(w.ttl), "ttl_seconds": int(w.ttl.total_seconds()),
                        "bars": None if info is None else info.rows,
                        "last_bar": None if info is None else _iso(info.last_ts),
                        "refreshed_at": _iso(w.refreshed_at), "due": w.due(info, now)})
    if not records and not (json_ or csv_):
        console().print(f"the watch list of {store.home} is empty; add to it with "
                        "`backgrid data watch SYMBOL --timeframe T`", soft_wrap=True)
        return
    columns = [Column("symbol"), Column("timeframe"), Column("provider"), Column("ttl"),
               Column("bars", lambda r: "-" if r["bars"] is None else f"{r['bars']:,}", justify="right"),
               Column("last bar", lambda r: _when(r["last_bar"]), wrap=True),
               Column("due", lambda r: "yes" if r["due"] else "no")]
    emit([Listing(columns, records, title="Watched series")], json_=json_, csv_=csv_)


@app.command("providers")
@command
def providers(json_: bool = JSON_OPTION, csv_: bool = CSV_OPTION) -> None:
    """List the market-data vendors: installed?, API keys set? (never their values), rate limits, asset classes."""
    import os  # noqa: PLC0415

    from backgrid.data.providers.chain import DEFAULT_CHAINS, PROVIDERS, chain_order, limit_of  # noqa: PLC0415

    records = []
    for name, spec in PROVIDERS.items():
        shown = "ccxt:<exchange>" if name == "ccxt" else name
        keys = [f"{v} {'set' if os.environ.get(v, '').strip() else 'missing'}" for v in spec.credentials]
        records.append({"provider": shown, "installed": spec.installed(), "requires": spec.requires,
                        "credentials": keys or ["none needed"], "limit": limit_of(name).describe(),
                        "asset_classes": list(spec.asset_classes)})
    columns = [Column("provider"), Column("installed", lambda r: "yes" if r["installed"] else "no"),
               Column("credentials", lambda r: ", ".join(r["credentials"]), wrap=True),
               Column("limit", wrap=True), Column("asset classes", lambda r: " ".join(r["asset_classes"]), wrap=True)]
    chains = "; ".join(f"{a}: {' -> '.join(chain_order(a))}" for a in DEFAULT_CHAINS)
    emit([Listing(columns, records, title="Market-data providers", caption=f"chains: {chains}")],
         json_=json_, csv_=csv_)
