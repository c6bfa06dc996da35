"""Filtered job statistics (GetJobStats) on both backends: counts by status, outcomes of
finished jobs, per container / source, reason codes — each filter alone and combined."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from arrtheaudio_server import clock
from arrtheaudio_server.media.result import Container, ResultStatus
from arrtheaudio_server.metadata.hints import MediaHints
from arrtheaudio_server.queue.domain import (
    BatchRequest,
    JobStats,
    JobStatus,
    PeriodStats,
    Priority,
    ReasonCount,
    Source,
    WebhookInfo,
)
from arrtheaudio_server.queue.store import JobOutcome, NewBatch, NewJob, Store
from tests.queue.conftest import open_storage

NOW = clock.utcnow()


async def run(storage: Store, job_id: str, outcome: JobOutcome) -> None:
    claimed = await storage.transitions.claim_job(job_id, worker_id="w", lease_seconds=30)
    assert claimed is not None
    job, _ = await storage.transitions.finish(job_id, worker_id="w", outcome=outcome)
    assert job is not None and job.status == outcome.status


def done(result: ResultStatus, code: str, duration: int, *, changed: bool = False) -> JobOutcome:
    status = JobStatus.FAILED if result == ResultStatus.FAILED else JobStatus.COMPLETED
    return JobOutcome(
        status=status,
        result=result,
        reason=code,
        reason_code=code,
        duration_ms=duration,
        track_changed=changed,
    )


@pytest.fixture
async def history(storage_url: str) -> AsyncIterator[tuple[Store, dict[str, str]]]:
    """A batch of four (success, skipped, failed, retried-and-queued), a Sonarr webhook of two
    (success, cancelled) and a two-day-old Radarr job of unknown container that failed."""
    storage = await open_storage(storage_url)
    ids: dict[str, str] = {}

    def job(path: str, source: Source, container: Container | None) -> NewJob:
        return NewJob(path=path, container=container, priority=Priority.NORMAL, source=source)

    batch = [
        job("/m/b/b1.mkv", Source.MANUAL, Container.MKV),
        job("/m/b/b2.mkv", Source.MANUAL, Container.MKV),
        job("/m/b/b3.mp4", Source.MANUAL, Container.MP4),
        job("/m/b/b4.mkv", Source.MANUAL, Container.MKV),
    ]
    enqueued, _ = await storage.enqueuer.enqueue(
        batch, max_active=None, batch=NewBatch("batch-1", BatchRequest(path="/m/b"), 4)
    )
    ids.update({item.path.rsplit("/", 1)[1]: item.job_id for item in enqueued})
    webhook = WebhookInfo(
        webhook_id="hook-1",
        source=Source.SONARR,
        event_type="Download",
        title=None,
        hints=MediaHints(),
        created_at=NOW,
    )
    enqueued, _ = await storage.enqueuer.enqueue(
        [job("/m/w/w1.mkv", Source.SONARR, Container.MKV), job("/m/w/w2.mp4", Source.SONARR, Container.MP4)],
        max_active=None,
        webhook=webhook,
    )
    ids.update({item.path.rsplit("/", 1)[1]: item.job_id for item in enqueued})
    enqueued, _ = await storage.enqueuer.enqueue(
        [job("/m/old/o1.avi", Source.RADARR, None)], max_active=None, now=NOW - timedelta(days=2)
    )
    ids["o1"] = enqueued[0].job_id

    await run(storage, ids["b1.mkv"], done(ResultStatus.SUCCESS, "changed", 100, changed=True))
    await run(storage, ids["b2.mkv"], done(ResultStatus.SKIPPED, "already_correct", 50))
    await run(storage, ids["b3.mp4"], done(ResultStatus.FAILED, "tool_failed", 30))
    # A retry: back in the queue with the reason of the failed attempt, which is not a final reason.
    await run(
        storage,
        ids["b4.mkv"],
        JobOutcome(status=JobStatus.QUEUED, reason="timed out", reason_code="timeout", priority=Priority.LOW),
    )
    await run(storage, ids["w1.mkv"], done(ResultStatus.SUCCESS, "changed", 200, changed=True))
    await storage.transitions.cancel_job(ids["w2.mp4"])
    await run(storage, ids["o1"], done(ResultStatus.FAILED, "corrupt", 10))
    try:
        yield storage, ids
    finally:
        await storage.close()


def period(total: int, success: int, failed: int, skipped: int, changes: int, avg: float) -> PeriodStats:
    return PeriodStats(
        total=total,
        success=success,
        failed=failed,
        skipped=skipped,
        track_changes=changes,
        avg_duration_ms=avg,
    )


async def test_everything(history: Any) -> None:
    storage, _ = history
    stats: JobStats = await storage.stats.job_stats()
    c = stats.counts
    assert (c.total, c.queued, c.running, c.completed, c.failed, c.cancelled) == (7, 1, 0, 3, 2, 1)
    assert stats.outcomes == period(5, 2, 2, 1, 2, (100 + 50 + 30 + 200 + 10) / 5)
    assert stats.outcomes.success_rate == pytest.approx(3 / 5)
    assert stats.per_container == {
        "mkv": period(3, 2, 0, 1, 2, (100 + 50 + 200) / 3),
        "mp4": period(1, 0, 1, 0, 0, 30.0),
        "unknown": period(1, 0, 1, 0, 0, 10.0),
    }
    assert stats.per_source == {
        "manual": period(3, 1, 1, 1, 1, 60.0),
        "sonarr": period(1, 1, 0, 0, 1, 200.0),
        "radarr": period(1, 0, 1, 0, 0, 10.0),
    }
    # Most frequent first, ties by code; the retried job's "timeout" is not final and not counted.
    assert stats.reasons == (
        ReasonCount("changed", 2),
        ReasonCount("already_correct", 1),
        ReasonCount("cancelled", 1),
        ReasonCount("corrupt", 1),
        ReasonCount("tool_failed", 1),
    )


async def test_each_filter(history: Any) -> None:
    storage, _ = history
    batch = await storage.stats.job_stats(batch_id="batch-1")
    assert (batch.counts.total, batch.counts.queued, batch.counts.completed, batch.counts.failed) == (
        4,
        1,
        2,
        1,
    )
    assert batch.outcomes == period(3, 1, 1, 1, 1, 60.0)
    assert set(batch.per_source) == {"manual"} and set(batch.per_container) == {"mkv", "mp4"}
    assert [r.reason_code for r in batch.reasons] == ["already_correct", "changed", "tool_failed"]

    hook = await storage.stats.job_stats(webhook_id="hook-1")
    assert (hook.counts.total, hook.counts.completed, hook.counts.cancelled) == (2, 1, 1)
    assert hook.outcomes == period(1, 1, 0, 0, 1, 200.0)  # a cancelled job has no result
    assert hook.reasons == (ReasonCount("cancelled", 1), ReasonCount("changed", 1))

    radarr = await storage.stats.job_stats(source=Source.RADARR)
    assert radarr.counts.total == 1 and radarr.per_container == {"unknown": period(1, 0, 1, 0, 0, 10.0)}

    mp4 = await storage.stats.job_stats(container=Container.MP4)
    assert (mp4.counts.total, mp4.counts.failed, mp4.counts.cancelled) == (2, 1, 1)
    assert set(mp4.per_source) == {"manual"}  # the cancelled Sonarr MP4 has no outcome

    recent = await storage.stats.job_stats(created_after=NOW - timedelta(hours=1))
    assert recent.counts.total == 6 and "radarr" not in recent.per_source
    assert (await storage.stats.job_stats(created_after=NOW - timedelta(days=3))).counts.total == 7


async def test_filters_combine_and_nothing_matching_is_all_zero(history: Any) -> None:
    storage, _ = history
    both = await storage.stats.job_stats(
        batch_id="batch-1", container=Container.MKV, created_after=NOW - timedelta(hours=1)
    )
    assert (both.counts.total, both.counts.queued, both.counts.completed) == (3, 1, 2)
    assert set(both.per_container) == {"mkv"}
    empty = await storage.stats.job_stats(batch_id="no-such-batch")
    assert empty.counts.total == 0 and empty.outcomes == PeriodStats()
    assert empty.per_container == {} and empty.per_source == {} and empty.reasons == ()
    assert (await storage.stats.job_stats(webhook_id="hook-1", source=Source.RADARR)).counts.total == 0
    assert (await storage.stats.job_stats(created_after=clock.utcnow() + timedelta(days=1))).counts.total == 0


async def test_the_manager_answers_the_same(manager_factory: Any, history: Any) -> None:
    storage, _ = history
    manager = await manager_factory(start=False, url=None)
    assert await manager.job_stats(batch_id="batch-1") == await storage.stats.job_stats(batch_id="batch-1")
