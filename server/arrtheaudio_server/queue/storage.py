"""The one storage interface of the queue, over SQLAlchemy Core on SQLite or PostgreSQL.

Every method is one short transaction and returns plain :mod:`.domain` values (never rows),
so the manager and the API never see SQL. The backends differ only where they must:
the claim (see :mod:`.claim`), the upsert of the lifetime totals, the write path (SQLite's
single writer, see :mod:`.engine`) and NOTIFY (PostgreSQL tells other instances what changed,
inside the same transaction, so a watcher never hears of a change that was rolled back).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Integer,
    cast,
    delete,
    exists,
    func,
    insert,
    inspect,
    literal_column,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import SQLModel

from arrtheaudio_server.clock import utc_midnight, utcnow
from arrtheaudio_server.ids import new_id
from arrtheaudio_server.media.result import (
    Container,
    LanguageSource,
    ResultStatus,
    SelectedTrack,
    TrackChange,
    WriteMethod,
)
from arrtheaudio_server.metadata.hints import MediaHints
from arrtheaudio_server.queue import claim as claims
from arrtheaudio_server.queue import transitions
from arrtheaudio_server.queue.domain import (
    ACTIVE_STATUSES,
    TERMINAL_STATUSES,
    AlreadyExists,
    BatchInfo,
    BatchRequest,
    BatchStatus,
    CleanupResult,
    Counts,
    DailyCount,
    EnqueuedJob,
    FailedPrecondition,
    FinishedTotal,
    InvalidRequest,
    Job,
    JobFilter,
    JobStats,
    JobStatus,
    MetricsFigures,
    NotFound,
    PeriodStats,
    Priority,
    QueueEvent,
    QueueFull,
    ReasonCount,
    RetryResult,
    Source,
    WebhookInfo,
)
from arrtheaudio_server.queue.engine import Engines
from arrtheaudio_server.queue.group_commit import GroupCommit
from arrtheaudio_server.queue.models import (
    ACTIVE_SQL,
    BATCHES,
    JOBS,
    LIFETIME_STATS,
    METADATA_CACHE,
    WEBHOOKS,
)
from arrtheaudio_server.queue.track_json import tracks_from_json, tracks_to_json

J = JOBS
_NOTIFY_MAX_JOBS = 100
# Bound parameters per statement stay far below SQLite's limit (32766).
_CHUNK = 500
_DELETE_CHUNK = 5000
_ORDERABLE = {"created_at", "completed_at", "priority", "duration_ms"}
_ACTIVE_BATCH = (BatchStatus.SCANNING.value, BatchStatus.RUNNING.value)


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
class EnqueueRequest:
    """One caller's enqueue, waiting for its group's transaction."""

    jobs: tuple[NewJob, ...]
    max_active: int | None
    webhook: WebhookInfo | None
    batch: tuple[str, BatchRequest, int] | None
    now: datetime
    # Rows of files that need no job (a rescan's unchanged files): inserted already
    # finished, in the same transaction, only if the request is accepted.
    finished: tuple[dict[str, Any], ...] = ()


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


EnqueueOutcome = tuple[list[EnqueuedJob], Changes] | Exception
# Files per enqueue transaction: a flood of webhooks groups into a few transactions a second;
# a big batch still goes alone.
_GROUP_MAX_FILES = 2000


def _queued_job(row: dict[str, Any]) -> Job:
    """The Job a freshly inserted ``jobs`` row reads back as (built in memory instead)."""
    return Job(
        job_id=row["job_id"],
        file_path=row["file_path"],
        status=JobStatus.QUEUED,
        priority=Priority(row["priority"]),
        container=Container(row["container"]) if row["container"] else None,
        source=Source(row["source"]),
        created_at=row["created_at"],
        webhook_id=row["webhook_id"],
        batch_id=row["batch_id"],
        attempts=0,
        dry_run=bool(row["dry_run"]),
    )


def _notify_events(changes: Changes) -> list[QueueEvent]:
    """What other instances hear of ``changes``: per job, or per batch for a bulk change."""
    events: list[QueueEvent] = []
    if len(changes.jobs) <= _NOTIFY_MAX_JOBS:
        events += [
            QueueEvent(seq=0, job=job, batch_id=job.batch_id, webhook_id=job.webhook_id)
            for job in changes.jobs
        ]
        batch_ids = changes.batch_ids
    else:
        # A bulk change (a 10k-file batch) travels as one event per batch, not per job.
        batch_ids = changes.batch_ids | {job.batch_id for job in changes.jobs if job.batch_id}
    events += [QueueEvent(seq=0, batch_id=batch_id) for batch_id in sorted(batch_ids)]
    events += [QueueEvent(seq=0, webhook_id=webhook_id) for webhook_id in sorted(changes.webhook_ids)]
    return events


def row_to_job(row: Any) -> Job:
    m = row._mapping
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


@dataclass(frozen=True, slots=True)
class Claimed:
    """A job this worker now holds, with the hints its request carried."""

    job: Job
    hints: MediaHints | None


def _hints(row: Any) -> MediaHints | None:
    value = row._mapping["hints"]
    return MediaHints.from_dict(value) if value else None


def _counts(rows: Iterable[Any]) -> Counts:
    """Fold ``(status, result, n, changed)`` groups into one Counts."""
    by_status: dict[str, int] = {}
    by_result: dict[str, int] = {}
    changed = total = 0
    for status, result, n, track_changes in rows:
        total += n
        by_status[status] = by_status.get(status, 0) + n
        if result:
            by_result[result] = by_result.get(result, 0) + n
        changed += int(track_changes or 0)
    return Counts(
        total=total,
        queued=by_status.get("queued", 0),
        running=by_status.get("running", 0),
        waiting_for_space=by_status.get("waiting_for_space", 0),
        completed=by_status.get("completed", 0),
        failed=by_status.get("failed", 0),
        cancelled=by_status.get("cancelled", 0),
        success=by_result.get("success", 0),
        skipped=by_result.get("skipped", 0),
        result_failed=by_result.get("failed", 0),
        track_changes=changed,
    )


_COUNT_COLUMNS = (J.c.status, J.c.result, func.count(), func.sum(cast(J.c.track_changed, Integer)))


class QueueStorage:
    """Jobs, batches, webhooks, lifetime totals and the metadata cache in one database."""

    def __init__(self, engines: Engines, *, instance_id: str = "") -> None:
        self.engines = engines
        self.instance_id = instance_id
        self._group: GroupCommit[EnqueueRequest, tuple[list[EnqueuedJob], Changes]] = GroupCommit(
            self._write_enqueue_group, max_group_size=_GROUP_MAX_FILES
        )

    @classmethod
    async def open(cls, url: str, *, instance_id: str = "", create_schema: bool = True) -> QueueStorage:
        storage = cls(Engines.create(url), instance_id=instance_id)
        if create_schema:
            await storage.create_schema()
        return storage

    @property
    def dialect(self) -> str:
        return self.engines.dialect

    @property
    def enqueue_transactions(self) -> int:
        """How many transactions the enqueues so far took (fewer than calls: group commit)."""
        return self._group.groups_written

    @property
    def single_instance(self) -> bool:
        """SQLite serves exactly one server instance (documented); PostgreSQL serves many."""
        return self.dialect == "sqlite"

    async def create_schema(self) -> None:
        async with self.engines.write() as conn:
            if self.dialect == "postgresql":
                # Two instances starting together must not race on CREATE TABLE.
                await conn.execute(text("SELECT pg_advisory_xact_lock(74657231)"))
            tables = [JOBS, BATCHES, WEBHOOKS, METADATA_CACHE, LIFETIME_STATS]
            await conn.run_sync(SQLModel.metadata.create_all, tables=tables)
            # create_all builds indexes only with a new table: an index added in a later
            # version must also reach a database made by an earlier one.
            await conn.run_sync(_create_missing_indexes, tables)
            await conn.run_sync(_add_missing_columns, tables)

    async def close(self) -> None:
        await self._group.close()
        await self.engines.dispose()

    async def ping(self, timeout: float = 5.0) -> bool:
        """Storage answers a trivial query. Through the same read path as every RPC, with a
        timeout generous enough that a busy (not broken) database still counts as up."""

        def _probe(conn: Connection) -> bool:
            return conn.execute(text("SELECT 1")).scalar() == 1

        try:
            return await asyncio.wait_for(self.engines.run_read(_probe), timeout)
        except Exception:  # noqa: BLE001 - any failure means "not healthy"
            return False

    # --- notifications -----------------------------------------------------------------

    async def _notify(self, conn: AsyncConnection, changes: Changes) -> None:
        """PostgreSQL only: tell other instances what changed, delivered at commit (see queue.events)."""
        if self.dialect != "postgresql" or not changes:
            return
        from arrtheaudio_server.queue.events import notify_statement

        await conn.execute(*notify_statement(_notify_events(changes), instance_id=self.instance_id))

    # --- enqueue ------------------------------------------------------------------------

    async def enqueue(
        self,
        jobs: Sequence[NewJob],
        *,
        max_active: int | None,
        webhook: WebhookInfo | None = None,
        batch: tuple[str, BatchRequest, int] | None = None,
        now: datetime | None = None,
        finished: Sequence[dict[str, Any]] = (),
    ) -> tuple[list[EnqueuedJob], Changes]:
        """Queue ``jobs`` (and the webhook or batch row they belong to), all or nothing.

        A file that already has an active job is linked to it instead (``deduplicated``);
        a webhook raises that job's priority to its own. Raises QueueFull with nothing
        written when the new jobs would take the active count over ``max_active``.

        Concurrent calls are written together (group commit, see :mod:`.group_commit`): one
        transaction, one capacity check, one multi-row insert, one NOTIFY for the whole
        group, and each caller gets its own answer — after COMMIT, never before.
        """
        request = EnqueueRequest(
            jobs=tuple(jobs),
            max_active=max_active,
            webhook=webhook,
            batch=batch,
            now=now or utcnow(),
            finished=tuple(finished),
        )
        return await self._group.submit(request, size=len(request.jobs))

    async def _write_enqueue_group(self, requests: list[EnqueueRequest]) -> list[EnqueueOutcome]:
        """One transaction for the whole group; retried when another instance raced us.

        If the group fails for another reason and holds several requests, each is written
        alone, so one bad request cannot take its neighbours down with it.
        """
        try:
            return await self._write_enqueue_retrying(requests)
        except IntegrityError:
            raise
        except Exception:
            if len(requests) == 1:
                raise
        outcomes: list[EnqueueOutcome] = []
        for request in requests:
            try:
                outcomes.extend(await self._write_enqueue_retrying([request]))
            except Exception as exc:  # noqa: BLE001 - this request's own failure, answered to it
                outcomes.append(exc)
        return outcomes

    async def _write_enqueue_retrying(self, requests: list[EnqueueRequest]) -> list[EnqueueOutcome]:
        for attempt in range(5):
            try:
                return await self.engines.run_write(lambda conn: self._enqueue_sync(conn, requests))
            except IntegrityError:
                # Another instance queued one of these files between our lookup and insert
                # (the unique active-path index caught it); look again.
                if attempt == 4:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _enqueue_sync(self, conn: Connection, requests: Sequence[EnqueueRequest]) -> list[EnqueueOutcome]:
        """Plan every request against the database and against the requests before it, then
        write all accepted ones with one statement per table."""
        # Batches: one active batch per path, in the database and inside the group.
        batch_paths = list(dict.fromkeys(r.batch[1].path for r in requests if r.batch is not None))
        active_batches: dict[str, str] = {}
        if batch_paths:
            active_batches = dict(
                conn.execute(
                    select(BATCHES.c.path, BATCHES.c.batch_id).where(
                        BATCHES.c.path.in_(batch_paths), BATCHES.c.status.in_(_ACTIVE_BATCH)
                    )
                ).all()
            )
        # Active jobs of every file the group names.
        paths = list(dict.fromkeys(job.path for r in requests for job in r.jobs))
        existing: dict[str, tuple[str, int, str]] = {}
        for start in range(0, len(paths), _CHUNK):
            rows = conn.execute(
                select(J.c.file_path, J.c.job_id, J.c.priority, J.c.status).where(
                    text(ACTIVE_SQL), J.c.file_path.in_(paths[start : start + _CHUNK])
                )
            )
            for path, job_id, priority, status in rows:
                existing[path] = (job_id, priority, status)
        active_now: int | None = None
        added = 0
        planned: dict[str, dict[str, Any]] = {}  # path -> new row (first request that named it)
        bump: dict[str, int] = {}  # existing job_id -> priority to raise it to
        accepted: list[tuple[EnqueueRequest, list[EnqueuedJob], list[dict[str, Any]]]] = []
        outcomes: list[EnqueueOutcome | None] = []
        for request in requests:
            if request.batch is not None:
                path = request.batch[1].path
                if path in active_batches:
                    outcomes.append(
                        AlreadyExists(f"batch {active_batches[path]} is already active for {path}")
                    )
                    continue
            fresh = {job.path for job in request.jobs if job.path not in existing and job.path not in planned}
            if request.max_active is not None and fresh:
                if active_now is None:
                    active_now = conn.execute(
                        select(func.count())
                        .select_from(J)
                        .where(J.c.status.in_([s.value for s in ACTIVE_STATUSES]))
                    ).scalar_one()
                if active_now + added + len(fresh) > request.max_active:
                    outcomes.append(
                        QueueFull(
                            f"the queue holds {active_now + added} active jobs; {len(fresh)} more would exceed "
                            f"max_queue_size={request.max_active}. Nothing was queued; retry later."
                        )
                    )
                    continue
            added += len(fresh)
            if request.batch is not None:
                active_batches[request.batch[1].path] = request.batch[0]
            results, own_rows = self._plan(request, existing, planned, bump)
            accepted.append((request, results, own_rows))
            outcomes.append(None)
        # Writes: one statement per table for the whole group.
        new_rows = list(planned.values())
        if new_rows:
            conn.execute(insert(J), new_rows)
        finished_rows = [row for request, _, _ in accepted for row in request.finished]
        if finished_rows:
            conn.execute(insert(J), finished_rows)
        by_priority: dict[int, list[str]] = {}
        for job_id, priority in bump.items():
            by_priority.setdefault(priority, []).append(job_id)
        for priority, job_ids in sorted(by_priority.items()):
            conn.execute(
                update(J).where(J.c.job_id.in_(job_ids), J.c.priority < priority).values(priority=priority)
            )
        batch_rows = [
            self._batch_row(request, bool(own_rows))
            for request, _, own_rows in accepted
            if request.batch is not None
        ]
        if batch_rows:
            conn.execute(insert(BATCHES), batch_rows)
        webhook_rows = [
            self._webhook_row(request, results)
            for request, results, _ in accepted
            if request.webhook is not None
        ]
        if webhook_rows:
            conn.execute(insert(WEBHOOKS), webhook_rows)
        answers: list[tuple[list[EnqueuedJob], Changes]] = []
        everything = Changes()
        for request, results, own_rows in accepted:
            changes = Changes()
            if request.batch is not None:
                changes.batch_ids.add(request.batch[0])
            if request.webhook is not None:
                changes.webhook_ids.add(request.webhook.webhook_id)
            if len(own_rows) <= _NOTIFY_MAX_JOBS:
                # Built from what was inserted, not read back: the rows are exactly these.
                changes.jobs.extend(_queued_job(row) for row in own_rows)
            answers.append((results, changes))
            everything.merge(
                Changes(
                    jobs=list(changes.jobs),
                    batch_ids=set(changes.batch_ids),
                    webhook_ids=set(changes.webhook_ids),
                )
            )
        if self.dialect == "postgresql" and everything:
            from arrtheaudio_server.queue.events import notify_statement

            conn.execute(*notify_statement(_notify_events(everything), instance_id=self.instance_id))
        answered = iter(answers)
        return [next(answered) if outcome is None else outcome for outcome in outcomes]

    @staticmethod
    def _plan(
        request: EnqueueRequest,
        existing: dict[str, tuple[str, int, str]],
        planned: dict[str, dict[str, Any]],
        bump: dict[str, int],
    ) -> tuple[list[EnqueuedJob], list[dict[str, Any]]]:
        """One request's answer: new rows (added to ``planned``), links to existing or
        planned jobs, and priority raises. Returns its answer and the rows it created."""
        results: list[EnqueuedJob] = []
        own: list[dict[str, Any]] = []
        webhook_id = request.webhook.webhook_id if request.webhook else None
        batch_id = request.batch[0] if request.batch else None
        for job in request.jobs:
            priority = int(job.priority)
            if job.path in existing:
                job_id, current, status = existing[job.path]
                if current < priority and status != JobStatus.RUNNING.value:
                    bump[job_id] = max(bump.get(job_id, 0), priority)
                results.append(EnqueuedJob(path=job.path, job_id=job_id, deduplicated=True))
                continue
            row = planned.get(job.path)
            if row is not None:
                # Named earlier in this request or by an earlier request of the group: one job.
                row["priority"] = max(row["priority"], priority)
                results.append(EnqueuedJob(path=job.path, job_id=row["job_id"], deduplicated=True))
                continue
            row = {
                "job_id": new_id(),
                "file_path": job.path,
                "status": JobStatus.QUEUED.value,
                "priority": priority,
                "container": job.container.value if job.container else None,
                "source": job.source.value,
                "webhook_id": webhook_id,
                "batch_id": batch_id,
                "hints": job.hints.to_dict() if job.hints else None,
                "dry_run": job.dry_run,
                "created_at": request.now,
                "next_attempt_at": request.now,
                "attempts": 0,
                "track_changed": False,
                "cancel_requested": False,
            }
            planned[job.path] = row
            own.append(row)
            results.append(EnqueuedJob(path=job.path, job_id=row["job_id"]))
        return results, own

    @staticmethod
    def _batch_row(request: EnqueueRequest, has_jobs: bool) -> dict[str, Any]:
        assert request.batch is not None
        batch_id, spec, estimated = request.batch
        return {
            "batch_id": batch_id,
            "path": spec.path,
            "recursive": spec.recursive,
            "pattern": spec.pattern,
            "exclude_patterns": list(spec.exclude_patterns),
            "dry_run": spec.dry_run,
            "priority": int(spec.priority),
            "min_size_mb": spec.min_size_mb,
            "max_age_days": spec.max_age_days,
            "status": (BatchStatus.RUNNING if has_jobs else BatchStatus.COMPLETED).value,
            "created_at": request.now,
            "completed_at": None if has_jobs else request.now,
            "estimated_files": estimated,
            "error": None,
        }

    @staticmethod
    def _webhook_row(request: EnqueueRequest, results: Sequence[EnqueuedJob]) -> dict[str, Any]:
        webhook = request.webhook
        assert webhook is not None
        return {
            "webhook_id": webhook.webhook_id,
            "source": webhook.source.value,
            "event_type": webhook.event_type,
            "title": webhook.title,
            "hints": webhook.hints.to_dict(),
            "job_ids": [result.job_id for result in results],
            "created_at": request.now,
        }

    # --- claim, lease, finish -----------------------------------------------------------

    async def claim(
        self, *, worker_id: str, lease_seconds: float, allow_mp4: bool = True, now: datetime | None = None
    ) -> Claimed | None:
        stmt = claims.claim_next(
            self.dialect,
            worker_id=worker_id,
            instance_id=self.instance_id,
            now=now or utcnow(),
            lease_seconds=lease_seconds,
            allow_mp4=allow_mp4,
        )
        return await self._claim(stmt)

    async def claim_job(self, job_id: str, *, worker_id: str, lease_seconds: float) -> Claimed | None:
        stmt = claims.claim_one(
            job_id,
            worker_id=worker_id,
            instance_id=self.instance_id,
            now=utcnow(),
            lease_seconds=lease_seconds,
        )
        return await self._claim(stmt)

    async def _claim(self, stmt: Any) -> Claimed | None:
        async with self.engines.write() as conn:
            row = (await conn.execute(stmt)).first()
            if row is None:
                return None
            job = row_to_job(row)
            await self._notify(conn, Changes(jobs=[job]))
        return Claimed(job=job, hints=_hints(row))

    async def heartbeat(self, job_id: str, *, worker_id: str, lease_seconds: float) -> bool | None:
        """Extend the lease. None: the lease is lost; True: somebody asked to cancel the job."""
        async with self.engines.write() as conn:
            row = (
                await conn.execute(
                    claims.heartbeat(job_id, worker_id=worker_id, now=utcnow(), lease_seconds=lease_seconds)
                )
            ).first()
        return None if row is None else bool(row[0])

    async def finish(
        self, job_id: str, *, worker_id: str, outcome: JobOutcome, now: datetime | None = None
    ) -> tuple[Job | None, Changes]:
        """Record what became of a running job, if this worker still holds it."""
        now = now or utcnow()
        values: dict[str, Any] = {
            "status": outcome.status.value,
            "reason": outcome.reason,
            "reason_code": outcome.reason_code,
            **claims.LEASE_CLEARED,
        }
        if outcome.status in TERMINAL_STATUSES:
            del values["worker_id"]  # kept: which worker ran the job
            values.update(
                completed_at=now,
                result=outcome.result.value if outcome.result else None,
                duration_ms=outcome.duration_ms,
                track_changed=outcome.track_changed,
                selected_index=outcome.selected.index if outcome.selected else None,
                selected_language=outcome.selected.language if outcome.selected else None,
                language=outcome.language,
                language_source=outcome.language_source.value if outcome.language_source else None,
                tracks=tracks_to_json(outcome.tracks),
                write_method=outcome.write_method.value if outcome.write_method else None,
                write_note=outcome.write_note,
            )
        else:
            values.update(started_at=None, next_attempt_at=outcome.next_attempt_at or now)
        if outcome.container is not None:
            values["container"] = outcome.container.value
        if outcome.priority is not None:
            values["priority"] = int(outcome.priority)
        if outcome.refund_attempt:
            values["attempts"] = J.c.attempts - 1
        stmt = update(J).where(*claims.owned_by(job_id, worker_id)).values(**values).returning(*J.c)
        async with self.engines.write() as conn:
            row = (await conn.execute(stmt)).first()
            if row is None:
                return None, Changes()
            job = row_to_job(row)
            changes = Changes(jobs=[job])
            await self._after_terminal(conn, [job], changes, now)
            await self._notify(conn, changes)
        return job, changes

    async def release(self, job_id: str, *, worker_id: str) -> Job | None:
        async with self.engines.write() as conn:
            row = (await conn.execute(claims.release(job_id, worker_id=worker_id, now=utcnow()))).first()
            job = row_to_job(row) if row else None
            if job:
                await self._notify(conn, Changes(jobs=[job]))
        return job

    async def _after_terminal(
        self, conn: AsyncConnection, jobs: Sequence[Job], changes: Changes, now: datetime
    ) -> None:
        """Lifetime totals and batch completion, in the transaction that ended the jobs."""
        totals: dict[tuple[str, str], dict[str, int]] = {}
        batch_ids = set()
        for job in jobs:
            if not job.status.terminal:
                continue
            if job.batch_id:
                batch_ids.add(job.batch_id)
            if job.result is None:
                continue
            key = (job.container.value if job.container else "unknown", job.source.value)
            agg = totals.setdefault(
                key,
                {
                    "total": 0,
                    "success": 0,
                    "failed": 0,
                    "skipped": 0,
                    "track_changes": 0,
                    "duration_ms_sum": 0,
                },
            )
            agg["total"] += 1
            agg[job.result.value] += 1
            agg["track_changes"] += int(job.track_changed)
            agg["duration_ms_sum"] += int(job.duration_ms or 0)
        upsert = pg_insert if self.dialect == "postgresql" else sqlite_insert
        for (container, source), agg in totals.items():
            stmt = upsert(LIFETIME_STATS).values(container=container, source=source, **agg)
            stmt = stmt.on_conflict_do_update(
                index_elements=[LIFETIME_STATS.c.container, LIFETIME_STATS.c.source],
                set_={name: LIFETIME_STATS.c[name] + stmt.excluded[name] for name in agg},
            )
            await conn.execute(stmt)
        for batch_id in sorted(batch_ids):
            if self.dialect == "postgresql":
                # Two workers ending a batch's last two jobs at once would each still see the
                # other's job running (READ COMMITTED) and neither would complete the batch:
                # the row lock makes the second wait, and its check then sees the first's commit.
                await conn.execute(
                    select(BATCHES.c.batch_id).where(BATCHES.c.batch_id == batch_id).with_for_update()
                )
            still_active: Any = (
                select(literal_column("1"))
                .select_from(J)
                .where(J.c.batch_id == batch_id, J.c.status.in_([s.value for s in ACTIVE_STATUSES]))
            )
            done = await conn.execute(
                update(BATCHES)
                .where(
                    BATCHES.c.batch_id == batch_id,
                    BATCHES.c.status == BatchStatus.RUNNING.value,
                    ~exists(still_active),
                )
                .values(status=BatchStatus.COMPLETED.value, completed_at=now)
            )
            if done.rowcount:
                changes.batch_ids.add(batch_id)

    # --- recovery and waiting -----------------------------------------------------------

    async def recover(
        self, *, max_attempts: int, startup: bool = False, now: datetime | None = None
    ) -> Changes:
        """Put jobs of dead workers back in the queue (or end them when out of attempts)."""
        now = now or utcnow()
        scope: dict[str, Any] = {}
        if startup:
            if self.single_instance:
                scope["everything_running"] = True
            elif self.instance_id:
                scope["owner"] = self.instance_id
        changes = Changes()
        async with self.engines.write() as conn:
            ended = [
                row_to_job(r)
                for r in await conn.execute(
                    claims.recover_to_terminal(now, max_attempts=max_attempts, **scope)
                )
            ]
            requeued = [
                row_to_job(r)
                for r in await conn.execute(claims.recover_to_queue(now, max_attempts=max_attempts, **scope))
            ]
            changes.jobs.extend(ended + requeued)
            await self._after_terminal(conn, ended, changes, now)
            await self._notify(conn, changes)
        return changes

    async def wake_waiting(self, now: datetime | None = None) -> Changes:
        """Jobs waiting for space whose re-check time came go back in the queue to be checked."""
        now = now or utcnow()
        async with self.engines.write() as conn:
            rows = await conn.execute(
                update(J)
                .where(J.c.status == JobStatus.WAITING_FOR_SPACE.value, J.c.next_attempt_at <= now)
                .values(status=JobStatus.QUEUED.value)
                .returning(*J.c)
            )
            changes = Changes(jobs=[row_to_job(r) for r in rows])
            await self._notify(conn, changes)
        return changes

    # --- cancellation -------------------------------------------------------------------

    async def cancel_job(self, job_id: str, now: datetime | None = None) -> tuple[Job, Changes]:
        """Queued/waiting → cancelled now; running → ``cancel_requested`` (its worker stops it)."""
        now = now or utcnow()
        async with self.engines.write() as conn:
            row = (
                await conn.execute(
                    update(J)
                    .where(
                        J.c.job_id == job_id,
                        J.c.status.in_([JobStatus.QUEUED.value, JobStatus.WAITING_FOR_SPACE.value]),
                    )
                    .values(
                        status=JobStatus.CANCELLED.value,
                        completed_at=now,
                        reason="cancelled",
                        reason_code="cancelled",
                        **claims.LEASE_CLEARED,
                    )
                    .returning(*J.c)
                )
            ).first()
            if row is not None:
                job = row_to_job(row)
                changes = Changes(jobs=[job])
                await self._after_terminal(conn, [job], changes, now)
                await self._notify(conn, changes)
                return job, changes
            row = (
                await conn.execute(
                    update(J)
                    .where(J.c.job_id == job_id, J.c.status == JobStatus.RUNNING.value)
                    .values(cancel_requested=True)
                    .returning(*J.c)
                )
            ).first()
            if row is not None:
                job = row_to_job(row)
                await self._notify(conn, Changes(jobs=[job]))
                return job, Changes(jobs=[job])
            current = (await conn.execute(select(J).where(J.c.job_id == job_id))).first()
        if current is None:
            raise NotFound(f"job {job_id} not found")
        raise FailedPrecondition(f"job {job_id} is already {current._mapping['status']}")

    async def cancel_batch(
        self, batch_id: str, now: datetime | None = None
    ) -> tuple[int, list[str], Changes]:
        """Cancel the batch's queued/waiting jobs; returns (count, ids of its running jobs, changes)."""
        now = now or utcnow()
        async with self.engines.write() as conn:
            found = (
                await conn.execute(select(BATCHES.c.status).where(BATCHES.c.batch_id == batch_id))
            ).first()
            if found is None:
                raise NotFound(f"batch {batch_id} not found")
            result = await conn.execute(
                update(J)
                .where(
                    J.c.batch_id == batch_id,
                    J.c.status.in_([JobStatus.QUEUED.value, JobStatus.WAITING_FOR_SPACE.value]),
                )
                .values(
                    status=JobStatus.CANCELLED.value,
                    completed_at=now,
                    reason="batch cancelled",
                    reason_code="cancelled",
                )
            )
            cancelled = result.rowcount or 0
            running = [
                r[0]
                for r in await conn.execute(
                    select(J.c.job_id).where(J.c.batch_id == batch_id, J.c.status == JobStatus.RUNNING.value)
                )
            ]
            if found[0] in _ACTIVE_BATCH:
                await conn.execute(
                    update(BATCHES)
                    .where(BATCHES.c.batch_id == batch_id)
                    .values(status=BatchStatus.CANCELLED.value, completed_at=now)
                )
            changes = Changes(batch_ids={batch_id})
            await self._notify(conn, changes)
        return cancelled, running, changes

    # --- reads ----------------------------------------------------------------------------

    async def _jobs_by_id(self, conn: AsyncConnection, job_ids: Sequence[str]) -> list[Job]:
        found: dict[str, Job] = {}
        for start in range(0, len(job_ids), _CHUNK):
            rows = await conn.execute(select(J).where(J.c.job_id.in_(job_ids[start : start + _CHUNK])))
            for row in rows:
                job = row_to_job(row)
                found[job.job_id] = job
        return [found[job_id] for job_id in job_ids if job_id in found]

    async def ids_with_prefix(self, kind: str, prefix: str, limit: int) -> list[str]:
        """Up to ``limit`` ids of ``kind`` (job/batch/webhook) starting with ``prefix``, sorted.

        One range read on the id's unique index (``id >= prefix AND id < next(prefix)``)
        rather than ``LIKE``, which PostgreSQL cannot serve from a btree index under a
        non-C collation. ``prefix`` is lowercase hex (queue/short_ids.py), so bumping its last
        character gives the exclusive upper bound.
        """
        column = {"job": J.c.job_id, "batch": BATCHES.c.batch_id, "webhook": WEBHOOKS.c.webhook_id}[kind]
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        query = select(column).where(column >= prefix, column < upper).order_by(column).limit(limit)

        def read(conn: Connection) -> list[str]:
            return [row[0] for row in conn.execute(query)]

        return await self.engines.run_read(read)

    async def get_job(self, job_id: str) -> Job:
        def read(conn: Connection) -> Job | None:
            row = conn.execute(select(J).where(J.c.job_id == job_id)).first()
            return None if row is None else row_to_job(row)

        job = await self.engines.run_read(read)
        if job is None:
            raise NotFound(f"job {job_id} not found")
        return job

    @staticmethod
    def _filter_conditions(job_filter: JobFilter) -> list[Any]:
        conditions = []
        if job_filter.status is not None:
            conditions.append(J.c.status == JobStatus(job_filter.status).value)
        if job_filter.webhook_id:
            conditions.append(J.c.webhook_id == job_filter.webhook_id)
        if job_filter.batch_id:
            conditions.append(J.c.batch_id == job_filter.batch_id)
        if job_filter.source is not None:
            conditions.append(J.c.source == Source(job_filter.source).value)
        if job_filter.container is not None:
            conditions.append(J.c.container == Container(job_filter.container).value)
        return conditions

    @staticmethod
    def parse_order(order_by: str) -> tuple[Any, ...]:
        parts = (order_by or "created_at desc").strip().lower().split()
        if (
            not parts
            or len(parts) > 2
            or parts[0] not in _ORDERABLE
            or (len(parts) == 2 and parts[1] not in ("asc", "desc"))
        ):
            raise InvalidRequest(
                "order_by",
                f"order_by must be '<{'|'.join(sorted(_ORDERABLE))}> [asc|desc]', not {order_by!r}",
            )
        descending = len(parts) == 1 or parts[1] == "desc"
        if parts[0] == "priority":
            # Priority order is the claim order: high first, then FIFO.
            return claims.claim_order() if descending else (J.c.priority.asc(), J.c.seq.desc())
        if parts[0] == "created_at":
            # Creation order is ``seq`` order (ties of one bulk insert broken the same way), and
            # every per-column index ends in seq: no sort, whatever the filter.
            return (J.c.seq.desc(),) if descending else (J.c.seq.asc(),)
        column = J.c[parts[0]]
        return (column.desc(), J.c.seq.desc()) if descending else (column.asc(), J.c.seq.asc())

    def list_jobs_query(self, job_filter: JobFilter) -> Any:
        return (
            select(J)
            .where(*self._filter_conditions(job_filter))
            .order_by(*self.parse_order(job_filter.order_by))
            .limit(job_filter.limit)
            .offset(job_filter.offset)
        )

    async def list_jobs(self, job_filter: JobFilter) -> tuple[list[Job], int]:
        if job_filter.limit < 0 or job_filter.offset < 0:
            raise InvalidRequest("limit", "limit and offset must not be negative")
        query = self.list_jobs_query(job_filter)
        count = select(func.count()).select_from(J).where(*self._filter_conditions(job_filter))

        def read(conn: Connection) -> tuple[list[Job], int]:
            # One snapshot: the page and the total agree.
            return [row_to_job(r) for r in conn.execute(query)], conn.execute(count).scalar_one()

        return await self.engines.run_read(read)

    def counts_query(self, *conditions: Any) -> Any:
        return select(*_COUNT_COLUMNS).where(*conditions).group_by(J.c.status, J.c.result)

    async def counts(self, *conditions: Any, conn: AsyncConnection | None = None) -> Counts:
        if conn is not None:
            return _counts(await conn.execute(self.counts_query(*conditions)))
        async with self.engines.read() as own:
            return _counts(await own.execute(self.counts_query(*conditions)))

    def next_jobs_query(self, limit: int) -> Any:
        return (
            select(J).where(J.c.status == JobStatus.QUEUED.value).order_by(*claims.claim_order()).limit(limit)
        )

    async def snapshot_parts(self, next_limit: int) -> tuple[Counts, list[Job], list[Job]]:
        """Counts, running jobs and the next ``next_limit`` queued: one snapshot, one hop."""
        running_query = select(J).where(J.c.status == JobStatus.RUNNING.value).order_by(J.c.seq)
        next_query = self.next_jobs_query(next_limit) if next_limit > 0 else None

        def read(conn: Connection) -> tuple[Counts, list[Job], list[Job]]:
            counts = _counts(conn.execute(self.counts_query()))
            running = [row_to_job(r) for r in conn.execute(running_query)]
            upcoming = [row_to_job(r) for r in conn.execute(next_query)] if next_query is not None else []
            return counts, running, upcoming

        return await self.engines.run_read(read)

    async def dashboard(
        self, since: datetime
    ) -> tuple[Counts, PeriodStats, tuple[PeriodStats, dict[str, PeriodStats], dict[str, PeriodStats]]]:
        """Everything GetStats shows: queue counts, the period since ``since``, lifetime totals.

        One snapshot and one hop, three statements (the lifetime table holds one row per
        container and source: it is folded here rather than summed three times by SQL).
        """
        today = self.today_query(since)

        def read(
            conn: Connection,
        ) -> tuple[Counts, PeriodStats, tuple[PeriodStats, dict[str, PeriodStats], dict[str, PeriodStats]]]:
            counts = _counts(conn.execute(self.counts_query()))
            period = _period([(r[0], r[1], r[2], r[3]) for r in conn.execute(today)])
            return counts, period, _fold_lifetime(conn.execute(select(*_LIFETIME_COLUMNS)).all())

        return await self.engines.run_read(read)

    # batches

    @staticmethod
    def _batch_request(m: Any) -> BatchRequest:
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

    async def _batch_info(self, conn: AsyncConnection, row: Any, now: datetime) -> BatchInfo:
        m = row._mapping
        counts = await self.counts(J.c.batch_id == m["batch_id"], conn=conn)
        eta = None
        remaining = counts.queued + counts.running + counts.waiting_for_space
        if remaining and counts.finished and m["status"] == BatchStatus.RUNNING.value:
            elapsed = (now - m["created_at"]).total_seconds()
            eta = elapsed / counts.finished * remaining
        return BatchInfo(
            batch_id=m["batch_id"],
            request=self._batch_request(m),
            status=BatchStatus(m["status"]),
            created_at=m["created_at"],
            completed_at=m["completed_at"],
            estimated_files=m["estimated_files"],
            counts=counts,
            eta_seconds=eta,
            error=m["error"],
        )

    async def get_batch(
        self, batch_id: str, *, limit: int = 100, offset: int = 0
    ) -> tuple[BatchInfo, list[Job], int]:
        async with self.engines.read() as conn:
            row = (await conn.execute(select(BATCHES).where(BATCHES.c.batch_id == batch_id))).first()
            if row is None:
                raise NotFound(f"batch {batch_id} not found")
            info = await self._batch_info(conn, row, utcnow())
            jobs = [
                row_to_job(r)
                for r in await conn.execute(
                    select(J).where(J.c.batch_id == batch_id).order_by(J.c.seq).limit(limit).offset(offset)
                )
            ]
        return info, jobs, info.counts.total

    @staticmethod
    def list_batches_query(*, limit: int = 50, offset: int = 0, status: BatchStatus | None = None) -> Any:
        conditions = [] if status is None else [BATCHES.c.status == BatchStatus(status).value]
        return (
            select(BATCHES)
            .where(*conditions)
            .order_by(BATCHES.c.created_at.desc())
            .limit(limit)
            .offset(offset)
        )

    async def list_batches(
        self, *, limit: int = 50, offset: int = 0, status: BatchStatus | None = None
    ) -> tuple[list[BatchInfo], int]:
        """Newest first; with ``status`` only the batches in that state (ix_batches_status_created)."""
        now = utcnow()
        conditions = [] if status is None else [BATCHES.c.status == BatchStatus(status).value]
        async with self.engines.read() as conn:
            rows = list(
                await conn.execute(self.list_batches_query(limit=limit, offset=offset, status=status))
            )
            infos = [await self._batch_info(conn, row, now) for row in rows]
            total = (
                await conn.execute(select(func.count()).select_from(BATCHES).where(*conditions))
            ).scalar_one()
        return infos, total

    # webhooks

    async def get_webhook(self, webhook_id: str) -> tuple[WebhookInfo, Counts, list[Job]]:
        async with self.engines.read() as conn:
            row = (await conn.execute(select(WEBHOOKS).where(WEBHOOKS.c.webhook_id == webhook_id))).first()
            if row is None:
                raise NotFound(f"webhook {webhook_id} not found")
            info = _webhook_info(row)
            job_ids = list(info.job_ids)
            jobs = await self._jobs_by_id(conn, job_ids)
            counts = await self.counts(J.c.job_id.in_(job_ids), conn=conn) if job_ids else Counts()
        return info, counts, jobs

    # stats

    def today_query(self, since: datetime) -> Any:
        return (
            select(
                J.c.result,
                func.count(),
                func.sum(cast(J.c.track_changed, Integer)),
                func.sum(J.c.duration_ms),
            )
            .where(J.c.completed_at >= since, J.c.result.is_not(None))
            .group_by(J.c.result)
        )

    async def lifetime_stats(self) -> tuple[PeriodStats, dict[str, PeriodStats], dict[str, PeriodStats]]:
        return await self.engines.run_read(
            lambda conn: _fold_lifetime(conn.execute(select(*_LIFETIME_COLUMNS)).all())
        )

    @staticmethod
    def job_stats_conditions(
        *,
        batch_id: str | None = None,
        webhook_id: str | None = None,
        source: Source | None = None,
        container: Container | None = None,
        created_after: datetime | None = None,
    ) -> list[Any]:
        conditions: list[Any] = []
        if batch_id:
            conditions.append(J.c.batch_id == batch_id)
        if webhook_id:
            conditions.append(J.c.webhook_id == webhook_id)
        if source is not None:
            conditions.append(J.c.source == Source(source).value)
        if container is not None:
            conditions.append(J.c.container == Container(container).value)
        if created_after is not None:
            conditions.append(J.c.created_at >= created_after)
        return conditions

    @staticmethod
    def job_stats_query(*conditions: Any) -> Any:
        """One row per (status, result, container, source, reason_code): a few dozen rows at
        most, whatever the number of jobs; everything GetJobStats shows is folded from them.

        The GROUP BY starts with reason_code, which no index leads with: grouped by an indexed
        column first, SQLite would rather walk that whole index (rows in group order) than
        search the filter's own index.
        """
        return (
            select(
                J.c.status,
                J.c.result,
                J.c.container,
                J.c.source,
                J.c.reason_code,
                func.count(),
                func.sum(cast(J.c.track_changed, Integer)),
                func.sum(J.c.duration_ms),
            )
            .where(*conditions)
            .group_by(J.c.reason_code, J.c.status, J.c.result, J.c.container, J.c.source)
        )

    async def job_stats(
        self,
        *,
        batch_id: str | None = None,
        webhook_id: str | None = None,
        source: Source | None = None,
        container: Container | None = None,
        created_after: datetime | None = None,
    ) -> JobStats:
        """Figures over the matching jobs, aggregated by the database (no job row is loaded).

        One statement, so the counts, outcomes and reasons agree with each other.
        """
        conditions = self.job_stats_conditions(
            batch_id=batch_id,
            webhook_id=webhook_id,
            source=source,
            container=container,
            created_after=created_after,
        )
        async with self.engines.read() as conn:
            groups = [
                (
                    status,
                    result,
                    container_ or "unknown",
                    source_,
                    reason,
                    int(n),
                    int(changed or 0),
                    int(duration or 0),
                )
                for status, result, container_, source_, reason, n, changed, duration in await conn.execute(
                    self.job_stats_query(*conditions)
                )
            ]
        finished = [(g[1], g[2], g[3], g[5], g[6], g[7]) for g in groups if g[1]]
        reasons: dict[str, int] = {}
        for status, _result, _container, _source, reason, n, _changed, _duration in groups:
            # A retried job keeps its last failure's reason while queued again: only final reasons count.
            if reason and JobStatus(status) in TERMINAL_STATUSES:
                reasons[reason] = reasons.get(reason, 0) + n
        return JobStats(
            counts=_counts((g[0], g[1], g[5], g[6]) for g in groups),
            outcomes=_period(_by_result(finished, lambda row: "all").get("all", [])),
            per_container={
                key: _period(rows) for key, rows in _by_result(finished, lambda row: row[1]).items()
            },
            per_source={key: _period(rows) for key, rows in _by_result(finished, lambda row: row[2]).items()},
            reasons=tuple(
                ReasonCount(reason_code=code, count=n)
                for code, n in sorted(reasons.items(), key=lambda item: (-item[1], item[0]))
            ),
        )

    # --- retry (failed/cancelled -> queued) ---------------------------------------------

    async def retry_job(self, job_id: str, now: datetime | None = None) -> tuple[Job, Changes]:
        """A failed or cancelled job queued again (see :mod:`.transitions`), in one transaction.

        NotFound, FailedPrecondition (not failed/cancelled), AlreadyExists (another job for the
        same file is active: the one-active-job-per-file index refuses the update).
        """
        now = now or utcnow()
        try:
            async with self.engines.write() as conn:
                row = (await conn.execute(self._locked(select(J).where(J.c.job_id == job_id)))).first()
                if row is None:
                    raise NotFound(f"job {job_id} not found")
                before = row_to_job(row)
                if before.status not in transitions.RETRYABLE:
                    raise FailedPrecondition(
                        f"job {job_id} is {before.status.value}: only failed or cancelled jobs can be retried"
                    )
                changes = await self._requeue(conn, [before], now)
        except IntegrityError as exc:
            raise AlreadyExists(f"another job for {before.file_path} is already active") from exc
        return changes.jobs[0], changes

    async def retry_batch(self, batch_id: str, now: datetime | None = None) -> tuple[RetryResult, Changes]:
        """The batch's failed jobs queued again, except those whose file has another active job."""
        now = now or utcnow()
        other = J.alias("other")
        active_twin = exists(
            select(literal_column("1"))
            .select_from(other)
            .where(
                other.c.file_path == J.c.file_path,
                other.c.seq != J.c.seq,
                other.c.status.in_([s.value for s in ACTIVE_STATUSES]),
            )
        )
        failed = (J.c.batch_id == batch_id, J.c.status == JobStatus.FAILED.value)
        async with self.engines.write() as conn:
            found = (
                await conn.execute(select(BATCHES.c.batch_id).where(BATCHES.c.batch_id == batch_id))
            ).first()
            if found is None:
                raise NotFound(f"batch {batch_id} not found")
            rows = await conn.execute(self._locked(select(J).where(*failed, ~active_twin).order_by(J.c.seq)))
            before = [row_to_job(r) for r in rows]
            skipped = (
                await conn.execute(select(func.count()).select_from(J).where(*failed, active_twin))
            ).scalar_one()
            changes = await self._requeue(conn, before, now) if before else Changes()
        return RetryResult(jobs=tuple(changes.jobs), skipped=int(skipped)), changes

    def _locked(self, query: Any) -> Any:
        """PostgreSQL: lock the rows read before they change (SQLite's writer is alone anyway)."""
        return query.with_for_update() if self.dialect == "postgresql" else query

    async def _requeue(self, conn: AsyncConnection, before: Sequence[Job], now: datetime) -> Changes:
        """Queue ``before`` again, withdraw their old outcomes from the lifetime totals (each job
        counts once, by its last outcome), and reopen their batches."""
        ids = [job.job_id for job in before]
        changes = Changes()
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            rows = await conn.execute(
                update(J)
                .where(J.c.job_id.in_(chunk), J.c.status.in_([s.value for s in transitions.RETRYABLE]))
                .values(**transitions.requeue_values(now))
                .returning(*J.c)
            )
            changes.jobs.extend(row_to_job(r) for r in rows)
        withdrawn: dict[tuple[str, str], dict[str, int]] = {}
        for job in before:
            if job.result is None:
                continue
            key = (job.container.value if job.container else "unknown", job.source.value)
            agg = withdrawn.setdefault(key, dict.fromkeys(transitions.LIFETIME_FIELDS, 0))
            agg["total"] += 1
            agg[job.result.value] += 1
            agg["track_changes"] += int(job.track_changed)
            agg["duration_ms_sum"] += int(job.duration_ms or 0)
        for (container, source), agg in withdrawn.items():
            await conn.execute(
                update(LIFETIME_STATS)
                .where(LIFETIME_STATS.c.container == container, LIFETIME_STATS.c.source == source)
                .values({name: LIFETIME_STATS.c[name] - value for name, value in agg.items()})
            )
        batch_ids = sorted({job.batch_id for job in before if job.batch_id})
        if batch_ids:
            await conn.execute(
                update(BATCHES)
                .where(BATCHES.c.batch_id.in_(batch_ids), BATCHES.c.status.not_in(_ACTIVE_BATCH))
                .values(status=BatchStatus.RUNNING.value, completed_at=None)
            )
            changes.batch_ids.update(batch_ids)
        await self._notify(conn, changes)
        return changes

    # --- dashboard reads -----------------------------------------------------------------

    async def daily_counts(self, days: int, now: datetime | None = None) -> list[DailyCount]:
        """Finished jobs per UTC day over the last ``days`` days (today included), oldest first;
        only days that have jobs. A GROUP BY over the retained jobs (served by ix_jobs_completed)."""
        since = utc_midnight(now) - timedelta(days=max(days, 1) - 1)
        if self.dialect == "postgresql":
            day = func.to_char(func.timezone("UTC", J.c.completed_at), "YYYY-MM-DD")
        else:
            day = func.strftime("%Y-%m-%d", J.c.completed_at)
        query = (
            select(
                day,
                J.c.result,
                func.count(),
                func.sum(cast(J.c.track_changed, Integer)),
                func.sum(J.c.duration_ms),
            )
            .where(J.c.completed_at >= since, J.c.result.is_not(None))
            .group_by(day, J.c.result)
        )

        def read(conn: Connection) -> list[DailyCount]:
            sums: dict[str, dict[str, int]] = {}
            for name, result, n, changed, duration in conn.execute(query):
                agg = sums.setdefault(name, dict.fromkeys(transitions.LIFETIME_FIELDS, 0))
                agg["total"] += int(n)
                agg[result] += int(n)
                agg["track_changes"] += int(changed or 0)
                agg["duration_ms_sum"] += int(duration or 0)
            return [
                DailyCount(day=datetime.strptime(name, "%Y-%m-%d").date(), **agg)
                for name, agg in sorted(sums.items())
            ]

        return await self.engines.run_read(read)

    async def list_webhooks(
        self, *, limit: int = 50, offset: int = 0, source: Source | None = None
    ) -> tuple[list[tuple[WebhookInfo, Counts]], int]:
        """Deliveries newest first (ix_webhooks_created) with their jobs' counts, and how many match."""
        conditions = [] if source is None else [WEBHOOKS.c.source == Source(source).value]
        async with self.engines.read() as conn:
            rows = list(
                await conn.execute(
                    select(WEBHOOKS)
                    .where(*conditions)
                    .order_by(WEBHOOKS.c.created_at.desc())
                    .limit(limit)
                    .offset(offset)
                )
            )
            found = []
            for row in rows:
                info = _webhook_info(row)
                counts = (
                    await self.counts(J.c.job_id.in_(info.job_ids), conn=conn) if info.job_ids else Counts()
                )
                found.append((info, counts))
            total = (
                await conn.execute(select(func.count()).select_from(WEBHOOKS).where(*conditions))
            ).scalar_one()
        return found, total

    async def metrics_figures(self) -> MetricsFigures:
        """Queue counts, lifetime totals per (result, container, source) and batches by status:
        one snapshot, so a scrape's figures agree with each other."""
        batches = select(BATCHES.c.status, func.count()).group_by(BATCHES.c.status)

        def read(conn: Connection) -> MetricsFigures:
            counts = _counts(conn.execute(self.counts_query()))
            finished = []
            durations: dict[str, tuple[int, int]] = {}
            for container, source, total, success, failed, skipped, _changes, duration in conn.execute(
                select(*_LIFETIME_COLUMNS)
            ):
                for result, n in (("success", success), ("failed", failed), ("skipped", skipped)):
                    finished.append(
                        FinishedTotal(result=result, container=container, source=source, count=int(n or 0))
                    )
                seen, summed = durations.get(container, (0, 0))
                durations[container] = (seen + int(total or 0), summed + int(duration or 0))
            return MetricsFigures(
                queue=counts,
                finished=tuple(finished),
                durations=durations,
                batches={status: int(n) for status, n in conn.execute(batches)},
            )

        return await self.engines.run_read(read)

    # --- retention ----------------------------------------------------------------------

    async def cleanup(
        self, rules: Sequence[tuple[Sequence[JobStatus], datetime]], orphans_before: datetime
    ) -> CleanupResult:
        """Delete terminal jobs finished before each rule's cutoff, then orphaned batches/webhooks.

        Deletes in chunks, so SQLite's writer is never held for long.
        """
        removed = 0
        for statuses, cutoff in rules:
            values = [JobStatus(s).value for s in statuses]
            if any(JobStatus(s) not in TERMINAL_STATUSES for s in values):
                raise InvalidRequest("statuses", "only completed, failed or cancelled jobs can be cleaned up")
            while True:
                pick = (
                    select(J.c.seq)
                    .where(J.c.completed_at < cutoff, J.c.status.in_(values))
                    .limit(_DELETE_CHUNK)
                )
                async with self.engines.write() as conn:
                    count = (
                        await conn.execute(delete(J).where(J.c.seq.in_(pick.scalar_subquery())))
                    ).rowcount
                removed += count or 0
                if not count or count < _DELETE_CHUNK:
                    break
        async with self.engines.write() as conn:
            batches = (
                await conn.execute(
                    delete(BATCHES).where(
                        BATCHES.c.status.not_in(_ACTIVE_BATCH),
                        BATCHES.c.created_at < orphans_before,
                        ~exists(
                            select(literal_column("1"))
                            .select_from(J)
                            .where(J.c.batch_id == BATCHES.c.batch_id)
                        ),
                    )
                )
            ).rowcount or 0
            webhooks = (
                await conn.execute(
                    delete(WEBHOOKS).where(
                        WEBHOOKS.c.created_at < orphans_before,
                        ~exists(
                            select(literal_column("1"))
                            .select_from(J)
                            .where(J.c.webhook_id == WEBHOOKS.c.webhook_id)
                        ),
                    )
                )
            ).rowcount or 0
        return CleanupResult(jobs_removed=removed, batches_removed=batches, webhooks_removed=webhooks)

    # --- metadata cache -----------------------------------------------------------------

    async def cache_get(self, key: str) -> str | None:
        async with self.engines.read() as conn:
            row = (
                await conn.execute(
                    select(METADATA_CACHE.c.value).where(
                        METADATA_CACHE.c.key == key, METADATA_CACHE.c.expires_at > utcnow()
                    )
                )
            ).first()
        return row[0] if row else None

    async def cache_put(self, key: str, value: str, ttl_seconds: float) -> None:
        upsert = pg_insert if self.dialect == "postgresql" else sqlite_insert
        expires = utcnow() + timedelta(seconds=ttl_seconds)
        stmt = upsert(METADATA_CACHE).values(key=key, value=value, expires_at=expires)
        stmt = stmt.on_conflict_do_update(
            index_elements=[METADATA_CACHE.c.key],
            set_={"value": stmt.excluded.value, "expires_at": stmt.excluded.expires_at},
        )
        async with self.engines.write() as conn:
            await conn.execute(stmt)
            # Expired entries go while we are here (cheap: bounded by what expired).
            await conn.execute(delete(METADATA_CACHE).where(METADATA_CACHE.c.expires_at <= utcnow()))


