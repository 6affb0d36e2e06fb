"""The service's tables (SQLAlchemy 2 declarative models); the API's schemas live in ``service/schemas.py``.

Times are UNIX seconds (``float``, UTC) so that a lease's expiry compares the same way on SQLite and on
PostgreSQL; the API writes them as ISO 8601. Identifiers of what a user owns are random hex strings, so
that an id says nothing about how many rows exist. JSON columns hold what the library reads and writes as
documents (strategy documents, run requests, stats).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "ApiKey", "Artifact", "Base", "Event", "Feedback", "Fold", "Invite", "Run", "Series", "Strategy",
    "StrategyVersion", "Trial", "User",
]

#: the states of a run; ``dead`` is a run that failed ``max_attempts`` times (the dead letter)
RUN_STATES = ("queued", "running", "succeeded", "failed", "cancelled", "dead")
FINISHED_STATES = ("succeeded", "failed", "cancelled", "dead")
QUEUES = ("manual", "scheduled")

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


class Base(DeclarativeBase):
    """The declarative base: one metadata for every table, which Alembic's migrations are checked against."""

    type_annotation_map: dict[Any, Any] = {dict[str, Any]: _JSON, list[Any]: _JSON}  # noqa: RUF012


def _id() -> Mapped[str]:
    return mapped_column(sa.String(32), primary_key=True)


def _owner() -> Mapped[str]:
    return mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)


