"""What the API layer may ask of the queue: the one seam between transport and storage.

The servicers depend on this Protocol only; :class:`arrtheaudio_server.queue.manager.QueueManager`
implements it over a storage backend and the worker pool. Every method takes and returns
the plain values of :mod:`arrtheaudio_server.queue.domain` and raises only the
``QueueError`` subclasses defined there (or ``PathRejected`` for paths).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Protocol

from arrtheaudio_server.media.result import Container
from arrtheaudio_server.metadata.hints import MediaHints
from arrtheaudio_server.queue.domain import (
    BatchCancelled,
    BatchInfo,
    BatchList,
    BatchPage,
    BatchRequest,
    BatchRetried,
    BatchStatus,
    CleanupResult,
    DailyCount,
    Job,
    JobFilter,
    JobPage,
    JobStats,
    JobStatus,
    MetricsFigures,
    QueueEvent,
    QueueSnapshot,
    Source,
    Stats,
    WebhookAccepted,
    WebhookDetail,
    WebhookList,
)
from arrtheaudio_server.queue.scheduler import ScheduleInfo
from arrtheaudio_server.queue.short_ids import IdKind


class Subscription(Protocol):
    """A watcher's bounded feed of events; iterate it, close it when the stream ends."""

    def __aiter__(self) -> AsyncIterator[QueueEvent]: ...

    def close(self) -> None: ...


class QueueFacade(Protocol):
    @property
    def rollback_mode(self) -> bool:
        """True when worker_count is 0: webhooks are processed before answering, batches refused."""
        ...

    async def enqueue_webhook(
        self,
        *,
        source: Source,
        event_type: str,
        title: str | None,
        hints: MediaHints,
        files: Sequence[Path],
    ) -> WebhookAccepted:
        """One transaction: a webhook row and one high-priority job per (resolved, existing) file.

        Raises QueueFull (nothing queued). In rollback mode the files are processed before
        this returns, so the jobs are terminal.
        """
        ...

    async def get_webhook(self, webhook_id: str) -> WebhookDetail: ...

    async def start_batch(self, request: BatchRequest) -> BatchInfo:
        """Discover files (in a thread) and queue them all in one transaction, or none.

        Raises AlreadyExists (a batch is active for the same path), ServiceUnavailable
        (rollback mode), QueueFull, InvalidRequest (bad pattern/filters).
        """
        ...

    async def get_batch(self, batch_id: str, *, limit: int = 100, offset: int = 0) -> BatchPage:
        """The batch, one page of its jobs (by path), and the total number of its jobs."""
        ...

    async def list_batches(
        self, *, limit: int = 50, offset: int = 0, status: BatchStatus | None = None
    ) -> BatchList:
        """Newest first; ``status`` keeps only the batches in that state. Also returns how many match."""
        ...

    async def cancel_batch(self, batch_id: str) -> BatchCancelled:
        """Cancel the batch's queued/waiting jobs (running ones finish); returns how many were cancelled."""
        ...

    async def resolve_id(self, kind: IdKind, text: str, field: str, *, missing_ok: bool = False) -> str:
        """The whole id a unique prefix stands for (queue/short_ids.py); ``field`` names it in errors."""
        ...

    async def get_job(self, job_id: str) -> Job: ...

    async def list_jobs(self, job_filter: JobFilter) -> JobPage:
        """One page, and how many jobs match in all (from the rollups where a count would scan)."""
        ...

    async def cancel_job(self, job_id: str) -> Job:
        """Queued/waiting → cancelled at once; running → stopped safely. FailedPrecondition if terminal."""
        ...

    async def queue_snapshot(self, *, next_limit: int = 10) -> QueueSnapshot: ...

    async def stats(self) -> Stats: ...

    async def job_stats(
        self,
        *,
        batch_id: str | None = None,
        webhook_id: str | None = None,
        source: Source | None = None,
        container: Container | None = None,
        created_after: datetime | None = None,
    ) -> JobStats:
        """Figures over the jobs matching every given filter (None matches everything).

        From the rollups (or the batch's / webhook's own index range), never by scanning history.
        """
        ...

    async def cleanup(
        self, *, older_than_days: float | None = None, statuses: Sequence[JobStatus] | None = None
    ) -> CleanupResult: ...

    def subscribe(
        self, *, job_id: str | None = None, batch_id: str | None = None, webhook_id: str | None = None
    ) -> Subscription:
        """Events matching the filter (every event when none is given: the queue watcher)."""
        ...

    async def retry_job(self, job_id: str) -> Job:
        """Failed/cancelled → queued again, a fresh start (queue/store/transitions.py). NotFound,
        FailedPrecondition (any other status), AlreadyExists (another job for the file is active)."""
        ...

    async def retry_batch(self, batch_id: str) -> BatchRetried:
        """The batch's failed jobs queued again; the batch reopened when any was."""
        ...

    async def daily_counts(self, days: int) -> list[DailyCount]:
        """Finished jobs per UTC day, oldest first, one entry per day (zeros included)."""
        ...

    async def list_webhooks(
        self, *, limit: int = 50, offset: int = 0, source: Source | None = None
    ) -> WebhookList:
        """Deliveries newest first with their jobs' counts, and how many match."""
        ...

    async def metrics_figures(self) -> MetricsFigures:
        """The store's figures /metrics reports (agree across instances sharing the queue)."""
        ...

    @property
    def workers_busy(self) -> int:
        """This instance's workers running a job now."""
        ...

    async def list_schedules(self) -> list[ScheduleInfo]:
        """The configured schedules with their next and last runs."""
        ...

    async def healthy(self) -> bool:
        """Storage reachable (a trivial query succeeds within a short timeout)."""
        ...
