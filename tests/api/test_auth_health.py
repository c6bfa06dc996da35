"""The API key on every RPC (x-api-key or Bearer), the open ones (health, reflection,
GetHealth), and grpc.health.v1 following the queue's storage (real PostgreSQL stopped)."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from grpc_health.v1 import health_pb2
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from arrtheaudio_proto.v1 import admin_service_pb2, batch_service_pb2, job_service_pb2, stats_service_pb2
from tests.api.conftest import API_KEY, Api, ApiFactory

KEYED_CALLS = [
    ("jobs", "ListJobs", job_service_pb2.ListJobsRequest()),
    ("jobs", "GetQueue", job_service_pb2.GetQueueRequest()),
    ("batches", "ListBatches", batch_service_pb2.ListBatchesRequest()),
    ("stats", "GetStats", stats_service_pb2.GetStatsRequest()),
    ("admin", "Cleanup", admin_service_pb2.CleanupRequest(older_than_days=365)),
]


@pytest.mark.parametrize(
    ("metadata", "allowed"),
    [
        ((), False),
        ((("x-api-key", "wrong"),), False),
        ((("authorization", "Bearer wrong"),), False),
        ((("authorization", f"Basic {API_KEY}"),), False),
        ((("x-api-key", API_KEY),), True),
        ((("authorization", f"Bearer {API_KEY}"),), True),
        ((("authorization", f"bearer {API_KEY}"),), True),
    ],
)
async def test_api_key_guards_every_rpc(api: Api, metadata: tuple, allowed: bool) -> None:
    for stub, method, request in KEYED_CALLS:
        call = getattr(getattr(api, stub), method)
        if allowed:
            await call(request, metadata=metadata)
            continue
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call(request, metadata=metadata)
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED, method


async def test_streams_need_the_key_too(api: Api) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for _ in api.jobs.WatchQueue(job_service_pb2.WatchQueueRequest()):
            pass
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_health_reflection_and_get_health_are_open(api: Api) -> None:
    for service in ("", "arrtheaudio.v1.JobService", "arrtheaudio.v1.WebhookService"):
        reply = await api.health.Check(health_pb2.HealthCheckRequest(service=service))
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
    assert (await api.admin.GetHealth(admin_service_pb2.GetHealthRequest())).status == "SERVING"

    stub = reflection_pb2_grpc.ServerReflectionStub(api.channel)
    names: list[str] = []
    async for reply in stub.ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")])
    ):
        names = [service.name for service in reply.list_services_response.service]
    assert {
        "arrtheaudio.v1.JobService",
        "arrtheaudio.v1.BatchService",
        "arrtheaudio.v1.WebhookService",
        "arrtheaudio.v1.StatsService",
        "arrtheaudio.v1.AdminService",
        "grpc.health.v1.Health",
    } <= set(names)


async def wait_health(api: Api, expected: int, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        reply = await api.health.Check(health_pb2.HealthCheckRequest(service="arrtheaudio.v1.JobService"))
        if reply.status == expected:
            return
        assert asyncio.get_running_loop().time() < deadline, f"health stayed {reply.status}"
        await asyncio.sleep(0.1)


@pytest.mark.postgres
async def test_health_follows_the_database(api_factory: ApiFactory, postgres_server, pg_url: str) -> None:
    api = await api_factory(storage={"url": pg_url}, health_interval_seconds=0.2)
    assert (await api.admin.GetHealth(admin_service_pb2.GetHealthRequest())).storage == "postgresql"
    await wait_health(api, health_pb2.HealthCheckResponse.SERVING)

    await asyncio.to_thread(postgres_server.stop)
    try:
        await wait_health(api, health_pb2.HealthCheckResponse.NOT_SERVING)
        assert (await api.admin.GetHealth(admin_service_pb2.GetHealthRequest())).status == "NOT_SERVING"
    finally:
        await asyncio.to_thread(postgres_server.ensure_running)
    await wait_health(api, health_pb2.HealthCheckResponse.SERVING)
    assert (await api.admin.GetHealth(admin_service_pb2.GetHealthRequest())).status == "SERVING"


async def test_shutdown_reports_not_serving(api_factory: ApiFactory) -> None:
    api = await api_factory()
    await api.running.runtime.monitor.stop()
    reply = await api.health.Check(health_pb2.HealthCheckRequest())
    assert reply.status == health_pb2.HealthCheckResponse.NOT_SERVING
    assert (await api.admin.GetHealth(admin_service_pb2.GetHealthRequest())).status == "NOT_SERVING"


async def test_one_failed_probe_is_not_an_outage() -> None:
    from grpc_health.v1 import health

    from arrtheaudio_server.api.health_monitor import HealthMonitor

    answers = iter([True, False, True, False, False, True])

    async def probe() -> bool:
        return next(answers)

    servicer = health.aio.HealthServicer()
    monitor = HealthMonitor(servicer, ["arrtheaudio.v1.JobService"], probe, failures_to_flip=2)
    seen = []
    for _ in range(6):
        await monitor.check_once()
        seen.append(monitor.serving)
    # A single failure keeps SERVING; two in a row flip; recovery is immediate.
    assert seen == [True, True, True, True, False, True]
