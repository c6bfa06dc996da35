"""Rollups: job_counts (finished jobs present, by created day) and daily_stats (finishes by day).

Built from the existing rows in the same transaction, so a 0.1 database's figures are exact
from the first start on: job_counts is the GROUP BY it summarizes; daily_stats holds the
finishes of the jobs still present (0.1's retention had deleted older rows; their totals
live on in lifetime_stats, which this revision leaves as it is).

Revision ID: 0003_rollups
Revises: 0002_job_tracks
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from arrtheaudio_server.queue.store.dialect import dialect_named

revision = "0003_rollups"
down_revision = "0002_job_tracks"
branch_labels = None
depends_on = None

_TERMINAL = "('completed', 'failed', 'cancelled')"
_RESULTS = "('success', 'failed', 'skipped')"


def _sums() -> list[sa.Column]:
    return [
        sa.Column("n", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("track_changes", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("duration_ms_sum", sa.BigInteger(), nullable=False, server_default="0"),
    ]


def upgrade() -> None:
    op.create_table(
        "job_counts",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("container", sa.String(length=8), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("result", sa.String(length=10), nullable=False),
        sa.Column("reason_code", sa.String(length=32), nullable=False),
        *_sums(),
        sa.PrimaryKeyConstraint("day", "container", "source", "status", "result", "reason_code"),
    )
    op.create_table(
        "daily_stats",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("container", sa.String(length=8), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("result", sa.String(length=10), nullable=False),
        *_sums(),
        sa.PrimaryKeyConstraint("day", "container", "source", "result"),
    )
    bind = op.get_bind()
    dialect = dialect_named(bind.dialect.name)
    jobs = sa.table("jobs", sa.column("created_at"), sa.column("completed_at"))
    created_day = dialect.day_sql(jobs.c.created_at)
    completed_day = dialect.day_sql(jobs.c.completed_at)
    changed = "SUM(CASE WHEN track_changed THEN 1 ELSE 0 END)"
    op.execute(
        f"INSERT INTO job_counts (day, container, source, status, result, reason_code, n, track_changes, "
        f"duration_ms_sum) "
        f"SELECT {created_day}, COALESCE(container, 'unknown'), source, status, COALESCE(result, ''), "
        f"COALESCE(reason_code, ''), COUNT(*), {changed}, COALESCE(SUM(duration_ms), 0) "
        f"FROM jobs WHERE status IN {_TERMINAL} GROUP BY 1, 2, 3, 4, 5, 6"
    )
    op.execute(
        f"INSERT INTO daily_stats (day, container, source, result, n, track_changes, duration_ms_sum) "
        f"SELECT {completed_day}, COALESCE(container, 'unknown'), source, result, COUNT(*), {changed}, "
        f"COALESCE(SUM(duration_ms), 0) "
        f"FROM jobs WHERE status IN {_TERMINAL} AND result IN {_RESULTS} AND completed_at IS NOT NULL "
        f"GROUP BY 1, 2, 3, 4"
    )


def downgrade() -> None:
    op.drop_table("daily_stats")
    op.drop_table("job_counts")
