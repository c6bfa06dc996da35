"""The RPCs the dashboard needs, over the real queue and pipeline: retry of a failed job and of a
batch's failed jobs (after the corrupt file was replaced), jobs per day, recent webhook
deliveries, the dashboard's files and the Prometheus scrape."""

from __future__ import annotations

import shutil
from pathlib import Path

import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families

from arrtheaudio_proto.v1 import (
    batch_service_pb2,
    common_pb2,
    dashboard_service_pb2,
    dashboard_service_pb2_grpc,
    job_service_pb2,
    stats_service_pb2,
    webhook_service_pb2,
)
from arrtheaudio_server.clock import utc_midnight
from tests.api.conftest import AUTH, Api, ApiFactory, violations
from tests.api.test_batches import wait_batch
from tests.api.test_jobs_stats_admin import processed_season
from tests.support.media_files import AudioSpec, make_corrupt, make_mkv, read_back

NO_RETRIES = {"processing": {"retry_attempts": 0}}
TRACKS = (AudioSpec(lang="eng", default=True), AudioSpec(lang="jpn"))


async def failed_batch(api: Api, folder: Path, *, bad: int, good: int = 1) -> tuple[str, list[str]]:
    """A scan of ``bad`` corrupt and ``good`` good MKVs; returns the batch id and the failed jobs' ids."""
    folder.mkdir(parents=True)
    for index in range(bad):
        make_corrupt(folder / f"bad{index}.mkv", "garbage")
    for index in range(good):
        make_mkv(folder / f"good{index}.mkv", TRACKS)
    started = await api.batches.StartBatch(
        batch_service_pb2.StartBatchRequest(path=str(folder)), metadata=AUTH
    )
    batch = await wait_batch(api, started.batch_id)
    assert batch.status == common_pb2.BATCH_STATUS_COMPLETED and batch.progress.failed == bad
    failed = await api.jobs.ListJobs(
        job_service_pb2.ListJobsRequest(batch_id=started.batch_id, status=common_pb2.JOB_STATUS_FAILED),
        metadata=AUTH,
    )
    return started.batch_id, [job.job_id for job in failed.jobs]


async def lifetime(api: Api) -> common_pb2.OutcomeStats:
    return (await api.stats.GetStats(stats_service_pb2.GetStatsRequest(), metadata=AUTH)).lifetime


async def test_retry_a_failed_job_once_its_file_is_replaced(api_factory: ApiFactory) -> None:
    api = await api_factory(language_priority=["jpn", "eng"], **NO_RETRIES)
    folder = api.library.root / "retry"
    batch_id, (failed_id,) = await failed_batch(api, folder, bad=1)
    before = await lifetime(api)
    assert (before.total, before.success, before.failed) == (2, 1, 1)

    make_mkv(folder / "bad0.mkv", TRACKS)  # the user replaced the broken download
    retried = await api.jobs.RetryJob(job_service_pb2.RetryJobRequest(job_id=failed_id), metadata=AUTH)
    job = retried.job
    assert job.job_id == failed_id and job.status in (
        common_pb2.JOB_STATUS_QUEUED,
        common_pb2.JOB_STATUS_RUNNING,
    )
    assert job.attempts in (0, 1) and job.result == common_pb2.JOB_RESULT_UNSPECIFIED and job.reason == ""
    assert job.priority == common_pb2.PRIORITY_NORMAL and job.batch_id == batch_id

    done = await api.wait_job(failed_id)
    assert done.status == common_pb2.JOB_STATUS_COMPLETED and done.result == common_pb2.JOB_RESULT_SUCCESS
    assert done.attempts == 1 and done.selected_track.language == "jpn"
    assert [track.language for track in done.audio_tracks] == ["eng", "jpn"]  # read from the new file
    assert read_back(folder / "bad0.mkv").default_audio_indexes == [1]
    # The batch was reopened for the retry and completed again; the job counts once, by its last outcome.
    batch = await wait_batch(api, batch_id)
    assert batch.status == common_pb2.BATCH_STATUS_COMPLETED and batch.progress.failed == 0
    assert batch.results.success == 2
    after = await lifetime(api)
    assert (after.total, after.success, after.failed) == (2, 2, 0)


