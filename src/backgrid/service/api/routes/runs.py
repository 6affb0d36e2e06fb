"""Runs: queue any kind, list, read, cancel, delete, stream progress, read results and artifacts, compare."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session
from sse_starlette import EventSourceResponse

from backgrid.errors import AmbiguousSeriesError, SeriesNotFoundError, SpecError
from backgrid.service import schemas
from backgrid.service.api.errors import ApiError, problems_of
from backgrid.service.api.paging import Limit, Offset, page
from backgrid.service.api.routes.strategies import checked, owned
from backgrid.service.deps import CallerDep, Context, ContextDep, SessionDep, SettingsDep, StoreDep, StreamCallerDep
from backgrid.service.jobs import datakinds
from backgrid.service.jobs.context import RequestError, check_options
from backgrid.service.jobs.kinds import OPTIONS
from backgrid.service.results import equity_points, json_records
from backgrid.service.settings import Settings
from backgrid.service.store import repository
from backgrid.service.store.models import FINISHED_STATES, RUN_STATES, Run, User
from backgrid.service.userdata import user_store
from backgrid.strategy.compiler import parameter_sets
from backgrid.strategy.spec import Strategy

router = APIRouter(prefix="/runs", tags=["runs"])

#: how often the event stream looks at the run's row
EVENT_POLL_SECONDS = 0.05


def _document(body: schemas.RunIn, caller: User, session: Session) -> tuple[Strategy, str | None]:
    if (body.strategy_id is None) == (body.document is None):
        raise ApiError(422, "invalid_request", "give either strategy_id (a saved strategy) or document (inline)",
                       [{"path": "body.strategy_id", "message": "exactly one of strategy_id and document"}])
    if body.document is not None:
        return checked(body.document), None
    row = owned(session, caller.id, str(body.strategy_id))
    version = repository.version(session, row.id, body.version)
    if version is None:
        raise ApiError(404, "not_found", f"strategy {row.id} has no version {body.version}")
    return checked(version.document, "version.document"), version.id


def _check_options(body: schemas.RunIn) -> None:
    try:
        check_options(body.options, OPTIONS[body.kind])
    except RequestError as exc:
        raise ApiError(422, "invalid_request", f"the options are invalid: {exc}",
                       problems_of(exc, "body")) from None


def _parameter_sets(spec: Strategy, body: schemas.RunIn) -> int:
    sweep = body.options.get("sweep") if body.kind == "sweep" else None
    if body.kind == "sweep" and not isinstance(sweep, dict):
        raise ApiError(422, "invalid_request", "a sweep needs options.sweep: {parameter: [values]}",
                       [{"path": "body.options.sweep", "message": "expected an object of value lists"}])
    try:
        return len(parameter_sets(spec, sweep))
    except SpecError as exc:
        raise ApiError(422, "invalid_request", f"the sweep is invalid: {exc}",
                       problems_of(exc, "body.options")) from None  # its paths start at sweep.
    except (TypeError, ValueError) as exc:
        raise ApiError(422, "invalid_request", f"the sweep is invalid: {exc}",
                       [{"path": "body.options.sweep", "message": str(exc)}]) from None


def _bars(spec: Strategy, settings: Settings, user_id: str) -> int:
    """Bars of the strategy's series that the caller's store holds (a series not stored yet counts 0)."""
    store = user_store(settings.home, user_id)
    total = 0
    for symbol in spec.market.symbols:
        try:
            total += store.info(symbol, spec.market.timeframe, spec.market.source).rows
        except (SeriesNotFoundError, AmbiguousSeriesError):
            continue
    return total


def _work_quota(caller: User, settings: Settings, spec: Strategy, sets: int) -> None:
    limits = settings.limits(caller.tier)
    work = sets * _bars(spec, settings, caller.id)
    if work > limits.bar_sets_per_run:
        raise ApiError(429, "quota_exceeded", f"this run simulates {work:,} bars × parameter sets; your tier "
                       f"allows {limits.bar_sets_per_run:,} per run: sweep fewer sets or a shorter period",
                       {"bar_sets": work, "bar_sets_per_run": limits.bar_sets_per_run})


def _run_quota(session: Session, caller: User, settings: Settings) -> None:
    limits = settings.limits(caller.tier)
    recent, active = repository.run_load(session, caller.id, since=time.time() - 3600)
    if recent >= limits.runs_per_hour:
        raise ApiError(429, "quota_exceeded", f"your tier allows {limits.runs_per_hour} runs per hour",
                       {"runs_per_hour": limits.runs_per_hour}, headers={"Retry-After": "60"})
    if active >= limits.concurrent_runs:
        raise ApiError(429, "quota_exceeded", f"your tier allows {limits.concurrent_runs} runs queued or running "
                       "at once; wait for one to finish", {"concurrent_runs": limits.concurrent_runs},
                       headers={"Retry-After": "5"})


def _config_hash(kind: str, options: dict[str, Any], spec: Strategy | None = None) -> str:
    given = json.dumps(options, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{kind}\n{'' if spec is None else spec.fingerprint()}\n{given}".encode()).hexdigest()


def _data_request(body: schemas.RunIn, caller: User, session: Session,
                  options_at: str) -> tuple[dict[str, Any], str | None]:
    """The options of a data run or a report, checked (problems named under ``options_at``), and its parent (the
    run a report is of)."""
    if body.strategy_id is not None or body.document is not None:
        raise ApiError(422, "invalid_request", f"a {body.kind} run takes options only, no strategy",
                       [{"path": "body.strategy_id" if body.document is None else "body.document",
                         "message": f"not taken by a {body.kind} run"}])
    try:
        options = datakinds.check(body.kind, body.options)
    except RequestError as exc:
        problems = [{"path": options_at + p["path"].removeprefix("body.options"), "message": p["message"]}
                    for p in problems_of(exc, "body")]
        raise ApiError(422, "invalid_request", f"the options are invalid: {exc}", problems) from None
    if body.kind != "report":
        return options, None
    of = _owned(session, caller, options["run"])
    if of.status != "succeeded" or repository.artifact(session, of.id, "result.npz") is None:
        raise ApiError(409, "no_results", f"run {of.id} is a {of.status} {of.kind}: a report is made of a "
                       "succeeded backtest or sweep", {"status": of.status, "kind": of.kind})
    return options, of.id


def queue(session: Session, context: Context, caller: User, body: schemas.RunIn, *,
          options_at: str = "body.options") -> Run:
    """Queue the run ``body`` asks for, within the caller's quotas (the runs and data routes' one way in).

    ``options_at`` is where a data route's body holds the options, which a problem's path names.
    """
    settings = context.settings
    version_id = parent_id = None
    if body.kind in datakinds.OPTIONS:
        options, parent_id = _data_request(body, caller, session, options_at)
        request: dict[str, Any] = {"options": options}
        config_hash = _config_hash(body.kind, options)
    else:
        spec, version_id = _document(body, caller, session)
        _check_options(body)
        sets = _parameter_sets(spec, body)
        _work_quota(caller, settings, spec, sets)
        request = {"document": spec.to_dict(), "options": body.options, "sets": sets}
        config_hash = _config_hash(body.kind, body.options, spec)
    _run_quota(session, caller, settings)
    row = repository.create_run(session, user_id=caller.id, kind=body.kind, priority=body.priority, request=request,
                                strategy_version_id=version_id, parent_id=parent_id,
                                max_attempts=settings.max_attempts, config_hash=config_hash)
    repository.add_event(session, user_id=caller.id, name="run_created", properties={"kind": body.kind})
    if context.dispatch is not None:  # scaled out: its job in the same transaction, one commit for both
        context.dispatch(row.id, row.queue, row.priority, session.connection().connection.driver_connection)
        session.commit()  # queued for good before the answer says so
    return row


@router.post("", status_code=202, response_model=schemas.RunOut)
def create(body: schemas.RunIn, caller: CallerDep, session: SessionDep, context: ContextDep) -> object:
    """Queue a run: of a saved strategy's version or an inline document (a QuantMetrics request too), a data
    import or refresh, or the report of a finished run."""
    return queue(session, context, caller, body)


def _owned(session: Session, caller: User, run_id: str) -> Run:
    row = repository.run(session, caller.id, run_id)
    if row is None:
        raise ApiError(404, "not_found", f"no run {run_id}")
    return row


@router.get("", response_model=schemas.Page[schemas.RunOut])
def list_runs(caller: CallerDep, session: SessionDep, limit: Limit = 50, offset: Offset = 0,
              kind: Annotated[schemas.RunKind | None, Query()] = None,
              status: Annotated[schemas.RunState | None, Query()] = None,
              parent_id: Annotated[str | None, Query(max_length=32)] = None,
              strategy_id: Annotated[str | None, Query(max_length=32)] = None) -> object:
    """The caller's runs, newest first; filter by kind, status, parent run or strategy."""
    found = repository.list_runs(session, caller.id, kind=kind, status=status, parent_id=parent_id,
                                 strategy_id=strategy_id, limit=limit, offset=offset)
    return page([schemas.RunOut.model_validate(r) for r in found.rows], found.total, limit, offset)


