"""Beta feedback and self-hosted product analytics (nothing leaves the server)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from backgrid.service import schemas
from backgrid.service.api.errors import ApiError
from backgrid.service.deps import AdminDep, CallerDep, SessionDep
from backgrid.service.store import repository

router = APIRouter(tags=["feedback"])


@router.post("/feedback", status_code=201, response_model=schemas.FeedbackOut)
def feedback(body: schemas.FeedbackIn, caller: CallerDep, session: SessionDep) -> object:
    """Tell us what you think, optionally about one of your runs."""
    if body.run_id is not None and repository.run(session, caller.id, body.run_id) is None:
        raise ApiError(404, "not_found", f"no run {body.run_id}", [{"path": "body.run_id", "message": "no such run"}])
    return repository.add_feedback(session, user_id=caller.id, text=body.text, rating=body.rating,
                                   run_id=body.run_id)


@router.post("/events", status_code=204)
def event(body: schemas.EventIn, caller: CallerDep, session: SessionDep) -> Response:
    """Record a product-analytics event of the caller."""
    repository.add_event(session, user_id=caller.id, name=body.name, properties=dict(body.properties))
    return Response(status_code=204)


@router.get("/admin/funnel", response_model=list[schemas.FunnelStep], tags=["admin"])
def funnel(_admin: AdminDep, session: SessionDep,
           steps: Annotated[list[str], Query(min_length=1, max_length=20, description="Event names, in order.")],
           ) -> object:
    """How many users reached each step having reached the ones before it (administrators)."""
    return [{"step": step, "users": users} for step, users in repository.funnel(session, steps)]
