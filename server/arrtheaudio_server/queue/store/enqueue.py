"""Enqueue: files become queued jobs (with their webhook or batch row), all or nothing.

A file that already has an active job is linked to it instead (``deduplicated``); a webhook
raises that job's priority to its own. Concurrent callers are written together (group commit,
see :mod:`.group_commit`): one transaction, one capacity check, one multi-row insert, one
NOTIFY for the whole group, and each caller gets its own answer — after COMMIT, never before.
The bulk path for seeding (benchmarks) is :meth:`Enqueuer.insert_history`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from arrtheaudio_server.clock import utcnow
from arrtheaudio_server.ids import new_id
from arrtheaudio_server.media.result import Container
from arrtheaudio_server.queue.domain import (
    ACTIVE_BATCH_STATUSES,
    ACTIVE_STATUSES,
    AlreadyExists,
    BatchStatus,
    EnqueuedJob,
    Job,
    JobStatus,
    Priority,
    QueueFull,
    Source,
    WebhookInfo,
)
from arrtheaudio_server.queue.store import rollups
from arrtheaudio_server.queue.store.database import Database
from arrtheaudio_server.queue.store.group_commit import GroupCommit
from arrtheaudio_server.queue.store.rows import NOTIFY_MAX_JOBS, Changes, NewBatch, NewJob
from arrtheaudio_server.queue.store.schema import ACTIVE_SQL, BATCHES, JOBS, WEBHOOKS

J = JOBS
# Bound parameters per statement stay far below SQLite's limit (32766).
_CHUNK = 500
# Files per enqueue transaction: a flood of webhooks groups into a few transactions a second;
# a big batch still goes alone.
_GROUP_MAX_FILES = 2000


@dataclass(frozen=True, slots=True)
class EnqueueRequest:
    """One caller's enqueue, waiting for its group's transaction."""

    jobs: tuple[NewJob, ...]
    max_active: int | None
    webhook: WebhookInfo | None
    batch: NewBatch | None
    now: datetime
    # Rows of files that need no job (a rescan's unchanged files): inserted already
    # finished (and rolled up), in the same transaction, only if the request is accepted.
    finished: tuple[dict[str, Any], ...] = ()


class Enqueued(NamedTuple):
    """One caller's answer: what became of each file, and the changes to publish."""

    jobs: list[EnqueuedJob]
    changes: Changes


EnqueueOutcome = Enqueued | Exception


@dataclass(frozen=True, slots=True)
class _Existing:
    job_id: str
    priority: int
    status: str


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


