"""The FastAPI application: routes under ``/api/v1``, the error contract, the body limit, docs at ``/docs``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from backgrid._version import __version__
from backgrid.service.api import errors
from backgrid.service.api.middleware import BodyLimit
from backgrid.service.api.routes import auth, catalog, data, feedback, health, runs, strategies
from backgrid.service.deps import Context
from backgrid.service.logs import RequestContext
from backgrid.service.metrics import Instrument
from backgrid.service.schemas import ErrorOut
from backgrid.service.settings import Settings

__all__ = ["create_app"]

_ERRORS = {code: {"model": ErrorOut} for code in (401, 403, 404, 409, 413, 422, 429)}


def create_app(settings: Settings | None = None) -> FastAPI:
    """The API over the store of ``settings`` (default: read from the environment and the settings file)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        app.state.context.close()

    app = FastAPI(title="backgrid", version=__version__, lifespan=lifespan, responses=_ERRORS,  # type: ignore[arg-type]
                  description="Design, backtest and validate trading strategies. Errors: {error, code, details}.")
    app.state.context = Context.open(settings)
    errors.install(app)
    # added innermost first: the request id is outermost, so every other line carries it
    app.add_middleware(BodyLimit, max_bytes=settings.max_request_bytes)
    app.add_middleware(Instrument, metrics=app.state.context.metrics)
    app.add_middleware(RequestContext)
    for router in (auth.router, auth.invites, strategies.router, runs.router, catalog.router, data.router,
                   feedback.router):
        app.include_router(router, prefix="/api/v1")
    app.include_router(health.router)
    return app
