"""StatsService: counters computed by the database (the queue's ``stats``), translated."""

from __future__ import annotations

import grpc
from arrtheaudio.v1 import stats_service_pb2, stats_service_pb2_grpc

from arrtheaudio_server.api import convert
from arrtheaudio_server.api.errors import ApiError, translates_errors
from arrtheaudio_server.queue.facade import QueueFacade


class StatsServicer(stats_service_pb2_grpc.StatsServiceServicer):
    def __init__(self, queue: QueueFacade) -> None:
        self._queue = queue

    @translates_errors
    async def GetStats(self, request: stats_service_pb2.GetStatsRequest, context: grpc.aio.ServicerContext
                       ) -> stats_service_pb2.GetStatsResponse:
        stats = await self._queue.stats()
        return stats_service_pb2.GetStatsResponse(
            queue=convert.counts_to_pb(stats.queue),
            workers=convert.workers_to_pb(stats.workers_total, stats.workers_active),
            today=convert.period_to_pb(stats.today),
            lifetime=convert.period_to_pb(stats.lifetime),
            containers=convert.container_stats_to_pb(stats.per_container),
            sources=convert.source_stats_to_pb(stats.per_source),
        )

    @translates_errors
    async def GetJobStats(self, request: stats_service_pb2.GetJobStatsRequest, context: grpc.aio.ServicerContext
                          ) -> stats_service_pb2.GetJobStatsResponse:
        # The queue facade has no filtered statistics query yet; computing them here would
        # mean loading jobs into Python, which the design rules out.
        raise ApiError(grpc.StatusCode.UNIMPLEMENTED, "GetJobStats is not available yet; use GetStats")
