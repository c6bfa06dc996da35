"""The running parts of one server instance, built from Settings and wired together.

Kept apart from ``app.py`` so tests can build a full in-process server (storage, pipeline,
queue, workers, servicers) on a random port without going through the CLI.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import grpc
from grpc_health.v1 import health, health_pb2

from arrtheaudio_server.config import Settings


@dataclass
class Runtime:
    settings: Settings
    storage_kind: str = "none"
    _service_names: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    async def create(cls, settings: Settings) -> Runtime:
        kind = "postgresql" if settings.database_url.startswith("postgresql") else "sqlite"
        return cls(settings=settings, storage_kind=kind)

    def interceptors(self, api_key: str) -> Sequence[grpc.aio.ServerInterceptor]:
        return ()

    def register_services(self, server: grpc.aio.Server, api_key: str) -> tuple[str, ...]:
        self._service_names = ()
        return self._service_names

    async def start(self, health_servicer: health.aio.HealthServicer, service_names: Sequence[str]) -> None:
        await health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
        for name in service_names:
            await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)

    async def stop(self) -> None:
        return None

    async def close(self) -> None:
        return None
