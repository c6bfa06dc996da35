"""Rows in, domain values out — and the small typed values the store's writes take and give.

Nothing built from a row leaves the store except the plain dataclasses of
:mod:`arrtheaudio_server.queue.domain`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from arrtheaudio_server.media.result import (
    Container,
    LanguageSource,
    ResultStatus,
    SelectedTrack,
    TrackChange,
    WriteMethod,
)
from arrtheaudio_server.metadata.hints import MediaHints
from arrtheaudio_server.queue.domain import (
    BatchInfo,
    BatchRequest,
    BatchStatus,
    Counts,
    Job,
    JobStatus,
    Priority,
    QueueEvent,
    RetryResult,
    Source,
    WebhookInfo,
)
from arrtheaudio_server.queue.track_json import tracks_from_json

# Beyond this many jobs, one change travels to other instances as one event per batch.
NOTIFY_MAX_JOBS = 100


@dataclass(frozen=True, slots=True)
class NewJob:
    """A file to queue, as the manager prepared it (path already resolved and checked)."""

    path: str
    container: Container | None
    priority: Priority
    source: Source
    dry_run: bool = False
    hints: MediaHints | None = None


@dataclass(frozen=True, slots=True)
class NewBatch:
    """The batch row an enqueue creates with its jobs."""

    batch_id: str
    request: BatchRequest
    estimated_files: int


@dataclass(frozen=True, slots=True)
class JobOutcome:
    """What a worker decided for the job it ran: a terminal state, a retry, or a wait."""

    status: JobStatus
    result: ResultStatus | None = None
    reason: str | None = None
    reason_code: str | None = None
    duration_ms: int | None = None
    track_changed: bool = False
    selected: SelectedTrack | None = None
    language: str | None = None
    language_source: LanguageSource | None = None
    container: Container | None = None
    tracks: tuple[TrackChange, ...] = ()
    write_method: WriteMethod | None = None
    write_note: str | None = None
    priority: Priority | None = None  # retries drop to LOW
    next_attempt_at: datetime | None = None
    refund_attempt: bool = False  # the attempt did not really run (waiting for space)


@dataclass(slots=True)
class Changes:
    """What one write changed, so the manager can publish exactly those events."""

    jobs: list[Job] = field(default_factory=list)
    batch_ids: set[str] = field(default_factory=set)
    webhook_ids: set[str] = field(default_factory=set)

    def merge(self, other: Changes) -> Changes:
        self.jobs.extend(other.jobs)
        self.batch_ids |= other.batch_ids
        self.webhook_ids |= other.webhook_ids
        return self

    def __bool__(self) -> bool:
        return bool(self.jobs or self.batch_ids or self.webhook_ids)

    def events(self) -> list[QueueEvent]:
        """What other instances hear of these changes: per job, or per batch for a bulk change.

        ``seq`` is 0: the receiving instance numbers them on its own bus.
        """
        events: list[QueueEvent] = []
        if len(self.jobs) <= NOTIFY_MAX_JOBS:
            events += [
                QueueEvent(seq=0, job=job, batch_id=job.batch_id, webhook_id=job.webhook_id)
                for job in self.jobs
            ]
            batch_ids = self.batch_ids
        else:
            # A bulk change (a 10k-file batch) travels as one event per batch, not per job.
            batch_ids = self.batch_ids | {job.batch_id for job in self.jobs if job.batch_id}
        events += [QueueEvent(seq=0, batch_id=batch_id) for batch_id in sorted(batch_ids)]
        events += [QueueEvent(seq=0, webhook_id=webhook_id) for webhook_id in sorted(self.webhook_ids)]
        return events


@dataclass(frozen=True, slots=True)
class Claimed:
    """A job this worker now holds, with the hints its request carried."""

    job: Job
    hints: MediaHints | None


class Finished(NamedTuple):
    """What :meth:`Transitions.finish` recorded: the job (None: this worker had lost it)."""

    job: Job | None
    changes: Changes


class CancelOutcome(NamedTuple):
    """A cancel's effect: the job as it is now (cancelled, or running with a stop requested)."""

    job: Job
    changes: Changes


class Retried(NamedTuple):
    job: Job  # queued again
    changes: Changes


class BatchRetryOutcome(NamedTuple):
    result: RetryResult
    changes: Changes


class BatchCancelOutcome(NamedTuple):
    cancelled: int  # queued/waiting jobs cancelled now
    running: list[str]  # ids of the batch's running jobs (they finish, or their workers stop)
    changes: Changes


def job_from(m: Mapping[str, Any]) -> Job:
    selected = (
        SelectedTrack(index=m["selected_index"], language=m["selected_language"])
        if m["selected_index"] is not None
        else None
    )
    return Job(
        job_id=m["job_id"],
        file_path=m["file_path"],
        status=JobStatus(m["status"]),
        priority=Priority(m["priority"]),
        container=Container(m["container"]) if m["container"] else None,
        source=Source(m["source"]),
        created_at=m["created_at"],
        webhook_id=m["webhook_id"],
        batch_id=m["batch_id"],
        started_at=m["started_at"],
        completed_at=m["completed_at"],
        attempts=m["attempts"],
        result=ResultStatus(m["result"]) if m["result"] else None,
        reason=m["reason"],
        reason_code=m["reason_code"],
        duration_ms=m["duration_ms"],
        track_changed=bool(m["track_changed"]),
        selected_track=selected,
        language=m["language"],
        language_source=LanguageSource(m["language_source"]) if m["language_source"] else None,
        worker_id=m["worker_id"],
        dry_run=bool(m["dry_run"]),
        tracks=tracks_from_json(m["tracks"]),
        write_method=WriteMethod(m["write_method"]) if m["write_method"] else None,
        write_note=m["write_note"],
    )


def row_to_job(row: Any) -> Job:
    return job_from(row._mapping)


def hints_of(row: Any) -> MediaHints | None:
    value = row._mapping["hints"]
    return MediaHints.from_dict(value) if value else None


def batch_request(m: Mapping[str, Any]) -> BatchRequest:
    return BatchRequest(
        path=m["path"],
        recursive=bool(m["recursive"]),
        pattern=m["pattern"],
        dry_run=bool(m["dry_run"]),
        priority=Priority(m["priority"]),
        min_size_mb=m["min_size_mb"],
        max_age_days=m["max_age_days"],
        exclude_patterns=tuple(m["exclude_patterns"] or ()),
    )


def batch_info(m: Mapping[str, Any], counts: Counts, now: datetime) -> BatchInfo:
    eta = None
    remaining = counts.queued + counts.running + counts.waiting_for_space
    if remaining and counts.finished and m["status"] == BatchStatus.RUNNING.value:
        elapsed = (now - m["created_at"]).total_seconds()
        eta = elapsed / counts.finished * remaining
    return BatchInfo(
        batch_id=m["batch_id"],
        request=batch_request(m),
        status=BatchStatus(m["status"]),
        created_at=m["created_at"],
        completed_at=m["completed_at"],
        estimated_files=m["estimated_files"],
        counts=counts,
        eta_seconds=eta,
        error=m["error"],
    )


def webhook_info(m: Mapping[str, Any]) -> WebhookInfo:
    return WebhookInfo(
        webhook_id=m["webhook_id"],
        source=Source(m["source"]),
        event_type=m["event_type"],
        title=m["title"],
        hints=MediaHints.from_dict(m["hints"]),
        created_at=m["created_at"],
        job_ids=tuple(m["job_ids"] or ()),
    )
