"""Every query of the API: routes call these and never build SQL themselves.

What a user owns is always read through the owner's id: a row of another user is ``None``, exactly like a
row that does not exist, so that the API answers 404 for both and nobody can tell them apart.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from backgrid.service.store.db import new_id, now
from backgrid.service.store.models import (
    FINISHED_STATES,
    ApiKey,
    Artifact,
    Event,
    Feedback,
    Fold,
    Invite,
    Run,
    Series,
    Strategy,
    StrategyVersion,
    Trial,
    User,
)

if TYPE_CHECKING:
    from backgrid.data.store import SeriesInfo

__all__ = [
    "LOCAL_EMAIL", "Page", "add_event", "add_feedback", "api_key_user", "artifact", "artifacts",
    "cancel_run", "create_api_key", "create_invite", "create_run", "create_strategy", "create_user",
    "delete_api_key", "delete_run", "delete_series", "delete_strategy", "folds", "funnel", "key_used", "list_api_keys",
    "list_runs", "list_series", "list_strategies", "local_user", "put_series", "record_series", "run", "run_load",
    "save_version",
    "series", "strategy", "strategy_named", "trials", "use_invite", "user", "user_by_email", "version", "versions",
]

#: the implicit user of ``auth = "local"`` (``serve`` on one's own machine)
LOCAL_EMAIL = "local@localhost"


@dataclass(frozen=True)
class Page:
    """One page of a list: its rows and how many rows the whole list has."""

    rows: Sequence[Any]
    total: int


def _page(session: Session, query: sa.Select[Any], *, limit: int, offset: int) -> Page:
    total = session.scalar(sa.select(sa.func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = session.scalars(query.limit(limit).offset(offset)).all()
    return Page(rows, total)


# -- users and keys -------------------------------------------------------------------------------------------

def create_user(session: Session, *, email: str, password_hash: str, role: str = "user",
                tier: str = "free") -> User:
    """Add a user (the caller checked that the email is free)."""
    row = User(id=new_id(), email=email.lower(), password_hash=password_hash, role=role, tier=tier,
               created_at=now())
    session.add(row)
    session.flush()
    return row


def user(session: Session, user_id: str) -> User | None:
    """The user with ``user_id``."""
    return session.get(User, user_id)


def user_by_email(session: Session, email: str) -> User | None:
    """The user with ``email`` (case-insensitive)."""
    return session.scalar(sa.select(User).where(User.email == email.lower()))


def local_user(session: Session) -> User:
    """The implicit administrator of local mode, made on first use."""
    found = user_by_email(session, LOCAL_EMAIL)
    # "!" is no argon2 hash, so no password logs in as the local user
    return found or create_user(session, email=LOCAL_EMAIL, password_hash="!", role="admin", tier="pro")  # noqa: S106


def create_api_key(session: Session, *, user_id: str, name: str, prefix: str, digest: str) -> ApiKey:
    """Record a key by its digest."""
    row = ApiKey(id=new_id(), user_id=user_id, name=name, prefix=prefix, digest=digest, created_at=now())
    session.add(row)
    session.flush()
    return row


def list_api_keys(session: Session, user_id: str) -> Sequence[ApiKey]:
    """The user's keys, newest first (revoked ones included: they say when they were used)."""
    return session.scalars(sa.select(ApiKey).where(ApiKey.user_id == user_id)
                           .order_by(ApiKey.created_at.desc())).all()


def delete_api_key(session: Session, user_id: str, key_id: str) -> bool:
    """Revoke one of the user's keys; ``False`` when the user has no such key."""
    done = session.execute(sa.update(ApiKey).where(ApiKey.id == key_id, ApiKey.user_id == user_id)
                           .values(revoked=True))
    return bool(done.rowcount)  # type: ignore[attr-defined]


def api_key_user(session: Session, digest: str) -> User | None:
    """The owner of a live key."""
    key = session.scalar(sa.select(ApiKey).where(ApiKey.digest == digest, ApiKey.revoked.is_(False)))
    return None if key is None else session.get(User, key.user_id)


#: seconds between two notes of a key's use (a script's every request need not write)
KEY_USE_RESOLUTION = 60.0


def key_used(session: Session, digest: str) -> None:
    """Note that a key was used (to the minute)."""
    t = now()
    session.execute(sa.update(ApiKey).where(ApiKey.digest == digest, sa.or_(
        ApiKey.last_used_at.is_(None), ApiKey.last_used_at < t - KEY_USE_RESOLUTION)).values(last_used_at=t))


# -- strategies and their versions -----------------------------------------------------------------------------

def create_strategy(session: Session, *, user_id: str, name: str, document: dict[str, Any], digest: str,
                    schema_version: int) -> tuple[Strategy, StrategyVersion]:
    """A new strategy and its version 1."""
    t = now()
    row = Strategy(id=new_id(), user_id=user_id, name=name, created_at=t, updated_at=t)
    session.add(row)
    session.flush()
    return row, save_version(session, row, document=document, digest=digest, schema_version=schema_version)


