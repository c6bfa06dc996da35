"""Every statement that changes a job's status, in one module — read it in one sitting.

**Claim.** ONE statement per claim: an ``UPDATE`` of the first claimable row, chosen by a
subquery in claim order (priority high first, then FIFO by ``seq``, the ``ix_jobs_claim``
index), returning the row. PostgreSQL's pick takes ``FOR UPDATE SKIP LOCKED`` (see the
dialect), so concurrent claimers from any number of instances each lock a different row and
none waits; the outer ``status = 'queued'`` re-check makes a row that changed meanwhile
unclaimable. On SQLite the statement runs inside the single writer, so nobody writes between
choosing and updating.

**Lease.** (instance, worker, expiry). The running worker's heartbeat pushes the expiry
forward and learns of a cancel requested elsewhere; recovery returns rows whose expiry passed
to ``queued`` (their owner died) or ends them when out of attempts, and never touches a row
whose owner still heartbeats.

**Ends.** finish, cancel, recovery out of attempts and batch cancel make jobs terminal; in
the same transaction the rollups count them (:mod:`.rollups`) and a batch whose last job
ended completes. A retry makes a terminal job active again and takes it out of the rollup.

Lock order, the same in every transaction (PostgreSQL cannot deadlock on it): job rows, then
batch rows (by id), then rollup rows (by key).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Update, case, exists, func, literal, literal_column, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from arrtheaudio_server.clock import utcnow
from arrtheaudio_server.queue.domain import (
    ACTIVE_BATCH_STATUSES,
    ACTIVE_STATUSES,
    TERMINAL_STATUSES,
    WAITING_STATUSES,
    AlreadyExists,
    BatchStatus,
    FailedPrecondition,
    Job,
    JobStatus,
    NotFound,
    Priority,
    RetryResult,
)
from arrtheaudio_server.queue.store import rollups
from arrtheaudio_server.queue.store.database import Database
from arrtheaudio_server.queue.store.dialect import Dialect
from arrtheaudio_server.queue.store.rows import (
    BatchCancelOutcome,
    BatchRetryOutcome,
    CancelOutcome,
    Changes,
    Claimed,
    Finished,
    JobOutcome,
    Retried,
    hints_of,
    row_to_job,
)
from arrtheaudio_server.queue.store.schema import BATCHES, JOBS
from arrtheaudio_server.queue.track_json import tracks_to_json

J = JOBS
_ACTIVE = [s.value for s in ACTIVE_STATUSES]
_WAITING = [s.value for s in WAITING_STATUSES]
# What a retry (RetryJob, RetryBatch) may queue again: a completed job has nothing to retry,
# an active one is already on its way.
RETRYABLE = frozenset({JobStatus.FAILED, JobStatus.CANCELLED})
_RETRYABLE = [s.value for s in RETRYABLE]
_CHUNK = 500
LEASE_CLEARED: dict[str, Any] = {"worker_id": None, "lease_owner": None, "lease_expires_at": None}


# --- the statements (module level: tests/queue/test_explain.py plans them) ---------------------


def claim_order() -> tuple[Any, ...]:
    return (J.c.priority.desc(), J.c.seq.asc())


def claimable(now: datetime) -> list[Any]:
    return [J.c.status == JobStatus.QUEUED.value, J.c.next_attempt_at <= now]


def _lease_values(*, worker_id: str, instance_id: str, now: datetime, lease_seconds: float) -> dict[str, Any]:
    return {
        "status": JobStatus.RUNNING.value,
        "worker_id": worker_id,
        "lease_owner": instance_id,
        "lease_expires_at": now + timedelta(seconds=lease_seconds),
        "started_at": now,
        "attempts": J.c.attempts + 1,
    }


def claim_next_statement(
    dialect: Dialect,
    *,
    worker_id: str,
    instance_id: str,
    now: datetime,
    lease_seconds: float,
) -> Update:
    """The next claimable job becomes ``running`` under this worker's lease (or no row)."""
    pick = dialect.claim_pick(select(J.c.seq).where(*claimable(now)).order_by(*claim_order()).limit(1))
    return (
        update(J)
        .where(J.c.seq == pick.scalar_subquery(), J.c.status == JobStatus.QUEUED.value)
        .values(
            **_lease_values(
                worker_id=worker_id, instance_id=instance_id, now=now, lease_seconds=lease_seconds
            )
        )
        .returning(*J.c)
    )


