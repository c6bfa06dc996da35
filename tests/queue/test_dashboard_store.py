"""What the dashboard reads and does, on BOTH backends: jobs per day (the PostgreSQL day is the
UTC day too), the retry transition (totals corrected, batch reopened, the one-active-job-per-file
rule), recent webhook deliveries and the figures /metrics reports."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from arrtheaudio_server.clock import utc_midnight
from arrtheaudio_server.metadata.hints import MediaHints
from arrtheaudio_server.queue.domain import (
    AlreadyExists,
    BatchRequest,
    BatchStatus,
    FailedPrecondition,
    JobFilter,
    JobStatus,
    Source,
)
from tests.queue.conftest import FakePipeline, failed, ok, skipped, touch, wait_for, wait_terminal


def finished(figures: Any) -> dict[str, int]:
    return {
        item.result: item.count
        for item in figures.finished
        if item.container == "mkv" and item.source == "manual"
    }


async def test_daily_counts_retry_webhooks_and_metrics(manager_factory: Any, media_root: Path) -> None:
    pipeline = FakePipeline()
    manager = await manager_factory(pipeline, worker_count=1, retry_attempts=0)
    folder = media_root / "scan"
    paths = {name: touch(folder, name) for name in ("a.mkv", "b.mkv", "c.mkv", "d.mkv")}
    pipeline.results["a.mkv"] = failed(paths["a.mkv"])
    pipeline.results["c.mkv"] = skipped(paths["c.mkv"])
    pipeline.results["d.mkv"] = failed(paths["d.mkv"])
    batch = await manager.start_batch(BatchRequest(path=str(folder)))
    jobs, _ = await manager.list_jobs(JobFilter(batch_id=batch.batch_id))
    by_name = {Path(job.file_path).name: job for job in jobs}
    await wait_terminal(manager, [job.job_id for job in jobs])

    days = await manager.daily_counts(3)
    assert [day.day for day in days] == [(utc_midnight() - timedelta(days=back)).date() for back in (2, 1, 0)]
    today = days[-1]
    assert (today.total, today.success, today.failed, today.skipped, today.track_changes) == (4, 1, 2, 1, 1)
    assert today.duration_ms_sum == 7 and days[0].total == 0

    figures = await manager.metrics_figures()
    assert (figures.queue.completed, figures.queue.failed) == (2, 2)
    assert finished(figures) == {"success": 1, "failed": 2, "skipped": 1}
    assert figures.durations["mkv"][0] == 4 and figures.batches == {BatchStatus.COMPLETED.value: 1}

    with pytest.raises(FailedPrecondition):
        await manager.retry_job(by_name["b.mkv"].job_id)
    pipeline.results["a.mkv"] = ok(paths["a.mkv"])  # fixed
    again = await manager.retry_job(by_name["a.mkv"].job_id)
    assert again.status == JobStatus.QUEUED and again.attempts == 0 and again.result is None
    (done,) = await wait_terminal(manager, [again.job_id])
    assert done.status == JobStatus.COMPLETED and done.attempts == 1
    figures = await manager.metrics_figures()
    assert finished(figures) == {"success": 2, "failed": 1, "skipped": 1}  # counted once, by its last outcome
    assert (await manager.daily_counts(1))[-1].failed == 1
    info, _, _ = await manager.get_batch(batch.batch_id)
    assert info.status == BatchStatus.COMPLETED

    # A failed job whose file has another active job stays as it is.
    hold = asyncio.Event()
    pipeline.gates["x.mkv"] = hold
    hints = MediaHints(kind="series", title="Show")
    blocker, _ = await manager.enqueue_webhook(
        source=Source.SONARR,
        event_type="Download",
        title="Show",
        hints=hints,
        files=[touch(media_root, "x.mkv")],
    )
    await wait_for(lambda: "x.mkv" in pipeline.running)
    twin, _ = await manager.enqueue_webhook(
        source=Source.SONARR, event_type="Download", title="Show", hints=hints, files=[paths["d.mkv"]]
    )
    with pytest.raises(AlreadyExists):
        await manager.retry_job(by_name["d.mkv"].job_id)
    info, result = await manager.retry_batch(batch.batch_id)
    assert (len(result.jobs), result.skipped) == (0, 1) and info.status == BatchStatus.COMPLETED
    assert (await manager.get_job(by_name["d.mkv"].job_id)).status == JobStatus.FAILED

    hooks, total = await manager.list_webhooks(limit=10)
    assert total == 2 and [hook.webhook_id for hook, _ in hooks] == [twin.webhook_id, blocker.webhook_id]
    assert [counts.running for _, counts in hooks] == [0, 1]
    assert (await manager.list_webhooks(source=Source.RADARR))[1] == 0
    hold.set()
    await wait_terminal(manager, [*twin.job_ids, *blocker.job_ids])
