"""``AsyncClient`` against a real ``grpc.aio`` server started in the test (pytest-grpc cannot host one)."""

from __future__ import annotations

from datetime import timedelta

import grpc
import pytest

from arrtheaudio import (
    AlreadyExists,
    AsyncClient,
    FailedPrecondition,
    Internal,
    InvalidArgument,
    NotFound,
    Unauthenticated,
    Unavailable,
)
from arrtheaudio_proto.v1 import common_pb2
from tests.client.canned import API_KEY, CannedBackend

Server = tuple[str, CannedBackend]


async def test_unary_calls_and_metadata(aio_server: Server) -> None:
    target, backend = aio_server
    async with AsyncClient(target, api_key=API_KEY) as client:
        assert (await client.health()).storage == "sqlite"
        assert (await client.get_job("job-6")).reason_code == "corrupt"
        assert (await client.get_queue()).workers.total == 2
        assert (await client.get_stats()).lifetime.track_changes == 5
        assert (await client.get_job_stats(batch_id="batch-1")).counts.total == 3
        assert (await client.get_webhook("wh-1")).webhook.file_count == 2
        assert (await client.cleanup(7, statuses=["completed"])).jobs_removed == 7
    assert {md.get("x-api-key") for _, _, md in backend.requests} == {API_KEY}


async def test_errors_map_like_the_sync_client(aio_server: Server) -> None:
    target, _ = aio_server
    async with AsyncClient(target, api_key=API_KEY) as client:
        with pytest.raises(NotFound, match="job nope not found"):
            await client.get_job("nope")
        with pytest.raises(InvalidArgument) as info:
            await client.list_jobs(order_by="size")
        assert info.value.field_violations[0].field == "order_by"
        await client.cancel_job("job-7")
        with pytest.raises(FailedPrecondition):
            await client.cancel_job("job-7")
        await client.start_batch("/media/a", dry_run=True, max_age=timedelta(days=2))
        with pytest.raises(AlreadyExists):
            await client.start_batch("/media/a")
    async with AsyncClient(target, api_key="wrong") as intruder:
        with pytest.raises(Unauthenticated):
            await intruder.get_stats()


async def test_paging_async(aio_server: Server) -> None:
    target, backend = aio_server
    async with AsyncClient(target, api_key=API_KEY) as client:
        ids = [job.job_id async for job in client.iter_jobs(page_size=3, status="completed")]
        assert ids == ["job-5", "job-4", "job-3", "job-2", "job-1"]
        assert [b.batch_id async for b in client.iter_batches(page_size=4, max_items=2)] == [
            "batch-5",
            "batch-4",
        ]
        assert [j.job_id async for j in client.iter_batch_jobs("batch-1", page_size=2)] == [
            "job-1",
            "job-2",
            "job-3",
        ]
        assert (await client.list_batches(status="completed")).total_size == 5
    offsets = [req.offset for name, req, _ in backend.requests if name == "ListJobs"]
    assert offsets == [0, 3]


async def test_watchers_async(aio_server: Server) -> None:
    target, _ = aio_server
    async with AsyncClient(target, api_key=API_KEY) as client:
        job_events = [e async for e in client.watch_job("job-2")]
        assert [e.job.status for e in job_events] == [
            common_pb2.JOB_STATUS_QUEUED,
            common_pb2.JOB_STATUS_RUNNING,
            common_pb2.JOB_STATUS_COMPLETED,
        ]
        batch_events = [e async for e in client.watch_batch("batch-1")]
        assert batch_events[-1].batch.progress.percent == pytest.approx(100.0)
        webhook_events = [e async for e in client.watch_webhook("wh-1")]
        assert webhook_events[-1].final
        queue = client.watch_queue()
        first = [await anext(queue) for _ in range(2)]
        await queue.aclose()
        assert [e.sequence for e in first] == [1, 2]
        with pytest.raises(Internal, match="storage went away"):
            [e async for e in client.watch_job("job-broken")]
        with pytest.raises(Unavailable, match="before its final event"):
            [e async for e in client.watch_job("job-truncated")]
        with pytest.raises(NotFound):
            [e async for e in client.watch_batch("batch-404")]


async def test_webhooks_async(aio_server: Server) -> None:
    target, _ = aio_server
    async with AsyncClient(target) as client:  # no API key: the token authenticates
        reply = await client.sonarr_webhook(
            {"eventType": "Download", "episodeFiles": [{"path": "/tv/1.mkv"}]}, token=API_KEY
        )
        assert reply.job_ids == ["job-new-0"]
        movie = await client.radarr_webhook(
            b'{"eventType": "Download", "movieFile": {"path": "/m.mkv"}}', apikey=API_KEY
        )
        assert movie.file_count == 1
        with pytest.raises(InvalidArgument):
            await client.radarr_webhook("<xml/>", token=API_KEY, content_type="text/xml")


async def test_shared_aio_channel_and_unreachable(aio_server: Server) -> None:
    target, _ = aio_server
    channel = grpc.aio.insecure_channel(target)
    async with AsyncClient(channel=channel, api_key=API_KEY) as client:
        await client.get_job("job-1")
    assert (await AsyncClient(channel=channel, api_key=API_KEY).get_job("job-2")).job_id == "job-2"
    await channel.close()
    async with AsyncClient("127.0.0.1:1", timeout=2) as nowhere:
        with pytest.raises(Unavailable):
            await nowhere.health()
