"""The running parts of one server instance, built from Settings and wired together.

Kept apart from ``app.py`` so tests can build a full in-process server (storage, pipeline,
queue, workers, servicers) on a random port without going through the CLI.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import grpc
from grpc_health.v1 import health, health_pb2

from arrtheaudio.v1 import (
    admin_service_pb2,
    admin_service_pb2_grpc,
    batch_service_pb2,
    job_service_pb2,
    stats_service_pb2,
    webhook_service_pb2,
)
from arrtheaudio_server.api.health_http import AdminServicer
from arrtheaudio_server.config import Settings

# Every service of the contract, for reflection and grpc.health.v1 (even before its
# servicer exists: an unregistered one answers UNIMPLEMENTED, which is still discoverable).
API_SERVICE_NAMES: tuple[str, ...] = tuple(
    module.DESCRIPTOR.services_by_name[name].full_name
    for module, name in (
        (job_service_pb2, "JobService"),
        (batch_service_pb2, "BatchService"),
        (webhook_service_pb2, "WebhookService"),
        (stats_service_pb2, "StatsService"),
        (admin_service_pb2, "AdminService"),
    )
)


@dataclass
class Runtime:
    settings: Settings
    storage_kind: str = "none"
    serving: bool = False
    _service_names: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    async def create(cls, settings: Settings) -> Runtime:
        kind = "postgresql" if settings.database_url.startswith("postgresql") else "sqlite"
        return cls(settings=settings, storage_kind=kind)

    def interceptors(self, api_key: str) -> Sequence[grpc.aio.ServerInterceptor]:
        return ()

    def register_services(self, server: grpc.aio.Server, api_key: str) -> tuple[str, ...]:
        admin_service_pb2_grpc.add_AdminServiceServicer_to_server(
            AdminServicer(is_serving=lambda: self.serving, storage=self.storage_kind), server
        )
        self._service_names = API_SERVICE_NAMES
        return self._service_names

    async def start(self, health_servicer: health.aio.HealthServicer, service_names: Sequence[str]) -> None:
        await health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
        for name in service_names:
            await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
        self.serving = True

    async def stop(self) -> None:
        self.serving = False
        return None

    async def close(self) -> None:
        return None
