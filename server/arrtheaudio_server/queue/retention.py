"""Which finished jobs go, and when: ``job_history_days`` for completed/cancelled jobs,
``failed_job_days`` for failed ones (kept longer: they are what someone comes back to
investigate), or an on-demand age and status list. Lifetime statistics do not depend on
the rows (see ``LifetimeStatsRow``), so cleaning up never changes them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta

from arrtheaudio_server.config import ProcessingSettings
from arrtheaudio_server.queue.domain import TERMINAL_STATUSES, InvalidRequest, JobStatus

Rule = tuple[tuple[JobStatus, ...], datetime]


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