async def test_retry_refusals(api: Api) -> None:
    job_ids = await processed_season(api)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await api.jobs.RetryJob(job_service_pb2.RetryJobRequest(job_id=job_ids[0]), metadata=AUTH)
    assert (
        caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION and "completed" in caught.value.details()
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await api.jobs.RetryJob(job_service_pb2.RetryJobRequest(job_id="nope"), metadata=AUTH)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await api.jobs.RetryJob(job_service_pb2.RetryJobRequest(job_id=" "), metadata=AUTH)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "job_id" in violations(caught.value)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await api.batches.RetryBatch(batch_service_pb2.RetryBatchRequest(batch_id="nope"), metadata=AUTH)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await api.jobs.RetryJob(job_service_pb2.RetryJobRequest(job_id=job_ids[0]))
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_retry_a_batch_requeues_only_its_failed_jobs(api_factory: ApiFactory) -> None:
    api = await api_factory(language_priority=["jpn", "eng"], **NO_RETRIES)
    folder = api.library.root / "batch-retry"
    batch_id, failed_ids = await failed_batch(api, folder, bad=2)
    assert len(failed_ids) == 2
    for index in range(2):
        make_mkv(folder / f"bad{index}.mkv", TRACKS)
    reply = await api.batches.RetryBatch(
        batch_service_pb2.RetryBatchRequest(batch_id=batch_id), metadata=AUTH
    )
    assert reply.retried_jobs == 2 and reply.skipped_jobs == 0
    assert reply.batch.status == common_pb2.BATCH_STATUS_RUNNING
    batch = await wait_batch(api, batch_id)
    assert batch.status == common_pb2.BATCH_STATUS_COMPLETED
    assert (batch.results.success, batch.progress.failed, batch.progress.total) == (3, 0, 3)
    again = await api.batches.RetryBatch(
        batch_service_pb2.RetryBatchRequest(batch_id=batch_id), metadata=AUTH
    )
    assert again.retried_jobs == 0 and again.batch.status == common_pb2.BATCH_STATUS_COMPLETED


async def test_retry_is_refused_while_another_job_for_the_file_is_active(api_factory: ApiFactory) -> None:
    api = await api_factory(language_priority=["jpn", "eng"], **NO_RETRIES)
    folder = api.library.root / "twin"
    batch_id, (failed_id,) = await failed_batch(api, folder, bad=1, good=0)
    make_mkv(folder / "bad0.mkv", TRACKS)
    # Keep the one worker busy, then queue the same file again behind that work.
    busy = api.library.root / "busy"
    busy.mkdir()
    make_mkv(busy / "ep00.mkv", TRACKS)
    for index in range(1, 30):
        shutil.copyfile(busy / "ep00.mkv", busy / f"ep{index:02}.mkv")
    await api.batches.StartBatch(batch_service_pb2.StartBatchRequest(path=str(busy)), metadata=AUTH)
    second = await api.batches.StartBatch(
        batch_service_pb2.StartBatchRequest(path=str(folder)), metadata=AUTH
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await api.jobs.RetryJob(job_service_pb2.RetryJobRequest(job_id=failed_id), metadata=AUTH)
    assert (
        caught.value.code() == grpc.StatusCode.ALREADY_EXISTS and "already active" in caught.value.details()
    )
    reply = await api.batches.RetryBatch(
        batch_service_pb2.RetryBatchRequest(batch_id=batch_id), metadata=AUTH
    )
    assert (reply.retried_jobs, reply.skipped_jobs) == (0, 1)
    still = await api.jobs.GetJob(job_service_pb2.GetJobRequest(job_id=failed_id), metadata=AUTH)
    assert still.job.status == common_pb2.JOB_STATUS_FAILED  # changed nothing
    await wait_batch(api, second.batch_id)


async def test_a_cancelled_job_can_be_retried(api_factory: ApiFactory) -> None:
    api = await api_factory(language_priority=["jpn", "eng"])
    folder = api.library.root / "cancelled"
    folder.mkdir()
    for index in range(12):
        make_mkv(folder / f"ep{index:02}.mkv", TRACKS)
    started = await api.batches.StartBatch(
        batch_service_pb2.StartBatchRequest(path=str(folder)), metadata=AUTH
    )
    cancel = await api.batches.CancelBatch(
        batch_service_pb2.CancelBatchRequest(batch_id=started.batch_id), metadata=AUTH
    )
    assert cancel.cancelled_jobs > 0  # one worker cannot have run 12 files in the meantime
    cancelled = await api.jobs.ListJobs(
        job_service_pb2.ListJobsRequest(batch_id=started.batch_id, status=common_pb2.JOB_STATUS_CANCELLED),
        metadata=AUTH,
    )
    job_id = cancelled.jobs[0].job_id
    await api.jobs.RetryJob(job_service_pb2.RetryJobRequest(job_id=job_id), metadata=AUTH)
    done = await api.wait_job(job_id)
    assert done.status == common_pb2.JOB_STATUS_COMPLETED and done.result == common_pb2.JOB_RESULT_SUCCESS
    # A cancelled batch is reopened by the retry and completes once its jobs are done.
    batch = await wait_batch(api, started.batch_id)
    assert batch.status == common_pb2.BATCH_STATUS_COMPLETED


async def test_daily_stats_cover_the_window_with_zeros(api: Api) -> None:
    job_ids = await processed_season(api)
    week = await api.stats.GetDailyStats(stats_service_pb2.GetDailyStatsRequest(days=7), metadata=AUTH)
    assert len(week.days) == 7
    assert week.days[-1].date == utc_midnight().date().isoformat()
    assert week.days[-1].total == len(job_ids) and week.days[-1].success == len(job_ids)
    assert week.days[-1].track_changes == len(job_ids) and week.days[-1].avg_duration_ms > 0
    assert all(day.total == 0 for day in week.days[:-1])
    assert [day.date for day in week.days] == sorted(day.date for day in week.days)
    window = await api.stats.GetDailyStats(stats_service_pb2.GetDailyStatsRequest(), metadata=AUTH)
    assert len(window.days) == 30  # processing.job_history_days
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await api.stats.GetDailyStats(stats_service_pb2.GetDailyStatsRequest(days=400), metadata=AUTH)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "days" in violations(caught.value)


async def test_list_webhooks_newest_first_with_counts(api: Api) -> None:
    first = await processed_season(api)
    await processed_season(api)
    listed = await api.webhooks.ListWebhooks(webhook_service_pb2.ListWebhooksRequest(), metadata=AUTH)
    assert listed.total_size == 2 and len(listed.webhooks) == 2
    newest, oldest = listed.webhooks
    assert newest.created_at.ToDatetime() >= oldest.created_at.ToDatetime()
    assert list(oldest.job_ids) == first and oldest.counts.completed == len(first)
    assert oldest.source == common_pb2.SOURCE_SONARR and oldest.event_type
    paged = await api.webhooks.ListWebhooks(
        webhook_service_pb2.ListWebhooksRequest(limit=1, offset=1), metadata=AUTH
    )
    assert [w.webhook_id for w in paged.webhooks] == [oldest.webhook_id] and paged.total_size == 2
    radarr = await api.webhooks.ListWebhooks(
        webhook_service_pb2.ListWebhooksRequest(source=common_pb2.SOURCE_RADARR), metadata=AUTH
    )
    assert radarr.total_size == 0 and not radarr.webhooks
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await api.webhooks.ListWebhooks(webhook_service_pb2.ListWebhooksRequest(limit=101), metadata=AUTH)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def metric_values(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_metrics_agree_with_the_queue_after_a_batch(api_factory: ApiFactory) -> None:
    api = await api_factory(language_priority=["jpn", "eng"], **NO_RETRIES)
    stub = dashboard_service_pb2_grpc.DashboardServiceStub(api.channel)
    start = metric_values(
        (await stub.GetMetrics(dashboard_service_pb2.GetMetricsRequest(), metadata=AUTH)).data.decode()
    )
    await failed_batch(api, api.library.root / "metrics", bad=1, good=2)
    body = await stub.GetMetrics(dashboard_service_pb2.GetMetricsRequest(), metadata=AUTH)
    assert body.content_type.startswith("text/plain")
    values = metric_values(body.data.decode())
    queue = (await api.jobs.GetQueue(job_service_pb2.GetQueueRequest(), metadata=AUTH)).counts
    assert values[("arrtheaudio_queue_jobs", (("status", "completed"),))] == queue.completed == 2
    assert values[("arrtheaudio_queue_jobs", (("status", "failed"),))] == queue.failed == 1
    assert values[("arrtheaudio_queue_jobs", (("status", "queued"),))] == 0
    finished = (("container", "mkv"), ("result", "success"), ("source", "manual"))
    assert values[("arrtheaudio_jobs_finished_total", finished)] == 2
    assert (
        values[
            (
                "arrtheaudio_jobs_finished_total",
                (("container", "mkv"), ("result", "failed"), ("source", "manual")),
            )
        ]
        == 1
    )
    assert values[("arrtheaudio_job_duration_seconds_count", (("container", "mkv"),))] == 3
    assert values[("arrtheaudio_job_duration_seconds_sum", (("container", "mkv"),))] > 0
    assert values[("arrtheaudio_batches", (("status", "completed"),))] == 1
    assert values[("arrtheaudio_workers", ())] == 1 and values[("arrtheaudio_workers_busy", ())] == 0
    # This process's tool runs: the two good files were each changed by one mkvpropedit run.
    edits = ("arrtheaudio_tool_runs_total", (("outcome", "ok"), ("tool", "mkvpropedit")))
    assert values[edits] - start.get(edits, 0) >= 2
    timed = ("arrtheaudio_tool_duration_seconds_count", (("tool", "mkvpropedit"),))
    assert values[timed] - start.get(timed, 0) >= 2
    await api.sonarr(b'{"eventType": "Test"}')
    after = metric_values(
        (await stub.GetMetrics(dashboard_service_pb2.GetMetricsRequest(), metadata=AUTH)).data.decode()
    )
    ignored = ("arrtheaudio_webhook_deliveries_total", (("outcome", "ignored"), ("source", "sonarr")))
    assert after[ignored] == values.get(ignored, 0) + 1
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.GetMetrics(dashboard_service_pb2.GetMetricsRequest())
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_dashboard_files_are_open_and_only_the_shipped_ones(api: Api) -> None:
    stub = dashboard_service_pb2_grpc.DashboardServiceStub(api.channel)
    index = await stub.GetAsset(dashboard_service_pb2.GetAssetRequest(path=""))  # no key needed
    assert index.content_type == "text/html; charset=utf-8" and b"<!doctype html>" in index.data.lower()
    same = await stub.GetAsset(dashboard_service_pb2.GetAssetRequest(path="index.html"))
    assert same.data == index.data
    script = await stub.GetAsset(dashboard_service_pb2.GetAssetRequest(path="js/app.js"))
    assert script.content_type == "text/javascript; charset=utf-8"
    for path in ("../config.py", "js/../../runtime.py", "nope.js", "/etc/passwd"):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.GetAsset(dashboard_service_pb2.GetAssetRequest(path=path))
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND, path