def _owned_by(job_id: str, worker_id: str) -> list[Any]:
    return [J.c.job_id == job_id, J.c.worker_id == worker_id, J.c.status == JobStatus.RUNNING.value]


def _expired_leases(
    now: datetime, *, everything_running: bool = False, owner: str | None = None
) -> list[Any]:
    """Running rows whose owner is presumed dead.

    ``everything_running`` is for SQLite, which serves exactly one instance: at start-up
    every running row belongs to a previous, dead incarnation. ``owner`` likewise marks rows
    of this instance's id (configured ids survive restarts) as dead at start-up.
    """
    running = J.c.status == JobStatus.RUNNING.value
    if everything_running:
        return [running]
    dead = J.c.lease_expires_at < now
    if owner is not None:
        dead = or_(dead, J.c.lease_owner == owner)
    return [running, dead]


def recover_to_queue_statement(now: datetime, *, max_attempts: int, **scope: Any) -> Update:
    """Lost jobs with attempts left go back to ``queued`` (the lost attempt stays counted)."""
    return (
        update(J)
        .where(*_expired_leases(now, **scope), J.c.attempts <= max_attempts, J.c.cancel_requested.is_(False))
        .values(status=JobStatus.QUEUED.value, started_at=None, next_attempt_at=now, **LEASE_CLEARED)
        .returning(*J.c)
    )


def recover_to_terminal_statement(now: datetime, *, max_attempts: int, **scope: Any) -> Update:
    """Lost jobs out of attempts fail; lost jobs somebody cancelled end cancelled."""
    cancelled = J.c.cancel_requested.is_(True)
    return (
        update(J)
        .where(*_expired_leases(now, **scope), or_(J.c.attempts > max_attempts, cancelled))
        .values(
            status=case(
                (cancelled, literal(JobStatus.CANCELLED.value)), else_=literal(JobStatus.FAILED.value)
            ),
            result=case((cancelled, None), else_=literal("failed")),
            reason_code=case((cancelled, literal("cancelled")), else_=literal("internal")),
            reason=case(
                (cancelled, literal("cancelled while its worker was lost")),
                else_=literal("the worker running this job was lost on every attempt"),
            ),
            completed_at=now,
            lease_owner=None,
            lease_expires_at=None,
        )
        .returning(*J.c)
    )


