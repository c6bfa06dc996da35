"""QueueManager: the queue as the API sees it (``QueueFacade``) plus its life cycle.

It owns the store (:mod:`.store`), the worker pool and the housekeeping loop (recovery of dead workers'
jobs, re-checks of jobs waiting for space, retention), and publishes every state change
through the one event bus. It is handed its parts (storage, pipeline, event bus); the one
place that builds them from Settings is ``runtime.build_queue``::

    manager = await build_queue(settings)                  # real Pipeline, DB-backed TMDB cache
    await manager.start()                                  # recovery, workers, housekeeping
    ...
    await manager.stop()                                   # graceful: finish or hand back jobs
    await manager.close()

``worker_count: 0`` is rollback mode: no workers; a webhook's files are processed before
``enqueue_webhook`` returns, and batches are refused (ServiceUnavailable).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, Self, runtime_checkable

import structlog

from arrtheaudio_server import ids, observability
from arrtheaudio_server.clock import utcnow
from arrtheaudio_server.config import Settings
from arrtheaudio_server.media.result import Container, ProcessResult, ReasonCode
from arrtheaudio_server.metadata.hints import MediaHints
from arrtheaudio_server.paths import PathPolicy
from arrtheaudio_server.queue import short_ids
from arrtheaudio_server.queue.discovery import DiscoveredFile, discover, extensions_for, validate_patterns
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
    NotFound,
    Priority,
    QueueEvent,
    QueueSnapshot,
    ServiceUnavailable,
    Source,
    Stats,
    WebhookAccepted,
    WebhookDetail,
    WebhookInfo,
    WebhookList,
)
from arrtheaudio_server.queue.facade import Subscription
from arrtheaudio_server.queue.scheduler import ScheduleInfo, Scheduler
from arrtheaudio_server.queue.short_ids import IdKind
from arrtheaudio_server.queue.store import Changes, JobOutcome, NewBatch, NewJob, Store, cleanup_rules
from arrtheaudio_server.queue.store.file_checks import (
    ANY_DECISION,
    FileCheck,
    FileStat,
    remembered,
    unchanged_row,
)
from arrtheaudio_server.queue.workers import Pipeline, RunningJob, WorkerPool

log = structlog.get_logger(__name__)

_ALL_EXTENSIONS = extensions_for([Container.MKV, Container.MP4])


@runtime_checkable
class DecisionKeys(Protocol):
    """A pipeline that can say what a check of a file would rest on (``media.pipeline.Pipeline``)."""

    async def decision_key(self, path: Path) -> str: ...


class EventPublisher(Protocol):
    """What the manager needs of ``queue.events.EventBus``."""

    def next_seq(self) -> int: ...

    def publish(self, event: QueueEvent) -> Any: ...

    def subscribe(
        self, *, job_id: str | None = None, batch_id: str | None = None, webhook_id: str | None = None
    ) -> Subscription: ...


def container_of(path: Path | str) -> Container | None:
    return _ALL_EXTENSIONS.get(Path(path).suffix.lower())


class QueueManager:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        pipeline: Pipeline,
        event_bus: EventPublisher,
        *,
        timeout_margin_seconds: float = 5.0,
        owns_event_bus: bool = False,
    ) -> None:
        """``owns_event_bus``: ``close()`` also ends the bus's streams (the bus was made for us)."""
        processing = settings.processing
        if processing.heartbeat_seconds >= processing.lease_seconds:
            raise ValueError("processing.heartbeat_seconds must be shorter than processing.lease_seconds")
        self.settings = settings
        self.processing = settings.processing
        self.store = store
        self.pipeline = pipeline
        self.events = event_bus
        self.instance_id = store.instance_id
        self.file_checks = store.file_checks
        self.scheduler = Scheduler(
            settings.schedules,
            store.schedule_runs,
            start_batch=self.start_batch,
            resolve_dir=self._resolve_dir,
            instance_id=self.instance_id,
        )
        self.pool = WorkerPool(
            store.transitions,
            pipeline,
            self.processing,
            instance_id=self.instance_id,
            on_change=self._publish,
            timeout_margin_seconds=timeout_margin_seconds,
            on_finished=self._remember_check,
        )
        self._housekeeping: asyncio.Task[None] | None = None
        self._started = False
        self._closed = False
        self.bridge: Any = None
        self._owns_bus = owns_event_bus

    # --- life cycle ---------------------------------------------------------------------

    @property
    def rollback_mode(self) -> bool:
        return self.processing.worker_count == 0

    async def start(self) -> None:
        """Recover jobs of a previous (dead) incarnation, then start workers and housekeeping."""
        if self._started:
            return
        self._started = True
        await self.recover(startup=True)
        await self._start_bridge()
        if not self.rollback_mode:
            self.pool.start()
            self.scheduler.start()
        elif self.settings.schedules:
            log.warning("schedules.off", reason="worker_count 0 (rollback mode) processes no batches")
        self._housekeeping = asyncio.create_task(self._housekeep(), name="queue-housekeeping")
        log.info(
            "queue.started",
            instance=self.instance_id,
            workers=self.processing.worker_count,
            storage=self.store.dialect,
        )

    async def stop(self, grace: float | None = None) -> None:
        """Stop claiming; running jobs get ``grace`` seconds, then are cancelled and handed back."""
        await self.scheduler.stop()
        if self._housekeeping is not None:
            self._housekeeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._housekeeping
            self._housekeeping = None
        await self.pool.stop(self.processing.shutdown_grace_seconds if grace is None else grace)
        self._started = False

    async def close(self) -> None:
        """Stop (if still running), end the event streams this manager owns, close the database."""
        if self._closed:
            return
        await self.stop()
        self._closed = True
        await self._stop_bridge()
        if self._owns_bus:
            self.events.close()  # type: ignore[attr-defined]
        await self.store.close()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _start_bridge(self) -> None:
        """PostgreSQL: hear other instances' changes (LISTEN/NOTIFY) and republish them here.

        Every write on PostgreSQL sends ``pg_notify`` inside its own transaction (delivered
        at commit), so watchers connected to any instance see every instance's changes.
        """
        if self.store.single_instance or self.bridge is not None:
            return
        from arrtheaudio_server.queue.events import PostgresNotifyBridge

        self.bridge = PostgresNotifyBridge(
            self.store.db.url,
            self.events,  # type: ignore[arg-type]
            instance_id=self.instance_id,
            loader=self._load_job,
        )
        await self.bridge.start()

    async def _load_job(self, job_id: str) -> Job | None:
        try:
            return await self.store.reads.get_job(job_id)
        except NotFound:
            return None

    async def _stop_bridge(self) -> None:
        bridge, self.bridge = self.bridge, None
        if bridge is not None:
            await bridge.stop()

    # --- housekeeping -------------------------------------------------------------------

    async def recover(self, *, startup: bool = False) -> Changes:
        changes = await self.store.transitions.recover(
            max_attempts=self.processing.retry_attempts + 1, startup=startup
        )
        if changes:
            log.info("queue.recovered", jobs=[job.job_id for job in changes.jobs], startup=startup)
            self._publish(changes)
            self.pool.wake()
        return changes

    async def wake_waiting(self) -> Changes:
        changes = await self.store.transitions.wake_waiting()
        if changes:
            self._publish(changes)
            self.pool.wake()
        return changes

    async def _housekeep(self) -> None:
        loop = asyncio.get_running_loop()
        p = self.processing
        tick = min(p.poll_interval_seconds, p.recovery_interval_seconds, p.space_recheck_seconds)
        next_recovery = loop.time() + p.recovery_interval_seconds
        next_cleanup = loop.time()  # once at start, then every cleanup_interval_hours
        while True:
            try:
                await self.wake_waiting()
                now = loop.time()
                if now >= next_recovery:
                    next_recovery = now + p.recovery_interval_seconds
                    await self.recover()
                if now >= next_cleanup:
                    next_cleanup = now + p.cleanup_interval_hours * 3600
                    result = await self.cleanup()
                    if result.jobs_removed or result.batches_removed or result.webhooks_removed:
                        log.info(
                            "queue.cleanup",
                            jobs=result.jobs_removed,
                            batches=result.batches_removed,
                            webhooks=result.webhooks_removed,
                        )
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - keep housekeeping alive through DB hiccups
                log.warning("queue.housekeeping_failed", error=repr(exc))
                observability.STORAGE_ERRORS.labels("housekeeping").inc()
            await asyncio.sleep(tick)

    # --- events -------------------------------------------------------------------------

    def _publish(self, changes: Changes) -> None:
        for job in changes.jobs:
            self.events.publish(
                QueueEvent(
                    seq=self.events.next_seq(), job=job, batch_id=job.batch_id, webhook_id=job.webhook_id
                )
            )
        for batch_id in sorted(changes.batch_ids):
            self.events.publish(QueueEvent(seq=self.events.next_seq(), batch_id=batch_id))
        for webhook_id in sorted(changes.webhook_ids):
            self.events.publish(QueueEvent(seq=self.events.next_seq(), webhook_id=webhook_id))

    def subscribe(
        self, *, job_id: str | None = None, batch_id: str | None = None, webhook_id: str | None = None
    ) -> Subscription:
        return self.events.subscribe(job_id=job_id, batch_id=batch_id, webhook_id=webhook_id)

    # --- enqueue --------------------------------------------------------------------------

    async def enqueue_webhook(
        self,
        *,
        source: Source,
        event_type: str,
        title: str | None,
        hints: MediaHints,
        files: Sequence[Path],
    ) -> WebhookAccepted:
        webhook = WebhookInfo(
            webhook_id=ids.new_id(),
            source=Source(source),
            event_type=event_type,
            title=title,
            hints=hints,
            created_at=utcnow(),
        )
        new_jobs = [
            NewJob(
                path=str(path),
                container=container_of(path),
                priority=Priority.HIGH,
                source=Source(source),
                hints=hints,
            )
            for path in files
        ]
        accepted = await self.store.enqueuer.enqueue(
            new_jobs, max_active=self.processing.max_queue_size, webhook=webhook
        )
        enqueued = accepted.jobs
        self._publish(accepted.changes)
        info = WebhookInfo(
            webhook_id=webhook.webhook_id,
            source=webhook.source,
            event_type=event_type,
            title=title,
            hints=hints,
            created_at=webhook.created_at,
            job_ids=tuple(item.job_id for item in enqueued),
        )
        if self.rollback_mode:
            await self._process_inline(list(dict.fromkeys(item.job_id for item in enqueued)))
        else:
            self.pool.wake()
        return WebhookAccepted(info=info, jobs=enqueued)

    async def _process_inline(self, job_ids: Sequence[str]) -> None:
        """Rollback mode: run the jobs here and now, retries included, until each is finished."""
        worker_id = f"{self.instance_id}-inline"
        for job_id in job_ids:
            while True:
                claimed = await self.store.transitions.claim_job(
                    job_id, worker_id=worker_id, lease_seconds=self.processing.lease_seconds
                )
                if claimed is None:
                    break
                job = await self.pool.run(claimed, worker_id, inline=True)
                if job is None or job.status != JobStatus.QUEUED:
                    break

    async def start_batch(self, request: BatchRequest) -> BatchInfo:
        if self.rollback_mode:
            raise ServiceUnavailable(
                "batch processing is off: the server runs with worker_count 0 (rollback mode)"
            )
        validate_patterns(
            request.pattern,
            request.exclude_patterns,
            min_size_mb=request.min_size_mb,
            max_age_days=request.max_age_days,
        )
        found = await asyncio.to_thread(
            discover,
            Path(request.path),
            roots=self.settings.resolved_media_roots,
            recursive=request.recursive,
            pattern=request.pattern,
            exclude_patterns=request.exclude_patterns,
            min_size_mb=request.min_size_mb,
            max_age_days=request.max_age_days,
            extensions=extensions_for(self.settings.containers),
        )
        batch_id = ids.new_id()
        unchanged = {} if request.force else await self._unchanged(found)
        now = utcnow()
        new_jobs = [
            NewJob(
                path=item.path,
                container=item.container,
                priority=Priority(request.priority),
                source=Source.MANUAL,
                dry_run=request.dry_run,
            )
            for item in found
            if item.path not in unchanged
        ]
        finished = [
            unchanged_row(
                item.path,
                item.container.value,
                batch_id=batch_id,
                priority=Priority(request.priority),
                check=unchanged[item.path],
                now=now,
            )
            for item in found
            if item.path in unchanged
        ]
        accepted = await self.store.enqueuer.enqueue(
            new_jobs,
            max_active=self.processing.max_queue_size,
            batch=NewBatch(batch_id=batch_id, request=request, estimated_files=len(found)),
            now=now,
            finished=finished,
        )
        if finished:
            log.info("batch.unchanged_skipped", batch_id=batch_id, files=len(finished), queued=len(new_jobs))
        self._publish(accepted.changes)
        self.pool.wake()
        return (await self.store.reads.get_batch(batch_id, limit=0)).info

    def _resolve_dir(self, path: str) -> str:
        """A schedule's path, checked like a StartBatch path (inside the roots, a directory)."""
        return str(PathPolicy.from_settings(self.settings).resolve(path.strip(), expect="dir"))

    async def list_schedules(self) -> list[ScheduleInfo]:
        return await self.scheduler.list()

    async def _unchanged(self, found: Sequence[DiscoveredFile]) -> dict[str, FileCheck]:
        """The files whose stat and decision inputs are those of their last successful check."""
        if not found or not isinstance(self.pipeline, DecisionKeys):
            return {}
        checks = await self.file_checks.load([item.path for item in found])
        unchanged: dict[str, FileCheck] = {}
        for item in found:
            check = checks.get(item.path)
            if check is None:
                continue
            stat = FileStat(size=item.size, mtime_ns=item.mtime_ns, inode=item.inode)
            if check.stat != stat:
                continue  # changed behind our back (edited, replaced, re-imported)
            if check.matches(stat, await self.pipeline.decision_key(Path(item.path))):
                unchanged[item.path] = check
        return unchanged

    async def _remember_check(self, job: Job, result: ProcessResult) -> None:
        """After a job ended with a lasting decision: the file's stat as it is now, and the key."""
        if not remembered(job.status, job.reason_code, job.dry_run):
            return
        key = result.decision_key or (ANY_DECISION if job.reason_code == ReasonCode.NO_AUDIO.value else None)
        if key is None:
            return
        try:
            stat = await asyncio.to_thread(FileStat.of, job.file_path)
        except OSError:
            return  # gone meanwhile: nothing to remember
        await self.file_checks.record(
            job.file_path,
            stat,
            decision_key=key,
            outcome=job.reason_code or "",
            job_id=job.job_id,
            now=utcnow(),
        )

    # --- reads -----------------------------------------------------------------------------

    async def get_webhook(self, webhook_id: str) -> WebhookDetail:
        return await self.store.reads.get_webhook(webhook_id)

    async def get_batch(self, batch_id: str, *, limit: int = 100, offset: int = 0) -> BatchPage:
        return await self.store.reads.get_batch(batch_id, limit=limit, offset=offset)

    async def list_batches(
        self, *, limit: int = 50, offset: int = 0, status: BatchStatus | None = None
    ) -> BatchList:
        return await self.store.reads.list_batches(limit=limit, offset=offset, status=status)

    async def resolve_id(self, kind: IdKind, text: str, field: str, *, missing_ok: bool = False) -> str:
        return await short_ids.resolve(
            self.store.reads.ids_with_prefix, kind, text, field, missing_ok=missing_ok
        )

    async def get_job(self, job_id: str) -> Job:
        return await self.store.reads.get_job(job_id)

    async def list_jobs(self, job_filter: JobFilter) -> JobPage:
        return await self.store.reads.list_jobs(job_filter)

    async def queue_snapshot(self, *, next_limit: int = 10) -> QueueSnapshot:
        snapshot = await self.store.reads.snapshot(next_limit)
        return QueueSnapshot(
            counts=snapshot.counts,
            workers_total=self.processing.worker_count,
            workers_active=len(self.pool.running),
            current_jobs=tuple(snapshot.running),
            next_jobs=tuple(snapshot.upcoming),
        )

    async def stats(self) -> Stats:
        figures = await self.store.stats.figures()
        return Stats(
            queue=figures.queue,
            workers_total=self.processing.worker_count,
            workers_active=len(self.pool.running),
            today=figures.today,
            lifetime=figures.lifetime,
            per_container=figures.per_container,
            per_source=figures.per_source,
        )

    async def daily_counts(self, days: int) -> list[DailyCount]:
        """Jobs finished per UTC day, the last ``days`` days, oldest first (from the daily rollup)."""
        return await self.store.stats.daily_counts(days)

    async def job_stats(
        self,
        *,
        batch_id: str | None = None,
        webhook_id: str | None = None,
        source: Source | None = None,
        container: Container | None = None,
        created_after: datetime | None = None,
    ) -> JobStats:
        return await self.store.stats.job_stats(
            batch_id=batch_id,
            webhook_id=webhook_id,
            source=source,
            container=container,
            created_after=created_after,
        )

    async def list_webhooks(
        self, *, limit: int = 50, offset: int = 0, source: Source | None = None
    ) -> WebhookList:
        return await self.store.reads.list_webhooks(limit=limit, offset=offset, source=source)

    async def metrics_figures(self) -> MetricsFigures:
        return await self.store.stats.metrics_figures()

    @property
    def workers_busy(self) -> int:
        """Workers of this instance running a job right now."""
        return len(self.pool.running)

    async def healthy(self) -> bool:
        return await self.store.ping()

    # --- retry -------------------------------------------------------------------------------

    async def retry_job(self, job_id: str) -> Job:
        job, changes = await self.store.transitions.retry_job(job_id)
        self._publish(changes)
        self.pool.wake()
        return job

    async def retry_batch(self, batch_id: str) -> BatchRetried:
        result, changes = await self.store.transitions.retry_batch(batch_id)
        self._publish(changes)
        if result.jobs:
            self.pool.wake()
        return BatchRetried(info=(await self.store.reads.get_batch(batch_id, limit=0)).info, result=result)

    # --- cancellation and cleanup ----------------------------------------------------------

    async def cancel_job(self, job_id: str) -> Job:
        outcome = await self.store.transitions.cancel_job(job_id)
        job = outcome.job
        self._publish(outcome.changes)
        if job.status != JobStatus.RUNNING:
            return job
        running: RunningJob | None = self.pool.cancel_local(job_id)
        if running is None:
            # Another instance runs it: its heartbeat sees cancel_requested and stops it.
            return job
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(running.done.wait(), timeout=30)
        return await self.store.reads.get_job(job_id)

    async def cancel_batch(self, batch_id: str) -> BatchCancelled:
        outcome = await self.store.transitions.cancel_batch(batch_id)
        self._publish(outcome.changes)
        info = (await self.store.reads.get_batch(batch_id, limit=0)).info
        return BatchCancelled(info=info, cancelled=outcome.cancelled)

    async def cleanup(
        self, *, older_than_days: float | None = None, statuses: Sequence[JobStatus] | None = None
    ) -> CleanupResult:
        rules, orphans_before = cleanup_rules(
            self.processing, utcnow(), older_than_days=older_than_days, statuses=statuses
        )
        return await self.store.retention.cleanup(rules, orphans_before)


__all__ = ["JobOutcome", "QueueManager", "ReasonCode", "container_of"]
