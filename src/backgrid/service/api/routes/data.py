"""Market data: upload a CSV (the validation report back; nothing stored when it is refused), fetch from vendors
and refresh (queued as runs), list, delete."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Response, UploadFile
from pydantic import BaseModel
from sqlalchemy.orm import Session

from backgrid.data.sources.csv import load_csv
from backgrid.data.timeframe import Timeframe
from backgrid.errors import DataError, TimeframeError, ValidationError
from backgrid.service import schemas
from backgrid.service.api.errors import ApiError
from backgrid.service.api.paging import Limit, Offset, page
from backgrid.service.api.routes.runs import queue
from backgrid.service.deps import CallerDep, Context, ContextDep, SessionDep, SettingsDep
from backgrid.service.jobs.datakinds import SYMBOL
from backgrid.service.store import repository
from backgrid.service.store.models import User
from backgrid.service.userdata import user_store

router = APIRouter(prefix="/data", tags=["data"])



def _report(report: Any) -> dict[str, Any]:
    return report.to_dict()  # type: ignore[no-any-return]


@router.post("", status_code=201, response_model=schemas.UploadOut,
             responses={422: {"model": schemas.ErrorOut, "description": "The CSV failed validation; the report "
                                                                           "is in details. Nothing was stored."}})
def upload(caller: CallerDep, session: SessionDep, settings: SettingsDep,
           file: Annotated[UploadFile, File(description="A CSV of OHLCV bars.")],
           symbol: Annotated[str, Form(pattern=SYMBOL, description="The series' symbol.")],
           timeframe: Annotated[str, Form(max_length=10, description="1m, 1h, 1d, ...")],
           policy: Annotated[str, Form(pattern="^(strict|lenient)$", description="strict: problems are errors; "
                                       "lenient: repairable ones are repaired and reported.")] = "strict",
           ) -> object:
    """Validate a CSV and store it as the caller's series; a refused file leaves the store as it was."""
    try:
        tf = Timeframe.parse(timeframe)
    except TimeframeError as exc:
        raise ApiError(422, "invalid_request", str(exc), [{"path": "body.timeframe", "message": str(exc)}]) from None
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "upload.csv"
        path.write_bytes(file.file.read())
        try:
            bars, report = load_csv(path, symbol=symbol, timeframe=tf,
                                    policy=None if policy == "strict" else "lenient")
        except ValidationError as exc:
            raise ApiError(422, "invalid_data", f"the CSV failed validation: {exc}", _report(exc.report)) from None
        except DataError as exc:
            raise ApiError(422, "invalid_data", f"the CSV cannot be read: {exc}",
                           [{"path": "body.file", "message": str(exc)}]) from None
    row = repository.record_series(session, caller.id, user_store(settings.home, caller.id).write(bars))
    return {"series": schemas.SeriesOut.model_validate(row), "report": _report(report)}


def _queued(kind: str, given: BaseModel, caller: User, session: Session, context: Context) -> object:
    options = given.model_dump(exclude={"priority"}, exclude_none=True)
    body = schemas.RunIn(kind=kind, options=options, priority=getattr(given, "priority", 0))  # type: ignore[arg-type]
    return queue(session, context, caller, body, options_at="body")  # body.symbol, not body.options.symbol


@router.post("/fetch", status_code=202, response_model=schemas.RunOut)
def fetch(body: schemas.FetchIn, caller: CallerDep, session: SessionDep, context: ContextDep) -> object:
    """Queue an ``import`` run: what the caller's store lacks of the series, fetched from the vendors named
    (or the asset class's chain); its progress and summary as any run's."""
    return _queued("import", body, caller, session, context)


@router.post("/refresh", status_code=202, response_model=schemas.RunOut)
def refresh(body: schemas.DataRefreshIn, caller: CallerDep, session: SessionDep, context: ContextDep) -> object:
    """Queue a ``refresh`` run: the newest bars of the caller's vendor series (or of the due watched ones)."""
    return _queued("refresh", body, caller, session, context)


@router.get("", response_model=schemas.Page[schemas.SeriesOut])
def list_series(caller: CallerDep, session: SessionDep, limit: Limit = 50, offset: Offset = 0) -> object:
    """The caller's series."""
    found = repository.list_series(session, caller.id, limit=limit, offset=offset)
    return page([schemas.SeriesOut.model_validate(r) for r in found.rows], found.total, limit, offset)


@router.delete("/{series_id}", status_code=204)
def delete(series_id: str, caller: CallerDep, session: SessionDep, settings: SettingsDep) -> Response:
    """Delete one of the caller's series and its bars."""
    row = repository.series(session, caller.id, series_id)
    if row is None:
        raise ApiError(404, "not_found", f"no series {series_id}")
    user_store(settings.home, caller.id).delete(row.symbol, row.timeframe, row.source)
    repository.delete_series(session, row)
    return Response(status_code=204)
