"""Retention removes old finished jobs (and orphaned batches/webhooks) but never lifetime stats."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from arrtheaudio_server.clock import utcnow
from arrtheaudio_server.metadata.hints import MediaHints
from arrtheaudio_server.queue.domain import BatchRequest, BatchStatus, JobFilter, JobStatus, NotFound, Source
from arrtheaudio_server.queue.store.schema import BATCHES, JOBS, WEBHOOKS
from tests.queue.conftest import FakePipeline, failed, touch, wait_terminal


async def age(manager: Any, job_ids: list[str], days: float) -> None:
    """Pretend these jobs finished (and their batches/webhooks were made) ``days`` ago.

    Retention goes by ``completed_at``; ``created_at`` stays (the rollups are keyed by it, and
    nothing but this test rewrites history).
    """
    then = utcnow() - timedelta(days=days)
    async with manager.store.db.write() as conn:
        await conn.execute(update(JOBS).where(JOBS.c.job_id.in_(job_ids)).values(completed_at=then))
        await conn.execute(update(BATCHES).values(created_at=then))
        await conn.execute(update(WEBHOOKS).values(created_at=then))


async def test_retention_keeps_lifetime_stats(manager_factory: Any, media_root: Path) -> None:
    pipeline = FakePipeline()
    manager = await manager_factory(
        pipeline, worker_count=2, retry_attempts=0, job_history_days=30, failed_job_days=90
    )
    for n in range(4):
        touch(media_root / "lib", f"{n}.mkv")
    pipeline.results["3.mkv"] = lambda p: failed(p)
    batch = await manager.start_batch(BatchRequest(path=str(media_root / "lib")))
    _, _hooked = await manager.enqueue_webhook(
        source=Source.SONARR,
        event_type="Download",
        title="T",
        hints=MediaHints(),
        files=[touch(media_root, "hook.mkv")],
    )
    all_ids = [job.job_id for job in (await manager.list_jobs(JobFilter(limit=100)))[0]]
    await wait_terminal(manager, all_ids)
    before = await manager.stats()
    assert before.lifetime.total == 5 and before.lifetime.failed == 1 and before.today.total == 5

    # 40 days old: completed ones go (history 30 days), the failed one stays (90 days).
    await age(manager, all_ids, days=40)
    result = await manager.cleanup()
    assert result.jobs_removed == 4 and result.webhooks_removed == 1 and result.batches_removed == 0
    remaining, total = await manager.list_jobs(JobFilter(limit=10))
    assert total == 1 and remaining[0].status == JobStatus.FAILED
    # 100 days old: the failed job goes too, and with it its now-empty batch.
    await age(manager, all_ids, days=100)
    result = await manager.cleanup()
    assert result.jobs_removed == 1 and result.batches_removed == 1
    with pytest.raises(NotFound):
        await manager.get_batch(batch.batch_id)
    after = await manager.stats()
    assert after.lifetime == before.lifetime and after.per_source == before.per_source
    assert after.per_container == before.per_container
    # Today's figures count finishes, like the lifetime ones: deleting rows never changes them.
    assert after.today == before.today and after.queue.total == 0


async def test_on_demand_cleanup_by_age_and_status(manager_factory: Any, media_root: Path) -> None:
    pipeline = FakePipeline()
    manager = await manager_factory(pipeline, worker_count=1, retry_attempts=0)
    pipeline.results["bad.mkv"] = lambda p: failed(p)
    _, enqueued = await manager.enqueue_webhook(
        source=Source.MANUAL,
        event_type="Test",
        title=None,
        hints=MediaHints(),
        files=[touch(media_root, "ok.mkv"), touch(media_root, "bad.mkv")],
    )
    ids = [e.job_id for e in enqueued]
    await wait_terminal(manager, ids)
    assert (await manager.cleanup(older_than_days=1)).jobs_removed == 0  # too young
    result = await manager.cleanup(older_than_days=0, statuses=[JobStatus.FAILED])
    assert result.jobs_removed == 1
    (left,), _ = await manager.list_jobs(JobFilter())
    assert left.status == JobStatus.COMPLETED
    assert (await manager.cleanup(older_than_days=0)).jobs_removed == 1
    # Running/queued jobs are never touched by cleanup.
    assert (await manager.stats()).lifetime.total == 2


async def test_batch_of_cancelled_jobs_is_cleaned_up(manager_factory: Any, media_root: Path) -> None:
    manager = await manager_factory(FakePipeline(), worker_count=1, start=False)
    for n in range(3):
        touch(media_root / "lib", f"{n}.mkv")
    info = await manager.start_batch(BatchRequest(path=str(media_root / "lib")))
    cancelled_info, count = await manager.cancel_batch(info.batch_id)
    assert count == 3 and cancelled_info.status == BatchStatus.CANCELLED
    result = await manager.cleanup(older_than_days=0, statuses=[JobStatus.CANCELLED])
    assert result.jobs_removed == 3 and result.batches_removed == 1
    assert (await manager.stats()).lifetime.total == 0


async def test_database_metadata_cache(manager_factory: Any) -> None:
    manager = await manager_factory(FakePipeline(), worker_count=1, start=False)
    cache = manager.store.cache  # what the real pipeline is given (QueueManager.create)
    assert await cache.get("tmdb:tv:1") is None
    await cache.put("tmdb:tv:1", "ja", ttl_seconds=3600)
    await cache.put("tmdb:tv:2", "", ttl_seconds=3600)  # a remembered "not found"
    assert await cache.get("tmdb:tv:1") == "ja" and await cache.get("tmdb:tv:2") == ""
    await cache.put("tmdb:tv:1", "ko", ttl_seconds=3600)
    assert await cache.get("tmdb:tv:1") == "ko"
    await cache.put("tmdb:tv:3", "fr", ttl_seconds=-1)  # already expired
    assert await cache.get("tmdb:tv:3") is None
    from arrtheaudio_server.metadata.cache import MetadataCache

    assert isinstance(cache, MetadataCache)
