"""Strategies: save documents as immutable versions, list, read, diff two versions, validate, summarise."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from backgrid.analysis.diff import document_diff
from backgrid.errors import SpecError
from backgrid.service import schemas
from backgrid.service.api.errors import ApiError, problems_of
from backgrid.service.api.paging import Limit, Offset, page
from backgrid.service.deps import CallerDep, SessionDep
from backgrid.service.store import repository
from backgrid.service.store.models import Strategy as StrategyRow
from backgrid.strategy.document import parse
from backgrid.strategy.spec import Strategy, json_schema
from backgrid.strategy.summary import summary

router = APIRouter(prefix="/strategies", tags=["strategies"])

Number = Annotated[int, Path(ge=1, le=schemas.MAX_VERSION, description="A version's number.")]


def checked(document: dict[str, Any], path: str = "body.document") -> Strategy:
    """The document parsed and checked; 422 naming every bad path (under ``path``) when it is not valid."""
    try:
        return parse(document)
    except SpecError as exc:
        problems = problems_of(exc, path)
        raise ApiError(422, "invalid_document", f"the strategy document is invalid: {exc}", problems) from None


def _out(session: Any, row: StrategyRow) -> schemas.StrategyOut:
    latest = repository.version(session, row.id)
    assert latest is not None  # noqa: S101  # a strategy is made with its first version
    return schemas.StrategyOut(id=row.id, name=row.name, auto_update=row.auto_update, created_at=row.created_at,
                               updated_at=row.updated_at, version=schemas.VersionOut.model_validate(latest),
                               summary=summary(parse(latest.document)))


def owned(session: Any, caller_id: str, strategy_id: str) -> StrategyRow:
    """The caller's strategy, else 404 (also when it is somebody else's)."""
    row = repository.strategy(session, caller_id, strategy_id)
    if row is None:
        raise ApiError(404, "not_found", f"no strategy {strategy_id}")
    return row


@router.get("/schema")
def document_schema() -> dict[str, Any]:
    """The JSON Schema of strategy documents (what the block builder writes)."""
    return json_schema()


@router.post("/validate", response_model=schemas.ValidationOut)
def validate(body: schemas.DocumentIn, _caller: CallerDep) -> schemas.ValidationOut:
    """Check a document without saving it: every problem with its path, or what the strategy does."""
    try:
        spec = parse(body.document)
    except SpecError as exc:
        return schemas.ValidationOut(valid=False, problems=problems_of(exc, "document"))
    return schemas.ValidationOut(valid=True, problems=[], summary=summary(spec), hash=spec.fingerprint())


@router.get("", response_model=schemas.Page[schemas.StrategyOut])
def list_strategies(caller: CallerDep, session: SessionDep, limit: Limit = 50, offset: Offset = 0) -> object:
    """The caller's strategies, the most recently saved first."""
    found = repository.list_strategies(session, caller.id, limit=limit, offset=offset)
    return page([_out(session, row) for row in found.rows], found.total, limit, offset)


@router.post("", status_code=201, response_model=schemas.StrategyOut)
def create(body: schemas.StrategyIn, caller: CallerDep, session: SessionDep) -> object:
    """Save a new strategy (version 1)."""
    spec = checked(body.document)
    name = body.name or spec.name
    if repository.strategy_named(session, caller.id, name) is not None:
        raise ApiError(409, "name_taken", f"you have a strategy named {name!r}: save a new version of it instead",
                       [{"path": "body.name", "message": "already used"}])
    row, _ = repository.create_strategy(session, user_id=caller.id, name=name, document=spec.to_dict(),
                                        digest=spec.fingerprint(), schema_version=spec.schema_version)
    return _out(session, row)


@router.get("/{strategy_id}", response_model=schemas.StrategyOut)
def get(strategy_id: str, caller: CallerDep, session: SessionDep) -> object:
    """One strategy with its newest version."""
    return _out(session, owned(session, caller.id, strategy_id))


@router.put("/{strategy_id}", response_model=schemas.StrategyOut)
def save(strategy_id: str, body: schemas.StrategyIn, caller: CallerDep, session: SessionDep) -> object:
    """Save a new version (earlier versions stay as they were)."""
    row = owned(session, caller.id, strategy_id)
    spec = checked(body.document)
    if body.name and body.name != row.name:
        if repository.strategy_named(session, caller.id, body.name) is not None:
            raise ApiError(409, "name_taken", f"you have a strategy named {body.name!r}",
                           [{"path": "body.name", "message": "already used"}])
        row.name = body.name
    repository.save_version(session, row, document=spec.to_dict(), digest=spec.fingerprint(),
                            schema_version=spec.schema_version)
    return _out(session, row)


@router.delete("/{strategy_id}", status_code=204)
def delete(strategy_id: str, caller: CallerDep, session: SessionDep) -> Response:
    """Delete a strategy and all its versions."""
    repository.delete_strategy(session, owned(session, caller.id, strategy_id))
    return Response(status_code=204)


@router.get("/{strategy_id}/versions", response_model=list[schemas.VersionOut])
def versions(strategy_id: str, caller: CallerDep, session: SessionDep) -> object:
    """Every version, newest first."""
    return repository.versions(session, owned(session, caller.id, strategy_id).id)


@router.get("/{strategy_id}/versions/{number}", response_model=schemas.VersionOut)
def version(strategy_id: str, number: Number, caller: CallerDep, session: SessionDep) -> object:
    """One version."""
    found = repository.version(session, owned(session, caller.id, strategy_id).id, number)
    if found is None:
        raise ApiError(404, "not_found", f"strategy {strategy_id} has no version {number}")
    return found


@router.get("/{strategy_id}/diff", response_model=list[schemas.Change])
def diff(strategy_id: str, caller: CallerDep, session: SessionDep,
         a: int = Query(..., ge=1, le=schemas.MAX_VERSION, description="One version's number."),
         b: int = Query(..., ge=1, le=schemas.MAX_VERSION, description="The other's.")) -> object:
    """Every path where two versions differ."""
    row = owned(session, caller.id, strategy_id)
    pair = [repository.version(session, row.id, n) for n in (a, b)]
    missing = [n for n, v in zip((a, b), pair, strict=True) if v is None]
    if missing:
        raise ApiError(404, "not_found", f"strategy {strategy_id} has no version {missing[0]}")
    left, right = (parse(v.document) for v in pair if v is not None)
    return [schemas.Change(path=p, a=x, b=y) for p, x, y in document_diff(left, right)]


@router.get("/{strategy_id}/summary")
def describe(strategy_id: str, caller: CallerDep, session: SessionDep) -> dict[str, str]:
    """What the newest version does, in plain English."""
    latest = repository.version(session, owned(session, caller.id, strategy_id).id)
    assert latest is not None  # noqa: S101  # a strategy is made with its first version
    return {"summary": summary(parse(latest.document))}
