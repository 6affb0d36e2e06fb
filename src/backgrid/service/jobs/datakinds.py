"""The runs that are not a strategy's: import a vendor's series, refresh stored series, report a finished run.

Each takes ``{"options": {...}}``; :func:`check` validates the options (the API calls it before queueing, the
kind again when it runs) and names each bad one by its path (``options.timeframe``). Kinds:

    import   ``{"symbol", "timeframe", "provider": [vendor, ...] | "asset_class": crypto | equity | fx,
             "start", "end"}``: the user's store gets what it lacks of the series
             (:meth:`~backgrid.data.store.DataStore.backfill`; vendors asked in order, the first that answers
             serves); the summary names the series, the bars added and who served them
    refresh  ``{"symbols": [...]}`` (default: every stored series that came from a vendor) or
             ``{"watched": true}`` (the watch list's due series): the bars newer than each series' last; a
             series that fails is reported in the summary and the others go on
    report   ``{"run": id, "pdf": false, "plain": false, "benchmark": symbol}``: the tear sheet (tear.html, or
             tear.pdf) of a finished run of the same user, from its files: the engine does not run again

A data run that added bars queues the user's auto-update strategies that trade the symbols, as the scheduler's
refresh does. A vendor that is down, slow or rate-limiting fails the attempt and the run is retried; unknown
vendors, refused credentials and series no vendor serves fail it at once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from backgrid.errors import BackgridError, SourceError
from backgrid.service.jobs.context import JobContext, Kind, Outcome, RequestError, check_options
from backgrid.service.jobs.lease import Claim
from backgrid.service.store import repository
from backgrid.service.store.db import now

if TYPE_CHECKING:
    import pandas as pd

    from backgrid.data.sources.base import DataSource
    from backgrid.data.store import DataStore, SeriesInfo

__all__ = ["ASSET_CLASSES", "KINDS", "OPTIONS", "SYMBOL", "check"]

#: a symbol as the API takes it
SYMBOL = r"^[A-Za-z0-9][A-Za-z0-9._/:=^-]{0,39}$"
ASSET_CLASSES = ("crypto", "equity", "fx")

OPTIONS: dict[str, tuple[str, ...]] = {
    "import": ("symbol", "timeframe", "provider", "asset_class", "start", "end"),
    "refresh": ("symbols", "watched"),
    "report": ("run", "pdf", "plain", "benchmark"),
}


def _symbol(value: Any, path: str) -> list[tuple[str, str]]:
    if isinstance(value, str) and re.fullmatch(SYMBOL, value):
        return []
    return [(path, f"expected a symbol (letters, digits and ._/:=^-, at most 40), got {value!r}")]


def _when(options: Mapping[str, Any], name: str, problems: list[tuple[str, str]]) -> pd.Timestamp | None:
    import pandas as pd  # noqa: PLC0415

    value = options.get(name)
    if value is None:
        return None
    try:
        stamp = pd.Timestamp(value) if isinstance(value, str) else None
    except ValueError:
        stamp = None
    if stamp is None or pd.isna(stamp):
        problems.append((f"options.{name}", f"expected a date or time (2024-01-31, 2024-01-31T12:00), got {value!r}"))
        return None
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _check_import(options: Mapping[str, Any]) -> list[tuple[str, str]]:
    from backgrid.data.providers.chain import chain_of  # noqa: PLC0415
    from backgrid.data.timeframe import Timeframe  # noqa: PLC0415

    problems = _symbol(options.get("symbol"), "options.symbol")
    try:
        Timeframe.parse(str(options.get("timeframe", "")))
    except BackgridError as exc:
        problems.append(("options.timeframe", str(exc)))
    vendors, asset_class = options.get("provider"), options.get("asset_class")
    if (vendors is None) == (asset_class is None):
        problems.append(("options.provider", ("give the vendors to ask (provider: [name, ...]) or an asset class "
                                              f"(asset_class: {' | '.join(ASSET_CLASSES)}), one of the two")))
    elif vendors is not None:
        if not (isinstance(vendors, list) and vendors and all(isinstance(v, str) for v in vendors)):
            problems.append(("options.provider", f"expected a non-empty list of vendor names, got {vendors!r}"))
        else:
            try:
                chain_of(vendors)
            except SourceError as exc:
                problems.append(("options.provider", str(exc)))
    elif asset_class not in ASSET_CLASSES:
        problems.append(("options.asset_class", f"expected one of {', '.join(ASSET_CLASSES)}, got {asset_class!r}"))
    start, end = _when(options, "start", problems), _when(options, "end", problems)
    if start is not None and end is not None and start >= end:
        problems.append(("options.end", f"expected a time after start ({start}), got {end}"))
    return problems


def _check_refresh(options: Mapping[str, Any]) -> list[tuple[str, str]]:
    symbols, watched = options.get("symbols"), options.get("watched", False)
    if not isinstance(watched, bool):
        return [("options.watched", f"expected true or false, got {watched!r}")]
    if watched and symbols is not None:
        return [("options.symbols", "the watch list is refreshed as it is: name no symbols with watched")]
    if symbols is None:
        return []
    if not isinstance(symbols, list) or not symbols:
        return [("options.symbols", f"expected a non-empty list of symbols, got {symbols!r}")]
    return [p for i, s in enumerate(symbols) for p in _symbol(s, f"options.symbols[{i}]")]


def _check_report(options: Mapping[str, Any]) -> list[tuple[str, str]]:
    problems = []
    if not isinstance(options.get("run"), str):
        problems.append(("options.run", f"expected the id of a finished run, got {options.get('run')!r}"))
    problems += [(f"options.{name}", f"expected true or false, got {options[name]!r}")
                 for name in ("pdf", "plain") if not isinstance(options.get(name, False), bool)]
    if options.get("benchmark") is not None:
        problems += _symbol(options["benchmark"], "options.benchmark")
    return problems


_CHECKS = {"import": _check_import, "refresh": _check_refresh, "report": _check_report}


def check(kind: str, options: Any) -> dict[str, Any]:
    """``options`` of a data run or a report when they are valid; a :class:`RequestError` naming each problem."""
    checked = check_options(options, OPTIONS[kind])
    if problems := _CHECKS[kind](checked):
        raise RequestError(problems)
    return checked


def _source(options: Mapping[str, Any]) -> DataSource:
    from backgrid.data.providers.chain import chain_of, default_chain  # noqa: PLC0415

    return chain_of(options["provider"]) if options.get("provider") else default_chain(options["asset_class"])


def _series(info: SeriesInfo) -> dict[str, Any]:
    return {"symbol": info.symbol, "timeframe": str(info.timeframe), "source": info.source, "rows": info.rows,
            "first": None if info.first_ts is None else info.first_ts.isoformat(),
            "last": None if info.last_ts is None else info.last_ts.isoformat(),
            "served_by": [{"vendor": e.vendor, "start": e.start.isoformat(), "end": e.end.isoformat()}
                          for e in info.lineage]}


def _landed(ctx: JobContext, infos: list[SeriesInfo], grown: set[str]) -> list[str]:
    """Record the series rows of ``infos``; queue the auto updates of the symbols in ``grown``; their ids."""
    from backgrid.service.jobs.scheduler import enqueue_auto_updates  # noqa: PLC0415  # it imports the digest

    with ctx.store.session() as session:
        for info in infos:
            repository.record_series(session, ctx.claim.user_id, info)
    return enqueue_auto_updates(ctx.settings, ctx.store, grown, now(), user_id=ctx.claim.user_id)


def _rows(info: SeriesInfo | None) -> int:
    return 0 if info is None else info.rows


def _import(claim: Claim, ctx: JobContext) -> Outcome:
    from backgrid.errors import SeriesNotFoundError  # noqa: PLC0415

    options = check("import", claim.request.get("options") or {})
    source, symbol, timeframe = _source(options), options["symbol"], options["timeframe"]
    store = ctx.data_store()
    try:
        before: SeriesInfo | None = store.info(symbol, timeframe, source.name)
    except SeriesNotFoundError:
        before = None
    ctx.progress(0.0, f"fetching {symbol} {timeframe} from {source.name}")
    store.backfill(source, symbol, timeframe, start=options.get("start"), end=options.get("end"))
    info = store.info(symbol, timeframe, source.name)
    added = info.rows - _rows(before)
    queued = _landed(ctx, [info], {symbol} if added > 0 else set())
    return Outcome({"series": _series(info), "added": added, "auto_updates": queued}, [])


def _refresh_watched(store: DataStore) -> tuple[list[dict[str, Any]], list[SeriesInfo]]:
    """The watch list's due series refreshed: an entry for each, and the infos of those refreshed."""
    results = store.refresh_watched()
    if not results:
        raise RequestError([("options.watched", "the watch list is empty: nothing to refresh")])
    done = [{"symbol": r.watch.symbol, "timeframe": str(r.watch.timeframe), "source": r.watch.provider,
             "status": r.status, "added": r.added, "error": r.error} for r in results]
    return done, [store.info(r.watch.symbol, r.watch.timeframe, r.watch.provider) for r in results
                  if r.status == "refreshed"]


