"""What routes depend on, as ``Annotated`` aliases: the settings, a store session, the caller.

The caller is found from ``Authorization: Bearer <access token>`` or ``X-API-Key: bg_...``; in local
mode (``auth = "local"``, ``serve`` on this machine) every request is the implicit local user. Each
caller's requests per minute are limited by their tier (429 with ``Retry-After``); the counting is the
``limits`` library's moving window, the engine slowapi is built on, applied here because only after
authentication is the caller's tier known.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any, Protocol

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from limits import RateLimitItemPerMinute
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy.orm import Session

from backgrid.service.api.errors import ApiError
from backgrid.service.metrics import Metrics
from backgrid.service.results import ResultCache
from backgrid.service.security import TokenError, hash_api_key, read_token
from backgrid.service.settings import Settings
from backgrid.service.store import repository
from backgrid.service.store.db import Store
from backgrid.service.store.models import User

__all__ = ["AdminDep", "CallerDep", "Context", "ContextDep", "SessionDep", "SettingsDep", "StoreDep",
           "StreamCallerDep"]

#: requests per minute from one address to the routes that need no caller (log in, register)
ANONYMOUS_PER_MINUTE = 30


class Dispatch(Protocol):
    """What offers a run to the workers of its queue: in ``connection``'s transaction (a psycopg connection, so
    that the run and its job are committed together), else at once."""

    def __call__(self, run_id: str, queue: str, priority: int, connection: Any = None) -> None: ...

    def close(self) -> None: ...


@dataclass
class Context:
    """What one app holds for its routes (``app.state.context``)."""

    settings: Settings
    store: Store
    limiter: MovingWindowRateLimiter
    metrics: Metrics
    results: ResultCache
    #: offers a committed run to the workers (procrastinate); ``None`` where workers poll the runs table
    dispatch: Dispatch | None = None
    #: the implicit user of local mode (``None`` with accounts)
    local_user: User | None = None

    @classmethod
    def open(cls, settings: Settings) -> Context:
        """Open the store (migrated), the rate limiter and, scaled out, the job queue of ``settings``."""
        store = Store(settings.store_url)
        store.migrate()
        local = None
        if settings.auth == "local":
            with store.session() as session:
                local = repository.local_user(session)  # made here once: no request looks it up again
        dispatch = None
        if settings.executor == "procrastinate":
            from backgrid.service.jobs.scaled import open_dispatcher  # noqa: PLC0415  # the `scaled` extra

            dispatch = open_dispatcher(settings)
        metrics = Metrics(store)
        results = ResultCache(on_lookup=lambda hit: metrics.cache("results", hit=hit))
        return cls(settings, store, MovingWindowRateLimiter(storage_from_string(settings.rate_limit_storage)),
                   metrics, results, dispatch, local)

    def close(self) -> None:
        """Close the store's connections and the job queue's."""
        if self.dispatch is not None:
            self.dispatch.close()
        self.store.dispose()

    def limit(self, key: str, per_minute: int) -> None:
        """Count one request of ``key``; 429 with ``Retry-After`` past ``per_minute``."""
        item = RateLimitItemPerMinute(per_minute)
        if self.limiter.hit(item, key):
            return
        reset = self.limiter.get_window_stats(item, key).reset_time
        wait = max(1, math.ceil(reset - time.time()))
        raise ApiError(429, "rate_limited", f"more than {per_minute} requests per minute; retry in {wait} s",
                       {"limit_per_minute": per_minute, "retry_after": wait}, headers={"Retry-After": str(wait)})


async def _context(request: Request) -> Context:
    return request.app.state.context  # type: ignore[no-any-return]


ContextDep = Annotated[Context, Depends(_context)]


async def _settings(context: ContextDep) -> Settings:
    return context.settings


async def _store(context: ContextDep) -> Store:
    return context.store


def _session(request: Request, context: ContextDep) -> Iterator[Session]:
    # a GET only reads: its session takes no write lock, so reads never queue behind the workers' writes
    with context.store.session(write=request.method not in ("GET", "HEAD")) as session:
        yield session


SettingsDep = Annotated[Settings, Depends(_settings)]
StoreDep = Annotated[Store, Depends(_store)]
# scope="function": the transaction commits when the route returns, before the answer goes out, so that a failed
# commit is a 500 rather than a 201 for nothing, and SQLite's write lock is not held while a file is downloaded
SessionDep = Annotated[Session, Depends(_session, scope="function")]

_bearer = HTTPBearer(auto_error=False, description="An access token from POST /api/v1/auth/login.")
_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key from POST /api/v1/auth/keys.")


_UNKNOWN_KEY = "the API key is unknown or revoked"
_GONE = "the token's user no longer exists"
_LOG_IN = "log in: send Authorization: Bearer <access token> or X-API-Key: <key>"


def _unauthenticated(message: str) -> ApiError:
    return ApiError(401, "not_authenticated", message, headers={"WWW-Authenticate": "Bearer"})


def _caller(context: ContextDep, session: SessionDep,
            bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
            key: Annotated[str | None, Depends(_key)]) -> User:
    settings = context.settings
    if settings.auth == "local":
        found: User | None = context.local_user
    elif key:
        found = repository.api_key_user(session, hash_api_key(key))
        if found is None:
            raise _unauthenticated(_UNKNOWN_KEY)
        with context.store.session() as writing:  # its own short write: the request's session may only read
            repository.key_used(writing, hash_api_key(key))
    elif bearer is not None:
        try:
            user_id = read_token(bearer.credentials, "access", key=settings.signing_key())
        except TokenError as exc:
            raise _unauthenticated(str(exc)) from None
        found = repository.user(session, user_id)
        if found is None:
            raise _unauthenticated(_GONE)
    else:
        raise _unauthenticated(_LOG_IN)
    assert found is not None  # noqa: S101  # every branch above found a user or raised
    context.limit(f"user:{found.id}", settings.limits(found.tier).requests_per_minute)
    return found


def _caller_briefly(context: ContextDep,
                    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
                    key: Annotated[str | None, Depends(_key)]) -> User:
    # a stream lasts as long as its run: it finds its caller in a session of its own and lets go of it
    with context.store.session(write=False) as session:
        return _caller(context, session, bearer, key)


async def _admin(caller: Annotated[User, Depends(_caller)]) -> User:
    if caller.role != "admin":
        raise ApiError(403, "forbidden", "this needs an administrator")
    return caller


async def anonymous_limit(request: Request, context: ContextDep) -> None:
    """Limit requests that need no caller by the client's address."""
    host = request.client.host if request.client else "unknown"
    context.limit(f"address:{host}", ANONYMOUS_PER_MINUTE)


CallerDep = Annotated[User, Depends(_caller)]
#: the caller, for a route that streams: found in a session of its own that is closed before the route runs
StreamCallerDep = Annotated[User, Depends(_caller_briefly)]
AdminDep = Annotated[User, Depends(_admin)]
