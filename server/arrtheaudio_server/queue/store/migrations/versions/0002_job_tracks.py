"""jobs.tracks, write_method, write_note (#10): what a job read and how it wrote.

Each column is added only where it is missing: for a while main added these columns at start
without recording a revision, so a database may have them and still be stamped as 0.1.

Revision ID: 0002_job_tracks
Revises: 0001_v0_1
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_job_tracks"
down_revision = "0001_v0_1"
branch_labels = None
depends_on = None

_COLUMNS = (
    ("tracks", sa.JSON()),
    ("write_method", sa.String(length=16)),
    ("write_note", sa.Text()),
)


def upgrade() -> None:
    present = {column["name"] for column in sa.inspect(op.get_bind()).get_columns("jobs")}
    missing = [(name, kind) for name, kind in _COLUMNS if name not in present]
    if missing:
        with op.batch_alter_table("jobs") as batch:
            for name, kind in missing:
                batch.add_column(sa.Column(name, kind, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        for name, _kind in reversed(_COLUMNS):
            batch.drop_column(name)