def _webhook_info(row: Any) -> WebhookInfo:
    m = row._mapping
    return WebhookInfo(
        webhook_id=m["webhook_id"],
        source=Source(m["source"]),
        event_type=m["event_type"],
        title=m["title"],
        hints=MediaHints.from_dict(m["hints"]),
        created_at=m["created_at"],
        job_ids=tuple(m["job_ids"] or []),
    )


def _create_missing_indexes(conn: Any, tables: Sequence[Any]) -> None:
    for table in tables:
        for index in table.indexes:
            index.create(conn, checkfirst=True)


def _add_missing_columns(conn: Any, tables: Sequence[Any]) -> None:
    """Nullable columns added in a later version (jobs.tracks, write_method, write_note)
    reach a database made by an earlier one; create_all never alters an existing table."""
    inspector = inspect(conn)
    for table in tables:
        present = {column["name"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in present or not column.nullable:
                continue
            kind = column.type.compile(dialect=conn.dialect)
            conn.execute(text(f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {kind}'))


def _by_result(
    rows: Sequence[tuple[str, str, str, int, int, int]], key: Any
) -> dict[str, list[tuple[str, int, int, int]]]:
    """``(result, container, source, n, changed, duration)`` rows summed per ``key`` and result,
    in the ``(result, n, changed, duration)`` shape that :func:`_period` folds."""
    sums: dict[str, dict[str, list[int]]] = {}
    for row in rows:
        per_result = sums.setdefault(key(row), {}).setdefault(row[0], [0, 0, 0])
        for i, value in enumerate(row[3:]):
            per_result[i] += value
    return {
        name: [(result, n, changed, duration) for result, (n, changed, duration) in by_result.items()]
        for name, by_result in sums.items()
    }


def _period(rows: Sequence[tuple[str, int, int | None, int | None]]) -> PeriodStats:
    by_result = {r[0]: r for r in rows}
    total = sum(r[1] for r in rows)
    durations = sum(int(r[3] or 0) for r in rows)
    return PeriodStats(
        total=total,
        success=by_result.get("success", (None, 0))[1],
        failed=by_result.get("failed", (None, 0))[1],
        skipped=by_result.get("skipped", (None, 0))[1],
        track_changes=sum(int(r[2] or 0) for r in rows),
        avg_duration_ms=durations / total if total else 0.0,
    )


_LIFETIME_COLUMNS = (
    LIFETIME_STATS.c.container,
    LIFETIME_STATS.c.source,
    LIFETIME_STATS.c.total,
    LIFETIME_STATS.c.success,
    LIFETIME_STATS.c.failed,
    LIFETIME_STATS.c.skipped,
    LIFETIME_STATS.c.track_changes,
    LIFETIME_STATS.c.duration_ms_sum,
)


def _fold_lifetime(rows: Sequence[Any]) -> tuple[PeriodStats, dict[str, PeriodStats], dict[str, PeriodStats]]:
    """``(container, source, total, success, failed, skipped, changes, duration)`` rows → overall,
    per container, per source."""
    overall = [0] * 6
    by_container: dict[str, list[int]] = {}
    by_source: dict[str, list[int]] = {}
    for container, source, *values in rows:
        for sums in (
            overall,
            by_container.setdefault(container, [0] * 6),
            by_source.setdefault(source, [0] * 6),
        ):
            for i, value in enumerate(values):
                sums[i] += int(value or 0)
    return (
        _totals(overall),
        {key: _totals(v) for key, v in by_container.items()},
        {key: _totals(v) for key, v in by_source.items()},
    )


def _totals(row: Any) -> PeriodStats:
    total, success, failed, skipped, changes, duration = (int(v or 0) for v in row)
    return PeriodStats(
        total=total,
        success=success,
        failed=failed,
        skipped=skipped,
        track_changes=changes,
        avg_duration_ms=duration / total if total else 0.0,
    )
