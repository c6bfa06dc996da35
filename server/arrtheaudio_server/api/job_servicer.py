"""JobService: single jobs, the queue view, and their watch streams."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc

from arrtheaudio_proto.v1 import common_pb2, job_service_pb2, job_service_pb2_grpc
from arrtheaudio_server.api import convert
from arrtheaudio_server.api.errors import ApiError, abort_expected, translates_errors
from arrtheaudio_server.api.validation import enum_value, order_by, page, require_id
from arrtheaudio_server.api.watch import WatchConfig, WatchSpec, watch_stream
from arrtheaudio_server.queue.domain import JobFilter, QueueError, QueueEvent
from arrtheaudio_server.queue.facade import QueueFacade
from arrtheaudio_server.queue.short_ids import IdKind

QueueState = tuple[common_pb2.JobCounts, common_pb2.WorkerCounts]


class JobServicer(job_service_pb2_grpc.JobServiceServicer):
    def __init__(self, queue: QueueFacade, watch: WatchConfig | None = None) -> None:
        self._queue = queue
        self._watch = watch or WatchConfig()

    async def _job_id(self, value: str) -> str:
        """The whole job id ``value`` (an id or a unique prefix) stands for."""
        return await self._queue.resolve_id("job", require_id(value, "job_id"), "job_id")

    async def _filter_id(self, kind: IdKind, value: str, field: str) -> str | None:
        """An id filter: empty means none; a unique prefix is resolved, an unknown one matches nothing."""
        if not value.strip():
            return None
        return await self._queue.resolve_id(kind, require_id(value, field), field, missing_ok=True)

    @translates_errors
    async def GetJob(
        self, request: job_service_pb2.GetJobRequest, context: grpc.aio.ServicerContext
    ) -> job_service_pb2.GetJobResponse:
        job = await self._queue.get_job(await self._job_id(request.job_id))
        return job_service_pb2.GetJobResponse(job=convert.job_to_pb(job))

    @translates_errors
    async def ListJobs(
        self, request: job_service_pb2.ListJobsRequest, context: grpc.aio.ServicerContext
    ) -> job_service_pb2.ListJobsResponse:
        limit, offset = page(request.limit, request.offset)
        job_filter = JobFilter(
            status=enum_value(request.status, convert.JOB_STATUS_FROM_PB, "status"),
            webhook_id=await self._filter_id("webhook", request.webhook_id, "webhook_id"),
            batch_id=await self._filter_id("batch", request.batch_id, "batch_id"),
            source=enum_value(request.source, convert.SOURCE_FROM_PB, "source"),
            container=enum_value(request.container, convert.CONTAINER_FROM_PB, "container"),
            limit=limit,
            offset=offset,
            order_by=order_by(request.order_by),
        )
        jobs, total = await self._queue.list_jobs(job_filter)
        return job_service_pb2.ListJobsResponse(
            jobs=[convert.job_to_pb(job) for job in jobs], total_size=total
        )

    @translates_errors
    async def CancelJob(
        self, request: job_service_pb2.CancelJobRequest, context: grpc.aio.ServicerContext
    ) -> job_service_pb2.CancelJobResponse:
        job = await self._queue.cancel_job(await self._job_id(request.job_id))
        return job_service_pb2.CancelJobResponse(job=convert.job_to_pb(job))

    @translates_errors
    async def RetryJob(
        self, request: job_service_pb2.RetryJobRequest, context: grpc.aio.ServicerContext
    ) -> job_service_pb2.RetryJobResponse:
        job = await self._queue.retry_job(await self._job_id(request.job_id))
        return job_service_pb2.RetryJobResponse(job=convert.job_to_pb(job))

    @translates_errors
    async def GetQueue(
        self, request: job_service_pb2.GetQueueRequest, context: grpc.aio.ServicerContext
    ) -> job_service_pb2.GetQueueResponse:
        next_limit, _ = page(request.next_limit, 0, default=10, limit_field="next_limit")
        snapshot = await self._queue.queue_snapshot(next_limit=next_limit)
        return job_service_pb2.GetQueueResponse(
            counts=convert.counts_to_pb(snapshot.counts),
            workers=convert.workers_to_pb(snapshot.workers_total, snapshot.workers_active),
            current_jobs=[convert.job_to_pb(job) for job in snapshot.current_jobs],
            next_jobs=[
                job_service_pb2.QueuedJob(position=index + 1, job=convert.job_to_pb(job))
                for index, job in enumerate(snapshot.next_jobs)
            ],
        )

    async def WatchJob(
        self, request: job_service_pb2.WatchJobRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[job_service_pb2.JobEvent]:
        try:
            job_id = await self._job_id(request.job_id)
        except (ApiError, QueueError) as exc:
            await abort_expected(context, exc)

        async def load() -> common_pb2.Job:
            return convert.job_to_pb(await self._queue.get_job(job_id))

        def from_event(event: QueueEvent) -> common_pb2.Job | None:
            if event.coalesced or event.job is None or event.job.job_id != job_id:
                return None
            return convert.job_to_pb(event.job)

        def make(
            seq: int, kind: int, state: common_pb2.Job, job: object, final: bool, error: object
        ) -> job_service_pb2.JobEvent:
            return job_service_pb2.JobEvent(sequence=seq, type=kind, job=state, final=final, error=error)

        spec = WatchSpec(load=load, is_final=_job_final, make_event=make, state_from_event=from_event)
        async for event in watch_stream(context, self._queue.subscribe(job_id=job_id), spec, self._watch):
            yield event

    async def WatchQueue(
        self, request: job_service_pb2.WatchQueueRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[job_service_pb2.QueueEvent]:
        async def load() -> QueueState:
            snapshot = await self._queue.queue_snapshot(next_limit=0)
            return (
                convert.counts_to_pb(snapshot.counts),
                convert.workers_to_pb(snapshot.workers_total, snapshot.workers_active),
            )

        def make(
            seq: int, kind: int, state: QueueState, job: common_pb2.Job | None, final: bool, error: object
        ) -> job_service_pb2.QueueEvent:
            counts, workers = state
            return job_service_pb2.QueueEvent(
                sequence=seq, type=kind, counts=counts, workers=workers, job=job, final=final, error=error
            )

        spec = WatchSpec(load=load, is_final=lambda _state: False, make_event=make)
        async for event in watch_stream(context, self._queue.subscribe(), spec, self._watch):
            yield event


def _job_final(job: common_pb2.Job) -> bool:
    return job.status in (
        common_pb2.JOB_STATUS_COMPLETED,
        common_pb2.JOB_STATUS_FAILED,
        common_pb2.JOB_STATUS_CANCELLED,
    )
