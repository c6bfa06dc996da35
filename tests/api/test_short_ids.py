"""Every RPC that names a job, batch or webhook takes a unique prefix of its id (>= 4 hex chars).

Ids are made to collide on purpose (``new_id`` patched) so ambiguity is tested for certain.
"""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest

from arrtheaudio_proto.v1 import batch_service_pb2, job_service_pb2, webhook_service_pb2
from arrtheaudio_server import ids
from arrtheaudio_server.queue.store import enqueue
from tests.api.conftest import AUTH, Api, ApiFactory, violations
from tests.support.arr_library import fixture_bytes

JOB_IDS = ["feed" + "a" * 28, "feed" + "b" * 28, "feed" + "c" * 28, "beef" + "0" * 28]
# batch and webhook ids (ids.new_id), in the order the test makes them
OTHER_IDS = ["cafe" + "1" * 28, "c0de" + "2" * 28]


@pytest.fixture
def colliding_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    jobs: Iterator[str] = iter(JOB_IDS)
    others: Iterator[str] = iter(OTHER_IDS)
    monkeypatch.setattr(enqueue, "new_id", lambda: next(jobs))
    monkeypatch.setattr(ids, "new_id", lambda: next(others))


async def _code(call: object) -> tuple[grpc.StatusCode, grpc.aio.AioRpcError]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call  # type: ignore[misc]
    return caught.value.code(), caught.value


@pytest.mark.usefixtures("colliding_ids")
async def test_short_ids_for_jobs_batches_and_webhooks(api_factory: ApiFactory) -> None:
    api: Api = await api_factory(execution={"dry_run": True})
    started = await api.batches.StartBatch(
        batch_service_pb2.StartBatchRequest(path=str(api.library.tv), pattern="*.mkv"), metadata=AUTH
    )
    assert started.batch_id == OTHER_IDS[0]
    async for _ in api.batches.WatchBatch(
        batch_service_pb2.WatchBatchRequest(batch_id="CAFE"), metadata=AUTH
    ):
        pass  # ends after the final event: the prefix found the batch
    reply = await api.sonarr(fixture_bytes("sonarr/download.json"))
    assert reply.webhook_id == OTHER_IDS[1] and list(reply.job_ids) == [JOB_IDS[3]]

    job = await api.jobs.GetJob(job_service_pb2.GetJobRequest(job_id="beef"), metadata=AUTH)
    assert job.job.job_id == JOB_IDS[3]
    final = await api.wait_job("BEEF0000")
    assert final.job_id == JOB_IDS[3]
    batch = await api.batches.GetBatch(batch_service_pb2.GetBatchRequest(batch_id="cafe1"), metadata=AUTH)
    assert batch.batch.batch_id == OTHER_IDS[0] and batch.total_jobs == 3
    hook = await api.webhooks.GetWebhook(
        webhook_service_pb2.GetWebhookRequest(webhook_id="c0de"), metadata=AUTH
    )
    assert hook.webhook.webhook_id == OTHER_IDS[1]
    events = [
        event
        async for event in api.webhooks.WatchWebhook(
            webhook_service_pb2.WatchWebhookRequest(webhook_id="c0de22"), metadata=AUTH, timeout=30
        )
    ]
    assert events[-1].final and events[-1].webhook.webhook_id == OTHER_IDS[1]
    listed = await api.jobs.ListJobs(job_service_pb2.ListJobsRequest(batch_id="cafe"), metadata=AUTH)
    assert sorted(j.job_id for j in listed.jobs) == JOB_IDS[:3]
    by_hook = await api.jobs.ListJobs(job_service_pb2.ListJobsRequest(webhook_id="c0de"), metadata=AUTH)
    assert [j.job_id for j in by_hook.jobs] == [JOB_IDS[3]]
    nothing = await api.jobs.ListJobs(job_service_pb2.ListJobsRequest(batch_id="9999"), metadata=AUTH)
    assert nothing.total_size == 0  # an unknown id filter matches nothing, as before

    # Three jobs start with "feed": INVALID_ARGUMENT naming them, for every RPC that takes the id.
    for call in (
        api.jobs.GetJob(job_service_pb2.GetJobRequest(job_id="feed"), metadata=AUTH),
        api.jobs.CancelJob(job_service_pb2.CancelJobRequest(job_id="feed"), metadata=AUTH),
    ):
        code, error = await _code(call)
        assert code == grpc.StatusCode.INVALID_ARGUMENT
        assert all(job_id in violations(error)["job_id"] for job_id in JOB_IDS[:3])
    with pytest.raises(grpc.aio.AioRpcError) as watched:
        async for _ in api.jobs.WatchJob(job_service_pb2.WatchJobRequest(job_id="FEED"), metadata=AUTH):
            pass
    assert watched.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "ambiguous" in watched.value.details()

    # No id starts with it: NOT_FOUND, for each kind.
    for call in (
        api.jobs.GetJob(job_service_pb2.GetJobRequest(job_id="0123"), metadata=AUTH),
        api.batches.CancelBatch(batch_service_pb2.CancelBatchRequest(batch_id="beef"), metadata=AUTH),
        api.webhooks.GetWebhook(webhook_service_pb2.GetWebhookRequest(webhook_id="cafe"), metadata=AUTH),
    ):
        code, error = await _code(call)
        assert code == grpc.StatusCode.NOT_FOUND, error.details()
    with pytest.raises(grpc.aio.AioRpcError) as unknown:
        async for _ in api.batches.WatchBatch(
            batch_service_pb2.WatchBatchRequest(batch_id="0123"), metadata=AUTH
        ):
            pass
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND

    cancelled = await api.batches.CancelBatch(
        batch_service_pb2.CancelBatchRequest(batch_id="cafe"), metadata=AUTH
    )
    assert cancelled.batch.batch_id == OTHER_IDS[0]
