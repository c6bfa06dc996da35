"""The retry transition: which statuses may go back to the queue, and what a retried job looks like.

A retry (RetryJob, RetryBatch) is asked for by a person who fixed the cause (replaced a corrupt
file, freed space), so it is a fresh start rather than one more automatic attempt:

* only FAILED and CANCELLED jobs qualify (a completed job has nothing to retry; an active one
  is already on its way);
* ``attempts`` goes back to 0, so the job gets the full ``processing.retry_attempts`` budget
  again — kept, a job that had used up its retries would fail for good after one more try;
* result, reason, timings, chosen track, the tracks read and the write method, and the lease
  are cleared; the job id, file, source,
  batch/webhook links and dry-run flag stay, so the job keeps its history in lists and batches;
* priority is NORMAL (a manual request), claimable at once.

The storage applies these values in one transaction that also withdraws the job's earlier outcome
from the lifetime totals (so each job counts once, by its last outcome) and reopens its batch.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from arrtheaudio_server.queue import claim as claims
from arrtheaudio_server.queue.domain import JobStatus, Priority

RETRYABLE = frozenset({JobStatus.FAILED, JobStatus.CANCELLED})

# The lifetime table's summed columns (queue/models.py LifetimeStatsRow), in one place.
LIFETIME_FIELDS = ("total", "success", "failed", "skipped", "track_changes", "duration_ms_sum")


def requeue_values(now: datetime) -> dict[str, Any]:
    """Column values of a job queued again by a retry."""
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
        "cancel_requested": False,
        # What the last attempt read and wrote describes the file as it was then (#10's columns).
        "tracks": None,
        "write_method": None,
        "write_note": None,
        **claims.LEASE_CLEARED,
    }
