"""The QueueManager through the QueueFacade, with a stand-in pipeline (scheduling rules only)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from arrtheaudio_server.media.result import Container, ReasonCode
from arrtheaudio_server.metadata.hints import MediaHints
from arrtheaudio_server.queue.domain import (
    BatchRequest,
    FailedPrecondition,
    InvalidRequest,
    JobFilter,
    JobStatus,
    NotFound,
    Priority,
    QueueFull,
    ServiceUnavailable,
    Source,
)
from tests.queue.conftest import FakePipeline, failed, skipped, touch, wait_for, wait_terminal

HINTS = MediaHints(kind="series", title="Show", original_language="Japanese", tvdb_id=42)


async def webhook(manager: Any, files: list[Path]) -> tuple[Any, list[Any]]:
    return await manager.enqueue_webhook(
        source=Source.SONARR, event_type="Download", title="Show", hints=HINTS, files=files
    )


async def test_webhook_jobs_run_and_finish(manager_factory: Any, media_root: Path) -> None:
    pipeline = FakePipeline()
    manager = await manager_factory(pipeline, worker_count=2)
    files = [touch(media_root, "a.mkv"), touch(media_root, "b.mkv"), touch(media_root, "c.mp4")]
    pipeline.results["b.mkv"] = skipped(files[1])
    info, enqueued = await webhook(manager, files)
    assert [e.deduplicated for e in enqueued] == [False] * 3
    jobs = await wait_terminal(manager, [e.job_id for e in enqueued])
    assert [job.status for job in jobs] == [JobStatus.COMPLETED] * 3
    assert jobs[0].result.value == "success" and jobs[0].track_changed and jobs[0].duration_ms == 7
    assert jobs[1].result.value == "skipped"
    assert jobs[2].container == Container.MP4
    assert all(job.priority == Priority.HIGH and job.source == Source.SONARR for job in jobs)
    assert {job.worker_id for job in jobs} <= {f"{manager.instance_id}-w1", f"{manager.instance_id}-w2"}
    assert pipeline.hints_seen["a.mkv"] == HINTS
    got, counts, listed = await manager.get_webhook(info.webhook_id)
    assert got.job_ids == info.job_ids and got.hints == HINTS and got.title == "Show"
    assert counts.total == 3 and counts.completed == 3 and counts.success == 2 and counts.skipped == 1
    assert [job.job_id for job in listed] == list(info.job_ids)
    page, total = await manager.list_jobs(JobFilter(webhook_id=info.webhook_id, limit=2))
    assert total == 3 and len(page) == 2
    stats = await manager.stats()
    assert stats.today.total == 3 and stats.today.success == 2 and stats.today.skipped == 1
    assert stats.today.failed == 0 and stats.today.success_rate == 1.0
    assert stats.lifetime.total == 3 and stats.lifetime.track_changes == 2
    assert stats.per_source["sonarr"].total == 3 and stats.per_container["mp4"].total == 1
    assert await manager.healthy()
    with pytest.raises(NotFound):
        await manager.get_job("nope")
    with pytest.raises(NotFound):
        await manager.get_webhook("nope")


async def test_dedup_links_to_the_active_job(manager_factory: Any, media_root: Path) -> None:
    pipeline = FakePipeline(gate=asyncio.Event())
    manager = await manager_factory(pipeline, worker_count=1)
    a, b = touch(media_root, "a.mkv"), touch(media_root, "b.mkv")
    _, first = await webhook(manager, [a, b])
    await wait_for(lambda: pipeline.running)  # a is running, b queued
    _, second = await webhook(manager, [b, a, b])
    assert [(e.job_id, e.deduplicated) for e in second] == [
        (first[1].job_id, True),
        (first[0].job_id, True),
        (first[1].job_id, True),
    ]
    pipeline.gate.set()
    await wait_terminal(manager, [e.job_id for e in first])
    _jobs, total = await manager.list_jobs(JobFilter(limit=10))
    assert total == 2
    # Finished files may be queued again.
    _, third = await webhook(manager, [a])
    assert not third[0].deduplicated and third[0].job_id != first[0].job_id


async def test_queue_full_rejects_the_whole_request(manager_factory: Any, media_root: Path) -> None:
    manager = await manager_factory(FakePipeline(gate=asyncio.Event()), worker_count=1, max_queue_size=3)
    files = [touch(media_root, f"{n}.mkv") for n in range(5)]
    await webhook(manager, files[:2])
    with pytest.raises(QueueFull):
        await webhook(manager, files[2:4])
    _jobs, total = await manager.list_jobs(JobFilter(limit=10))
    assert total == 2
    with pytest.raises(QueueFull):
        await manager.start_batch(BatchRequest(path=str(media_root)))
    _batches, batch_total = await manager.list_batches()
    assert batch_total == 0
    # Re-sending queued files costs nothing: they are linked, not added.
    _, again = await webhook(manager, files[:2])
    assert all(e.deduplicated for e in again)
    await webhook(manager, files[2:3])


async def test_cancel_queued_and_running_jobs(manager_factory: Any, media_root: Path) -> None:
    pipeline = FakePipeline(gate=asyncio.Event())
    manager = await manager_factory(pipeline, worker_count=1)
    a, b = touch(media_root, "a.mkv"), touch(media_root, "b.mkv")
    _, (ja, jb) = await webhook(manager, [a, b])
    await wait_for(lambda: "a.mkv" in pipeline.running)
    cancelled = await manager.cancel_job(jb.job_id)
    assert cancelled.status == JobStatus.CANCELLED
    running_cancel = await manager.cancel_job(ja.job_id)
    assert running_cancel.status == JobStatus.CANCELLED and pipeline.cancelled == ["a.mkv"]
    assert running_cancel.reason == "cancelled while running"
    with pytest.raises(FailedPrecondition):
        await manager.cancel_job(ja.job_id)
    with pytest.raises(NotFound):
        await manager.cancel_job("missing")
    assert "b.mkv" not in pipeline.calls


async def test_retry_at_low_priority_then_fail_with_last_reason(
    manager_factory: Any, media_root: Path
) -> None:
    pipeline = FakePipeline()
    manager = await manager_factory(pipeline, worker_count=1, retry_attempts=2)
    bad = touch(media_root, "bad.mkv")
    attempts = iter(["first", "second", "third"])
    pipeline.results["bad.mkv"] = lambda p: failed(p, reason=f"tool broke ({next(attempts)})")
    _, (entry,) = await webhook(manager, [bad])
    (job,) = await wait_terminal(manager, [entry.job_id])
    assert job.status == JobStatus.FAILED and job.attempts == 3 and job.priority == Priority.LOW
    assert job.reason == "tool broke (third)" and job.reason_code == ReasonCode.TOOL_FAILED.value
    assert pipeline.calls == ["bad.mkv"] * 3
    stats = await manager.stats()
    assert stats.lifetime.failed == 1 and stats.lifetime.total == 1


async def test_not_retryable_failure_fails_at_once(manager_factory: Any, media_root: Path) -> None:
    pipeline = FakePipeline()
    manager = await manager_factory(pipeline, worker_count=1, retry_attempts=3)
    corrupt = touch(media_root, "corrupt.mkv")
    pipeline.results["corrupt.mkv"] = lambda p: failed(p, ReasonCode.CORRUPT, "not a Matroska file")
    _, (entry,) = await webhook(manager, [corrupt])
    (job,) = await wait_terminal(manager, [entry.job_id])
    assert job.status == JobStatus.FAILED and job.attempts == 1 and pipeline.calls == ["corrupt.mkv"]


async def test_timeout_cancels_the_pipeline_and_retries(manager_factory: Any, media_root: Path) -> None:
    pipeline = FakePipeline(hang={"slow.mkv"})
    manager = await manager_factory(pipeline, worker_count=1, timeout_seconds=0.2, retry_attempts=1)
    slow = touch(media_root, "slow.mkv")
    _, (entry,) = await webhook(manager, [slow])
    (job,) = await wait_terminal(manager, [entry.job_id])
    assert job.status == JobStatus.FAILED and job.reason_code == ReasonCode.TIMEOUT.value
    assert job.attempts == 2 and pipeline.cancelled == ["slow.mkv", "slow.mkv"]


async def test_rollback_mode_processes_webhooks_inline(manager_factory: Any, media_root: Path) -> None:
    pipeline = FakePipeline()
    manager = await manager_factory(pipeline, worker_count=0, retry_attempts=1)
    assert manager.rollback_mode
    good, bad = touch(media_root, "good.mkv"), touch(media_root, "bad.mkv")
    pipeline.results["bad.mkv"] = lambda p: failed(p)
    _info, enqueued = await webhook(manager, [good, bad])
    jobs = [await manager.get_job(e.job_id) for e in enqueued]
    assert [job.status for job in jobs] == [JobStatus.COMPLETED, JobStatus.FAILED]
    assert jobs[1].attempts == 2 and pipeline.calls == ["good.mkv", "bad.mkv", "bad.mkv"]
    assert jobs[0].worker_id is None or jobs[0].worker_id.endswith("-inline")
    with pytest.raises(ServiceUnavailable):
        await manager.start_batch(BatchRequest(path=str(media_root)))
    snapshot = await manager.queue_snapshot()
    assert snapshot.workers_total == 0 and snapshot.counts.completed == 1


async def test_invalid_requests(manager_factory: Any, media_root: Path) -> None:
    manager = await manager_factory(FakePipeline(), worker_count=1)
    with pytest.raises(InvalidRequest) as info:
        await manager.list_jobs(JobFilter(order_by="file_path; drop table jobs"))
    assert info.value.field_name == "order_by"
    with pytest.raises(InvalidRequest):
        await manager.start_batch(BatchRequest(path=str(media_root), pattern="/abs/*.mkv"))
    with pytest.raises(InvalidRequest):
        await manager.cleanup(statuses=[JobStatus.QUEUED])
    with pytest.raises(InvalidRequest):
        await manager.cleanup(older_than_days=-1)