def strategy(session: Session, user_id: str, strategy_id: str) -> Strategy | None:
    """The user's strategy ``strategy_id``."""
    return session.scalar(sa.select(Strategy).where(Strategy.id == strategy_id, Strategy.user_id == user_id))


def strategy_named(session: Session, user_id: str, name: str) -> Strategy | None:
    """The user's strategy called ``name``."""
    return session.scalar(sa.select(Strategy).where(Strategy.name == name, Strategy.user_id == user_id))


def list_strategies(session: Session, user_id: str, *, limit: int, offset: int) -> Page:
    """The user's strategies, the most recently saved first."""
    query = sa.select(Strategy).where(Strategy.user_id == user_id).order_by(Strategy.updated_at.desc(),
                                                                           Strategy.id)
    return _page(session, query, limit=limit, offset=offset)


def save_version(session: Session, row: Strategy, *, document: dict[str, Any], digest: str,
                 schema_version: int) -> StrategyVersion:
    """Add the next version of ``row`` (versions are never changed once written)."""
    latest = session.scalar(sa.select(sa.func.max(StrategyVersion.number))
                            .where(StrategyVersion.strategy_id == row.id)) or 0
    version_row = StrategyVersion(id=new_id(), strategy_id=row.id, number=latest + 1, document=document,
                                  hash=digest, schema_version=schema_version, created_at=now())
    row.updated_at = version_row.created_at
    session.add(version_row)
    session.flush()
    return version_row


def versions(session: Session, strategy_id: str) -> Sequence[StrategyVersion]:
    """Every version of a strategy, newest first."""
    return session.scalars(sa.select(StrategyVersion).where(StrategyVersion.strategy_id == strategy_id)
                           .order_by(StrategyVersion.number.desc())).all()


def version(session: Session, strategy_id: str, number: int | None = None) -> StrategyVersion | None:
    """Version ``number`` of a strategy (the newest when ``None``)."""
    query = sa.select(StrategyVersion).where(StrategyVersion.strategy_id == strategy_id)
    if number is None:
        return session.scalar(query.order_by(StrategyVersion.number.desc()).limit(1))
    return session.scalar(query.where(StrategyVersion.number == number))


def delete_strategy(session: Session, row: Strategy) -> None:
    """Delete a strategy and its versions (its runs keep their requests, with the version link cleared)."""
    session.delete(row)


# -- runs -------------------------------------------------------------------------------------------------------

def create_run(session: Session, *, user_id: str, kind: str, request: dict[str, Any], queue: str = "manual",
               priority: int = 0, max_attempts: int = 3, strategy_version_id: str | None = None,
               parent_id: str | None = None, config_hash: str | None = None, data_hash: str | None = None) -> Run:
    """Queue a run: a worker of ``queue`` claims it (see ``service.jobs.lease``)."""
    row = Run(id=new_id(), user_id=user_id, kind=kind, queue=queue, priority=priority, status="queued",
              request=request, strategy_version_id=strategy_version_id, parent_id=parent_id,
              config_hash=config_hash, data_hash=data_hash, max_attempts=max_attempts, created_at=now(),
              progress=0.0, message="queued", attempts=0, not_before=0.0, cancel_requested=False)
    session.add(row)
    session.flush()
    return row


def run(session: Session, user_id: str, run_id: str) -> Run | None:
    """The user's run ``run_id``."""
    return session.scalar(sa.select(Run).where(Run.id == run_id, Run.user_id == user_id))


def list_runs(session: Session, user_id: str, *, kind: str | None = None, status: str | None = None,
              parent_id: str | None = None, strategy_id: str | None = None, limit: int, offset: int) -> Page:
    """The user's runs, newest first, filtered."""
    query = sa.select(Run).where(Run.user_id == user_id)
    if kind is not None:
        query = query.where(Run.kind == kind)
    if status is not None:
        query = query.where(Run.status == status)
    if parent_id is not None:
        query = query.where(Run.parent_id == parent_id)
    if strategy_id is not None:
        query = query.where(Run.strategy_version_id.in_(
            sa.select(StrategyVersion.id).where(StrategyVersion.strategy_id == strategy_id)))
    return _page(session, query.order_by(Run.created_at.desc(), Run.id), limit=limit, offset=offset)


@functools.cache
def _load_statement() -> sa.Select[Any]:
    runs = cast("sa.Table", Run.__table__)
    user_id = sa.bindparam("user_id", type_=sa.String)
    recent = sa.select(sa.func.count()).where(runs.c.user_id == user_id,
                                              runs.c.created_at >= sa.bindparam("since", type_=sa.Float))
    active = sa.select(sa.func.count()).where(runs.c.user_id == user_id, runs.c.status.in_(("queued", "running")))
    return sa.select(recent.scalar_subquery().label("recent"), active.scalar_subquery().label("active"))


def run_load(session: Session, user_id: str, since: float) -> tuple[int, int]:
    """How many runs the user created since ``since``, and how many are queued or running: the quotas that
    every submission checks, in one statement built once (building it each time cost more than running it)."""
    row = session.execute(_load_statement(), {"user_id": user_id, "since": since}).one()
    return int(row.recent), int(row.active)


