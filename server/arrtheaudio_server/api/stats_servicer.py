"""StatsService: counters computed by the database (the queue's ``stats`` / ``job_stats``), translated."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import grpc

from arrtheaudio_proto.v1 import stats_service_pb2, stats_service_pb2_grpc
from arrtheaudio_server.api import convert
from arrtheaudio_server.api.errors import ApiError, FieldViolation, invalid, invalid_fields, translates_errors
from arrtheaudio_server.api.validation import enum_value, instant, optional_id
from arrtheaudio_server.queue.facade import QueueFacade

T = TypeVar("T")


MAX_DAILY_DAYS = 366


class StatsServicer(stats_service_pb2_grpc.StatsServiceServicer):
    def __init__(self, queue: QueueFacade, *, history_days: int = 30) -> None:
        self._queue = queue
        # GetDailyStats' default window: as far back as finished jobs are kept.
        self._history_days = history_days

    @translates_errors
    async def GetStats(
        self, request: stats_service_pb2.GetStatsRequest, context: grpc.aio.ServicerContext
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
    async def GetDailyStats(
        self, request: stats_service_pb2.GetDailyStatsRequest, context: grpc.aio.ServicerContext
    ) -> stats_service_pb2.GetDailyStatsResponse:
        if not 0 <= request.days <= MAX_DAILY_DAYS:
            raise invalid("days", f"must be between 0 and {MAX_DAILY_DAYS} (0 means the retention window)")
        days = request.days or min(self._history_days, MAX_DAILY_DAYS)
        series = await self._queue.daily_counts(days)
        return stats_service_pb2.GetDailyStatsResponse(days=[convert.daily_to_pb(item) for item in series])

    @translates_errors
    async def GetJobStats(
        self, request: stats_service_pb2.GetJobStatsRequest, context: grpc.aio.ServicerContext
    ) -> stats_service_pb2.GetJobStatsResponse:
        """Figures over the jobs matching every given filter; an id that matches nothing gives zeros
        (a filter, like ListJobs', not a lookup)."""
        problems: list[FieldViolation] = []

        def checked(check: Callable[[], T]) -> T | None:
            try:
                return check()
            except ApiError as exc:
                problems.extend(exc.violations)
                return None

        batch_id = checked(lambda: optional_id(request.batch_id, "batch_id"))
        webhook_id = checked(lambda: optional_id(request.webhook_id, "webhook_id"))
        source = checked(lambda: enum_value(request.source, convert.SOURCE_FROM_PB, "source"))
        container = checked(lambda: enum_value(request.container, convert.CONTAINER_FROM_PB, "container"))
        created_after = (
            checked(lambda: instant(request.created_after, "created_after"))
            if request.HasField("created_after")
            else None
        )
        if problems:
            raise invalid_fields(problems)
        stats = await self._queue.job_stats(
            batch_id=batch_id,
            webhook_id=webhook_id,
            source=source,
            container=container,
            created_after=created_after,
        )
        return convert.job_stats_to_pb(stats)
