"""AdminService's health answer; ``admin_servicer.AdminServicer`` extends it with Cleanup.

``GET /health`` through Envoy is transcoded to ``AdminService.GetHealth``, so a 200 there
proves the whole path (Envoy → descriptor → server) works, which a health check on Envoy
alone would not. The answer mirrors what ``grpc.health.v1`` says about the server.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from importlib import metadata
from typing import Any

import grpc

from arrtheaudio_proto.v1 import admin_service_pb2, admin_service_pb2_grpc

SERVING = "SERVING"
NOT_SERVING = "NOT_SERVING"


def package_version() -> str:
    try:
        return metadata.version("arrtheaudio")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a tree that was never installed
        return "0+unknown"


class AdminServicer(admin_service_pb2_grpc.AdminServiceServicer):
    """``is_serving`` is asked on every call, so shutdown shows up as NOT_SERVING at once.

    On its own it answers Cleanup with the generated base class's UNIMPLEMENTED.
    """

    def __init__(
        self,
        *,
        is_serving: Callable[[], bool],
        storage: str,
        version: str | None = None,
        details: Callable[[], Sequence[Any]] = tuple,
    ) -> None:
        self._is_serving = is_serving
        self._storage = storage
        self._version = version or package_version()
        # Optional parts (Arr connections) as admin_service_pb2.HealthDetail: reported, never
        # a reason for NOT_SERVING — a Sonarr that is down does not stop webhooks or jobs.
        self._details = details

    async def GetHealth(
        self, request: admin_service_pb2.GetHealthRequest, context: grpc.aio.ServicerContext
    ) -> admin_service_pb2.GetHealthResponse:
        return admin_service_pb2.GetHealthResponse(
            status=SERVING if self._is_serving() else NOT_SERVING,
            version=self._version,
            storage=self._storage,
            details=list(self._details()),
        )