@router.get("/compare", response_model=schemas.Comparison)
def compare(caller: CallerDep, session: SessionDep, context: ContextDep,
            ids: Annotated[list[str], Query(min_length=2, max_length=20, description="Run ids, 2 to 20.")]) -> object:
    """Headline statistics of several finished runs side by side."""
    runs = [_owned(session, caller, run_id) for run_id in ids]
    stats = {}
    for row in runs:
        result = _result(session, context, row)
        values = result.stats.to_frame().T if result.single else result.stats.iloc[[0]]  # counts stay ints
        stats[row.id] = {str(k): v for k, v in json_records(values)[0].items()}
    metrics = sorted({m for s in stats.values() for m in s})
    return {"runs": [r.id for r in runs], "metrics": metrics,
            "values": {m: [stats[r.id].get(m) for r in runs] for m in metrics}}


@router.get("/{run_id}", response_model=schemas.RunOut)
def get(run_id: str, caller: CallerDep, session: SessionDep) -> object:
    """A run's state and headline numbers."""
    return _owned(session, caller, run_id)


@router.post("/{run_id}/cancel", response_model=schemas.RunOut)
def cancel(run_id: str, caller: CallerDep, session: SessionDep) -> object:
    """Cancel a run: a queued one at once, a running one within a second (between engine chunks)."""
    row = _owned(session, caller, run_id)
    if row.status in FINISHED_STATES:
        raise ApiError(409, "finished", f"run {run_id} has already finished ({row.status})")
    repository.cancel_run(session, row)
    return row


