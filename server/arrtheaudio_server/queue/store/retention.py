"""Retention: which finished jobs go, and when — and deleting them with the rollups kept exact.

``job_history_days`` for completed/cancelled jobs, ``failed_job_days`` for failed ones (kept
longer: they are what someone comes back to investigate), or an on-demand age and status
list. Each chunk's DELETE returns the rows it removed and takes them out of ``job_counts`` in
the same transaction; ``daily_stats`` and ``lifetime_stats`` record finishes, not rows, so
cleaning up never changes them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, literal_column, select

from arrtheaudio_server.config import ProcessingSettings
from arrtheaudio_server.queue.domain import (
    ACTIVE_BATCH_STATUSES,
    TERMINAL_STATUSES,
    CleanupResult,
    InvalidRequest,
    JobStatus,
)
from arrtheaudio_server.queue.store import rollups
from arrtheaudio_server.queue.store.database import Database
from arrtheaudio_server.queue.store.schema import BATCHES, JOBS, WEBHOOKS

J = JOBS
Rule = tuple[tuple[JobStatus, ...], datetime]
# Rows per DELETE: SQLite's writer is never held for long.
DELETE_CHUNK = 5000
_ROLLUP_COLUMNS = (
    J.c.created_at,
    J.c.completed_at,
    J.c.container,
    J.c.source,
    J.c.status,
    J.c.result,
    J.c.reason_code,
    J.c.track_changed,
    J.c.duration_ms,
)


def cleanup_rules(
    settings: ProcessingSettings,
    now: datetime,
    *,
    older_than_days: float | None = None,
    statuses: Sequence[JobStatus | str] | None = None,
) -> tuple[list[Rule], datetime]:
    """The (statuses, cutoff) pairs to delete, and the cutoff for orphaned batches/webhooks."""
    if older_than_days is not None and (not math.isfinite(older_than_days) or older_than_days < 0):
        raise InvalidRequest("older_than_days", "must be a finite number ≥ 0")
    chosen: list[JobStatus] = []
    for status in statuses or ():
        try:
            value = JobStatus(status)
        except ValueError:
            raise InvalidRequest("statuses", f"unknown status {status!r}") from None
        if value not in TERMINAL_STATUSES:
            raise InvalidRequest(
                "statuses", f"only finished jobs can be cleaned up, not {value.value!r} ones"
            )
        chosen.append(value)
    if older_than_days is not None:
        cutoff = now - timedelta(days=older_than_days)
        rule_statuses = tuple(chosen) or (JobStatus.COMPLETED, JobStatus.CANCELLED, JobStatus.FAILED)
        return [(rule_statuses, cutoff)], cutoff
    history = now - timedelta(days=settings.job_history_days)
    failed = now - timedelta(days=settings.failed_job_days)
    rules: list[Rule] = []
    finished = tuple(s for s in (JobStatus.COMPLETED, JobStatus.CANCELLED) if not chosen or s in chosen)
    if finished:
        rules.append((finished, history))
    if not chosen or JobStatus.FAILED in chosen:
        rules.append(((JobStatus.FAILED,), failed))
    return rules, max(history, failed)


class Retention:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def cleanup(self, rules: Sequence[Rule], orphans_before: datetime) -> CleanupResult:
        """Delete terminal jobs finished before each rule's cutoff, then orphaned batches/webhooks."""
        removed = 0
        for statuses, cutoff in rules:
            values = [JobStatus(s).value for s in statuses]
            if any(JobStatus(s) not in TERMINAL_STATUSES for s in values):
                raise InvalidRequest("statuses", "only completed, failed or cancelled jobs can be cleaned up")
            while True:
                pick = (
                    select(J.c.seq)
                    .where(J.c.completed_at < cutoff, J.c.status.in_(values))
                    .limit(DELETE_CHUNK)
                )
                async with self.db.write() as conn:
                    gone = list(
                        await conn.execute(
                            delete(J).where(J.c.seq.in_(pick.scalar_subquery())).returning(*_ROLLUP_COLUMNS)
                        )
                    )
                    await rollups.count_terminal(
                        conn, self.db.dialect, [rollups.JobFacts.of(r._mapping) for r in gone], sign=-1
                    )
                removed += len(gone)
                if len(gone) < DELETE_CHUNK:
                    break
        active_batches = [s.value for s in ACTIVE_BATCH_STATUSES]
        async with self.db.write() as conn:
            await rollups.drop_empty(conn)
            batches = (
                await conn.execute(
                    delete(BATCHES).where(
                        BATCHES.c.status.not_in(active_batches),
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
