"""The schema of ArrTheAudio 0.1, as its create_all wrote it: the baseline every upgrade starts from.

A database 0.1 made has these tables but no ``alembic_version``; :mod:`..migrate` recognizes
it and stamps it with this revision instead of running it. Frozen: never edit it, add a
revision instead.

Revision ID: 0001_v0_1
Revises:
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_v0_1"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "batches",
        sa.Column("batch_id", sa.String(length=32), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("recursive", sa.Boolean(), nullable=False),
        sa.Column("pattern", sa.Text(), nullable=True),
        sa.Column("exclude_patterns", sa.JSON(), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("min_size_mb", sa.Float(), nullable=True),
        sa.Column("max_age_days", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("estimated_files", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("batch_id"),
    )
    op.create_index("ix_batches_created", "batches", ["created_at"], unique=False)
    op.create_index("ix_batches_path_status", "batches", ["path", "status"], unique=False)
    op.create_index("ix_batches_status_created", "batches", ["status", "created_at"], unique=False)
    op.create_table(
        "jobs",
        sa.Column(
            "seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("job_id", sa.String(length=32), nullable=False),
        sa.Column("file_path", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("container", sa.String(length=8), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("webhook_id", sa.String(length=32), nullable=True),
        sa.Column("batch_id", sa.String(length=32), nullable=True),
        sa.Column("hints", sa.JSON(), nullable=True),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("result", sa.String(length=10), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("reason_code", sa.String(length=32), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("track_changed", sa.Boolean(), nullable=False),
        sa.Column("selected_index", sa.Integer(), nullable=True),
        sa.Column("selected_language", sa.String(length=16), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("language_source", sa.String(length=16), nullable=True),
        sa.Column("worker_id", sa.String(length=120), nullable=True),
        sa.Column("lease_owner", sa.String(length=100), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("job_id"),
    )
    op.create_index("ix_jobs_batch_seq", "jobs", ["batch_id", "seq"], unique=False)
    op.create_index(
        "ix_jobs_claim", "jobs", ["status", sa.literal_column("priority DESC"), "seq"], unique=False
    )
    op.create_index("ix_jobs_completed", "jobs", ["completed_at"], unique=False)
    op.create_index("ix_jobs_container_seq", "jobs", ["container", "seq"], unique=False)
    op.create_index("ix_jobs_created", "jobs", ["created_at"], unique=False)
    op.create_index("ix_jobs_duration", "jobs", ["duration_ms"], unique=False)
    op.create_index("ix_jobs_priority_seq", "jobs", [sa.literal_column("priority DESC"), "seq"], unique=False)
    op.create_index("ix_jobs_source_seq", "jobs", ["source", "seq"], unique=False)
    op.create_index("ix_jobs_status_result", "jobs", ["status", "result", "track_changed"], unique=False)
    op.create_index("ix_jobs_status_seq", "jobs", ["status", "seq"], unique=False)
    op.create_index("ix_jobs_webhook_seq", "jobs", ["webhook_id", "seq"], unique=False)
    op.create_index(
        "ux_jobs_active_path",
        "jobs",
        ["file_path"],
        unique=True,
        sqlite_where=sa.text("status IN ('queued', 'running', 'waiting_for_space')"),
        postgresql_where=sa.text("status IN ('queued', 'running', 'waiting_for_space')"),
    )
    op.create_table(
        "lifetime_stats",
        sa.Column("container", sa.String(length=8), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("success", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("track_changes", sa.Integer(), nullable=False),
        sa.Column("duration_ms_sum", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("container", "source"),
    )
    op.create_table(
        "metadata_cache",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "webhooks",
        sa.Column("webhook_id", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("hints", sa.JSON(), nullable=False),
        sa.Column("job_ids", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("webhook_id"),
    )
    op.create_index("ix_webhooks_created", "webhooks", ["created_at"], unique=False)


def downgrade() -> None:
    for table in ("webhooks", "metadata_cache", "lifetime_stats", "jobs", "batches"):
        op.drop_table(table)