@router.delete("/{run_id}", status_code=204)
def delete(run_id: str, caller: CallerDep, session: SessionDep, settings: SettingsDep) -> Response:
    """Delete a finished run and its files."""
    row = _owned(session, caller, run_id)
    if row.status not in FINISHED_STATES:
        raise ApiError(409, "not_finished", f"run {run_id} is {row.status}: cancel it first")
    folder = settings.artifacts / row.id
    repository.delete_run(session, row)
    session.flush()
    _remove(folder)
    return Response(status_code=204)


def _remove(folder: Any) -> None:
    import shutil  # noqa: PLC0415  # only deletes need it

    shutil.rmtree(folder, ignore_errors=True)


def _state(store_session: Any, user_id: str, run_id: str) -> dict[str, Any] | None:
    with store_session() as session:
        row = repository.run(session, user_id, run_id)
        return None if row is None else schemas.RunOut.model_validate(row).model_dump(mode="json")


@router.get("/{run_id}/events", response_class=EventSourceResponse,
            responses={200: {"content": {"text/event-stream": {}}, "description": "Server-sent events."}})
async def events(run_id: str, request: Request, caller: StreamCallerDep, store: StoreDep) -> EventSourceResponse:
    """Progress as server-sent events: ``progress`` whenever it changes (at least every 5 %), then ``done``."""
    user_id = caller.id
    first: dict[str, Any] | None = await run_in_threadpool(_state, store.session, user_id, run_id)
    if first is None:
        raise ApiError(404, "not_found", f"no run {run_id}")

    async def stream() -> AsyncIterator[dict[str, str]]:
        state: dict[str, Any] | None = first
        last = None
        while state is not None:
            seen = (state["status"], state["progress"], state["message"])
            if seen != last:
                last = seen
                yield {"event": "progress", "data": json.dumps(state)}
            if state["status"] in FINISHED_STATES:
                yield {"event": "done", "data": json.dumps(state)}
                return
            if await request.is_disconnected():
                return
            await asyncio.sleep(EVENT_POLL_SECONDS)
            state = await run_in_threadpool(_state, store.session, user_id, run_id)

    return EventSourceResponse(stream(), ping=15)


def _finished(row: Run) -> None:
    if row.status != "succeeded":
        raise ApiError(409, "no_results", f"run {row.id} is {row.status}; results exist once it has succeeded",
                       {"status": row.status, "error": row.error})


def _artifact_path(session: Session, settings: Settings, row: Run, name: str) -> Any:
    found = repository.artifact(session, row.id, name)
    if found is None:
        raise ApiError(404, "not_found", f"run {row.id} has no artifact {name!r}",
                       {"artifacts": [a.name for a in repository.artifacts(session, row.id)]})
    return settings.artifacts / found.path