class Transitions:
    def __init__(self, db: Database, *, instance_id: str) -> None:
        self.db = db
        self.dialect = db.dialect
        self.instance_id = instance_id

    async def _notify(self, conn: AsyncConnection, changes: Changes) -> None:
        if changes:
            await self.dialect.notify(conn, changes.events(), instance_id=self.instance_id)

    # --- claim and lease ------------------------------------------------------------------

    async def claim(
        self, *, worker_id: str, lease_seconds: float, now: datetime | None = None
    ) -> Claimed | None:
        stmt = claim_next_statement(
            self.dialect,
            worker_id=worker_id,
            instance_id=self.instance_id,
            now=now or utcnow(),
            lease_seconds=lease_seconds,
        )
        return await self._claim(stmt)

    async def claim_job(self, job_id: str, *, worker_id: str, lease_seconds: float) -> Claimed | None:
        """Claim a named job if it is still queued (rollback mode runs a webhook's own jobs inline)."""
        stmt = (
            update(J)
            .where(J.c.job_id == job_id, J.c.status == JobStatus.QUEUED.value)
            .values(
                **_lease_values(
                    worker_id=worker_id,
                    instance_id=self.instance_id,
                    now=utcnow(),
                    lease_seconds=lease_seconds,
                )
            )
            .returning(*J.c)
        )
        return await self._claim(stmt)

    async def _claim(self, stmt: Update) -> Claimed | None:
        async with self.db.write() as conn:
            row = (await conn.execute(stmt)).first()
            if row is None:
                return None
            job = row_to_job(row)
            await self._notify(conn, Changes(jobs=[job]))
        return Claimed(job=job, hints=hints_of(row))

    async def heartbeat(self, job_id: str, *, worker_id: str, lease_seconds: float) -> bool | None:
        """Extend the lease. None: the lease is lost; True: somebody asked to cancel the job."""
        stmt = (
            update(J)
            .where(*_owned_by(job_id, worker_id))
            .values(lease_expires_at=utcnow() + timedelta(seconds=lease_seconds))
            .returning(J.c.cancel_requested)
        )
        async with self.db.write() as conn:
            row = (await conn.execute(stmt)).first()
        return None if row is None else bool(row[0])

    async def release(self, job_id: str, *, worker_id: str) -> Job | None:
        """Hand a job back to the queue at once (graceful shutdown): the interrupted attempt is not counted."""
        stmt = (
            update(J)
            .where(*_owned_by(job_id, worker_id))
            .values(
                status=JobStatus.QUEUED.value,
                started_at=None,
                next_attempt_at=utcnow(),
                attempts=J.c.attempts - 1,
                **LEASE_CLEARED,
            )
            .returning(*J.c)
        )
        async with self.db.write() as conn:
            row = (await conn.execute(stmt)).first()
            job = row_to_job(row) if row else None
            if job:
                await self._notify(conn, Changes(jobs=[job]))
        return job

    # --- finish ---------------------------------------------------------------------------

    async def finish(
        self, job_id: str, *, worker_id: str, outcome: JobOutcome, now: datetime | None = None
    ) -> Finished:
        """Record what became of a running job, if this worker still holds it."""
        now = now or utcnow()
        values: dict[str, Any] = {
            "status": outcome.status.value,
            "reason": outcome.reason,
            "reason_code": outcome.reason_code,
            **LEASE_CLEARED,
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
        stmt = update(J).where(*_owned_by(job_id, worker_id)).values(**values).returning(*J.c)
        async with self.db.write() as conn:
            row = (await conn.execute(stmt)).first()
            if row is None:
                return Finished(job=None, changes=Changes())
            changes = Changes(jobs=[row_to_job(row)])
            await self._ended(conn, [row], changes, now)
            await self._notify(conn, changes)
        return Finished(job=changes.jobs[0], changes=changes)

    async def _ended(
        self, conn: AsyncConnection, rows: Sequence[Any], changes: Changes, now: datetime
    ) -> None:
        """The rows' jobs are terminal now: batches they ended complete, the rollups count them."""
        terminal = [row._mapping for row in rows if JobStatus(row._mapping["status"]) in TERMINAL_STATUSES]
        await self._complete_batches(conn, (m["batch_id"] for m in terminal if m["batch_id"]), changes, now)
        await rollups.became_terminal(conn, self.dialect, terminal)

    async def _complete_batches(
        self, conn: AsyncConnection, batch_ids: Iterable[str], changes: Changes, now: datetime
    ) -> None:
        """A running batch with no active job left is completed."""
        for batch_id in sorted(set(batch_ids)):
            # Two workers ending a batch's last two jobs at once would each still see the
            # other's job running (READ COMMITTED) and neither would complete the batch: the
            # row lock makes the second wait, and its check then sees the first's commit.
            await conn.execute(
                self.dialect.lock_rows(select(BATCHES.c.batch_id).where(BATCHES.c.batch_id == batch_id))
            )
            still_active: Any = (
                select(literal_column("1"))
                .select_from(J)
                .where(J.c.batch_id == batch_id, J.c.status.in_(_ACTIVE))
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

    # --- recovery and waiting -------------------------------------------------------------

    async def recover(
        self, *, max_attempts: int, startup: bool = False, now: datetime | None = None
    ) -> Changes:
        """Put jobs of dead workers back in the queue (or end them when out of attempts)."""
        now = now or utcnow()
        scope: dict[str, Any] = {}
        if startup:
            if self.dialect.single_instance:
                scope["everything_running"] = True
            elif self.instance_id:
                scope["owner"] = self.instance_id
        changes = Changes()
        async with self.db.write() as conn:
            ended = list(
                await conn.execute(recover_to_terminal_statement(now, max_attempts=max_attempts, **scope))
            )
            requeued = list(
                await conn.execute(recover_to_queue_statement(now, max_attempts=max_attempts, **scope))
            )
            changes.jobs.extend(row_to_job(r) for r in ended + requeued)
            await self._ended(conn, ended, changes, now)
            await self._notify(conn, changes)
        return changes

    async def wake_waiting(self, now: datetime | None = None) -> Changes:
        """Jobs waiting for space whose re-check time came go back in the queue to be checked."""
        now = now or utcnow()
        async with self.db.write() as conn:
            rows = await conn.execute(
                update(J)
                .where(J.c.status == JobStatus.WAITING_FOR_SPACE.value, J.c.next_attempt_at <= now)
                .values(status=JobStatus.QUEUED.value)
                .returning(*J.c)
            )
            changes = Changes(jobs=[row_to_job(r) for r in rows])
            await self._notify(conn, changes)
        return changes

    # --- cancel and retry -----------------------------------------------------------------

    async def cancel_job(self, job_id: str, now: datetime | None = None) -> CancelOutcome:
        """Queued/waiting → cancelled now; running → ``cancel_requested`` (its worker stops it)."""
        now = now or utcnow()
        async with self.db.write() as conn:
            row = (
                await conn.execute(
                    update(J)
                    .where(J.c.job_id == job_id, J.c.status.in_(_WAITING))
                    .values(
                        status=JobStatus.CANCELLED.value,
                        completed_at=now,
                        reason="cancelled",
                        reason_code="cancelled",
                        **LEASE_CLEARED,
                    )
                    .returning(*J.c)
                )
            ).first()
            if row is not None:
                changes = Changes(jobs=[row_to_job(row)])
                await self._ended(conn, [row], changes, now)
                await self._notify(conn, changes)
                return CancelOutcome(job=changes.jobs[0], changes=changes)
            row = (
                await conn.execute(
                    update(J)
                    .where(J.c.job_id == job_id, J.c.status == JobStatus.RUNNING.value)
                    .values(cancel_requested=True)
                    .returning(*J.c)
                )
            ).first()
            if row is not None:
                changes = Changes(jobs=[row_to_job(row)])
                await self._notify(conn, changes)
                return CancelOutcome(job=changes.jobs[0], changes=changes)
            current = (await conn.execute(select(J.c.status).where(J.c.job_id == job_id))).first()
        if current is None:
            raise NotFound(f"job {job_id} not found")
        raise FailedPrecondition(f"job {job_id} is already {current[0]}")

    async def cancel_batch(self, batch_id: str, now: datetime | None = None) -> BatchCancelOutcome:
        """Cancel the batch's queued/waiting jobs; its running jobs finish (their ids are returned)."""
        now = now or utcnow()
        async with self.db.write() as conn:
            found = (
                await conn.execute(
                    self.dialect.lock_rows(select(BATCHES.c.status).where(BATCHES.c.batch_id == batch_id))
                )
            ).first()
            if found is None:
                raise NotFound(f"batch {batch_id} not found")
            cancelled = list(
                await conn.execute(
                    update(J)
                    .where(J.c.batch_id == batch_id, J.c.status.in_(_WAITING))
                    .values(
                        status=JobStatus.CANCELLED.value,
                        completed_at=now,
                        reason="batch cancelled",
                        reason_code="cancelled",
                    )
                    .returning(*J.c)
                )
            )
            running = [
                r[0]
                for r in await conn.execute(
                    select(J.c.job_id).where(J.c.batch_id == batch_id, J.c.status == JobStatus.RUNNING.value)
                )
            ]
            if found[0] in {s.value for s in ACTIVE_BATCH_STATUSES}:
                await conn.execute(
                    update(BATCHES)
                    .where(BATCHES.c.batch_id == batch_id)
                    .values(status=BatchStatus.CANCELLED.value, completed_at=now)
                )
            await rollups.became_terminal(conn, self.dialect, [r._mapping for r in cancelled])
            changes = Changes(batch_ids={batch_id})
            await self._notify(conn, changes)
        return BatchCancelOutcome(cancelled=len(cancelled), running=running, changes=changes)

    async def retry_job(self, job_id: str, now: datetime | None = None) -> Retried:
        """A failed or cancelled job queued again, in one transaction.

        NotFound, FailedPrecondition (not failed/cancelled), AlreadyExists (another job for the
        same file is active: the one-active-job-per-file index refuses the update).
        """
        now = now or utcnow()
        try:
            async with self.db.write() as conn:
                row = (
                    await conn.execute(self.dialect.lock_rows(select(J).where(J.c.job_id == job_id)))
                ).first()
                if row is None:
                    raise NotFound(f"job {job_id} not found")
                path, status = row._mapping["file_path"], JobStatus(row._mapping["status"])
                if status not in RETRYABLE:
                    raise FailedPrecondition(
                        f"job {job_id} is {status.value}: only failed or cancelled jobs can be retried"
                    )
                changes = await self._requeue(conn, [row], now)
        except IntegrityError as exc:
            raise AlreadyExists(f"another job for {path} is already active") from exc
        return Retried(job=changes.jobs[0], changes=changes)

    async def retry_batch(self, batch_id: str, now: datetime | None = None) -> BatchRetryOutcome:
        """The batch's failed jobs queued again, except those whose file has another active job."""
        now = now or utcnow()
        other = J.alias("other")
        active_twin = exists(
            select(literal_column("1"))
            .select_from(other)
            .where(other.c.file_path == J.c.file_path, other.c.seq != J.c.seq, other.c.status.in_(_ACTIVE))
        )
        failed = (J.c.batch_id == batch_id, J.c.status == JobStatus.FAILED.value)
        async with self.db.write() as conn:
            found = (
                await conn.execute(select(BATCHES.c.batch_id).where(BATCHES.c.batch_id == batch_id))
            ).first()
            if found is None:
                raise NotFound(f"batch {batch_id} not found")
            before = list(
                await conn.execute(
                    self.dialect.lock_rows(select(J).where(*failed, ~active_twin).order_by(J.c.seq))
                )
            )
            skipped = (
                await conn.execute(select(func.count()).select_from(J).where(*failed, active_twin))
            ).scalar_one()
            changes = await self._requeue(conn, before, now) if before else Changes()
        return BatchRetryOutcome(
            result=RetryResult(jobs=tuple(changes.jobs), skipped=int(skipped)), changes=changes
        )

    async def _requeue(self, conn: AsyncConnection, before: Sequence[Any], now: datetime) -> Changes:
        """Queue the ``before`` rows again as fresh starts; their earlier outcome leaves every
        rollup (each job counts once, by its last outcome); their batches reopen."""
        seqs = [row._mapping["seq"] for row in before]
        changes = Changes()
        for start in range(0, len(seqs), _CHUNK):
            rows = await conn.execute(
                update(J)
                .where(J.c.seq.in_(seqs[start : start + _CHUNK]), J.c.status.in_(_RETRYABLE))
                .values(**requeue_values(now))
                .returning(*J.c)
            )
            changes.jobs.extend(row_to_job(r) for r in rows)
        batch_ids = sorted({row._mapping["batch_id"] for row in before if row._mapping["batch_id"]})
        if batch_ids:
            await conn.execute(
                update(BATCHES)
                .where(
                    BATCHES.c.batch_id.in_(batch_ids),
                    BATCHES.c.status.not_in([s.value for s in ACTIVE_BATCH_STATUSES]),
                )
                .values(status=BatchStatus.RUNNING.value, completed_at=None)
            )
            changes.batch_ids.update(batch_ids)
        await rollups.no_longer_terminal(conn, self.dialect, [row._mapping for row in before])
        await self._notify(conn, changes)
        return changes


def requeue_values(now: datetime) -> dict[str, Any]:
    """A retry is asked for by a person who fixed the cause (replaced a corrupt file, freed
    space), so it is a fresh start rather than one more automatic attempt: ``attempts`` back to
    0 (the full retry budget again), result, reason, timings, chosen track and lease cleared;
    id, file, source, batch/webhook links and dry-run flag kept; NORMAL priority, claimable now."""
    return {
        "status": JobStatus.QUEUED.value,
        "priority": int(Priority.NORMAL),
        "next_attempt_at": now,
        "started_at": None,
        "completed_at": None,
        "attempts": 0,
        "result": None,
        "reason": None,
        "reason_code": None,
        "duration_ms": None,
        "track_changed": False,
        "selected_index": None,
        "selected_language": None,
        "language": None,
        "language_source": None,
        "tracks": None,
        "write_method": None,
        "write_note": None,
        "cancel_requested": False,
        **LEASE_CLEARED,
    }