class Enqueuer:
    def __init__(self, db: Database, *, instance_id: str) -> None:
        self.db = db
        self.instance_id = instance_id
        self._group: GroupCommit[EnqueueRequest, Enqueued] = GroupCommit(
            self._write_group, max_group_size=_GROUP_MAX_FILES
        )

    async def close(self) -> None:
        await self._group.close()

    async def enqueue(
        self,
        jobs: Sequence[NewJob],
        *,
        max_active: int | None,
        webhook: WebhookInfo | None = None,
        batch: NewBatch | None = None,
        now: datetime | None = None,
        finished: Sequence[dict[str, Any]] = (),
    ) -> Enqueued:
        """Queue ``jobs`` (and the webhook or batch row they belong to), all or nothing.

        Raises QueueFull with nothing written when the new jobs would take the active count
        over ``max_active``; AlreadyExists when a batch is active for the same path.
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

    async def insert_history(
        self, rows: Sequence[dict[str, Any]], *, batches: Sequence[dict[str, Any]] = ()
    ) -> None:
        """Bulk-insert already finished ``jobs`` rows (and the ``batches`` rows they belong to)
        and roll them up, in one transaction.

        For seeding (bench/growth.py, tests of a big history): the same rollup code as a
        finish. Each row needs every NOT NULL column of its table; jobs must be terminal.
        """
        async with self.db.write() as conn:
            if batches:
                await conn.execute(insert(BATCHES), list(batches))
            for start in range(0, len(rows), _CHUNK * 4):
                chunk = rows[start : start + _CHUNK * 4]
                await conn.execute(insert(J), list(chunk))
                await rollups.became_terminal(conn, self.db.dialect, chunk)

    # --- the group's transaction ----------------------------------------------------------

    async def _write_group(self, requests: list[EnqueueRequest]) -> list[EnqueueOutcome]:
        """One transaction for the whole group; retried when another instance raced us.

        If the group fails for another reason and holds several requests, each is written
        alone, so one bad request cannot take its neighbours down with it.
        """
        try:
            return await self._write_retrying(requests)
        except IntegrityError:
            raise
        except Exception:
            if len(requests) == 1:
                raise
        outcomes: list[EnqueueOutcome] = []
        for request in requests:
            try:
                outcomes.extend(await self._write_retrying([request]))
            except Exception as exc:  # noqa: BLE001 - this request's own failure, answered to it
                outcomes.append(exc)
        return outcomes

    async def _write_retrying(self, requests: list[EnqueueRequest]) -> list[EnqueueOutcome]:
        for attempt in range(5):
            try:
                async with self.db.write() as conn:
                    return await self._write(conn, requests)
            except IntegrityError:
                # Another instance queued one of these files between our lookup and insert
                # (the unique active-path index caught it); look again.
                if attempt == 4:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def _write(self, conn: AsyncConnection, requests: Sequence[EnqueueRequest]) -> list[EnqueueOutcome]:
        """Plan every request against the database and against the requests before it, then
        write all accepted ones with one statement per table."""
        active_batches = await self._active_batches(conn, requests)
        existing = await self._active_jobs(conn, requests)
        active_now: int | None = None
        added = 0
        planned: dict[str, dict[str, Any]] = {}  # path -> new row (first request that named it)
        bump: dict[str, int] = {}  # existing job_id -> priority to raise it to
        accepted: list[tuple[EnqueueRequest, list[EnqueuedJob], list[dict[str, Any]]]] = []
        outcomes: list[EnqueueOutcome | None] = []
        for request in requests:
            if request.batch is not None:
                path = request.batch.request.path
                if path in active_batches:
                    outcomes.append(
                        AlreadyExists(f"batch {active_batches[path]} is already active for {path}")
                    )
                    continue
            fresh = {job.path for job in request.jobs if job.path not in existing and job.path not in planned}
            if request.max_active is not None and fresh:
                if active_now is None:
                    active_now = (
                        await conn.execute(
                            select(func.count())
                            .select_from(J)
                            .where(J.c.status.in_([s.value for s in ACTIVE_STATUSES]))
                        )
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
                active_batches[request.batch.request.path] = request.batch.batch_id
            results, own_rows = _plan(request, existing, planned, bump)
            accepted.append((request, results, own_rows))
            outcomes.append(None)
        await self._insert(conn, accepted, planned, bump)
        finished_rows = [row for request, _, _ in accepted for row in request.finished]
        for start in range(0, len(finished_rows), _CHUNK * 4):
            chunk = finished_rows[start : start + _CHUNK * 4]
            await conn.execute(insert(J), chunk)
            await rollups.became_terminal(conn, self.db.dialect, chunk)
        answers: list[Enqueued] = []
        everything = Changes()
        for request, results, own_rows in accepted:
            changes = Changes()
            if request.batch is not None:
                changes.batch_ids.add(request.batch.batch_id)
            if request.webhook is not None:
                changes.webhook_ids.add(request.webhook.webhook_id)
            if len(own_rows) <= NOTIFY_MAX_JOBS:
                # Built from what was inserted, not read back: the rows are exactly these.
                changes.jobs.extend(_queued_job(row) for row in own_rows)
            answers.append(Enqueued(jobs=results, changes=changes))
            everything.merge(
                Changes(
                    jobs=list(changes.jobs),
                    batch_ids=set(changes.batch_ids),
                    webhook_ids=set(changes.webhook_ids),
                )
            )
        if everything:
            await self.db.dialect.notify(conn, everything.events(), instance_id=self.instance_id)
        answered = iter(answers)
        return [next(answered) if outcome is None else outcome for outcome in outcomes]

    @staticmethod
    async def _active_batches(conn: AsyncConnection, requests: Sequence[EnqueueRequest]) -> dict[str, str]:
        """One active batch per path, in the database and inside the group."""
        paths = list(dict.fromkeys(r.batch.request.path for r in requests if r.batch is not None))
        if not paths:
            return {}
        rows = await conn.execute(
            select(BATCHES.c.path, BATCHES.c.batch_id).where(
                BATCHES.c.path.in_(paths), BATCHES.c.status.in_([s.value for s in ACTIVE_BATCH_STATUSES])
            )
        )
        return {path: batch_id for path, batch_id in rows}

    @staticmethod
    async def _active_jobs(conn: AsyncConnection, requests: Sequence[EnqueueRequest]) -> dict[str, _Existing]:
        """Active jobs of every file the group names (the partial unique index answers)."""
        paths = list(dict.fromkeys(job.path for r in requests for job in r.jobs))
        existing: dict[str, _Existing] = {}
        for start in range(0, len(paths), _CHUNK):
            rows = await conn.execute(
                # The predicate spelled exactly as the partial index's, so SQLite can use it.
                select(J.c.file_path, J.c.job_id, J.c.priority, J.c.status).where(
                    text(ACTIVE_SQL), J.c.file_path.in_(paths[start : start + _CHUNK])
                )
            )
            for path, job_id, priority, status in rows:
                existing[path] = _Existing(job_id, priority, status)
        return existing

    @staticmethod
    async def _insert(
        conn: AsyncConnection,
        accepted: Sequence[tuple[EnqueueRequest, list[EnqueuedJob], list[dict[str, Any]]]],
        planned: dict[str, dict[str, Any]],
        bump: dict[str, int],
    ) -> None:
        """One statement per table for the whole group."""
        new_rows = list(planned.values())
        if new_rows:
            await conn.execute(insert(J), new_rows)
        by_priority: dict[int, list[str]] = {}
        for job_id, priority in bump.items():
            by_priority.setdefault(priority, []).append(job_id)
        for priority, job_ids in sorted(by_priority.items()):
            await conn.execute(
                update(J).where(J.c.job_id.in_(job_ids), J.c.priority < priority).values(priority=priority)
            )
        batch_rows = [
            _batch_row(request, request.batch, bool(own_rows))
            for request, _, own_rows in accepted
            if request.batch is not None
        ]
        if batch_rows:
            await conn.execute(insert(BATCHES), batch_rows)
        webhook_rows = [
            _webhook_row(request, request.webhook, results)
            for request, results, _ in accepted
            if request.webhook is not None
        ]
        if webhook_rows:
            await conn.execute(insert(WEBHOOKS), webhook_rows)


def _plan(
    request: EnqueueRequest,
    existing: dict[str, _Existing],
    planned: dict[str, dict[str, Any]],
    bump: dict[str, int],
) -> tuple[list[EnqueuedJob], list[dict[str, Any]]]:
    """One request's answer: new rows (added to ``planned``), links to existing or planned
    jobs, and priority raises. Returns its answer and the rows it created."""
    results: list[EnqueuedJob] = []
    own: list[dict[str, Any]] = []
    webhook_id = request.webhook.webhook_id if request.webhook else None
    batch_id = request.batch.batch_id if request.batch else None
    for job in request.jobs:
        priority = int(job.priority)
        found = existing.get(job.path)
        if found is not None:
            if found.priority < priority and found.status != JobStatus.RUNNING.value:
                bump[found.job_id] = max(bump.get(found.job_id, 0), priority)
            results.append(EnqueuedJob(path=job.path, job_id=found.job_id, deduplicated=True))
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


def _batch_row(request: EnqueueRequest, batch: NewBatch, has_jobs: bool) -> dict[str, Any]:
    spec = batch.request
    return {
        "batch_id": batch.batch_id,
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
        "estimated_files": batch.estimated_files,
        "error": None,
    }


def _webhook_row(
    request: EnqueueRequest, webhook: WebhookInfo, results: Sequence[EnqueuedJob]
) -> dict[str, Any]:
    return {
        "webhook_id": webhook.webhook_id,
        "source": webhook.source.value,
        "event_type": webhook.event_type,
        "title": webhook.title,
        "hints": webhook.hints.to_dict(),
        "job_ids": [result.job_id for result in results],
        "created_at": request.now,
    }


__all__ = ["EnqueueRequest", "Enqueued", "Enqueuer"]
