"""End to end: real Envoy in front of the real arrtheaudio-server subprocess (SQLite), with a
media root holding two real MKV files for the statistics checks."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from arrtheaudio_proto.v1 import (
    admin_service_pb2,
    admin_service_pb2_grpc,
    stats_service_pb2,
    stats_service_pb2_grpc,
)
from tests.contract.conftest import tool
from tests.support.envoy import EnvoyProcess, running_envoy
from tests.support.media_files import AudioSpec, make_mkv, tools_available
from tests.support.server import ServerProcess, running_server

pytestmark = pytest.mark.envoy

API_SERVICES = [
    f"arrtheaudio.v1.{name}"
    for name in (
        "AdminService",
        "BatchService",
        "DashboardService",
        "JobService",
        "StatsService",
        "WebhookService",
    )
]


KEY = {"x-api-key": "test-key"}


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not tools_available():  # pragma: no cover - the dev and CI images have them
        pytest.skip("ffmpeg/mkvtoolnix not installed")
    root = tmp_path_factory.mktemp("stack-media") / "media"
    for name in ("Show/S01E01.mkv", "Show/S01E02.mkv"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        make_mkv(root / name, [AudioSpec(lang="eng", default=True), AudioSpec(lang="jpn")])
    return root


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory, media: Path
) -> Iterator[tuple[ServerProcess, EnvoyProcess]]:
    tmp = tmp_path_factory.mktemp("stack")
    settings = {
        "media_roots": [str(media)],
        "language_priority": ["jpn"],  # jpn is not the default track
        "processing": {"poll_interval_seconds": 0.05},
    }
    with running_server(tmp, settings) as server, running_envoy(tmp, server.port) as envoy:
        yield server, envoy


def _finished_dry_run_batch(envoy: EnvoyProcess, media: Path) -> str:
    """A dry-run batch over the two files, started and waited for through Envoy; its id."""
    started = httpx.post(
        f"{envoy.base_url}/batch",
        headers=KEY,
        timeout=10,
        json={"path": str(media / "Show"), "dry_run": True},
    )
    assert started.status_code == 200, started.text
    batch_id = started.json()["batch_id"]
    deadline = time.monotonic() + 60
    while True:
        batch = httpx.get(f"{envoy.base_url}/batch/{batch_id}", headers=KEY, timeout=10).json()["batch"]
        if batch["status"] == "BATCH_STATUS_COMPLETED":
            return batch_id
        assert time.monotonic() < deadline, batch
        time.sleep(0.1)


def test_http_health_through_envoy_asks_the_server(stack) -> None:
    server, envoy = stack
    reply = httpx.get(f"{envoy.base_url}/health", timeout=10)
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("application/json")
    body = reply.json()
    assert body["status"] == "SERVING"
    assert body["storage"] == "sqlite"
    assert body["version"]
    line = envoy.wait_for_access_log(lambda entry: entry["path"] == "/health")
    assert line["grpc_path"] == "/arrtheaudio.v1.AdminService/GetHealth"
    assert line["upstream"] == f"127.0.0.1:{server.port}"


def test_grpc_through_envoy_health_and_get_health(stack) -> None:
    _server, envoy = stack
    with grpc.insecure_channel(envoy.grpc_target) as channel:
        reply = admin_service_pb2_grpc.AdminServiceStub(channel).GetHealth(
            admin_service_pb2.GetHealthRequest(), timeout=10
        )
        assert reply.status == "SERVING" and reply.storage == "sqlite"
        for service in ("", *API_SERVICES):
            check = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=service), timeout=10
            )
            assert check.status == health_pb2.HealthCheckResponse.SERVING, service


def test_unknown_path_is_a_json_404(stack) -> None:
    _server, envoy = stack
    reply = httpx.get(f"{envoy.base_url}/definitely/not/here", timeout=10)
    assert reply.status_code == 404
    assert reply.json() == {"code": 404, "message": "Could not resolve /definitely/not/here to a method."}


def test_jobs_stats_reaches_get_job_stats_on_the_real_server(stack: Any, media: Path) -> None:
    _server, envoy = stack
    batch_id = _finished_dry_run_batch(envoy, media)
    reply = httpx.get(f"{envoy.base_url}/jobs/stats", params={"batch_id": batch_id}, headers=KEY, timeout=10)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["counts"]["total"] == 2 and body["counts"]["completed"] == 2 and body["counts"]["failed"] == 0
    outcomes = body["outcomes"]
    assert (outcomes["total"], outcomes["skipped"], outcomes["track_changes"]) == (2, 2, 0)  # a dry run
    assert outcomes["success_rate"] == 1.0
    assert body["containers"] == [{"container": "CONTAINER_MKV", "stats": outcomes}]
    assert body["sources"] == [{"source": "SOURCE_MANUAL", "stats": outcomes}]
    assert body["reasons"] == [{"reason_code": "dry_run", "count": 2}]
    line = envoy.wait_for_access_log(lambda entry: entry["path"].split("?")[0] == "/jobs/stats")
    assert line["grpc_path"] == "/arrtheaudio.v1.StatsService/GetJobStats"

    # Enum names and an RFC 3339 timestamp in the query string; a filter matching nothing is zeros.
    later = httpx.get(
        f"{envoy.base_url}/jobs/stats",
        headers=KEY,
        timeout=10,
        params={"source": "SOURCE_MANUAL", "created_after": "2999-01-01T00:00:00Z"},
    ).json()
    assert later["counts"]["total"] == 0 and later["reasons"] == [] and later["outcomes"]["total"] == 0
    since_2020 = httpx.get(
        f"{envoy.base_url}/jobs/stats",
        headers=KEY,
        timeout=10,
        params={"container": "CONTAINER_MKV", "created_after": "2020-01-01T00:00:00Z"},
    ).json()
    assert since_2020["counts"]["total"] >= 2
    bad = httpx.get(f"{envoy.base_url}/jobs/stats", params={"batch_id": "a\\b"}, headers=KEY, timeout=10)
    assert bad.status_code == 400 and "batch_id" in bad.text


def test_get_job_stats_over_grpc_through_envoy_reaches_the_server(stack: Any, media: Path) -> None:
    _server, envoy = stack
    batch_id = _finished_dry_run_batch(envoy, media)
    with grpc.insecure_channel(envoy.grpc_target) as channel:
        stub = stats_service_pb2_grpc.StatsServiceStub(channel)
        reply = stub.GetJobStats(
            stats_service_pb2.GetJobStatsRequest(batch_id=batch_id),
            metadata=[("x-api-key", "test-key")],
            timeout=10,
        )
    assert (reply.counts.total, reply.counts.completed, reply.outcomes.skipped) == (2, 2, 2)
    assert [(r.reason_code, r.count) for r in reply.reasons] == [("dry_run", 2)]


def test_list_batches_by_status_through_envoy(stack: Any, media: Path) -> None:
    _server, envoy = stack
    batch_id = _finished_dry_run_batch(envoy, media)
    done = httpx.get(
        f"{envoy.base_url}/batch", params={"status": "BATCH_STATUS_COMPLETED"}, headers=KEY, timeout=10
    )
    assert done.status_code == 200, done.text
    assert batch_id in [b["batch_id"] for b in done.json()["batches"]]
    assert {b["status"] for b in done.json()["batches"]} == {"BATCH_STATUS_COMPLETED"}
    running = httpx.get(
        f"{envoy.base_url}/batch", params={"status": "BATCH_STATUS_RUNNING"}, headers=KEY, timeout=10
    ).json()
    assert running["batches"] == [] and running["total_size"] == 0


def test_grpcurl_lists_every_service_through_envoy(stack) -> None:
    _server, envoy = stack
    result = subprocess.run(
        [tool("grpcurl"), "-plaintext", envoy.grpc_target, "list"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    listed = result.stdout.split()
    assert set(API_SERVICES) <= set(listed)
    assert "grpc.health.v1.Health" in listed


def test_grpcurl_calls_get_health_through_envoy(stack) -> None:
    _server, envoy = stack
    result = subprocess.run(
        [tool("grpcurl"), "-plaintext", envoy.grpc_target, "arrtheaudio.v1.AdminService/GetHealth"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert '"status": "SERVING"' in result.stdout


def test_missing_api_key_is_a_json_401_through_envoy(stack) -> None:
    _server, envoy = stack
    reply = httpx.get(f"{envoy.base_url}/stats", timeout=10)
    assert reply.status_code == 401
    assert reply.json()["code"] == grpc.StatusCode.UNAUTHENTICATED.value[0]


def test_a_real_rpc_answers_json_with_numbers_and_snake_case(stack) -> None:
    _server, envoy = stack
    reply = httpx.get(f"{envoy.base_url}/queue", headers={"x-api-key": "test-key"}, timeout=10)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["counts"]["waiting_for_space"] == 0  # printed although default, as a JSON number
    assert body["workers"]["total"] >= 0 and isinstance(body["workers"]["total"], int)
    assert body["current_jobs"] == [] and body["next_jobs"] == []


def test_a_job_id_next_to_the_stats_literal_still_reaches_get_job(stack) -> None:
    _server, envoy = stack
    reply = httpx.get(f"{envoy.base_url}/jobs/stats-x", headers={"x-api-key": "test-key"}, timeout=10)
    line = envoy.wait_for_access_log(lambda entry: entry["path"] == "/jobs/stats-x")
    assert line["grpc_path"] == "/arrtheaudio.v1.JobService/GetJob"
    assert reply.status_code == 404
