"""JobService, StatsService and AdminService over the real queue: reads, paging and
ordering checks, cancellation, statistics after real processing, cleanup."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from google.protobuf import timestamp_pb2

from arrtheaudio_proto.v1 import admin_service_pb2, common_pb2, job_service_pb2, stats_service_pb2
from tests.api.conftest import AUTH, Api, ApiFactory, violations
from tests.support.arr_library import fixture_bytes


async def processed_season(api: Api) -> list[str]:
    reply = await api.sonarr(fixture_bytes("sonarr/import-complete.json"))
    for job_id in reply.job_ids:
        await api.wait_job(job_id)
    return list(reply.job_ids)


async def test_get_list_and_order_jobs(api: Api) -> None:
    job_ids = await processed_season(api)
    got = await api.jobs.GetJob(job_service_pb2.GetJobRequest(job_id=job_ids[1]), metadata=AUTH)
    assert got.job.job_id == job_ids[1] and got.job.container == common_pb2.CONTAINER_MKV
    assert got.job.HasField("created_at") and got.job.HasField("completed_at") and got.job.attempts == 1
    assert got.job.duration_ms > 0

    page = await api.jobs.ListJobs(
        job_service_pb2.ListJobsRequest(limit=2, order_by="created_at asc"), metadata=AUTH
    )
    assert page.total_size == 3 and [j.job_id for j in page.jobs] == job_ids[:2]
    rest = await api.jobs.ListJobs(
        job_service_pb2.ListJobsRequest(limit=2, offset=2, order_by="created_at asc"), metadata=AUTH
    )
    assert [j.job_id for j in rest.jobs] == job_ids[2:]
    filtered = await api.jobs.ListJobs(
        job_service_pb2.ListJobsRequest(
            status=common_pb2.JOB_STATUS_COMPLETED,
            source=common_pb2.SOURCE_SONARR,
            container=common_pb2.CONTAINER_MKV,
        ),
        metadata=AUTH,
    )
    assert filtered.total_size == 3
    none = await api.jobs.ListJobs(
        job_service_pb2.ListJobsRequest(source=common_pb2.SOURCE_RADARR), metadata=AUTH
    )
    assert none.total_size == 0 and not none.jobs


@pytest.mark.parametrize(
    ("request_kwargs", "field"),
    [
        ({"limit": 101}, "limit"),
        ({"limit": -1}, "limit"),
        ({"offset": -5}, "offset"),
        ({"order_by": "file_path"}, "order_by"),
        ({"order_by": "created_at sideways"}, "order_by"),
        ({"order_by": "created_at asc extra"}, "order_by"),
        ({"status": 42}, "status"),
    ],
)
async def test_list_jobs_validation(api: Api, request_kwargs: dict, field: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await api.jobs.ListJobs(job_service_pb2.ListJobsRequest(**request_kwargs), metadata=AUTH)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in violations(caught.value)


async def test_unknown_and_empty_job_ids(api: Api) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await api.jobs.GetJob(job_service_pb2.GetJobRequest(job_id="0" * 32), metadata=AUTH)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    for call in (api.jobs.GetJob, api.jobs.CancelJob):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call(job_service_pb2.GetJobRequest(job_id=""), metadata=AUTH)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert violations(caught.value) == {"job_id": "is required"}
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await api.jobs.CancelJob(job_service_pb2.CancelJobRequest(job_id="missing"), metadata=AUTH)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


async def test_cancel_a_finished_job_is_failed_precondition(api: Api) -> None:
    job_ids = await processed_season(api)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await api.jobs.CancelJob(job_service_pb2.CancelJobRequest(job_id=job_ids[0]), metadata=AUTH)
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_cancel_a_queued_job(api: Api) -> None:
    reply = await api.sonarr(fixture_bytes("sonarr/import-complete.json"))
    # One worker: the last of the three files is still waiting.
    cancelled = await api.jobs.CancelJob(
        job_service_pb2.CancelJobRequest(job_id=reply.job_ids[2]), metadata=AUTH
    )
    assert cancelled.job.status == common_pb2.JOB_STATUS_CANCELLED
    for job_id in reply.job_ids[:2]:
        await api.wait_job(job_id)
    final = await api.wait_job(reply.job_ids[2])
    assert final.status == common_pb2.JOB_STATUS_CANCELLED


async def test_get_queue(api: Api) -> None:
    empty = await api.jobs.GetQueue(job_service_pb2.GetQueueRequest(), metadata=AUTH)
    assert empty.counts.total == 0 and empty.workers.total == 1 and not empty.next_jobs
    reply = await api.sonarr(fixture_bytes("sonarr/import-complete.json"))
    busy = await api.jobs.GetQueue(job_service_pb2.GetQueueRequest(next_limit=5), metadata=AUTH)
    assert busy.counts.total == 3
    waiting = [q.job.job_id for q in busy.next_jobs]
    assert [q.position for q in busy.next_jobs] == list(range(1, len(waiting) + 1))
    assert set(waiting) | {j.job_id for j in busy.current_jobs} <= set(reply.job_ids)
    assert all(j.worker_id for j in busy.current_jobs)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await api.jobs.GetQueue(job_service_pb2.GetQueueRequest(next_limit=1000), metadata=AUTH)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "next_limit" in violations(
        caught.value
    )
    for job_id in reply.job_ids:
        await api.wait_job(job_id)


async def test_stats_after_real_processing(api: Api) -> None:
    await processed_season(api)
    movie = await api.radarr(fixture_bytes("radarr/download.json"))
    await api.wait_job(movie.job_ids[0])
    stats = await api.stats.GetStats(stats_service_pb2.GetStatsRequest(), metadata=AUTH)
    assert stats.queue.total == 4 and stats.queue.completed == 4
    assert stats.workers.total == 1
    assert stats.lifetime.total == 4 and stats.lifetime.success == 4 and stats.lifetime.track_changes == 4
    assert stats.lifetime.success_rate == pytest.approx(1.0) and stats.lifetime.avg_duration_ms > 0
    assert stats.today.total == 4
    assert [(c.container, c.stats.total) for c in stats.containers] == [(common_pb2.CONTAINER_MKV, 4)]
    by_source = {s.source: s.stats.total for s in stats.sources}
    assert by_source == {common_pb2.SOURCE_SONARR: 3, common_pb2.SOURCE_RADARR: 1}


async def test_cleanup_validation_and_cutoff(api: Api) -> None:
    await processed_season(api)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await api.admin.Cleanup(
            admin_service_pb2.CleanupRequest(
                statuses=[common_pb2.JOB_STATUS_QUEUED, common_pb2.JOB_STATUS_COMPLETED], older_than_days=-1
            ),
            metadata=AUTH,
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(violations(caught.value)) == {"statuses[0]", "older_than_days"}
    # Finished a moment ago: neither "older than 1 day" nor the default 30-day retention matches.
    for request in (admin_service_pb2.CleanupRequest(older_than_days=1), admin_service_pb2.CleanupRequest()):
        assert (await api.admin.Cleanup(request, metadata=AUTH)).jobs_removed == 0
    assert (await api.jobs.ListJobs(job_service_pb2.ListJobsRequest(), metadata=AUTH)).total_size == 3


async def test_cleanup_with_zero_retention_removes_finished_jobs(api_factory: ApiFactory) -> None:
    api = await api_factory(processing={"job_history_days": 0, "failed_job_days": 0})
    job_ids = await processed_season(api)
    only_failed = await api.admin.Cleanup(
        admin_service_pb2.CleanupRequest(statuses=[common_pb2.JOB_STATUS_FAILED]), metadata=AUTH
    )
    assert only_failed.jobs_removed == 0
    removed = await api.admin.Cleanup(admin_service_pb2.CleanupRequest(), metadata=AUTH)
    assert (removed.jobs_removed, removed.webhooks_removed) == (3, 1)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await api.jobs.GetJob(job_service_pb2.GetJobRequest(job_id=job_ids[0]), metadata=AUTH)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


async def test_get_health_reports_storage(api: Api) -> None:
    reply = await api.admin.GetHealth(admin_service_pb2.GetHealthRequest())
    assert reply.status == "SERVING" and reply.storage == "sqlite" and reply.version


async def test_get_job_stats_after_real_processing(api: Api) -> None:
    season = await api.sonarr(fixture_bytes("sonarr/import-complete.json"))
    for job_id in season.job_ids:
        await api.wait_job(job_id)
    before_movie = timestamp_pb2.Timestamp()
    before_movie.GetCurrentTime()
    movie = await api.radarr(fixture_bytes("radarr/download.json"))
    await api.wait_job(movie.job_ids[0])

    def get(**kwargs: Any) -> Any:
        return api.stats.GetJobStats(stats_service_pb2.GetJobStatsRequest(**kwargs), metadata=AUTH)

    hook = await get(webhook_id=season.webhook_id)
    assert (hook.counts.total, hook.counts.completed, hook.counts.queued) == (3, 3, 0)
    assert (hook.outcomes.total, hook.outcomes.success, hook.outcomes.track_changes) == (3, 3, 3)
    assert hook.outcomes.success_rate == pytest.approx(1.0) and hook.outcomes.avg_duration_ms > 0
    assert [(c.container, c.stats.total) for c in hook.containers] == [(common_pb2.CONTAINER_MKV, 3)]
    assert [(s.source, s.stats.total) for s in hook.sources] == [(common_pb2.SOURCE_SONARR, 3)]
    assert [(r.reason_code, r.count) for r in hook.reasons] == [("changed", 3)]

    everything = await get()
    assert everything.counts.total == 4 and everything.outcomes.total == 4
    assert {s.source: s.stats.total for s in everything.sources} == {
        common_pb2.SOURCE_SONARR: 3,
        common_pb2.SOURCE_RADARR: 1,
    }
    radarr = await get(source=common_pb2.SOURCE_RADARR, container=common_pb2.CONTAINER_MKV)
    assert radarr.counts.total == 1 and radarr.reasons[0].count == 1
    # created_after works by UTC day (the figures come from per-day rollups): a time today
    # selects every job created today, tomorrow none of them.
    today = await get(created_after=before_movie)
    assert today.counts.total == 4 and len(today.sources) == 2
    tomorrow = timestamp_pb2.Timestamp()
    tomorrow.FromSeconds(before_movie.seconds + 86_400)
    assert (await get(created_after=tomorrow)).counts.total == 0
    nothing = await get(batch_id="no-such-batch")
    assert nothing.counts.total == 0 and nothing.outcomes.total == 0 and not nothing.reasons
    assert not nothing.containers and not nothing.sources


async def test_get_job_stats_validation(api: Api) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await api.stats.GetJobStats(
            stats_service_pb2.GetJobStatsRequest(
                batch_id="../etc",
                webhook_id="x" * 200,
                source=42,
                container=9,
                created_after=timestamp_pb2.Timestamp(seconds=10**12),
            ),
            metadata=AUTH,
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(violations(caught.value)) == {"batch_id", "webhook_id", "source", "container", "created_after"}
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await api.stats.GetJobStats(
            stats_service_pb2.GetJobStatsRequest(created_after=timestamp_pb2.Timestamp(seconds=0, nanos=-1)),
            metadata=AUTH,
        )
    assert violations(caught.value).keys() == {"created_after"}
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await api.stats.GetJobStats(stats_service_pb2.GetJobStatsRequest())
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
