"""AdminService: the health answer (from ``health_http``), on-demand cleanup, Arr connection tests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

import grpc

from arrtheaudio_proto.v1 import admin_service_pb2, common_pb2
from arrtheaudio_server.api import convert
from arrtheaudio_server.api.errors import FieldViolation, invalid_fields, translates_errors
from arrtheaudio_server.api.health_http import AdminServicer as HealthAnswer
from arrtheaudio_server.metadata.arr_catalog import ConnectionStatus
from arrtheaudio_server.queue.domain import TERMINAL_STATUSES
from arrtheaudio_server.queue.facade import QueueFacade

MAX_DAYS = 36_500


class ArrConnections(Protocol):
    """What the servicer needs of ``metadata.arr_catalog.ArrCatalog``."""

    def statuses(self) -> list[ConnectionStatus]: ...

    def refresh(self) -> Awaitable[list[ConnectionStatus]]: ...


class AdminServicer(HealthAnswer):
    def __init__(
        self,
        queue: QueueFacade,
        *,
        is_serving: Callable[[], bool],
        storage: str,
        version: str | None = None,
        arr: ArrConnections | None = None,
    ) -> None:
        super().__init__(
            is_serving=is_serving, storage=storage, version=version, details=self._health_details
        )
        self._queue = queue
        self._arr = arr

    def _health_details(self) -> Sequence[admin_service_pb2.HealthDetail]:
        if self._arr is None:
            return ()
        return [convert.health_detail_to_pb(status) for status in self._arr.statuses()]

    @translates_errors
    async def TestArrConnections(
        self, request: admin_service_pb2.TestArrConnectionsRequest, context: grpc.aio.ServicerContext
    ) -> admin_service_pb2.TestArrConnectionsResponse:
        statuses = await self._arr.refresh() if self._arr is not None else []
        return admin_service_pb2.TestArrConnectionsResponse(
            connections=[convert.arr_connection_to_pb(status) for status in statuses]
        )

    @translates_errors
    async def Cleanup(
        self, request: admin_service_pb2.CleanupRequest, context: grpc.aio.ServicerContext
    ) -> admin_service_pb2.CleanupResponse:
        problems = []
        if request.older_than_days < 0 or request.older_than_days > MAX_DAYS:
            problems.append(FieldViolation("older_than_days", f"must be between 0 and {MAX_DAYS}"))
        statuses = []
        for index, value in enumerate(request.statuses):
            status = convert.JOB_STATUS_FROM_PB.get(value)
            if status is None or status not in TERMINAL_STATUSES:
                name = (
                    common_pb2.JobStatus.Name(value) if value in common_pb2.JobStatus.values() else str(value)
                )
                problems.append(
                    FieldViolation(
                        f"statuses[{index}]",
                        f"{name} is not a terminal status (COMPLETED, FAILED, CANCELLED)",
                    )
                )
            elif status not in statuses:
                statuses.append(status)
        if problems:
            raise invalid_fields(problems)
        result = await self._queue.cleanup(
            older_than_days=request.older_than_days or None, statuses=statuses or None
        )
        return admin_service_pb2.CleanupResponse(
            jobs_removed=result.jobs_removed,
            batches_removed=result.batches_removed,
            webhooks_removed=result.webhooks_removed,
        )