class User(Base):
    """Somebody who logs in (``role`` ``user`` or ``admin``; ``tier`` sets the limits)."""

    __tablename__ = "users"
    id: Mapped[str] = _id()
    email: Mapped[str] = mapped_column(sa.String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[str] = mapped_column(sa.String(16), default="user")
    tier: Mapped[str] = mapped_column(sa.String(16), default="free")
    digest: Mapped[bool] = mapped_column(default=False)  # opted in to the weekly digest
    created_at: Mapped[float]


class ApiKey(Base):
    """A key for scripts; only its SHA-256 is kept (the key itself is shown once)."""

    __tablename__ = "api_keys"
    id: Mapped[str] = _id()
    user_id: Mapped[str] = _owner()
    name: Mapped[str] = mapped_column(sa.String(100))
    prefix: Mapped[str] = mapped_column(sa.String(16))  # the key's first characters, to tell keys apart
    digest: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[float]
    last_used_at: Mapped[float | None]
    revoked: Mapped[bool] = mapped_column(default=False)


class Strategy(Base):
    """A user's strategy: a name over immutable versions."""

    __tablename__ = "strategies"
    __table_args__ = (sa.UniqueConstraint("user_id", "name", name="one_name_per_user"),)
    id: Mapped[str] = _id()
    user_id: Mapped[str] = _owner()
    name: Mapped[str] = mapped_column(sa.String(200))
    auto_update: Mapped[bool] = mapped_column(default=False)  # re-run into `scheduled` when new data lands
    created_at: Mapped[float]
    updated_at: Mapped[float]


class StrategyVersion(Base):
    """One saved document; never changed once written (every save is a new version)."""

    __tablename__ = "strategy_versions"
    __table_args__ = (sa.UniqueConstraint("strategy_id", "number", name="one_number_per_version"),)
    id: Mapped[str] = _id()
    strategy_id: Mapped[str] = mapped_column(sa.ForeignKey("strategies.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    document: Mapped[dict[str, Any]]
    hash: Mapped[str] = mapped_column(sa.String(64))
    schema_version: Mapped[int]
    created_at: Mapped[float]


class Run(Base):
    """A job and its result; this row is the truth about the job (see ``service.jobs``)."""

    __tablename__ = "runs"
    __table_args__ = (
        # the claim's order: a worker of one queue takes the highest priority, then the oldest
        sa.Index("runs_claim", "queue", "status", sa.text("priority DESC"), "created_at"),
        sa.Index("runs_by_owner", "user_id", sa.text("created_at DESC")),
        # a user's runs by state: the concurrency quota counts the queued and running ones at every submission
        sa.Index("runs_active", "user_id", "status"),
    )
    id: Mapped[str] = _id()
    user_id: Mapped[str] = _owner()
    kind: Mapped[str] = mapped_column(sa.String(20))
    queue: Mapped[str] = mapped_column(sa.String(16), default="manual")
    priority: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(sa.String(16), default="queued")
    request: Mapped[dict[str, Any]]
    strategy_version_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("strategy_versions.id", ondelete="SET NULL"))
    parent_id: Mapped[str | None] = mapped_column(sa.ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    config_hash: Mapped[str | None] = mapped_column(sa.String(64))
    data_hash: Mapped[str | None] = mapped_column(sa.String(64))
    progress: Mapped[float] = mapped_column(default=0.0)  # 0 to 1
    message: Mapped[str] = mapped_column(sa.String(500), default="")
    eta_seconds: Mapped[float | None]
    attempts: Mapped[int] = mapped_column(default=0)  # the fence: a completion names the attempt it ran
    max_attempts: Mapped[int] = mapped_column(default=3)
    not_before: Mapped[float] = mapped_column(default=0.0)  # a retry's backoff
    lease_expires_at: Mapped[float | None]
    heartbeat_at: Mapped[float | None]
    worker: Mapped[str | None] = mapped_column(sa.String(200))
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    error: Mapped[dict[str, Any] | None] = mapped_column(_JSON)
    summary: Mapped[dict[str, Any] | None] = mapped_column(_JSON)  # headline stats, for lists and compare
    created_at: Mapped[float]
    started_at: Mapped[float | None]
    finished_at: Mapped[float | None]


class Artifact(Base):
    """A file a run published (result, trades, equity, report); its bytes live in the artifact store."""

    __tablename__ = "artifacts"
    __table_args__ = (sa.UniqueConstraint("run_id", "name", name="one_name_per_run"),)
    id: Mapped[str] = _id()
    run_id: Mapped[str] = mapped_column(sa.ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    media_type: Mapped[str] = mapped_column(sa.String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    path: Mapped[str] = mapped_column(sa.String(500))  # relative to the artifact root
    created_at: Mapped[float]


class Trial(Base):
    """One evaluated parameter set of an optimisation run."""

    __tablename__ = "trials"
    __table_args__ = (sa.UniqueConstraint("run_id", "number", name="one_number_per_trial"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(sa.ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    params: Mapped[dict[str, Any]]
    value: Mapped[float | None]
    state: Mapped[str] = mapped_column(sa.String(16))
    stats: Mapped[dict[str, Any] | None] = mapped_column(_JSON)


class Fold(Base):
    """One walk-forward fold of a walk-forward run."""

    __tablename__ = "folds"
    __table_args__ = (sa.UniqueConstraint("run_id", "number", name="one_number_per_fold"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(sa.ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    train_start: Mapped[str] = mapped_column(sa.String(40))
    train_end: Mapped[str] = mapped_column(sa.String(40))
    test_start: Mapped[str] = mapped_column(sa.String(40))
    test_end: Mapped[str] = mapped_column(sa.String(40))
    params: Mapped[dict[str, Any]]
    stats: Mapped[dict[str, Any] | None] = mapped_column(_JSON)


class Series(Base):
    """A user's uploaded or fetched market-data series; the bars live in the user's data store."""

    __tablename__ = "series"
    __table_args__ = (sa.UniqueConstraint("user_id", "symbol", "timeframe", "source", name="one_series"),)
    id: Mapped[str] = _id()
    user_id: Mapped[str] = _owner()
    symbol: Mapped[str] = mapped_column(sa.String(100))
    timeframe: Mapped[str] = mapped_column(sa.String(10))
    source: Mapped[str] = mapped_column(sa.String(50))
    rows: Mapped[int]
    first: Mapped[str] = mapped_column(sa.String(40))
    last: Mapped[str] = mapped_column(sa.String(40))
    checksum: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[float]


class Invite(Base):
    """A beta invite code an admin made; ``used_by`` is set when somebody registers with it."""

    __tablename__ = "invites"
    code: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    created_by: Mapped[str] = _owner()
    used_by: Mapped[str | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[float]
    used_at: Mapped[float | None]


class Feedback(Base):
    """What a user wrote about the product, optionally about one of their runs."""

    __tablename__ = "feedback"
    id: Mapped[str] = _id()
    user_id: Mapped[str] = _owner()
    text: Mapped[str] = mapped_column(sa.Text)
    rating: Mapped[int | None]
    run_id: Mapped[str | None] = mapped_column(sa.ForeignKey("runs.id", ondelete="SET NULL"))
    created_at: Mapped[float]


class Event(Base):
    """A product-analytics event (self-hosted: nothing leaves the server)."""

    __tablename__ = "events"
    __table_args__ = (sa.Index("events_by_name", "name", "created_at"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    user_id: Mapped[str | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    properties: Mapped[dict[str, Any]]
    created_at: Mapped[float]