def _result(session: Session, context: Context, row: Run) -> Any:
    _finished(row)
    return context.results.load(_artifact_path(session, context.settings, row, "result.npz"))


@router.get("/{run_id}/results", response_model=schemas.Results)
def results(run_id: str, caller: CallerDep, session: SessionDep, context: ContextDep) -> object:
    """Every statistic of each parameter set, the warnings, and the plain-language insights."""
    row = _owned(session, caller, run_id)
    result = _result(session, context, row)
    stats = result.stats.to_frame().T if result.single else result.stats
    insights = [i.to_dict() for i in result.insights()] if result.single else []
    return {"stats": json_records(stats.reset_index(names="column") if not result.single else stats),
            "warnings": list(result.warnings), "insights": insights}


@router.get("/{run_id}/trades", response_model=schemas.Page[dict[str, Any]])
def trades(run_id: str, caller: CallerDep, session: SessionDep, context: ContextDep,
           limit: Limit = 100, offset: Offset = 0) -> object:
    """The trades, in entry order, a page at a time."""
    frame = _result(session, context, _owned(session, caller, run_id)).trades
    return page(json_records(frame.iloc[offset:offset + limit]), len(frame), limit, offset)


@router.get("/{run_id}/orders", response_model=schemas.Page[dict[str, Any]])
def orders(run_id: str, caller: CallerDep, session: SessionDep, context: ContextDep,
           limit: Limit = 100, offset: Offset = 0) -> object:
    """Every order event (fills and refusals), in time order, a page at a time."""
    frame = _result(session, context, _owned(session, caller, run_id)).orders
    return page(json_records(frame.iloc[offset:offset + limit]), len(frame), limit, offset)


@router.get("/{run_id}/trials", response_model=schemas.Page[schemas.TrialOut])
def trials(run_id: str, caller: CallerDep, session: SessionDep, limit: Limit = 100, offset: Offset = 0) -> object:
    """An optimisation's evaluated parameter sets, by number: values, objective, metrics."""
    found = repository.trials(session, _owned(session, caller, run_id).id, limit=limit, offset=offset)
    return page([schemas.TrialOut.model_validate(t) for t in found.rows], found.total, limit, offset)


@router.get("/{run_id}/folds", response_model=list[schemas.FoldOut])
def folds(run_id: str, caller: CallerDep, session: SessionDep) -> object:
    """A walk-forward's folds: windows, the values chosen in sample, the out-of-sample figures."""
    return repository.folds(session, _owned(session, caller, run_id).id)


@router.get("/{run_id}/equity", response_model=list[schemas.EquityPoint])
def equity(run_id: str, caller: CallerDep, session: SessionDep, context: ContextDep,
           points: Annotated[int, Query(ge=3, le=20_000, description="Most points returned (LTTB).")] = 1000,
           ) -> object:
    """The equity curve, downsampled to ``points`` (its shape kept: every peak and trough that shows)."""
    result = _result(session, context, _owned(session, caller, run_id))
    return equity_points(result, points)


@router.get("/{run_id}/artifacts", response_model=list[schemas.ArtifactOut])
def artifacts(run_id: str, caller: CallerDep, session: SessionDep) -> object:
    """The files a run published."""
    return repository.artifacts(session, _owned(session, caller, run_id).id)


@router.get("/{run_id}/artifacts/{name}", response_class=FileResponse,
            responses={200: {"content": {"application/octet-stream": {}}, "description": "The file."}})
def artifact(run_id: str, name: str, caller: CallerDep, session: SessionDep, settings: SettingsDep,
             ) -> Response:
    """Download one published file (Parquet, HTML report, the result archive); ``X.csv`` of a published X.parquet."""
    row = _owned(session, caller, run_id)
    found = repository.artifact(session, row.id, name)
    table = repository.artifact(session, row.id, f"{name.removesuffix('.csv')}.parquet") if (
        found is None and name.endswith(".csv")) else None
    if table is not None:
        import pandas as pd  # noqa: PLC0415  # only a CSV download needs it

        text = pd.read_parquet(settings.artifacts / table.path).to_csv(index=False)
        return Response(text, media_type="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'})
    path = _artifact_path(session, settings, row, name)
    assert found is not None  # noqa: S101  # _artifact_path answered 404 otherwise
    return FileResponse(path, media_type=found.media_type, filename=name)


__all__ = ["RUN_STATES", "router"]
