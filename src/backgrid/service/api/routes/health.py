"""Liveness, readiness and the Prometheus metrics."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter, Response

from backgrid._version import __version__
from backgrid.service.api.errors import ApiError
from backgrid.service.deps import ContextDep, StoreDep
from backgrid.service.metrics import render

router = APIRouter(tags=["health"])


@router.get("/health")
def health() -> dict[str, str]:
    """The API process answers."""
    return {"status": "ok", "version": __version__}


@router.get("/ready")
def ready(store: StoreDep) -> dict[str, str]:
    """The store answers too (a load balancer sends traffic only then)."""
    try:
        with store.engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as exc:
        raise ApiError(503, "not_ready", f"the store does not answer: {type(exc).__name__}") from None
    return {"status": "ready", "store": store.dialect}



@router.get("/metrics", response_class=Response,
            responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text exposition."}})
def metrics(context: ContextDep) -> Response:
    """Requests, latency, jobs by state, job durations, queue depth, cache hits (Prometheus)."""
    context.metrics.observe_finished(context.store)
    body, content_type = render(context.metrics.registry)
    return Response(body, media_type=content_type)
