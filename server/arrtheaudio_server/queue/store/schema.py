"""The queue's tables (SQLModel), the indexes every query leans on, and the rollups.

This is the schema the code expects; the database gets there through the Alembic revisions
in :mod:`.migrations` (a test checks that the migrated schema and this one agree). Rows never
leave the store: :mod:`.rows` turns them into the plain values of :mod:`..domain`. Each index
is named after the query it serves, and ``tests/queue/test_explain.py`` checks with EXPLAIN
that the claim and the list/stat queries use one instead of scanning the history.

The rollups are what keeps the status reads independent of the history's size:

* ``job_counts`` — the finished jobs *present in* ``jobs``, per created day × container ×
  source × status × result × reason code. Kept in the transaction that makes a job terminal,
  decremented by the one that deletes it (retention) or makes it active again (retry), so it
  always equals a GROUP BY over the terminal rows (a property test checks exactly that).
* ``daily_stats`` — jobs that finished with a result, per completion day × container ×
  source × result: each job counted once, by its last outcome (a retry withdraws the earlier
  one). It records finishes, not rows, so retention leaves it be.
* ``lifetime_stats`` — the same without the day (0.1 already had it).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from arrtheaudio_server.queue.domain import ACTIVE_STATUSES, JobStatus

# The partial unique index's predicate, from the one status vocabulary (in declaration order,
# which is also how 0.1 spelled it).
ACTIVE_SQL = "status IN ({})".format(", ".join(f"'{s.value}'" for s in JobStatus if s in ACTIVE_STATUSES))
# Rollup keys are NOT NULL (they are primary keys): a job whose container is not known yet is
# counted under UNKNOWN (as lifetime_stats always did); no result / no reason code is NONE.
UNKNOWN = "unknown"
NONE = ""


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on both backends.

    SQLite keeps no zone (stores naive UTC text, which sorts and compares correctly);
    PostgreSQL keeps ``timestamptz``.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the queue storage; use arrtheaudio_server.clock")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _ts(nullable: bool = True, **kwargs: Any) -> Any:
    return Field(default=None, sa_column=Column(UtcDateTime(), nullable=nullable, **kwargs))


class JobRow(SQLModel, table=True):
    __tablename__ = "jobs"

    # Integer key: the FIFO tie-breaker inside a priority and the claim's row handle.
    seq: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    )
    job_id: str = Field(sa_column=Column(String(32), nullable=False, unique=True))
    file_path: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(sa_column=Column(String(20), nullable=False))
    priority: int = Field(sa_column=Column(Integer, nullable=False))
    container: str | None = Field(default=None, sa_column=Column(String(8)))
    source: str = Field(sa_column=Column(String(16), nullable=False))
    webhook_id: str | None = Field(default=None, sa_column=Column(String(32)))
    batch_id: str | None = Field(default=None, sa_column=Column(String(32)))
    hints: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    dry_run: bool = Field(default=False)
    created_at: datetime = _ts(nullable=False)
    # A retry or a job waiting for space is not claimable before this time.
    next_attempt_at: datetime = _ts(nullable=False)
    started_at: datetime | None = _ts()
    completed_at: datetime | None = _ts()
    attempts: int = Field(default=0)
    result: str | None = Field(default=None, sa_column=Column(String(10)))
    reason: str | None = Field(default=None, sa_column=Column(Text))
    reason_code: str | None = Field(default=None, sa_column=Column(String(32)))
    duration_ms: int | None = Field(default=None)
    track_changed: bool = Field(default=False)
    selected_index: int | None = Field(default=None)
    selected_language: str | None = Field(default=None, sa_column=Column(String(16)))
    language: str | None = Field(default=None, sa_column=Column(String(16)))
    language_source: str | None = Field(default=None, sa_column=Column(String(16)))
    # What the job read and did (#10): the audio tracks (queue/track_json.py) and the write.
    tracks: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON))
    write_method: str | None = Field(default=None, sa_column=Column(String(16)))
    write_note: str | None = Field(default=None, sa_column=Column(Text))
    # The lease: who runs the job and until when it is presumed alive (heartbeats extend it).
    worker_id: str | None = Field(default=None, sa_column=Column(String(120)))
    lease_owner: str | None = Field(default=None, sa_column=Column(String(100)))
    lease_expires_at: datetime | None = _ts()
    # Set by a cancel that reaches another instance's running job; its heartbeat obeys it.
    cancel_requested: bool = Field(default=False)


_jobs = JobRow.__table__  # type: ignore[attr-defined]
# Claim order (and the "next jobs" list, and counts by status): status, priority high first, FIFO.
Index("ix_jobs_claim", _jobs.c.status, _jobs.c.priority.desc(), _jobs.c.seq)
# Counts by status and result (queue / stats) read this index alone, never the table.
Index("ix_jobs_status_result", _jobs.c.status, _jobs.c.result, _jobs.c.track_changed)
# Dedup made atomic: one active job per file, across instances.
Index(
    "ux_jobs_active_path",
    _jobs.c.file_path,
    unique=True,
    sqlite_where=text(ACTIVE_SQL),
    postgresql_where=text(ACTIVE_SQL),
)
# Lists filtered by one column come newest-first (or oldest-first) straight from these;
# ``seq`` is creation order (and, inside a batch, path order: discovery inserts sorted).
Index("ix_jobs_status_seq", _jobs.c.status, _jobs.c.seq)
Index("ix_jobs_batch_seq", _jobs.c.batch_id, _jobs.c.seq)
# A batch's counts (GetBatch, ListBatches, batch-filtered totals and stats) from this index
# alone: as many entries as the batch has jobs, no table row read.
Index("ix_jobs_batch_counts", _jobs.c.batch_id, _jobs.c.status, _jobs.c.result, _jobs.c.track_changed)
Index("ix_jobs_webhook_seq", _jobs.c.webhook_id, _jobs.c.seq)
Index("ix_jobs_source_seq", _jobs.c.source, _jobs.c.seq)
Index("ix_jobs_container_seq", _jobs.c.container, _jobs.c.seq)
Index("ix_jobs_priority_seq", _jobs.c.priority.desc(), _jobs.c.seq)
# Retention, "today" and lists by completion/duration.
Index("ix_jobs_completed", _jobs.c.completed_at)
Index("ix_jobs_duration", _jobs.c.duration_ms)
# Statistics over the jobs created since a moment (GetJobStats' created_after).
Index("ix_jobs_created", _jobs.c.created_at)


class BatchRow(SQLModel, table=True):
    __tablename__ = "batches"

    batch_id: str = Field(sa_column=Column(String(32), primary_key=True))
    path: str = Field(sa_column=Column(Text, nullable=False))
    recursive: bool = True
    pattern: str | None = Field(default=None, sa_column=Column(Text))
    exclude_patterns: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    dry_run: bool = False
    priority: int = Field(sa_column=Column(Integer, nullable=False))
    min_size_mb: float | None = None
    max_age_days: float | None = None
    status: str = Field(sa_column=Column(String(16), nullable=False))
    created_at: datetime = _ts(nullable=False)
    completed_at: datetime | None = _ts()
    estimated_files: int = 0
    error: str | None = Field(default=None, sa_column=Column(Text))


_batches = BatchRow.__table__  # type: ignore[attr-defined]
Index("ix_batches_created", _batches.c.created_at)
# ListBatches filtered by status, newest first.
Index("ix_batches_status_created", _batches.c.status, _batches.c.created_at)
Index("ix_batches_path_status", _batches.c.path, _batches.c.status)


class WebhookRow(SQLModel, table=True):
    __tablename__ = "webhooks"

    webhook_id: str = Field(sa_column=Column(String(32), primary_key=True))
    source: str = Field(sa_column=Column(String(16), nullable=False))
    event_type: str = Field(sa_column=Column(String(64), nullable=False))
    title: str | None = Field(default=None, sa_column=Column(Text))
    hints: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # Every job the webhook's files map to, including existing jobs it was linked to (dedup).
    job_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _ts(nullable=False)


_webhooks = WebhookRow.__table__  # type: ignore[attr-defined]
Index("ix_webhooks_created", _webhooks.c.created_at)


class MetadataCacheRow(SQLModel, table=True):
    """TMDB answers (and any other slow lookup) shared by every instance on the same database."""

    __tablename__ = "metadata_cache"

    key: str = Field(sa_column=Column(String(255), primary_key=True))
    value: str = Field(sa_column=Column(Text, nullable=False))
    expires_at: datetime = _ts(nullable=False)


class LifetimeStatsRow(SQLModel, table=True):
    """Running totals per (container, source), updated in the transaction that finishes a job.

    Retention deletes old job rows; these totals are what keeps the lifetime statistics.
    """

    __tablename__ = "lifetime_stats"

    container: str = Field(sa_column=Column(String(8), primary_key=True))
    source: str = Field(sa_column=Column(String(16), primary_key=True))
    total: int = 0
    success: int = 0
    failed: int = 0
    skipped: int = 0
    track_changes: int = 0
    duration_ms_sum: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))


def _count() -> Any:
    return Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))


class JobCountRow(SQLModel, table=True):
    """Finished jobs present in ``jobs``, by the columns GetJobStats filters and groups on."""

    __tablename__ = "job_counts"

    day: date = Field(sa_column=Column(Date, primary_key=True))  # UTC day of created_at
    container: str = Field(sa_column=Column(String(8), primary_key=True))
    source: str = Field(sa_column=Column(String(16), primary_key=True))
    status: str = Field(sa_column=Column(String(20), primary_key=True))
    result: str = Field(sa_column=Column(String(10), primary_key=True))
    reason_code: str = Field(sa_column=Column(String(32), primary_key=True))
    n: int = _count()
    track_changes: int = _count()
    duration_ms_sum: int = _count()


class DailyStatsRow(SQLModel, table=True):
    """Jobs that finished with a result, per UTC completion day (the jobs-per-day series)."""

    __tablename__ = "daily_stats"

    day: date = Field(sa_column=Column(Date, primary_key=True))  # UTC day of completed_at
    container: str = Field(sa_column=Column(String(8), primary_key=True))
    source: str = Field(sa_column=Column(String(16), primary_key=True))
    result: str = Field(sa_column=Column(String(10), primary_key=True))
    n: int = _count()
    track_changes: int = _count()
    duration_ms_sum: int = _count()


# Incremental rescans (#14, store/file_checks.py): each file's last lasting check.
FILE_CHECKS = Table(
    "file_checks",
    SQLModel.metadata,
    Column("path", Text, primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("mtime_ns", BigInteger, nullable=False),
    Column("inode", BigInteger, nullable=False),
    Column("decision_key", String(64), nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("job_id", String(32)),
    Column("checked_at", UtcDateTime(), nullable=False),
)
# Scheduled scans (#14, store/schedule_runs.py): one row per (schedule, due time).
SCHEDULE_RUNS = Table(
    "schedule_runs",
    SQLModel.metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("schedule", String(64), nullable=False),
    Column("due_at", UtcDateTime(), nullable=False),
    Column("instance_id", String(100), nullable=False),
    Column("claimed_at", UtcDateTime(), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("batch_id", String(32)),
    Column("message", Text),
    # One run per due time, whichever instance gets there first.
    UniqueConstraint("schedule", "due_at", name="ux_schedule_runs_due"),
)
# "The last run" and "the last batch" of a schedule: newest first.
Index("ix_schedule_runs_schedule_seq", SCHEDULE_RUNS.c.schedule, SCHEDULE_RUNS.c.seq)

JOBS = _jobs
BATCHES = _batches
WEBHOOKS = _webhooks
METADATA_CACHE = MetadataCacheRow.__table__  # type: ignore[attr-defined]
LIFETIME_STATS = LifetimeStatsRow.__table__  # type: ignore[attr-defined]
JOB_COUNTS = JobCountRow.__table__  # type: ignore[attr-defined]
DAILY_STATS = DailyStatsRow.__table__  # type: ignore[attr-defined]
TABLES = (
    JOBS,
    BATCHES,
    WEBHOOKS,
    METADATA_CACHE,
    LIFETIME_STATS,
    JOB_COUNTS,
    DAILY_STATS,
    FILE_CHECKS,
    SCHEDULE_RUNS,
)
