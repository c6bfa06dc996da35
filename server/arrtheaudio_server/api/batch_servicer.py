"""BatchService: library scans started by the CLI or the HTTP API.

The request is checked here (path inside the media roots and a directory, filters sane)
before the queue sees it; the queue scans in a thread, so a huge tree never stalls the
event loop or other RPCs.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc

from arrtheaudio_proto.v1 import batch_service_pb2, batch_service_pb2_grpc, common_pb2
from arrtheaudio_server.api import convert
from arrtheaudio_server.api.errors import (
    ApiError,
    FieldViolation,
    abort_expected,
    invalid_fields,
    path_error,
    translates_errors,
)
from arrtheaudio_server.api.validation import enum_value, page, require_id
from arrtheaudio_server.api.watch import WatchConfig, WatchSpec, watch_stream
from arrtheaudio_server.paths import PathPolicy, PathRejected
from arrtheaudio_server.queue.domain import BatchRequest, Priority, QueueError
from arrtheaudio_server.queue.facade import QueueFacade

MAX_PATTERN_LENGTH = 512
MAX_EXCLUDES = 100


def _check_glob(value: str, field: str, problems: list[FieldViolation], *, allow_slash: bool) -> None:
    if not value.strip():
        problems.append(FieldViolation(field, "must not be empty"))
    elif len(value) > MAX_PATTERN_LENGTH:
        problems.append(FieldViolation(field, f"longer than {MAX_PATTERN_LENGTH} characters"))
    elif "\x00" in value:
        problems.append(FieldViolation(field, "contains a NUL byte"))
    elif not allow_slash and "/" in value:
        problems.append(
            FieldViolation(field, "is matched against the file name only and must not contain '/'")
        )
    elif value.count("[") != value.count("]"):
        problems.append(FieldViolation(field, "has unbalanced brackets"))


class BatchServicer(batch_service_pb2_grpc.BatchServiceServicer):
    def __init__(self, queue: QueueFacade, paths: PathPolicy, watch: WatchConfig | None = None) -> None:
        self._queue = queue
        self._paths = paths
        self._watch = watch or WatchConfig()

    async def _request(self, request: batch_service_pb2.StartBatchRequest) -> BatchRequest:
        problems: list[FieldViolation] = []
        if request.pattern:
            _check_glob(request.pattern, "pattern", problems, allow_slash=False)
        if request.min_size_mb < 0:
            problems.append(FieldViolation("min_size_mb", "must not be negative"))
        if request.max_age_days < 0:
            problems.append(FieldViolation("max_age_days", "must not be negative"))
        if len(request.exclude_patterns) > MAX_EXCLUDES:
            problems.append(FieldViolation("exclude_patterns", f"at most {MAX_EXCLUDES} patterns"))
        for index, pattern in enumerate(request.exclude_patterns[:MAX_EXCLUDES]):
            _check_glob(pattern, f"exclude_patterns[{index}]", problems, allow_slash=True)
        priority: Any = None
        try:
            priority = enum_value(request.priority, convert.PRIORITY_FROM_PB, "priority")
        except ApiError as exc:
            problems.extend(exc.violations)
        if problems:
            raise invalid_fields(problems)
        try:
            # realpath/stat may block on a network share: not on the event loop.
            resolved = await asyncio.to_thread(self._paths.resolve, request.path.strip(), expect="dir")
        except PathRejected as exc:
            raise path_error(exc) from exc
        return BatchRequest(
            path=str(resolved),
            recursive=request.recursive if request.HasField("recursive") else True,
            pattern=request.pattern or None,
            dry_run=request.dry_run,
            priority=priority or Priority.NORMAL,
            min_size_mb=request.min_size_mb or None,
            max_age_days=request.max_age_days or None,
            exclude_patterns=tuple(request.exclude_patterns),
            force=request.force,
        )

    @translates_errors
    async def StartBatch(
        self, request: batch_service_pb2.StartBatchRequest, context: grpc.aio.ServicerContext
    ) -> batch_service_pb2.StartBatchResponse:
        if not request.path.strip():
            raise invalid_fields([FieldViolation("path", "is required")])
        info = await self._queue.start_batch(await self._request(request))
        mode = "dry run of " if info.request.dry_run else ""
        return batch_service_pb2.StartBatchResponse(
            batch_id=info.batch_id,
            estimated_files=info.estimated_files,
            status=convert.BATCH_STATUS_TO_PB[info.status],
            message=f"{mode}scanning {info.request.path} (about {info.estimated_files} files)",
        )

    async def _batch_id(self, value: str) -> str:
        """The whole batch id ``value`` (an id or a unique prefix) stands for."""
        return await self._queue.resolve_id("batch", require_id(value, "batch_id"), "batch_id")

    @translates_errors
    async def GetBatch(
        self, request: batch_service_pb2.GetBatchRequest, context: grpc.aio.ServicerContext
    ) -> batch_service_pb2.GetBatchResponse:
        limit, offset = page(request.limit, request.offset)
        batch_id = await self._batch_id(request.batch_id)
        info, jobs, total = await self._queue.get_batch(batch_id, limit=limit, offset=offset)
        return batch_service_pb2.GetBatchResponse(
            batch=convert.batch_to_pb(info), jobs=[convert.job_to_pb(job) for job in jobs], total_jobs=total
        )

    @translates_errors
    async def ListBatches(
        self, request: batch_service_pb2.ListBatchesRequest, context: grpc.aio.ServicerContext
    ) -> batch_service_pb2.ListBatchesResponse:
        limit, offset = page(request.limit, request.offset)
        status = enum_value(request.status, convert.BATCH_STATUS_FROM_PB, "status")
        batches, total = await self._queue.list_batches(limit=limit, offset=offset, status=status)
        return batch_service_pb2.ListBatchesResponse(
            batches=[convert.batch_to_pb(info) for info in batches], total_size=total
        )

    @translates_errors
    async def CancelBatch(
        self, request: batch_service_pb2.CancelBatchRequest, context: grpc.aio.ServicerContext
    ) -> batch_service_pb2.CancelBatchResponse:
        info, cancelled = await self._queue.cancel_batch(await self._batch_id(request.batch_id))
        return batch_service_pb2.CancelBatchResponse(
            batch=convert.batch_to_pb(info), cancelled_jobs=cancelled
        )

    @translates_errors
    async def RetryBatch(
        self, request: batch_service_pb2.RetryBatchRequest, context: grpc.aio.ServicerContext
    ) -> batch_service_pb2.RetryBatchResponse:
        info, result = await self._queue.retry_batch(await self._batch_id(request.batch_id))
        return batch_service_pb2.RetryBatchResponse(
            batch=convert.batch_to_pb(info), retried_jobs=len(result.jobs), skipped_jobs=result.skipped
        )

    @translates_errors
    async def ListSchedules(
        self, request: batch_service_pb2.ListSchedulesRequest, context: grpc.aio.ServicerContext
    ) -> batch_service_pb2.ListSchedulesResponse:
        schedules = await self._queue.list_schedules()
        return batch_service_pb2.ListSchedulesResponse(
            schedules=[convert.schedule_to_pb(s) for s in schedules]
        )

    async def WatchBatch(
        self, request: batch_service_pb2.WatchBatchRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[batch_service_pb2.BatchEvent]:
        try:
            batch_id = await self._batch_id(request.batch_id)
        except (ApiError, QueueError) as exc:
            await abort_expected(context, exc)

        async def load() -> batch_service_pb2.Batch:
            info, _jobs, _total = await self._queue.get_batch(batch_id, limit=1, offset=0)
            return convert.batch_to_pb(info)

        def make(
            seq: int,
            kind: int,
            state: batch_service_pb2.Batch,
            job: common_pb2.Job | None,
            final: bool,
            error: Any,
        ) -> batch_service_pb2.BatchEvent:
            return batch_service_pb2.BatchEvent(
                sequence=seq, type=kind, batch=state, job=job, final=final, error=error
            )

        spec = WatchSpec(load=load, is_final=_batch_final, make_event=make)
        async for event in watch_stream(context, self._queue.subscribe(batch_id=batch_id), spec, self._watch):
            yield event


def _batch_final(batch: batch_service_pb2.Batch) -> bool:
    return batch.status in (
        common_pb2.BATCH_STATUS_COMPLETED,
        common_pb2.BATCH_STATUS_CANCELLED,
        common_pb2.BATCH_STATUS_FAILED,
    )