def cancel_run(session: Session, row: Run) -> str:
    """Cancel a run: a queued one at once, a running one at its worker's next check. Returns the new status."""
    if row.status == "queued":
        session.execute(sa.update(Run).where(Run.id == row.id, Run.status == "queued")
                        .values(status="cancelled", finished_at=now(), message="cancelled before it started"))
    elif row.status == "running":
        session.execute(sa.update(Run).where(Run.id == row.id).values(cancel_requested=True))
    session.refresh(row)
    return row.status


def delete_run(session: Session, row: Run) -> None:
    """Delete a finished run with its artifacts' rows (the caller removes the files)."""
    if row.status not in FINISHED_STATES:
        msg = f"run {row.id} is {row.status}; cancel it first"
        raise ValueError(msg)
    session.delete(row)


def trials(session: Session, run_id: str, *, limit: int, offset: int) -> Page:
    """An optimisation run's trials, by number."""
    query = sa.select(Trial).where(Trial.run_id == run_id).order_by(Trial.number)
    return _page(session, query, limit=limit, offset=offset)


def folds(session: Session, run_id: str) -> Sequence[Fold]:
    """A walk-forward run's folds, in order."""
    return session.scalars(sa.select(Fold).where(Fold.run_id == run_id).order_by(Fold.number)).all()


def artifacts(session: Session, run_id: str) -> Sequence[Artifact]:
    """What a run published, by name."""
    return session.scalars(sa.select(Artifact).where(Artifact.run_id == run_id).order_by(Artifact.name)).all()


def artifact(session: Session, run_id: str, name: str) -> Artifact | None:
    """One published file of a run."""
    return session.scalar(sa.select(Artifact).where(Artifact.run_id == run_id, Artifact.name == name))


# -- market data -------------------------------------------------------------------------------------------------

def put_series(session: Session, *, user_id: str, symbol: str, timeframe: str, source: str, rows: int,
               first: str, last: str, checksum: str) -> Series:
    """Record (or update) what the user's data store holds of one series."""
    found = session.scalar(sa.select(Series).where(Series.user_id == user_id, Series.symbol == symbol,
                                                   Series.timeframe == timeframe, Series.source == source))
    if found is None:
        found = Series(id=new_id(), user_id=user_id, symbol=symbol, timeframe=timeframe, source=source,
                       created_at=now())
        session.add(found)
    found.rows, found.first, found.last, found.checksum = rows, first, last, checksum
    session.flush()
    return found


def record_series(session: Session, user_id: str, info: SeriesInfo) -> Series:
    """Record (or update) what the user's data store now holds of the series ``info`` describes."""
    return put_series(session, user_id=user_id, symbol=info.symbol, timeframe=str(info.timeframe),
                      source=info.source, rows=info.rows, first=str(info.first_ts), last=str(info.last_ts),
                      checksum=info.checksum)


def series(session: Session, user_id: str, series_id: str) -> Series | None:
    """The user's series ``series_id``."""
    return session.scalar(sa.select(Series).where(Series.id == series_id, Series.user_id == user_id))


def list_series(session: Session, user_id: str, *, limit: int, offset: int) -> Page:
    """The user's series by symbol."""
    query = sa.select(Series).where(Series.user_id == user_id).order_by(Series.symbol, Series.timeframe, Series.id)
    return _page(session, query, limit=limit, offset=offset)


def delete_series(session: Session, row: Series) -> None:
    """Forget a series (the caller removes its bars)."""
    session.delete(row)


# -- beta invites, feedback, product analytics -------------------------------------------------------------------

def create_invite(session: Session, *, created_by: str, code: str) -> Invite:
    """Record an invite code."""
    row = Invite(code=code, created_by=created_by, created_at=now())
    session.add(row)
    session.flush()
    return row


def use_invite(session: Session, code: str, user_id: str) -> bool:
    """Mark an unused invite as used by ``user_id``; ``False`` when there is no such unused code."""
    done = session.execute(sa.update(Invite).where(Invite.code == code, Invite.used_by.is_(None))
                           .values(used_by=user_id, used_at=now()))
    return bool(done.rowcount)  # type: ignore[attr-defined]


def add_feedback(session: Session, *, user_id: str, text: str, rating: int | None, run_id: str | None) -> Feedback:
    """Record a user's feedback."""
    row = Feedback(id=new_id(), user_id=user_id, text=text, rating=rating, run_id=run_id, created_at=now())
    session.add(row)
    session.flush()
    return row


def add_event(session: Session, *, user_id: str | None, name: str, properties: dict[str, Any]) -> None:
    """Record a product-analytics event."""
    session.add(Event(user_id=user_id, name=name, properties=properties, created_at=now()))


def funnel(session: Session, steps: Sequence[str], *, since: float = 0.0) -> list[tuple[str, int]]:
    """How many distinct users reached each step, having reached every step before it (any order in time)."""
    reached: set[str] | None = None
    out = []
    for step in steps:
        users = {u for u in session.scalars(sa.select(Event.user_id).where(
            Event.name == step, Event.created_at >= since).distinct()).all() if u is not None}
        reached = users if reached is None else reached & users
        out.append((step, len(reached)))
    return out
