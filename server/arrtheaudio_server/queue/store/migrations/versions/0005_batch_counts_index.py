"""ix_jobs_batch_counts: a batch's counts read from one index (no table rows).

Revision ID: 0005_batch_counts_index
Revises: 0004_file_checks_schedule_runs
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0005_batch_counts_index"
down_revision = "0004_file_checks_schedule_runs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_jobs_batch_counts", "jobs", ["batch_id", "status", "result", "track_changed"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_jobs_batch_counts", table_name="jobs")