def _refresh_series(ctx: JobContext, store: DataStore,
                    symbols: list[str] | None) -> tuple[list[dict[str, Any]], list[SeriesInfo]]:
    """The stored vendor series of ``symbols`` (all when None) refreshed: an entry for each, the infos after."""
    from backgrid.data.providers.chain import vendor_source  # noqa: PLC0415

    wanted: list[str | None] = list(symbols) if symbols else [None]
    vendors = []
    for info in [i for s in wanted for i in store.list(symbol=s)]:
        try:
            vendors.append((info, vendor_source(info.source)))
        except SourceError:
            continue  # an upload or demo bars: no vendor serves it
    if not vendors:
        which = ", ".join(symbols) if symbols else "any symbol"
        raise RequestError([("options.symbols", f"no series of {which} came from a vendor: nothing to refresh")])
    done: list[dict[str, Any]] = []
    infos: list[SeriesInfo] = []
    for number, (info, source) in enumerate(vendors):
        ctx.progress(number / len(vendors), f"refreshing {info.symbol} {info.timeframe} from {info.source}")
        entry = {"symbol": info.symbol, "timeframe": str(info.timeframe), "source": info.source}
        try:
            after = store.refresh(source, info.symbol, info.timeframe)
        except BackgridError as exc:
            done.append({**entry, "status": "failed", "added": 0, "error": str(exc)})
            continue
        infos.append(after)
        done.append({**entry, "status": "refreshed", "added": after.rows - info.rows, "error": None})
    return done, infos


