"""``Client`` against an in-process servicer built by pytest-grpc."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest

from arrtheaudio import (
    AlreadyExists,
    Client,
    FailedPrecondition,
    Internal,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unauthenticated,
    Unavailable,
)
from arrtheaudio_proto.v1 import common_pb2, job_service_pb2
from tests.client.canned import API_KEY, CannedBackend

grpc_max_workers = 4  # read by pytest-grpc: streams and unary calls in parallel


@pytest.fixture
def client(grpc_addr: str, backend: CannedBackend) -> Any:
    with Client(grpc_addr, api_key=API_KEY, timeout=5) as c:
        yield c


def test_raw_stub_from_pytest_grpc_sees_the_same_server(grpc_stub: Any, backend: CannedBackend) -> None:
    reply = grpc_stub.GetJob(
        job_service_pb2.GetJobRequest(job_id="job-1"), metadata=(("x-api-key", API_KEY),)
    )
    assert reply.job.file_path.endswith("S01E01.mkv")


def test_api_key_is_sent_as_metadata_on_every_call(client: Client, backend: CannedBackend) -> None:
    client.get_job("job-2")
    client.get_stats()
    assert [(name, md.get("x-api-key")) for name, _, md in backend.requests] == [
        ("GetJob", API_KEY),
        ("GetStats", API_KEY),
    ]


def test_env_configures_target_and_key(
    grpc_addr: str, backend: CannedBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARRTHEAUDIO_TARGET", grpc_addr)
    monkeypatch.setenv("ARRTHEAUDIO_API_KEY", API_KEY)
    with Client() as c:
        assert c.options.target == grpc_addr
        assert c.get_job("job-1").job_id == "job-1"


def test_missing_key_is_unauthenticated_but_health_is_open(
    grpc_addr: str, backend: CannedBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ARRTHEAUDIO_API_KEY", raising=False)
    with Client(grpc_addr) as c:
        assert c.health().status == "SERVING"
        with pytest.raises(Unauthenticated) as info:
            c.get_stats()
    assert info.value.code is grpc.StatusCode.UNAUTHENTICATED
    assert "API key" in info.value.details


def test_get_and_cancel_job(client: Client) -> None:
    job = client.get_job("job-7")
    assert job.status == common_pb2.JOB_STATUS_QUEUED
    cancelled = client.cancel_job("job-7")
    assert cancelled.status == common_pb2.JOB_STATUS_CANCELLED
    with pytest.raises(FailedPrecondition, match="already finished"):
        client.cancel_job("job-7")


def test_unknown_job_is_not_found(client: Client) -> None:
    with pytest.raises(NotFound) as info:
        client.get_job("nope")
    assert info.value.details == "job nope not found"
    assert isinstance(info.value.__cause__, grpc.RpcError)


def test_list_jobs_sends_filters_with_friendly_enum_names(client: Client, backend: CannedBackend) -> None:
    reply = client.list_jobs(source="sonarr", container="MP4", status="completed")
    assert [job.job_id for job in reply.jobs] == ["job-5"]
    assert reply.total_size == 1
    sent = backend.requests[-1][1]
    assert (sent.source, sent.container, sent.status) == (
        common_pb2.SOURCE_SONARR,
        common_pb2.CONTAINER_MP4,
        common_pb2.JOB_STATUS_COMPLETED,
    )


def test_invalid_argument_carries_field_violations(client: Client) -> None:
    with pytest.raises(InvalidArgument) as info:
        client.list_jobs(limit=500, offset=-1)
    violations = {v.field: v.description for v in info.value.field_violations}
    assert violations == {"limit": "must be between 0 and 100", "offset": "must not be negative"}
    assert "limit: must be between 0 and 100" in str(info.value)
    assert (
        info.value.status is not None and info.value.status.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    )


def test_unknown_enum_name_fails_before_the_call(client: Client, backend: CannedBackend) -> None:
    with pytest.raises(ValueError, match="expected one of: queued, running"):
        client.list_jobs(status="sleeping")
    assert backend.requests == []


def test_iter_jobs_walks_every_page(client: Client, backend: CannedBackend) -> None:
    ids = [job.job_id for job in client.iter_jobs(page_size=2)]
    assert ids == [f"job-{n}" for n in range(7, 0, -1)]
    assert [req.offset for name, req, _ in backend.requests] == [0, 2, 4, 6]
    assert {req.limit for name, req, _ in backend.requests} == {2}


def test_iter_jobs_with_filter_and_max_items(client: Client, backend: CannedBackend) -> None:
    assert [j.job_id for j in client.iter_jobs(batch_id="batch-1", order_by="created_at asc")] == [
        "job-1",
        "job-2",
        "job-3",
    ]
    assert len(list(client.iter_jobs(max_items=3, page_size=2))) == 3


def test_get_queue(client: Client) -> None:
    queue = client.get_queue(next_limit=5)
    assert queue.counts.queued == 1
    assert [q.job.job_id for q in queue.next_jobs] == ["job-7"]
    assert queue.current_jobs[0].worker_id == "inst/1"


def test_watch_job_yields_until_final_and_skips_heartbeats(client: Client) -> None:
    events = list(client.watch_job("job-3"))
    assert [e.sequence for e in events] == [1, 3, 4]
    assert events[-1].final and events[-1].job.status == common_pb2.JOB_STATUS_COMPLETED
    with_heartbeats = list(client.watch_job("job-3", heartbeats=True))
    assert [e.type for e in with_heartbeats][1] == common_pb2.EVENT_TYPE_HEARTBEAT


def test_watch_raises_the_in_band_error(client: Client) -> None:
    watched = client.watch_job("job-broken")
    first = next(watched)
    assert first.type == common_pb2.EVENT_TYPE_SNAPSHOT
    with pytest.raises(Internal, match="storage went away"):
        next(watched)


def test_watch_stream_ending_without_final_is_unavailable(client: Client) -> None:
    with pytest.raises(Unavailable, match="before its final event"):
        list(client.watch_job("job-truncated"))


def test_watch_unknown_job_is_not_found(client: Client) -> None:
    with pytest.raises(NotFound):
        list(client.watch_job("nope"))


def test_watch_queue_can_be_left_early(client: Client) -> None:
    events = client.watch_queue()
    seen = [next(events).counts.queued for _ in range(3)]
    events.close()
    assert seen == [1, 2, 3]
    assert client.health().status == "SERVING"  # the channel is still usable


def test_start_batch_sends_every_option(client: Client, backend: CannedBackend) -> None:
    reply = client.start_batch(
        "/media/tv/Show",
        recursive=False,
        pattern="*.mkv",
        dry_run=True,
        priority="high",
        min_size_mb=50,
        max_age=timedelta(hours=12),
        exclude=["**/Extras/**", "*.sample.*"],
    )
    assert reply.batch_id and reply.estimated_files == 3
    batch = client.get_batch(reply.batch_id).batch
    assert (batch.recursive, batch.pattern, batch.dry_run, batch.priority) == (
        False,
        "*.mkv",
        True,
        common_pb2.PRIORITY_HIGH,
    )
    assert batch.max_age_days == pytest.approx(0.5)
    assert list(batch.exclude_patterns) == ["**/Extras/**", "*.sample.*"]


def test_start_batch_leaves_recursive_unset_by_default(client: Client, backend: CannedBackend) -> None:
    client.start_batch("/media/movies", max_age=7)
    sent = backend.requests[-1][1]
    assert not sent.HasField("recursive")
    assert sent.max_age_days == 7


@pytest.mark.parametrize(
    ("path", "error"),
    [("relative", InvalidArgument), ("/etc", PermissionDenied), ("/media/full", Unavailable)],
)
def test_start_batch_errors(client: Client, path: str, error: type) -> None:
    with pytest.raises(error):
        client.start_batch(path)


def test_second_batch_on_same_path_already_exists(client: Client) -> None:
    client.start_batch("/media/tv/Dup")
    with pytest.raises(AlreadyExists, match="already running"):
        client.start_batch("/media/tv/Dup")


def test_batches_list_iterate_cancel(client: Client) -> None:
    assert client.list_batches(limit=2).total_size == 5
    assert [b.batch_id for b in client.iter_batches(page_size=2)] == [f"batch-{n}" for n in range(5, 0, -1)]
    assert list(client.iter_batches(status="cancelled")) == []
    assert [j.job_id for j in client.iter_batch_jobs("batch-1", page_size=1)] == ["job-1", "job-2", "job-3"]
    reply = client.cancel_batch("batch-2")
    assert reply.batch.status == common_pb2.BATCH_STATUS_CANCELLED and reply.cancelled_jobs == 2
    with pytest.raises(NotFound):
        client.cancel_batch("batch-99")


def test_watch_batch_progress_until_completed(client: Client) -> None:
    events = list(client.watch_batch("batch-1"))
    assert [e.batch.progress.completed for e in events] == [0, 1, 2, 3]
    assert events[-1].final and events[-1].batch.status == common_pb2.BATCH_STATUS_COMPLETED


def test_watch_batch_in_band_unavailable(client: Client) -> None:
    with pytest.raises(Unavailable, match="shutting down"):
        list(client.watch_batch("batch-broken"))


def test_stats(client: Client, backend: CannedBackend) -> None:
    stats = client.get_stats()
    assert stats.lifetime.total == 6 and stats.lifetime.failed == 1
    after = datetime.fromtimestamp(1_700_000_004, tz=UTC)
    job_stats = client.get_job_stats(created_after=after, source="manual")
    assert job_stats.counts.total == 4
    assert backend.requests[-1][1].created_after.ToSeconds() == 1_700_000_004


def test_webhooks_send_body_and_token(client: Client, backend: CannedBackend) -> None:
    payload = {"eventType": "Download", "episodeFiles": [{"path": "/tv/a.mkv"}, {"path": "/tv/b.mkv"}]}
    reply = client.sonarr_webhook(payload)
    assert reply.file_count == 2 and list(reply.job_ids) == ["job-new-0", "job-new-1"]
    assert json.loads(backend.requests[-1][1].body.data) == payload
    radarr = client.radarr_webhook(json.dumps({"eventType": "Download", "movieFile": {"path": "/m/x.mp4"}}))
    assert radarr.files[0].path == "/m/x.mp4"


def test_webhook_token_without_api_key_metadata(
    grpc_addr: str, backend: CannedBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ARRTHEAUDIO_API_KEY", raising=False)
    with Client(grpc_addr) as anonymous:
        assert (
            anonymous.sonarr_webhook(b'{"eventType": "Test"}', token=API_KEY).message == "test event received"
        )
        with pytest.raises(Unauthenticated):
            anonymous.radarr_webhook(b"{}")
        with pytest.raises(InvalidArgument) as info:
            anonymous.sonarr_webhook(b"{not json", apikey=API_KEY)
    assert info.value.field_violations[0].field == "body"


def test_get_and_watch_webhook(client: Client) -> None:
    reply = client.get_webhook("wh-1")
    assert reply.webhook.original_language == "jpn" and len(reply.jobs) == 2
    events = list(client.watch_webhook("wh-1"))
    assert events[-1].final and events[-1].job.job_id == "job-4"
    with pytest.raises(NotFound):
        client.get_webhook("wh-2")


def test_cleanup_sends_days_and_statuses(client: Client) -> None:
    reply = client.cleanup(timedelta(days=30), statuses=["failed", "cancelled"])
    assert (reply.jobs_removed, reply.batches_removed) == (30, 2)
    with pytest.raises(InvalidArgument):
        client.cleanup(1, statuses=["running"])
    with pytest.raises(ValueError, match="whole number of days"):
        client.cleanup(timedelta(hours=12))


def test_unreachable_server_is_unavailable() -> None:
    with Client("127.0.0.1:1", api_key="k", timeout=2) as c, pytest.raises(Unavailable):
        c.health()


def test_shared_channel_is_not_closed(grpc_addr: str, backend: CannedBackend) -> None:
    channel = grpc.insecure_channel(grpc_addr)
    with Client(channel=channel, api_key=API_KEY) as c:
        c.get_job("job-1")
    with Client(channel=channel, api_key=API_KEY) as again:
        assert again.get_job("job-1").job_id == "job-1"
    channel.close()
