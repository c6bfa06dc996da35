"""file_checks and schedule_runs (#14): incremental rescans and scheduled scans.

Created only where missing: for a while main created these tables at start without a revision,
so a database may have them and still be stamped as an earlier revision.

Revision ID: 0004_file_checks_schedule_runs
Revises: 0003_rollups
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_file_checks_schedule_runs"
down_revision = "0003_rollups"
branch_labels = None
depends_on = None


def upgrade() -> None:
    present = set(sa.inspect(op.get_bind()).get_table_names())
    if "file_checks" not in present:
        op.create_table(
            "file_checks",
            sa.Column("path", sa.Text(), nullable=False),
            sa.Column("size", sa.BigInteger(), nullable=False),
            sa.Column("mtime_ns", sa.BigInteger(), nullable=False),
            sa.Column("inode", sa.BigInteger(), nullable=False),
            sa.Column("decision_key", sa.String(length=64), nullable=False),
            sa.Column("outcome", sa.String(length=32), nullable=False),
            sa.Column("job_id", sa.String(length=32), nullable=True),
            sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("path"),
        )
    if "schedule_runs" not in present:
        op.create_table(
            "schedule_runs",
            sa.Column(
                "seq",
                sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                autoincrement=True,
                nullable=False,
            ),
            sa.Column("schedule", sa.String(length=64), nullable=False),
            sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("instance_id", sa.String(length=100), nullable=False),
            sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("outcome", sa.String(length=16), nullable=False),
            sa.Column("batch_id", sa.String(length=32), nullable=True),
            sa.Column("message", sa.Text(), nullable=True),
            sa.PrimaryKeyConstraint("seq"),
            sa.UniqueConstraint("schedule", "due_at", name="ux_schedule_runs_due"),
        )
        op.create_index("ix_schedule_runs_schedule_seq", "schedule_runs", ["schedule", "seq"], unique=False)


def downgrade() -> None:
    op.drop_table("schedule_runs")
    op.drop_table("file_checks")
