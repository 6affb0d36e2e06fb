"""the first schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-12-04 03:30:11.281325
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:

    op.create_table("users",
    sa.Column("id", sa.String(length=32), nullable=False),
    sa.Column("email", sa.String(length=320), nullable=False),
    sa.Column("password_hash", sa.String(length=200), nullable=False),
    sa.Column("role", sa.String(length=16), nullable=False),
    sa.Column("tier", sa.String(length=16), nullable=False),
    sa.Column("digest", sa.Boolean(), nullable=False),
    sa.Column("created_at", sa.Double(), nullable=False),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("email")
    )
    op.create_table("api_keys",
    sa.Column("id", sa.String(length=32), nullable=False),
    sa.Column("user_id", sa.String(length=32), nullable=False),
    sa.Column("name", sa.String(length=100), nullable=False),
    sa.Column("prefix", sa.String(length=16), nullable=False),
    sa.Column("digest", sa.String(length=64), nullable=False),
    sa.Column("created_at", sa.Double(), nullable=False),
    sa.Column("last_used_at", sa.Double(), nullable=True),
    sa.Column("revoked", sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("digest")
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_keys_user_id"), ["user_id"], unique=False)

    op.create_table("events",
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("user_id", sa.String(length=32), nullable=True),
    sa.Column("name", sa.String(length=100), nullable=False),
    sa.Column("properties", JSON, nullable=False),
    sa.Column("created_at", sa.Double(), nullable=False),
    sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="SET NULL"),
    sa.PrimaryKeyConstraint("id")
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("events_by_name", ["name", "created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_events_user_id"), ["user_id"], unique=False)

    op.create_table("invites",
    sa.Column("code", sa.String(length=32), nullable=False),
    sa.Column("created_by", sa.String(length=32), nullable=False),
    sa.Column("used_by", sa.String(length=32), nullable=True),
    sa.Column("created_at", sa.Double(), nullable=False),
    sa.Column("used_at", sa.Double(), nullable=True),
    sa.ForeignKeyConstraint(["created_by"], ["users.id"], ondelete="CASCADE"),
    sa.ForeignKeyConstraint(["used_by"], ["users.id"], ondelete="SET NULL"),
    sa.PrimaryKeyConstraint("code")
    )
    with op.batch_alter_table("invites", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invites_created_by"), ["created_by"], unique=False)

    op.create_table("series",
    sa.Column("id", sa.String(length=32), nullable=False),
    sa.Column("user_id", sa.String(length=32), nullable=False),
    sa.Column("symbol", sa.String(length=100), nullable=False),
    sa.Column("timeframe", sa.String(length=10), nullable=False),
    sa.Column("source", sa.String(length=50), nullable=False),
    sa.Column("rows", sa.Integer(), nullable=False),
    sa.Column("first", sa.String(length=40), nullable=False),
    sa.Column("last", sa.String(length=40), nullable=False),
    sa.Column("checksum", sa.String(length=64), nullable=False),
    sa.Column("created_at", sa.Double(), nullable=False),
    sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("user_id", "symbol", "timeframe", "source", name="one_series")
    )
    with op.batch_alter_table("series", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_series_user_id"), ["user_id"], unique=False)

    op.create_table("strategies",
    sa.Column("id", sa.String(length=32), nullable=False),
    sa.Column("user_id", sa.String(length=32), nullable=False),
    sa.Column("name", sa.String(length=200), nullable=False),
    sa.Column("auto_update", sa.Boolean(), nullable=False),
    sa.Column("created_at", sa.Double(), nullable=False),
    sa.Column("updated_at", sa.Double(), nullable=False),
    sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("user_id", "name", name="one_name_per_user")
    )
    with op.batch_alter_table("strategies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_strategies_user_id"), ["user_id"], unique=False)

    op.create_table("strategy_versions",
    sa.Column("id", sa.String(length=32), nullable=False),
    sa.Column("strategy_id", sa.String(length=32), nullable=False),
    sa.Column("number", sa.Integer(), nullable=False),
    sa.Column("document", JSON, nullable=False),
    sa.Column("hash", sa.String(length=64), nullable=False),
    sa.Column("schema_version", sa.Integer(), nullable=False),
    sa.Column("created_at", sa.Double(), nullable=False),
    sa.ForeignKeyConstraint(["strategy_id"], ["strategies.id"], ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("strategy_id", "number", name="one_number_per_version")
    )
    with op.batch_alter_table("strategy_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_strategy_versions_strategy_id"), ["strategy_id"], unique=False)

    op.create_table("runs",
    sa.Column("id", sa.String(length=32), nullable=False),
    sa.Column("user_id", sa.String(length=32), nullable=False),
    sa.Column("kind", sa.String(length=20), nullable=False),
    sa.Column("queue", sa.String(length=16), nullable=False),
    sa.Column("priority", sa.Integer(), nullable=False),
    sa.Column("status", sa.String(length=16), nullable=False),
    sa.Column("request", JSON, nullable=False),
    sa.Column("strategy_version_id", sa.String(length=32), nullable=True),
    sa.Column("parent_id", sa.String(length=32), nullable=True),
    sa.Column("config_hash", sa.String(length=64), nullable=True),
    sa.Column("data_hash", sa.String(length=64), nullable=True),
    sa.Column("progress", sa.Double(), nullable=False),
    sa.Column("message", sa.String(length=500), nullable=False),
    sa.Column("eta_seconds", sa.Double(), nullable=True),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("max_attempts", sa.Integer(), nullable=False),
    sa.Column("not_before", sa.Double(), nullable=False),
    sa.Column("lease_expires_at", sa.Double(), nullable=True),
    sa.Column("heartbeat_at", sa.Double(), nullable=True),
    sa.Column("worker", sa.String(length=200), nullable=True),
    sa.Column("cancel_requested", sa.Boolean(), nullable=False),
    sa.Column("error", JSON, nullable=True),
    sa.Column("summary", JSON, nullable=True),
    sa.Column("created_at", sa.Double(), nullable=False),
    sa.Column("started_at", sa.Double(), nullable=True),
    sa.Column("finished_at", sa.Double(), nullable=True),
    sa.ForeignKeyConstraint(["parent_id"], ["runs.id"], ondelete="CASCADE"),
    sa.ForeignKeyConstraint(["strategy_version_id"], ["strategy_versions.id"], ondelete="SET NULL"),
    sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("id")
    )
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_runs_parent_id"), ["parent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_runs_user_id"), ["user_id"], unique=False)
        batch_op.create_index("runs_claim", ["queue", "status", sa.text("priority DESC"), "created_at"], unique=False)
        batch_op.create_index("runs_by_owner", ["user_id", sa.text("created_at DESC")], unique=False)
        batch_op.create_index("runs_active", ["user_id", "status"], unique=False)

    op.create_table("artifacts",
    sa.Column("id", sa.String(length=32), nullable=False),
    sa.Column("run_id", sa.String(length=32), nullable=False),
    sa.Column("name", sa.String(length=200), nullable=False),
    sa.Column("media_type", sa.String(length=100), nullable=False),
    sa.Column("size", sa.Integer(), nullable=False),
    sa.Column("sha256", sa.String(length=64), nullable=False),
    sa.Column("path", sa.String(length=500), nullable=False),
    sa.Column("created_at", sa.Double(), nullable=False),
    sa.ForeignKeyConstraint(["run_id"], ["runs.id"], ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("run_id", "name", name="one_name_per_run")
    )
    with op.batch_alter_table("artifacts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_artifacts_run_id"), ["run_id"], unique=False)

    op.create_table("feedback",
    sa.Column("id", sa.String(length=32), nullable=False),
    sa.Column("user_id", sa.String(length=32), nullable=False),
    sa.Column("text", sa.Text(), nullable=False),
    sa.Column("rating", sa.Integer(), nullable=True),
    sa.Column("run_id", sa.String(length=32), nullable=True),
    sa.Column("created_at", sa.Double(), nullable=False),
    sa.ForeignKeyConstraint(["run_id"], ["runs.id"], ondelete="SET NULL"),
    sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("id")
    )
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_feedback_user_id"), ["user_id"], unique=False)

    op.create_table("folds",
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("run_id", sa.String(length=32), nullable=False),
    sa.Column("number", sa.Integer(), nullable=False),
    sa.Column("train_start", sa.String(length=40), nullable=False),
    sa.Column("train_end", sa.String(length=40), nullable=False),
    sa.Column("test_start", sa.String(length=40), nullable=False),
    sa.Column("test_end", sa.String(length=40), nullable=False),
    sa.Column("params", JSON, nullable=False),
    sa.Column("stats", JSON, nullable=True),
    sa.ForeignKeyConstraint(["run_id"], ["runs.id"], ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("run_id", "number", name="one_number_per_fold")
    )
    with op.batch_alter_table("folds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_folds_run_id"), ["run_id"], unique=False)

    op.create_table("trials",
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("run_id", sa.String(length=32), nullable=False),
    sa.Column("number", sa.Integer(), nullable=False),
    sa.Column("params", JSON, nullable=False),
    sa.Column("value", sa.Double(), nullable=True),
    sa.Column("state", sa.String(length=16), nullable=False),
    sa.Column("stats", JSON, nullable=True),
    sa.ForeignKeyConstraint(["run_id"], ["runs.id"], ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("run_id", "number", name="one_number_per_trial")
    )
    with op.batch_alter_table("trials", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trials_run_id"), ["run_id"], unique=False)




def downgrade() -> None:

    with op.batch_alter_table("trials", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trials_run_id"))

    op.drop_table("trials")
    with op.batch_alter_table("folds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_folds_run_id"))

    op.drop_table("folds")
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feedback_user_id"))

    op.drop_table("feedback")
    with op.batch_alter_table("artifacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_artifacts_run_id"))

    op.drop_table("artifacts")
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_index("runs_active")
        batch_op.drop_index("runs_by_owner")
        batch_op.drop_index("runs_claim")
        batch_op.drop_index(batch_op.f("ix_runs_user_id"))
        batch_op.drop_index(batch_op.f("ix_runs_parent_id"))

    op.drop_table("runs")
    with op.batch_alter_table("strategy_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_strategy_versions_strategy_id"))

    op.drop_table("strategy_versions")
    with op.batch_alter_table("strategies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_strategies_user_id"))

    op.drop_table("strategies")
    with op.batch_alter_table("series", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_series_user_id"))

    op.drop_table("series")
    with op.batch_alter_table("invites", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invites_created_by"))

    op.drop_table("invites")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_user_id"))
        batch_op.drop_index("events_by_name")

    op.drop_table("events")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_keys_user_id"))

    op.drop_table("api_keys")
    op.drop_table("users")

