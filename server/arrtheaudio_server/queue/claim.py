"""The claim, the lease and recovery: the statements that decide who runs which job.

Read in one sitting on purpose. A claim is ONE statement per backend — an ``UPDATE`` of the
first claimable row chosen by a subquery in claim order (priority high first, then FIFO by
``seq``), returning the row:

* PostgreSQL: the subquery takes ``FOR UPDATE SKIP LOCKED``, so concurrent claimers from any
  number of instances each lock a different row and none waits; the outer ``status =
  'queued'`` re-check makes a row that changed meanwhile unclaimable.
* SQLite: the statement runs inside the single writer path (``BEGIN IMMEDIATE`` behind one
  lock), so nobody else writes between choosing and updating.

A lease is (instance, worker, expiry). The running worker's heartbeat pushes the expiry
forward; recovery returns rows whose expiry passed to ``queued`` (their owner died) and
never touches a row whose owner still heartbeats.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Update, case, literal, or_, select, update

from arrtheaudio_server.media.result import Container
from arrtheaudio_server.queue.domain import JobStatus
from arrtheaudio_server.queue.models import JOBS

J = JOBS


def claim_order() -> tuple:
    return (J.c.priority.desc(), J.c.seq.asc())


def claimable(now: datetime, *, allow_mp4: bool) -> list:
    conditions = [J.c.status == JobStatus.QUEUED.value, J.c.next_attempt_at <= now]
    if not allow_mp4:
        conditions.append(or_(J.c.container.is_(None), J.c.container != Container.MP4.value))
    return conditions


def _lease_values(*, worker_id: str, instance_id: str, now: datetime, lease_seconds: float) -> dict:
    return {
        "status": JobStatus.RUNNING.value,
        "worker_id": worker_id,
        "lease_owner": instance_id,
        "lease_expires_at": now + timedelta(seconds=lease_seconds),
        "started_at": now,
        "attempts": J.c.attempts + 1,
    }


def claim_next(
    dialect: str, *, worker_id: str, instance_id: str, now: datetime, lease_seconds: float, allow_mp4: bool
) -> Update:
    """The next claimable job becomes ``running`` under this worker's lease (or no row)."""
    pick = select(J.c.seq).where(*claimable(now, allow_mp4=allow_mp4)).order_by(*claim_order()).limit(1)
    if dialect == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
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


def claim_one(
    job_id: str, *, worker_id: str, instance_id: str, now: datetime, lease_seconds: float
) -> Update:
    """Claim a named job if it is still queued (rollback mode runs a webhook's own jobs inline)."""
    return (
        update(J)
        .where(J.c.job_id == job_id, J.c.status == JobStatus.QUEUED.value)
        .values(
            **_lease_values(
                worker_id=worker_id, instance_id=instance_id, now=now, lease_seconds=lease_seconds
            )
        )
        .returning(*J.c)
    )


def heartbeat(job_id: str, *, worker_id: str, now: datetime, lease_seconds: float) -> Update:
    """Extend the lease if this worker still holds it; returns ``cancel_requested`` (no row: lost)."""
    return (
        update(J)
        .where(J.c.job_id == job_id, J.c.worker_id == worker_id, J.c.status == JobStatus.RUNNING.value)
        .values(lease_expires_at=now + timedelta(seconds=lease_seconds))
        .returning(J.c.cancel_requested)
    )


def owned_by(job_id: str, worker_id: str) -> list:
    return [J.c.job_id == job_id, J.c.worker_id == worker_id, J.c.status == JobStatus.RUNNING.value]


LEASE_CLEARED = {"worker_id": None, "lease_owner": None, "lease_expires_at": None}


def release(job_id: str, *, worker_id: str, now: datetime) -> Update:
    """Hand a job back to the queue at once (graceful shutdown): the interrupted attempt is not counted."""
    return (
        update(J)
        .where(*owned_by(job_id, worker_id))
        .values(
            status=JobStatus.QUEUED.value,
            started_at=None,
            next_attempt_at=now,
            attempts=J.c.attempts - 1,
            **LEASE_CLEARED,
        )
        .returning(*J.c)
    )


def expired_leases(now: datetime, *, everything_running: bool = False, owner: str | None = None) -> list:
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


def recover_to_queue(now: datetime, *, max_attempts: int, **kwargs: object) -> Update:
    """Lost jobs with attempts left go back to ``queued`` (the lost attempt stays counted)."""
    return (
        update(J)
        .where(
            *expired_leases(now, **kwargs),  # type: ignore[arg-type]
            J.c.attempts <= max_attempts,
            J.c.cancel_requested.is_(False),
        )
        .values(status=JobStatus.QUEUED.value, started_at=None, next_attempt_at=now, **LEASE_CLEARED)
        .returning(*J.c)
    )


def recover_to_terminal(now: datetime, *, max_attempts: int, **kwargs: object) -> Update:
    """Lost jobs out of attempts fail; lost jobs somebody cancelled end cancelled."""
    conditions = expired_leases(now, **kwargs)  # type: ignore[arg-type]
    cancelled = J.c.cancel_requested.is_(True)
    return (
        update(J)
        .where(*conditions, or_(J.c.attempts > max_attempts, cancelled))
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


__all__ = ["claim_next", "claim_one", "heartbeat", "recover_to_queue", "recover_to_terminal", "release"]