def _refresh(claim: Claim, ctx: JobContext) -> Outcome:
    options = check("refresh", claim.request.get("options") or {})
    store = ctx.data_store()
    done, infos = (_refresh_watched(store) if options.get("watched")
                   else _refresh_series(ctx, store, options.get("symbols")))
    queued = _landed(ctx, infos, {d["symbol"] for d in done if d["added"] > 0})
    return Outcome({"series": done, "failed": sum(d["status"] == "failed" for d in done), "auto_updates": queued}, [])


def _run_folder(ctx: JobContext, run_id: str) -> Path:
    """The folder of the files of the user's finished run ``run_id`` (its ``result.npz`` among them)."""
    with ctx.store.session(write=False) as session:
        row = repository.run(session, ctx.claim.user_id, run_id)
        found = None if row is None else repository.artifact(session, run_id, "result.npz")
        status = None if row is None else row.status
    if row is None:
        raise RequestError([("options.run", f"no run {run_id}")])
    if found is None:
        raise RequestError([("options.run", (f"run {run_id} is {status} and has no result to report: a report "
                                             "is made of a succeeded backtest or sweep"))])
    return (ctx.settings.artifacts / found.path).parent


def _report(claim: Claim, ctx: JobContext) -> Outcome:
    from backgrid.report.folder import report_run  # noqa: PLC0415

    options = check("report", claim.request.get("options") or {})
    folder = _run_folder(ctx, options["run"])
    ctx.progress(0.0, f"writing the report of run {options['run']}")
    out = ctx.folder / ("tear.pdf" if options.get("pdf") else "tear.html")
    written = report_run(folder, out, pdf=bool(options.get("pdf")), plain=bool(options.get("plain")),
                         benchmark=options.get("benchmark"), store=ctx.data_store())
    return Outcome({"run": options["run"], "note": written.note}, [written.path])


KINDS: dict[str, Kind] = {"import": _import, "refresh": _refresh, "report": _report}
