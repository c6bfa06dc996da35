"""The queue's vocabulary: plain typed values that cross from storage to the API.

No ORM object and no protobuf message leaves the queue package; the servicers translate
these dataclasses into protobuf, the storage backends build them from rows. Keeping them
here (not in the table models) is what lets the API layer stay free of SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import IntEnum, StrEnum
from typing import NamedTuple

from arrtheaudio_server.media.result import (
    Container,
    LanguageSource,
    ResultStatus,
    SelectedTrack,
    TrackChange,
    WriteMethod,
)
from arrtheaudio_server.metadata.hints import MediaHints


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    WAITING_FOR_SPACE = "waiting_for_space"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL_STATUSES


# The status vocabulary, defined here once: the store's SQL (the partial unique index, the
# active-job counts, the rollups of finished jobs) is built from these, never spelled again.
ACTIVE_STATUSES = frozenset({JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.WAITING_FOR_SPACE})
TERMINAL_STATUSES = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED})
# Cancellable without a worker: nothing runs them yet.
WAITING_STATUSES = frozenset({JobStatus.QUEUED, JobStatus.WAITING_FOR_SPACE})


class Priority(IntEnum):
    """Stored as the integer so ``ORDER BY priority DESC`` is the claim order."""

    LOW = 0
    NORMAL = 1
    HIGH = 2


class Source(StrEnum):
    SONARR = "sonarr"
    RADARR = "radarr"
    MANUAL = "manual"


class BatchStatus(StrEnum):
    SCANNING = "scanning"
    RUNNING = "running"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"


# A path has at most one batch in these states.
ACTIVE_BATCH_STATUSES = frozenset({BatchStatus.SCANNING, BatchStatus.RUNNING})


@dataclass(frozen=True, slots=True)
class Job:
    job_id: str
    file_path: str
    status: JobStatus
    priority: Priority
    container: Container | None
    source: Source
    created_at: datetime
    webhook_id: str | None = None
    batch_id: str | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    attempts: int = 0
    result: ResultStatus | None = None
    reason: str | None = None
    reason_code: str | None = None
    duration_ms: int | None = None
    track_changed: bool = False
    selected_track: SelectedTrack | None = None
    language: str | None = None
    language_source: LanguageSource | None = None
    worker_id: str | None = None
    dry_run: bool = False
    # The audio tracks as read before the change, each with its default flag after it;
    # and how the change was (or in a dry run would be) written, and why.
    tracks: tuple[TrackChange, ...] = ()
    write_method: WriteMethod | None = None
    write_note: str | None = None


@dataclass(frozen=True, slots=True)
class EnqueuedJob:
    """One file of a request and what became of it.

    ``deduplicated`` is True when the file was already queued or running: no new job was
    made and ``job_id`` is the existing job's id (the request is linked to it).
    """

    path: str
    job_id: str
    deduplicated: bool = False


@dataclass(frozen=True, slots=True)
class WebhookInfo:
    webhook_id: str
    source: Source
    event_type: str
    title: str | None
    hints: MediaHints
    created_at: datetime
    job_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Counts:
    """Jobs of one group (a batch, a webhook, the whole queue) by status and result."""

    total: int = 0
    queued: int = 0
    running: int = 0
    waiting_for_space: int = 0
    completed: int = 0
    failed: int = 0
    cancelled: int = 0
    success: int = 0
    skipped: int = 0
    result_failed: int = 0
    track_changes: int = 0

    @property
    def finished(self) -> int:
        return self.completed + self.failed + self.cancelled

    @property
    def percent(self) -> float:
        return 100.0 * self.finished / self.total if self.total else 100.0


@dataclass(frozen=True, slots=True)
class BatchRequest:
    path: str  # already resolved inside the media roots by the caller
    recursive: bool = True
    pattern: str | None = None  # glob on the file name, e.g. "*.mkv"
    dry_run: bool = False
    priority: Priority = Priority.NORMAL
    min_size_mb: float | None = None
    max_age_days: float | None = None
    exclude_patterns: tuple[str, ...] = ()
    # Check files unchanged since their last check too (see queue.file_checks).
    force: bool = False


@dataclass(frozen=True, slots=True)
class BatchInfo:
    batch_id: str
    request: BatchRequest
    status: BatchStatus
    created_at: datetime
    completed_at: datetime | None
    estimated_files: int
    counts: Counts
    eta_seconds: float | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class QueueSnapshot:
    counts: Counts
    workers_total: int
    workers_active: int
    current_jobs: tuple[Job, ...]  # running jobs (worker_id set), any instance
    next_jobs: tuple[Job, ...]  # in claim order; position = index + 1


@dataclass(frozen=True, slots=True)
class PeriodStats:
    total: int = 0
    success: int = 0
    failed: int = 0
    skipped: int = 0
    track_changes: int = 0
    avg_duration_ms: float = 0.0

    @property
    def success_rate(self) -> float:
        done = self.success + self.failed + self.skipped
        return (self.success + self.skipped) / done if done else 0.0


@dataclass(frozen=True, slots=True)
class Stats:
    queue: Counts
    workers_total: int
    workers_active: int
    today: PeriodStats
    lifetime: PeriodStats
    per_container: dict[str, PeriodStats] = field(default_factory=dict)
    per_source: dict[str, PeriodStats] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DailyCount:
    """Jobs that finished with a result on one UTC day (the jobs-per-day series).

    From the daily rollup, so it survives retention like the lifetime totals do.
    """

    day: date
    total: int = 0
    success: int = 0
    failed: int = 0
    skipped: int = 0
    track_changes: int = 0
    duration_ms_sum: int = 0


@dataclass(frozen=True, slots=True)
class FinishedTotal:
    """Lifetime count of finished jobs for one (result, container, source): a Prometheus counter.

    From the lifetime table, so it survives retention and every instance reports the same.
    """

    result: str
    container: str
    source: str
    count: int


@dataclass(frozen=True, slots=True)
class MetricsFigures:
    """What /metrics reads from the store in one snapshot.

    ``durations`` is (finished jobs, summed duration in ms) per container, from the lifetime table.
    """

    queue: Counts
    finished: tuple[FinishedTotal, ...]
    durations: dict[str, tuple[int, int]] = field(default_factory=dict)
    batches: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RetryResult:
    """What a retry queued again (jobs after the change) and what it had to leave alone."""

    jobs: tuple[Job, ...]
    skipped: int = 0


@dataclass(frozen=True, slots=True)
class ReasonCount:
    reason_code: str
    count: int


@dataclass(frozen=True, slots=True)
class JobStats:
    """Figures over the jobs matching a filter (GetJobStats), every one aggregated by the database.

    ``counts``: the matching jobs by status; ``outcomes`` and the per-container/per-source
    figures: the matching jobs that finished with a result (cancelled jobs have none);
    ``reasons``: reason codes of the matching terminal jobs, most frequent first.
    Jobs whose container is not known yet are counted under ``"unknown"``, as the lifetime totals do.
    """

    counts: Counts
    outcomes: PeriodStats
    per_container: dict[str, PeriodStats] = field(default_factory=dict)
    per_source: dict[str, PeriodStats] = field(default_factory=dict)
    reasons: tuple[ReasonCount, ...] = ()


@dataclass(frozen=True, slots=True)
class JobFilter:
    status: JobStatus | None = None
    webhook_id: str | None = None
    batch_id: str | None = None
    source: Source | None = None
    container: Container | None = None
    limit: int = 50
    offset: int = 0
    order_by: str = "created_at desc"  # "<created_at|completed_at|priority|duration_ms> [asc|desc]"


@dataclass(frozen=True, slots=True)
class CleanupResult:
    jobs_removed: int
    batches_removed: int
    webhooks_removed: int


@dataclass(frozen=True, slots=True)
class QueueEvent:
    """A state change, as published to watchers. ``seq`` grows per publisher.

    ``coalesced`` marks the stand-in a slow watcher gets when its bounded buffer
    overflowed: the events in between were dropped, so the watcher re-reads the state
    it shows instead of replaying every change (workers never wait for a watcher).
    """

    seq: int
    job: Job | None = None
    batch_id: str | None = None
    webhook_id: str | None = None
    coalesced: bool = False
    # Set when ``job`` is None but the event is about one job: a change made by another
    # instance (LISTEN/NOTIFY carries ids, not rows) that could not be loaded here.
    job_id: str | None = None
    status: JobStatus | None = None


# --- what the facade's reads answer ------------------------------------------------------
# Named tuples: fields by name for new code, and ``info, jobs, total = ...`` keeps working.


class JobPage(NamedTuple):
    jobs: list[Job]
    total: int  # every job matching the filter, not just this page


class BatchPage(NamedTuple):
    info: BatchInfo
    jobs: list[Job]  # one page, in path order
    total: int  # every job of the batch


class BatchList(NamedTuple):
    batches: list[BatchInfo]
    total: int


class BatchCancelled(NamedTuple):
    info: BatchInfo
    cancelled: int  # jobs cancelled now (running ones finish)


class WebhookDetail(NamedTuple):
    info: WebhookInfo
    counts: Counts
    jobs: list[Job]


class WebhookSummary(NamedTuple):
    info: WebhookInfo
    counts: Counts


class WebhookList(NamedTuple):
    webhooks: list[WebhookSummary]  # newest first
    total: int


class BatchRetried(NamedTuple):
    info: BatchInfo
    result: RetryResult


class WebhookAccepted(NamedTuple):
    info: WebhookInfo
    jobs: list[EnqueuedJob]


# --- errors the API maps to gRPC status codes -------------------------------------------


class QueueError(Exception):
    """Base for expected, user-facing failures of a queue operation."""


class NotFound(QueueError):
    pass


class QueueFull(QueueError):
    """The request would exceed max_queue_size; nothing of it was queued. → UNAVAILABLE"""


class ServiceUnavailable(QueueError):
    """E.g. a batch in rollback mode (worker_count 0), or storage unreachable. → UNAVAILABLE"""


class AlreadyExists(QueueError):
    """A batch is already scanning/running for the same path. → ALREADY_EXISTS"""


class InvalidRequest(QueueError):
    """A field of the request is unusable. → INVALID_ARGUMENT with a BadRequest field violation."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field_name = field_name


class FailedPrecondition(QueueError):
    """E.g. cancelling a job that already finished. → FAILED_PRECONDITION"""
