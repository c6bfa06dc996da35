"""Watch streams over the real queue: snapshot first, an update per change, a final event,
heartbeats when idle, in-band errors after the first message, slow consumers and many
watchers, and subscriptions released when the client goes away."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from arrtheaudio_proto.v1 import batch_service_pb2, common_pb2, job_service_pb2, webhook_service_pb2
from arrtheaudio_server.api.watch import WatchConfig, WatchSpec, _Feed, watch_stream
from arrtheaudio_server.queue.domain import QueueEvent
from arrtheaudio_server.queue.events import EventBus
from tests.api.conftest import AUTH, Api, ApiFactory
from tests.support.arr_library import fixture_bytes
from tests.support.media_files import AudioSpec, make_mkv

SNAPSHOT, UPDATE, HEARTBEAT, ERROR = (
    common_pb2.EVENT_TYPE_SNAPSHOT,
    common_pb2.EVENT_TYPE_UPDATE,
    common_pb2.EVENT_TYPE_HEARTBEAT,
    common_pb2.EVENT_TYPE_ERROR,
)


def season(api: Api, name: str, count: int) -> str:
    folder = api.library.tv / name
    for index in range(count):
        make_mkv(
            folder / f"{name} - e{index:02d}.mkv",
            tracks=[AudioSpec("eng", default=True), AudioSpec("jpn")],
            video=False,
        )
    return str(folder)


def check_sequence(events: list) -> None:
    assert [e.sequence for e in events] == list(range(1, len(events) + 1))
    assert events[0].type == SNAPSHOT
    assert [e.final for e in events] == [False] * (len(events) - 1) + [True]
    assert all(e.HasField("time") for e in events)


async def test_watch_job_from_queued_to_completed(api: Api) -> None:
    reply = await api.sonarr(fixture_bytes("sonarr/import-complete.json"))
    last_job = reply.job_ids[2]  # one worker: still queued when the stream starts
    events = [
        e
        async for e in api.jobs.WatchJob(
            job_service_pb2.WatchJobRequest(job_id=last_job), metadata=AUTH, timeout=60
        )
    ]
    check_sequence(events)
    statuses = [e.job.status for e in events]
    assert statuses[0] == common_pb2.JOB_STATUS_QUEUED
    assert common_pb2.JOB_STATUS_RUNNING in statuses
    assert statuses[-1] == common_pb2.JOB_STATUS_COMPLETED and events[-1].type == UPDATE
    assert events[-1].job.track_changed and events[-1].job.result == common_pb2.JOB_RESULT_SUCCESS


async def test_watch_of_a_finished_job_is_one_final_snapshot(api: Api) -> None:
    reply = await api.sonarr(fixture_bytes("sonarr/download.json"))
    await api.wait_job(reply.job_ids[0])
    events = [
        e
        async for e in api.jobs.WatchJob(
            job_service_pb2.WatchJobRequest(job_id=reply.job_ids[0]), metadata=AUTH, timeout=10
        )
    ]
    assert len(events) == 1 and events[0].type == SNAPSHOT and events[0].final
    assert events[0].job.status == common_pb2.JOB_STATUS_COMPLETED


@pytest.mark.parametrize(
    ("method", "request_type", "field"),
    [
        ("WatchJob", job_service_pb2.WatchJobRequest, "job_id"),
        ("WatchBatch", batch_service_pb2.WatchBatchRequest, "batch_id"),
        ("WatchWebhook", webhook_service_pb2.WatchWebhookRequest, "webhook_id"),
    ],
)
async def test_watch_unknown_or_empty_id_is_a_status(api: Api, method: str, request_type, field: str) -> None:
    stub = {"WatchJob": api.jobs, "WatchBatch": api.batches, "WatchWebhook": api.webhooks}[method]
    for value, code in (("unknown", grpc.StatusCode.NOT_FOUND), ("", grpc.StatusCode.INVALID_ARGUMENT)):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            async for _ in getattr(stub, method)(request_type(**{field: value}), metadata=AUTH, timeout=10):
                pass
        assert caught.value.code() == code


async def test_watch_webhook_reports_each_job_and_ends_when_all_are_done(api: Api) -> None:
    reply = await api.sonarr(fixture_bytes("sonarr/import-complete.json"))
    events = [
        e
        async for e in api.webhooks.WatchWebhook(
            webhook_service_pb2.WatchWebhookRequest(webhook_id=reply.webhook_id), metadata=AUTH, timeout=60
        )
    ]
    check_sequence(events)
    assert events[0].webhook.webhook_id == reply.webhook_id and events[0].webhook.file_count == 3
    final = events[-1].webhook
    assert final.counts.completed == 3 and final.results.track_changes == 3
    seen_jobs = {e.job.job_id for e in events if e.HasField("job")}
    assert seen_jobs <= set(reply.job_ids) and seen_jobs  # updates name the job that changed


async def test_watch_batch_progress_until_completed(api_factory: ApiFactory) -> None:
    api = await api_factory(language_priority=["jpn"])
    path = season(api, "Batch Show", 5)
    started = await api.batches.StartBatch(batch_service_pb2.StartBatchRequest(path=path), metadata=AUTH)
    events = [
        e
        async for e in api.batches.WatchBatch(
            batch_service_pb2.WatchBatchRequest(batch_id=started.batch_id), metadata=AUTH, timeout=60
        )
    ]
    check_sequence(events)
    percents = [e.batch.progress.percent for e in events]
    assert percents == sorted(percents) and percents[-1] == 100
    assert events[-1].batch.status == common_pb2.BATCH_STATUS_COMPLETED
    assert events[-1].batch.progress.completed == 5 and events[-1].batch.results.success == 5


async def test_watch_queue_heartbeats_and_updates(api_factory: ApiFactory) -> None:
    api = await api_factory(watch=WatchConfig(heartbeat_seconds=0.2, min_refresh_seconds=0.05))
    stream = api.jobs.WatchQueue(job_service_pb2.WatchQueueRequest(), metadata=AUTH)
    first = await stream.read()
    assert first.type == SNAPSHOT and first.counts.total == 0 and first.workers.total == 1 and not first.final
    beat = await stream.read()
    assert beat.type == HEARTBEAT and beat.sequence == 2 and beat.counts.total == 0

    reply = await api.sonarr(fixture_bytes("sonarr/download.json"))
    completed = None
    while completed is None:
        event = await asyncio.wait_for(stream.read(), 30)
        assert not event.final
        if event.type == UPDATE and event.counts.completed == 1:
            completed = event
    assert completed.counts.total == 1
    assert reply.job_ids[0] in {completed.job.job_id, ""}
    stream.cancel()


async def test_client_going_away_releases_the_subscription(api: Api) -> None:
    bus = api.running.runtime.queue.events
    baseline = bus.subscriber_count
    streams = [api.jobs.WatchQueue(job_service_pb2.WatchQueueRequest(), metadata=AUTH) for _ in range(5)]
    for stream in streams:
        assert (await stream.read()).type == SNAPSHOT
    assert bus.subscriber_count == baseline + 5
    for stream in streams:
        stream.cancel()
    for _ in range(100):
        if bus.subscriber_count == baseline:
            break
        await asyncio.sleep(0.05)
    assert bus.subscriber_count == baseline


async def test_hundred_watchers_of_one_batch_all_see_the_end(api_factory: ApiFactory) -> None:
    api = await api_factory(language_priority=["jpn"])
    path = season(api, "Crowd", 4)
    started = await api.batches.StartBatch(batch_service_pb2.StartBatchRequest(path=path), metadata=AUTH)

    async def watch() -> batch_service_pb2.BatchEvent:
        last = None
        async for event in api.batches.WatchBatch(
            batch_service_pb2.WatchBatchRequest(batch_id=started.batch_id), metadata=AUTH, timeout=120
        ):
            last = event
        return last

    finals = await asyncio.gather(*(watch() for _ in range(100)))
    assert all(f.final and f.batch.status == common_pb2.BATCH_STATUS_COMPLETED for f in finals)
    assert all(f.batch.progress.completed == 4 for f in finals)


async def test_a_watcher_that_does_not_read_never_holds_the_workers(api_factory: ApiFactory) -> None:
    api = await api_factory(
        language_priority=["jpn"],
        watch=WatchConfig(heartbeat_seconds=5, max_pending=2, min_refresh_seconds=0.01),
    )
    stalled = api.jobs.WatchQueue(job_service_pb2.WatchQueueRequest(), metadata=AUTH)
    assert (await stalled.read()).type == SNAPSHOT
    path = season(api, "Stalled", 6)
    started = await api.batches.StartBatch(batch_service_pb2.StartBatchRequest(path=path), metadata=AUTH)
    # Workers finish the batch while the stalled client reads nothing.
    done = None
    for _ in range(600):
        done = (
            await api.batches.GetBatch(
                batch_service_pb2.GetBatchRequest(batch_id=started.batch_id), metadata=AUTH
            )
        ).batch
        if done.status == common_pb2.BATCH_STATUS_COMPLETED:
            break
        await asyncio.sleep(0.05)
    assert done is not None and done.status == common_pb2.BATCH_STATUS_COMPLETED
    # The stalled watcher then catches up to the final counts.
    while True:
        event = await asyncio.wait_for(stalled.read(), 30)
        if event.counts.completed == 6:
            break
    stalled.cancel()


async def test_shutdown_ends_streams_in_band(api_factory: ApiFactory) -> None:
    api = await api_factory()
    stream = api.jobs.WatchQueue(job_service_pb2.WatchQueueRequest(), metadata=AUTH)
    assert (await stream.read()).type == SNAPSHOT
    stopping = asyncio.ensure_future(api.running.runtime.stop())
    event = await asyncio.wait_for(stream.read(), 10)
    while event.type == HEARTBEAT:
        event = await asyncio.wait_for(stream.read(), 10)
    assert event.type == ERROR and event.final and event.error.code == grpc.StatusCode.UNAVAILABLE.value[0]
    assert "shutting down" in event.error.message
    await stopping


# --- the loop itself, on the real event bus ------------------------------------------------


class _Context:
    """Only ``abort_with_status`` is reached by these cases (none of them aborts)."""


async def test_feed_collapses_when_the_reader_falls_behind() -> None:
    bus = EventBus(buffer_size=1000)
    feed = _Feed(bus.subscribe(), max_pending=8)
    for seq in range(1, 101):
        bus.publish(QueueEvent(seq=seq, batch_id="b"))
    await asyncio.sleep(0.05)
    events = await feed.wait(1)
    assert len(events) <= 8 and any(e.coalesced for e in events)
    await feed.close()
    assert bus.subscriber_count == 0


async def test_error_after_the_first_message_is_sent_in_band() -> None:
    bus = EventBus()
    calls = 0

    async def load() -> int:
        nonlocal calls
        calls += 1
        if calls > 1:
            raise RuntimeError("database went away")
        return 7

    def make(seq, kind, state, job, final, error):
        return job_service_pb2.QueueEvent(
            sequence=seq, type=kind, counts=common_pb2.JobCounts(total=state), final=final, error=error
        )

    spec = WatchSpec(load=load, is_final=lambda _s: False, make_event=make)
    stream = watch_stream(
        _Context(), bus.subscribe(), spec, WatchConfig(heartbeat_seconds=5, min_refresh_seconds=0)
    )
    first = await stream.__anext__()
    assert first.type == SNAPSHOT and first.counts.total == 7
    bus.publish(QueueEvent(seq=1, batch_id="x"))
    second = await stream.__anext__()
    assert second.type == ERROR and second.final and second.error.code == grpc.StatusCode.INTERNAL.value[0]
    with pytest.raises(StopAsyncIteration):
        await stream.__anext__()
    assert bus.subscriber_count == 0
