"""API tests: a real grpc.aio server in this process, over the real QueueManager on SQLite
(in tmp_path) and the real media pipeline on real generated files.

pytest-grpc is not used here: its fixtures build a *sync* ``grpc.server``, which cannot host
``grpc.aio`` servicers; these tests run the same ``app.start_server`` the CLI runs, on port 0,
with pytest-asyncio.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.api import httpbody_pb2
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2_grpc
from grpc_status import rpc_status

from arrtheaudio_proto.v1 import (
    admin_service_pb2_grpc,
    batch_service_pb2_grpc,
    job_service_pb2,
    job_service_pb2_grpc,
    stats_service_pb2_grpc,
    webhook_service_pb2,
    webhook_service_pb2_grpc,
)
from arrtheaudio_server.api.watch import WatchConfig
from arrtheaudio_server.app import RunningServer, start_server
from arrtheaudio_server.config import Settings
from tests.support.arr_library import ArrLibrary, make_library
from tests.support.media_files import tools_available

if not tools_available():  # pragma: no cover - the dev and CI images have them
    pytest.skip("ffmpeg/mkvtoolnix not installed", allow_module_level=True)

API_KEY = "api-test-key-0123456789"
AUTH = (("x-api-key", API_KEY),)

FAST_PROCESSING = {
    "worker_count": 1,
    "lease_seconds": 5.0,
    "heartbeat_seconds": 0.5,
    "poll_interval_seconds": 0.05,
    "recovery_interval_seconds": 1.0,
    "retry_delay_seconds": 0.0,
    "shutdown_grace_seconds": 2.0,
}


@pytest.fixture(scope="session")
def library_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture-named files, generated once; each test gets its own copy."""
    root = tmp_path_factory.mktemp("arr-library") / "media"
    make_library(root, episodes=3, movie=True, movie_mp4=True)
    return root


@pytest.fixture
def library(tmp_path: Path, library_template: Path) -> ArrLibrary:
    root = tmp_path / "media"
    shutil.copytree(library_template, root)
    return ArrLibrary(root=root)


def make_settings(tmp_path: Path, library: ArrLibrary, **overrides: Any) -> Settings:
    processing = {**FAST_PROCESSING, **overrides.pop("processing", {})}
    values: dict[str, Any] = {
        "config_dir": tmp_path / "config",
        "media_roots": [library.root],
        "path_mappings": library.mappings(),
        "api": {"api_key": API_KEY},
        "server": {"host": "127.0.0.1", "port": 0},
        "processing": processing,
        "logging": {"format": "text", "level": "WARNING"},
    }
    values.update(overrides)
    return Settings(**values)


@dataclass
class Api:
    running: RunningServer
    channel: grpc.aio.Channel
    library: ArrLibrary

    @property
    def jobs(self) -> job_service_pb2_grpc.JobServiceStub:
        return job_service_pb2_grpc.JobServiceStub(self.channel)

    @property
    def batches(self) -> batch_service_pb2_grpc.BatchServiceStub:
        return batch_service_pb2_grpc.BatchServiceStub(self.channel)

    @property
    def webhooks(self) -> webhook_service_pb2_grpc.WebhookServiceStub:
        return webhook_service_pb2_grpc.WebhookServiceStub(self.channel)

    @property
    def stats(self) -> stats_service_pb2_grpc.StatsServiceStub:
        return stats_service_pb2_grpc.StatsServiceStub(self.channel)

    @property
    def admin(self) -> admin_service_pb2_grpc.AdminServiceStub:
        return admin_service_pb2_grpc.AdminServiceStub(self.channel)

    @property
    def health(self) -> health_pb2_grpc.HealthStub:
        return health_pb2_grpc.HealthStub(self.channel)

    async def sonarr(
        self, body: bytes, *, token: str = API_KEY, metadata: Any = None
    ) -> webhook_service_pb2.SonarrWebhookResponse:
        request = webhook_service_pb2.SonarrWebhookRequest(
            body=httpbody_pb2.HttpBody(content_type="application/json", data=body), token=token
        )
        return await self.webhooks.SonarrWebhook(request, metadata=metadata)

    async def radarr(
        self, body: bytes, *, token: str = API_KEY, metadata: Any = None
    ) -> webhook_service_pb2.RadarrWebhookResponse:
        request = webhook_service_pb2.RadarrWebhookRequest(
            body=httpbody_pb2.HttpBody(content_type="application/json", data=body), token=token
        )
        return await self.webhooks.RadarrWebhook(request, metadata=metadata)

    async def wait_job(self, job_id: str) -> Any:
        """Follow the job's watch stream to its final event; returns the terminal job."""
        last = None
        async for event in self.jobs.WatchJob(
            job_service_pb2.WatchJobRequest(job_id=job_id), metadata=AUTH, timeout=60
        ):
            last = event
        assert last is not None and last.final
        return last.job


ApiFactory = Callable[..., Awaitable[Api]]


@pytest.fixture
async def api_factory(tmp_path: Path, library: ArrLibrary) -> AsyncIterator[ApiFactory]:
    """Starts servers with settings overrides; all are stopped at the end of the test."""
    started: list[Api] = []

    async def start(
        *, watch: WatchConfig | None = None, health_interval_seconds: float = 5.0, **overrides: Any
    ) -> Api:
        settings = make_settings(tmp_path / f"server{len(started)}", library, **overrides)
        running = await start_server(
            settings,
            watch=watch or WatchConfig(heartbeat_seconds=0.5, min_refresh_seconds=0.05),
            health_interval_seconds=health_interval_seconds,
        )
        api = Api(running=running, channel=grpc.aio.insecure_channel(running.target), library=library)
        started.append(api)
        return api

    yield start
    for api in reversed(started):
        await api.channel.close()
        await api.running.stop(grace=1)


@pytest.fixture
async def api(api_factory: ApiFactory) -> Api:
    return await api_factory()


def rich_details(error: grpc.aio.AioRpcError) -> list[Any]:
    """The google.rpc details of a failed call (BadRequest, ResourceInfo, ...), unpacked."""
    status = rpc_status.from_call(error)
    if status is None:
        return []
    unpacked = []
    for detail in status.details:
        for kind in (error_details_pb2.BadRequest, error_details_pb2.ResourceInfo):
            if detail.Is(kind.DESCRIPTOR):
                message = kind()
                detail.Unpack(message)
                unpacked.append(message)
    return unpacked


def violations(error: grpc.aio.AioRpcError) -> dict[str, str]:
    """field → description of every BadRequest field violation of a failed call."""
    out: dict[str, str] = {}
    for detail in rich_details(error):
        if isinstance(detail, error_details_pb2.BadRequest):
            out.update({v.field: v.description for v in detail.field_violations})
    return out
