"""What Envoy's transcoder does with our descriptor, against a scripted gRPC upstream.

The real server does not implement these RPCs yet, so a small in-test servicer answers them
with values that show what arrived (path variables, query parameters, raw bodies, metadata).
Envoy is the real binary with the config users run; only the upstream is scripted.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent import futures

import grpc
import httpx
import pytest
from google.protobuf import any_pb2, timestamp_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from arrtheaudio_proto.v1 import (
    batch_service_pb2,
    batch_service_pb2_grpc,
    common_pb2,
    job_service_pb2,
    job_service_pb2_grpc,
    stats_service_pb2,
    stats_service_pb2_grpc,
    webhook_service_pb2,
    webhook_service_pb2_grpc,
)
from tests.support.envoy import EnvoyProcess, running_envoy

pytestmark = pytest.mark.envoy


def _rich_error(code: int, message: str, detail) -> grpc.Status:
    packed = any_pb2.Any()
    packed.Pack(detail)
    return rpc_status.to_status(status_pb2.Status(code=code, message=message, details=[packed]))


class Jobs(job_service_pb2_grpc.JobServiceServicer):
    def __init__(self) -> None:
        self.release_stream = threading.Event()

    def GetJob(self, request, context):
        if request.job_id == "missing":
            context.abort_with_status(
                _rich_error(
                    code_pb2.NOT_FOUND,
                    "job missing not found",
                    error_details_pb2.ResourceInfo(resource_type="job", resource_name="missing"),
                )
            )
        if request.job_id == "bad":
            context.abort_with_status(
                _rich_error(
                    code_pb2.INVALID_ARGUMENT,
                    "job_id is malformed",
                    error_details_pb2.BadRequest(
                        field_violations=[
                            error_details_pb2.BadRequest.FieldViolation(
                                field="job_id", description="not a job id"
                            )
                        ]
                    ),
                )
            )
        return job_service_pb2.GetJobResponse(
            job=common_pb2.Job(
                job_id=request.job_id,
                status=common_pb2.JOB_STATUS_WAITING_FOR_SPACE,
                priority=common_pb2.PRIORITY_HIGH,
                created_at=timestamp_pb2.Timestamp(seconds=1_700_000_000),
                selected_track=common_pb2.SelectedTrack(index=0, language="jpn"),
            )
        )

    def ListJobs(self, request, context):
        # Echo the filters back so the test sees how query parameters were bound.
        return job_service_pb2.ListJobsResponse(
            jobs=[
                common_pb2.Job(
                    job_id=f"{request.batch_id}:{request.limit}:{request.offset}:{request.order_by}",
                    status=request.status,
                    source=request.source,
                )
            ],
            total_size=1,
        )

    def WatchJob(self, request, context) -> Iterator[job_service_pb2.JobEvent]:
        job = common_pb2.Job(job_id=request.job_id, status=common_pb2.JOB_STATUS_RUNNING)
        yield job_service_pb2.JobEvent(sequence=1, type=common_pb2.EVENT_TYPE_SNAPSHOT, job=job)
        # The test reads the first line before letting the stream continue: proves no buffering.
        self.release_stream.wait(10)
        yield job_service_pb2.JobEvent(sequence=2, type=common_pb2.EVENT_TYPE_UPDATE, job=job)
        yield job_service_pb2.JobEvent(
            sequence=3,
            type=common_pb2.EVENT_TYPE_ERROR,
            job=job,
            final=True,
            error=status_pb2.Status(code=code_pb2.UNAVAILABLE, message="storage went away"),
        )


class Stats(stats_service_pb2_grpc.StatsServiceServicer):
    def GetJobStats(self, request, context):
        return stats_service_pb2.GetJobStatsResponse(counts=common_pb2.JobCounts(total=42))


class Webhooks(webhook_service_pb2_grpc.WebhookServiceServicer):
    def SonarrWebhook(self, request, context):
        api_key = dict(context.invocation_metadata()).get("x-api-key", "")
        return webhook_service_pb2.SonarrWebhookResponse(
            status=webhook_service_pb2.WEBHOOK_STATUS_ACCEPTED,
            file_count=len(request.body.data),
            message=f"{request.body.content_type}|{request.token}|{request.apikey}|{api_key}",
            job_ids=[request.body.data[:20].decode("utf-8", "replace")],
        )


class Batches(batch_service_pb2_grpc.BatchServiceServicer):
    def StartBatch(self, request, context):
        return batch_service_pb2.StartBatchResponse(
            batch_id="b1",
            estimated_files=len(request.exclude_patterns),
            status=common_pb2.BATCH_STATUS_SCANNING,
            message=f"{request.path}|{request.HasField('recursive')}|{request.recursive}|{request.priority}",
        )


@pytest.fixture(scope="module")
def upstream() -> Iterator[tuple[int, Jobs]]:
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=8),
        options=[("grpc.max_receive_message_length", 32 * 1024 * 1024)],
    )
    jobs = Jobs()
    job_service_pb2_grpc.add_JobServiceServicer_to_server(jobs, server)
    stats_service_pb2_grpc.add_StatsServiceServicer_to_server(Stats(), server)
    webhook_service_pb2_grpc.add_WebhookServiceServicer_to_server(Webhooks(), server)
    batch_service_pb2_grpc.add_BatchServiceServicer_to_server(Batches(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield port, jobs
    server.stop(grace=None)


@pytest.fixture(scope="module")
def envoy(upstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EnvoyProcess]:
    with running_envoy(tmp_path_factory.mktemp("envoy"), upstream[0]) as proc:
        yield proc


@pytest.fixture(scope="module")
def http(envoy: EnvoyProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=envoy.base_url, timeout=20) as client:
        yield client


def test_jobs_stats_reaches_get_job_stats_not_get_job(http: httpx.Client) -> None:
    stats = http.get("/jobs/stats")
    assert stats.status_code == 200, stats.text
    assert stats.json()["counts"]["total"] == 42
    job = http.get("/jobs/stats2")
    assert job.json()["job"]["job_id"] == "stats2"


def test_json_uses_proto_names_enum_names_and_prints_defaults(http: httpx.Client) -> None:
    reply = http.get("/jobs/j-1")
    assert reply.status_code == 200
    job = reply.json()["job"]
    assert job["job_id"] == "j-1"
    assert job["status"] == "JOB_STATUS_WAITING_FOR_SPACE"
    assert job["priority"] == "PRIORITY_HIGH"
    assert job["created_at"] == "2023-11-14T22:13:20Z"
    assert job["selected_track"] == {"index": 0, "language": "jpn"}
    # Primitive fields at their default are still present.
    assert job["track_changed"] is False and job["attempts"] == 0 and job["file_path"] == ""


def test_query_parameters_bind_to_request_fields(http: httpx.Client) -> None:
    reply = http.get(
        "/jobs",
        params={
            "batch_id": "b9",
            "limit": 7,
            "offset": 14,
            "order_by": "priority desc",
            "status": "JOB_STATUS_FAILED",
            "source": "SOURCE_RADARR",
        },
    )
    assert reply.status_code == 200, reply.text
    job = reply.json()["jobs"][0]
    assert job["job_id"] == "b9:7:14:priority desc"
    assert (job["status"], job["source"]) == ("JOB_STATUS_FAILED", "SOURCE_RADARR")


def test_unknown_query_parameter_is_a_400(http: httpx.Client) -> None:
    reply = http.get("/jobs", params={"stauts": "x"})
    assert reply.status_code == 400
    assert "stauts" in reply.json()["message"]


def test_unknown_path_and_method_are_json_404s(http: httpx.Client) -> None:
    for method, path in (("GET", "/nope"), ("PUT", "/jobs/j-1"), ("GET", "/jobs/a/b")):
        reply = http.request(method, path)
        assert reply.status_code == 404, (method, path, reply.text)
        assert reply.headers["content-type"].startswith("application/json")
        assert reply.json()["code"] == 404


def test_grpc_errors_become_http_status_with_rich_json_details(http: httpx.Client) -> None:
    missing = http.get("/jobs/missing")
    assert missing.status_code == 404
    body = missing.json()
    assert body["code"] == code_pb2.NOT_FOUND and body["message"] == "job missing not found"
    assert body["details"][0]["@type"] == "type.googleapis.com/google.rpc.ResourceInfo"
    assert body["details"][0]["resource_name"] == "missing"

    bad = http.get("/jobs/bad")
    assert bad.status_code == 400
    violation = bad.json()["details"][0]
    assert violation["@type"] == "type.googleapis.com/google.rpc.BadRequest"
    assert violation["field_violations"][0]["field"] == "job_id"


def test_watch_streams_ndjson_unbuffered_with_error_in_band(envoy: EnvoyProcess, upstream) -> None:
    _port, jobs = upstream
    jobs.release_stream.clear()
    with (
        httpx.Client(base_url=envoy.base_url, timeout=20) as client,
        client.stream("GET", "/jobs/j-7:watch") as reply,
    ):
        assert reply.status_code == 200
        lines = reply.iter_lines()
        first = json.loads(next(lines))
        assert first["type"] == "EVENT_TYPE_SNAPSHOT" and first["job"]["job_id"] == "j-7"
        assert first["final"] is False
        jobs.release_stream.set()
        rest = [json.loads(line) for line in lines if line.strip()]
    assert [event["sequence"] for event in rest] == [2, 3]  # int32: a JSON number
    assert rest[-1]["final"] is True
    assert (
        rest[-1]["error"]["code"] == code_pb2.UNAVAILABLE
        and rest[-1]["error"]["message"] == "storage went away"
    )


def test_webhook_gets_raw_body_query_token_and_headers(http: httpx.Client) -> None:
    payload = b'{"eventType": "Download", "series": {"title": "X"}}'
    reply = http.post(
        "/webhook/sonarr",
        params={"token": "tok", "apikey": "ak"},
        content=payload,
        headers={"content-type": "application/json", "x-api-key": "hdr"},
    )
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["file_count"] == len(payload)
    assert body["message"] == "application/json|tok|ak|hdr"
    assert body["job_ids"] == [payload[:20].decode()]
    assert body["status"] == "WEBHOOK_STATUS_ACCEPTED"


def test_request_bodies_over_8_mib_are_accepted(http: httpx.Client) -> None:
    payload = b'{"x": "' + b"a" * (9 * 1024 * 1024) + b'"}'
    reply = http.post("/webhook/sonarr", content=payload, headers={"content-type": "application/json"})
    assert reply.status_code == 200, reply.text[:300]
    assert reply.json()["file_count"] == len(payload)


def test_post_body_star_binds_json_fields(http: httpx.Client) -> None:
    reply = http.post(
        "/batch",
        json={
            "path": "/media/tv",
            "recursive": False,
            "priority": "PRIORITY_LOW",
            "exclude_patterns": ["a/**", "b"],
        },
    )
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["message"] == f"/media/tv|True|False|{common_pb2.PRIORITY_LOW}"
    assert body["estimated_files"] == 2 and body["status"] == "BATCH_STATUS_SCANNING"


def test_grpc_passes_through_envoy_with_rich_status(envoy: EnvoyProcess) -> None:
    with grpc.insecure_channel(envoy.grpc_target) as channel:
        stub = job_service_pb2_grpc.JobServiceStub(channel)
        assert stub.GetJob(job_service_pb2.GetJobRequest(job_id="x"), timeout=10).job.job_id == "x"
        with pytest.raises(grpc.RpcError) as caught:
            stub.GetJob(job_service_pb2.GetJobRequest(job_id="bad"), timeout=10)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    status = rpc_status.from_call(caught.value)
    assert status is not None
    violation = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(violation)
    assert violation.field_violations[0].field == "job_id"


def test_access_log_names_the_http_path_and_the_grpc_method(http: httpx.Client, envoy: EnvoyProcess) -> None:
    marker = f"/jobs/log-{time.monotonic_ns()}"
    assert http.get(marker).status_code == 200
    line = envoy.wait_for_access_log(lambda entry: entry["path"] == marker)
    assert line["grpc_path"] == "/arrtheaudio.v1.JobService/GetJob"
    assert line["method"] == "GET" and line["status"] == 200
