"""The other side of the wire for the client's own tests: an in-memory ArrTheAudio.

It is NOT the server (that lives in ``server/`` and is tested there, and against the client
in ``test_real_server.py``). It holds a few jobs/batches/webhooks, answers from them
honouring filters and paging, checks what the client sends (API key metadata, request
fields, limits), and fails with the statuses and ``google.rpc.BadRequest`` details the
contract documents. One backend, wrapped as a sync servicer (for pytest-grpc) and as a
``grpc.aio`` servicer (pytest-grpc cannot host those).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from arrtheaudio_proto.v1 import (
    admin_service_pb2,
    admin_service_pb2_grpc,
    batch_service_pb2,
    batch_service_pb2_grpc,
    common_pb2,
    job_service_pb2,
    job_service_pb2_grpc,
    stats_service_pb2,
    stats_service_pb2_grpc,
    webhook_service_pb2,
    webhook_service_pb2_grpc,
)

API_KEY = "canned-key"
OPEN_METHODS = {"GetHealth", "SonarrWebhook", "RadarrWebhook"}


class Refused(Exception):
    def __init__(self, code: int, message: str, violations: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status_pb2.Status(code=code, message=message)
        if violations:
            detail = any_pb2.Any()
            detail.Pack(
                error_details_pb2.BadRequest(
                    field_violations=[
                        error_details_pb2.BadRequest.FieldViolation(field=f, description=d)
                        for f, d in violations.items()
                    ]
                )
            )
            self.status.details.append(detail)


def _job(n: int, **fields: Any) -> common_pb2.Job:
    job = common_pb2.Job(
        job_id=f"job-{n}",
        file_path=f"/media/tv/Show/S01E{n:02d}.mkv",
        status=common_pb2.JOB_STATUS_COMPLETED,
        priority=common_pb2.PRIORITY_NORMAL,
        container=common_pb2.CONTAINER_MKV,
        source=common_pb2.SOURCE_MANUAL,
        result=common_pb2.JOB_RESULT_SUCCESS,
        reason_code="changed",
        duration_ms=100 * n,
        track_changed=True,
        language="jpn",
    )
    job.created_at.FromSeconds(1_700_000_000 + n)
    job.write_method = common_pb2.WRITE_METHOD_MKVPROPEDIT
    job.audio_tracks.add(
        index=0, language="eng", title="English", codec="AAC", channels=2, default_before=True
    )
    job.audio_tracks.add(
        index=1,
        language="jpn",
        codec="E-AC-3",
        channels=6,
        original=True,
        hearing_impaired=True,
        default_after=True,
    )
    for key, value in fields.items():
        setattr(job, key, value)
    return job


def _error_event(event_type: Any, code: int, message: str, **fields: Any) -> Any:
    return event_type(
        sequence=2,
        type=common_pb2.EVENT_TYPE_ERROR,
        final=True,
        error=status_pb2.Status(code=code, message=message),
        **fields,
    )


class CannedBackend:
    """Jobs job-1..job-7 (1-3 in batch-1, 4-5 from webhook wh-1, 6 failed, 7 queued)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.jobs: dict[str, common_pb2.Job] = {}
        for n in range(1, 8):
            fields: dict[str, Any] = {}
            if n <= 3:
                fields["batch_id"] = "batch-1"
            if n in (4, 5):
                fields.update(
                    webhook_id="wh-1", source=common_pb2.SOURCE_SONARR, priority=common_pb2.PRIORITY_HIGH
                )
            if n == 5:
                fields["container"] = common_pb2.CONTAINER_MP4
            if n == 6:
                fields.update(
                    status=common_pb2.JOB_STATUS_FAILED,
                    result=common_pb2.JOB_RESULT_FAILED,
                    reason_code="corrupt",
                    track_changed=False,
                )
            if n == 7:
                fields.update(
                    status=common_pb2.JOB_STATUS_QUEUED,
                    result=common_pb2.JOB_RESULT_UNSPECIFIED,
                    reason_code="",
                    track_changed=False,
                    duration_ms=0,
                )
            self.jobs[f"job-{n}"] = _job(n, **fields)
        self.batches: dict[str, batch_service_pb2.Batch] = {
            f"batch-{n}": batch_service_pb2.Batch(
                batch_id=f"batch-{n}",
                status=common_pb2.BATCH_STATUS_COMPLETED,
                path=f"/media/tv/Show{n}",
                recursive=True,
                progress=batch_service_pb2.BatchProgress(total=3, completed=3, percent=100.0),
                results=common_pb2.ResultCounts(success=3, track_changes=3),
            )
            for n in range(1, 6)
        }
        self.active_paths: set[str] = set()
        self.requests: list[tuple[str, Any, dict[str, str]]] = []

    # -- helpers ---------------------------------------------------------------------------

    @staticmethod
    def _page(limit: int, offset: int) -> tuple[int, int]:
        violations = {}
        if limit < 0 or limit > 100:
            violations["limit"] = "must be between 0 and 100"
        if offset < 0:
            violations["offset"] = "must not be negative"
        if violations:
            raise Refused(code_pb2.INVALID_ARGUMENT, "invalid paging", violations)
        return (limit or 50), offset

    def _found_job(self, job_id: str) -> common_pb2.Job:
        if job_id not in self.jobs:
            raise Refused(code_pb2.NOT_FOUND, f"job {job_id} not found")
        return self.jobs[job_id]

    def _found_batch(self, batch_id: str) -> batch_service_pb2.Batch:
        if batch_id not in self.batches:
            raise Refused(code_pb2.NOT_FOUND, f"batch {batch_id} not found")
        return self.batches[batch_id]

    def check_auth(self, method: str, metadata: dict[str, str]) -> None:
        if method in OPEN_METHODS:
            return
        if metadata.get("x-api-key") != API_KEY:
            raise Refused(code_pb2.UNAUTHENTICATED, "missing or invalid API key")

    def answer(self, method: str, request: Any, metadata: dict[str, str]) -> Any:
        """Authenticate and record one call, then answer it (a stream's answer is a generator)."""
        self.check_auth(method, metadata)
        self.requests.append((method, request, metadata))
        return getattr(self, method)(request, metadata)

    # -- AdminService ----------------------------------------------------------------------

    def GetHealth(self, request: admin_service_pb2.GetHealthRequest, md: dict[str, str]) -> Any:
        return admin_service_pb2.GetHealthResponse(status="SERVING", version="0.1.0", storage="sqlite")

    def Cleanup(self, request: admin_service_pb2.CleanupRequest, md: dict[str, str]) -> Any:
        active = {
            common_pb2.JOB_STATUS_QUEUED,
            common_pb2.JOB_STATUS_RUNNING,
            common_pb2.JOB_STATUS_WAITING_FOR_SPACE,
        }
        if any(status in active for status in request.statuses):
            raise Refused(
                code_pb2.INVALID_ARGUMENT,
                "active statuses cannot be cleaned up",
                {"statuses": "only terminal statuses"},
            )
        # Echo what was asked so tests can check the client sent it.
        return admin_service_pb2.CleanupResponse(
            jobs_removed=request.older_than_days, batches_removed=len(request.statuses), webhooks_removed=0
        )

    # -- JobService ------------------------------------------------------------------------

    def GetJob(self, request: job_service_pb2.GetJobRequest, md: dict[str, str]) -> Any:
        return job_service_pb2.GetJobResponse(job=self._found_job(request.job_id))

    def ListJobs(self, request: job_service_pb2.ListJobsRequest, md: dict[str, str]) -> Any:
        limit, offset = self._page(request.limit, request.offset)
        if request.order_by not in ("", "created_at desc", "created_at asc", "duration_ms desc"):
            raise Refused(
                code_pb2.INVALID_ARGUMENT, "bad order_by", {"order_by": f"unknown order {request.order_by!r}"}
            )
        matches = [
            job
            for job in self.jobs.values()
            if (not request.status or job.status == request.status)
            and (not request.batch_id or job.batch_id == request.batch_id)
            and (not request.webhook_id or job.webhook_id == request.webhook_id)
            and (not request.source or job.source == request.source)
            and (not request.container or job.container == request.container)
        ]
        field, _, direction = (request.order_by or "created_at desc").partition(" ")
        matches.sort(
            key=lambda job: getattr(job, field).ToSeconds() if field == "created_at" else getattr(job, field),
            reverse=direction != "asc",
        )
        return job_service_pb2.ListJobsResponse(
            jobs=matches[offset : offset + limit], total_size=len(matches)
        )

    def CancelJob(self, request: job_service_pb2.CancelJobRequest, md: dict[str, str]) -> Any:
        with self.lock:
            job = self._found_job(request.job_id)
            if job.status not in (common_pb2.JOB_STATUS_QUEUED, common_pb2.JOB_STATUS_RUNNING):
                raise Refused(code_pb2.FAILED_PRECONDITION, f"job {job.job_id} already finished")
            job.status = common_pb2.JOB_STATUS_CANCELLED
            job.reason_code = "cancelled"
            return job_service_pb2.CancelJobResponse(job=job)

    def GetQueue(self, request: job_service_pb2.GetQueueRequest, md: dict[str, str]) -> Any:
        if request.next_limit > 100:
            raise Refused(code_pb2.INVALID_ARGUMENT, "next_limit too large", {"next_limit": "at most 100"})
        queued = [job for job in self.jobs.values() if job.status == common_pb2.JOB_STATUS_QUEUED]
        running = _job(
            9,
            status=common_pb2.JOB_STATUS_RUNNING,
            worker_id="inst/1",
            result=common_pb2.JOB_RESULT_UNSPECIFIED,
        )
        return job_service_pb2.GetQueueResponse(
            counts=common_pb2.JobCounts(total=8, queued=len(queued), running=1, completed=5, failed=1),
            workers=common_pb2.WorkerCounts(total=2, active=1, idle=1),
            current_jobs=[running],
            next_jobs=[
                job_service_pb2.QueuedJob(position=i + 1, job=j)
                for i, j in enumerate(queued[: request.next_limit or 10])
            ],
        )

    def WatchJob(self, request: job_service_pb2.WatchJobRequest, md: dict[str, str]) -> Iterator[Any]:
        Event = job_service_pb2.JobEvent
        if request.job_id == "job-broken":
            yield Event(
                sequence=1,
                type=common_pb2.EVENT_TYPE_SNAPSHOT,
                job=_job(8, status=common_pb2.JOB_STATUS_RUNNING),
            )
            yield _error_event(Event, code_pb2.INTERNAL, "storage went away")
            return
        if request.job_id == "job-truncated":
            yield Event(
                sequence=1,
                type=common_pb2.EVENT_TYPE_SNAPSHOT,
                job=_job(8, status=common_pb2.JOB_STATUS_RUNNING),
            )
            return
        job = self._found_job(request.job_id)
        states = [
            common_pb2.JOB_STATUS_QUEUED,
            common_pb2.JOB_STATUS_RUNNING,
            common_pb2.JOB_STATUS_COMPLETED,
        ]
        yield Event(
            sequence=1, type=common_pb2.EVENT_TYPE_SNAPSHOT, job=_job(1, job_id=job.job_id, status=states[0])
        )
        yield Event(sequence=2, type=common_pb2.EVENT_TYPE_HEARTBEAT)
        yield Event(
            sequence=3, type=common_pb2.EVENT_TYPE_UPDATE, job=_job(1, job_id=job.job_id, status=states[1])
        )
        yield Event(sequence=4, type=common_pb2.EVENT_TYPE_UPDATE, final=True, job=job)
        # Anything after the final event must never reach the caller.
        yield Event(sequence=5, type=common_pb2.EVENT_TYPE_UPDATE, job=_job(99))

    def WatchQueue(self, request: job_service_pb2.WatchQueueRequest, md: dict[str, str]) -> Iterator[Any]:
        for n in range(1, 1000):
            yield job_service_pb2.QueueEvent(
                sequence=n,
                type=common_pb2.EVENT_TYPE_SNAPSHOT if n == 1 else common_pb2.EVENT_TYPE_UPDATE,
                counts=common_pb2.JobCounts(total=8, queued=n),
                workers=common_pb2.WorkerCounts(total=2),
            )
            time.sleep(0.01)

    # -- BatchService ----------------------------------------------------------------------

    def StartBatch(self, request: batch_service_pb2.StartBatchRequest, md: dict[str, str]) -> Any:
        violations = {}
        if not request.path.startswith("/"):
            violations["path"] = "must be absolute"
        if request.min_size_mb < 0:
            violations["min_size_mb"] = "must not be negative"
        if violations:
            raise Refused(code_pb2.INVALID_ARGUMENT, "invalid batch request", violations)
        if not request.path.startswith("/media"):
            raise Refused(code_pb2.PERMISSION_DENIED, f"{request.path} is outside the media roots")
        if request.path == "/media/full":
            raise Refused(code_pb2.UNAVAILABLE, "queue is full")
        with self.lock:
            if request.path in self.active_paths:
                raise Refused(code_pb2.ALREADY_EXISTS, f"a batch is already running for {request.path}")
            self.active_paths.add(request.path)
            batch_id = f"batch-{len(self.batches) + 1}"
            self.batches[batch_id] = batch_service_pb2.Batch(
                batch_id=batch_id,
                status=common_pb2.BATCH_STATUS_SCANNING,
                path=request.path,
                recursive=request.recursive if request.HasField("recursive") else True,
                pattern=request.pattern,
                dry_run=request.dry_run,
                priority=request.priority or common_pb2.PRIORITY_NORMAL,
                min_size_mb=request.min_size_mb,
                max_age_days=request.max_age_days,
                exclude_patterns=request.exclude_patterns,
                estimated_files=3,
            )
        return batch_service_pb2.StartBatchResponse(
            batch_id=batch_id,
            estimated_files=3,
            status=common_pb2.BATCH_STATUS_SCANNING,
            message=f"scanning {request.path} (about 3 files)",
        )

    def GetBatch(self, request: batch_service_pb2.GetBatchRequest, md: dict[str, str]) -> Any:
        batch = self._found_batch(request.batch_id)
        limit, offset = self._page(request.limit, request.offset)
        jobs = [job for job in self.jobs.values() if job.batch_id == batch.batch_id]
        return batch_service_pb2.GetBatchResponse(
            batch=batch, jobs=jobs[offset : offset + limit], total_jobs=len(jobs)
        )

    def ListBatches(self, request: batch_service_pb2.ListBatchesRequest, md: dict[str, str]) -> Any:
        limit, offset = self._page(request.limit, request.offset)
        matches = [
            b for b in reversed(self.batches.values()) if not request.status or b.status == request.status
        ]
        return batch_service_pb2.ListBatchesResponse(
            batches=matches[offset : offset + limit], total_size=len(matches)
        )

    def CancelBatch(self, request: batch_service_pb2.CancelBatchRequest, md: dict[str, str]) -> Any:
        with self.lock:
            batch = self._found_batch(request.batch_id)
            batch.status = common_pb2.BATCH_STATUS_CANCELLED
            self.active_paths.discard(batch.path)
            return batch_service_pb2.CancelBatchResponse(batch=batch, cancelled_jobs=2)

    def WatchBatch(self, request: batch_service_pb2.WatchBatchRequest, md: dict[str, str]) -> Iterator[Any]:
        Event = batch_service_pb2.BatchEvent
        if request.batch_id == "batch-broken":
            yield Event(
                sequence=1,
                type=common_pb2.EVENT_TYPE_SNAPSHOT,
                batch=batch_service_pb2.Batch(
                    batch_id="batch-broken", status=common_pb2.BATCH_STATUS_RUNNING
                ),
            )
            yield _error_event(Event, code_pb2.UNAVAILABLE, "server shutting down")
            return
        batch = self._found_batch(request.batch_id)
        steps = [
            (common_pb2.BATCH_STATUS_SCANNING, 0, 0.0),
            (common_pb2.BATCH_STATUS_RUNNING, 1, 4.0),
            (common_pb2.BATCH_STATUS_RUNNING, 2, 2.0),
            (common_pb2.BATCH_STATUS_COMPLETED, 3, 0.0),
        ]
        for n, (status, done, eta) in enumerate(steps, start=1):
            snapshot = batch_service_pb2.Batch()
            snapshot.CopyFrom(batch)
            snapshot.status = status
            snapshot.progress.CopyFrom(
                batch_service_pb2.BatchProgress(
                    total=3, completed=done, queued=3 - done, percent=100.0 * done / 3, eta_seconds=eta
                )
            )
            snapshot.results.CopyFrom(common_pb2.ResultCounts(success=done, track_changes=done))
            yield Event(
                sequence=n,
                type=common_pb2.EVENT_TYPE_SNAPSHOT if n == 1 else common_pb2.EVENT_TYPE_UPDATE,
                batch=snapshot,
                final=status == common_pb2.BATCH_STATUS_COMPLETED,
                job=self.jobs["job-1"] if n > 1 else None,
            )

    # -- StatsService ----------------------------------------------------------------------

    def GetStats(self, request: stats_service_pb2.GetStatsRequest, md: dict[str, str]) -> Any:
        done = [j for j in self.jobs.values() if j.result]
        success = sum(1 for j in done if j.result == common_pb2.JOB_RESULT_SUCCESS)
        outcome = common_pb2.OutcomeStats(
            total=len(done),
            success=success,
            failed=len(done) - success,
            success_rate=success / len(done),
            avg_duration_ms=sum(j.duration_ms for j in done) / len(done),
            track_changes=sum(1 for j in done if j.track_changed),
        )
        return stats_service_pb2.GetStatsResponse(
            queue=common_pb2.JobCounts(total=len(self.jobs), queued=1, completed=5, failed=1),
            workers=common_pb2.WorkerCounts(total=2, idle=2),
            today=outcome,
            lifetime=outcome,
            containers=[stats_service_pb2.ContainerStats(container=common_pb2.CONTAINER_MKV, stats=outcome)],
            sources=[stats_service_pb2.SourceStats(source=common_pb2.SOURCE_MANUAL, stats=outcome)],
        )

    def GetJobStats(self, request: stats_service_pb2.GetJobStatsRequest, md: dict[str, str]) -> Any:
        matches = [
            j
            for j in self.jobs.values()
            if (not request.batch_id or j.batch_id == request.batch_id)
            and (
                not request.HasField("created_after")
                or j.created_at.ToSeconds() >= request.created_after.ToSeconds()
            )
        ]
        return stats_service_pb2.GetJobStatsResponse(
            counts=common_pb2.JobCounts(total=len(matches)),
            reasons=[stats_service_pb2.ReasonCount(reason_code="changed", count=len(matches))],
        )

    # -- WebhookService --------------------------------------------------------------------

    def _webhook(self, request: Any, md: dict[str, str], response_type: Any, source: int) -> Any:
        if API_KEY not in (request.token, request.apikey, md.get("x-api-key")):
            raise Refused(code_pb2.UNAUTHENTICATED, "webhook credentials missing or wrong")
        if request.body.content_type != "application/json":
            raise Refused(
                code_pb2.INVALID_ARGUMENT,
                "body must be JSON",
                {"body.content_type": "must be application/json"},
            )
        try:
            payload = json.loads(request.body.data)
        except ValueError as exc:
            raise Refused(
                code_pb2.INVALID_ARGUMENT, f"malformed JSON: {exc}", {"body": "malformed JSON"}
            ) from exc
        if payload.get("eventType") == "Test":
            return response_type(
                status=webhook_service_pb2.WEBHOOK_STATUS_IGNORED, message="test event received"
            )
        files = [f["path"] for f in payload.get("episodeFiles", [])] or (
            [payload["movieFile"]["path"]] if "movieFile" in payload else []
        )
        return response_type(
            status=webhook_service_pb2.WEBHOOK_STATUS_ACCEPTED,
            webhook_id="wh-new",
            job_ids=[f"job-new-{i}" for i in range(len(files))],
            file_count=len(files),
            message=f"queued {len(files)} files",
            files=[
                webhook_service_pb2.WebhookFileResult(path=p, job_id=f"job-new-{i}", accepted=True)
                for i, p in enumerate(files)
            ],
        )

    def SonarrWebhook(self, request: webhook_service_pb2.SonarrWebhookRequest, md: dict[str, str]) -> Any:
        return self._webhook(request, md, webhook_service_pb2.SonarrWebhookResponse, common_pb2.SOURCE_SONARR)

    def RadarrWebhook(self, request: webhook_service_pb2.RadarrWebhookRequest, md: dict[str, str]) -> Any:
        return self._webhook(request, md, webhook_service_pb2.RadarrWebhookResponse, common_pb2.SOURCE_RADARR)

    def _found_webhook(self, webhook_id: str) -> webhook_service_pb2.Webhook:
        if webhook_id != "wh-1":
            raise Refused(code_pb2.NOT_FOUND, f"webhook {webhook_id} not found")
        jobs = [j for j in self.jobs.values() if j.webhook_id == webhook_id]
        return webhook_service_pb2.Webhook(
            webhook_id=webhook_id,
            source=common_pb2.SOURCE_SONARR,
            event_type="Download",
            title="Show",
            file_count=len(jobs),
            job_ids=[j.job_id for j in jobs],
            original_language="jpn",
            counts=common_pb2.JobCounts(total=len(jobs), completed=len(jobs)),
            results=common_pb2.ResultCounts(success=len(jobs), track_changes=len(jobs)),
        )

    def GetWebhook(self, request: webhook_service_pb2.GetWebhookRequest, md: dict[str, str]) -> Any:
        webhook = self._found_webhook(request.webhook_id)
        return webhook_service_pb2.GetWebhookResponse(
            webhook=webhook, jobs=[j for j in self.jobs.values() if j.webhook_id == webhook.webhook_id]
        )

    def WatchWebhook(
        self, request: webhook_service_pb2.WatchWebhookRequest, md: dict[str, str]
    ) -> Iterator[Any]:
        webhook = self._found_webhook(request.webhook_id)
        yield webhook_service_pb2.WebhookEvent(
            sequence=1, type=common_pb2.EVENT_TYPE_SNAPSHOT, webhook=webhook
        )
        yield webhook_service_pb2.WebhookEvent(
            sequence=2, type=common_pb2.EVENT_TYPE_UPDATE, webhook=webhook, job=self.jobs["job-4"], final=True
        )


SERVICES = (
    (admin_service_pb2_grpc.AdminServiceServicer, admin_service_pb2_grpc.add_AdminServiceServicer_to_server),
    (batch_service_pb2_grpc.BatchServiceServicer, batch_service_pb2_grpc.add_BatchServiceServicer_to_server),
    (job_service_pb2_grpc.JobServiceServicer, job_service_pb2_grpc.add_JobServiceServicer_to_server),
    (stats_service_pb2_grpc.StatsServiceServicer, stats_service_pb2_grpc.add_StatsServiceServicer_to_server),
    (
        webhook_service_pb2_grpc.WebhookServiceServicer,
        webhook_service_pb2_grpc.add_WebhookServiceServicer_to_server,
    ),
)
STREAMING = {"WatchJob", "WatchQueue", "WatchBatch", "WatchWebhook"}


def _rpc_names() -> list[str]:
    return [name for base, _ in SERVICES for name in vars(base) if name[0].isupper()]


def _metadata(context: Any) -> dict[str, str]:
    return {key: value for key, value in context.invocation_metadata()}


def _sync_method(name: str) -> Any:
    if name in STREAMING:

        def stream(self: Any, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            md = _metadata(context)
            try:
                for event in self.backend.answer(name, request, md):
                    if not context.is_active():
                        return
                    yield event
            except Refused as refused:
                context.abort_with_status(rpc_status.to_status(refused.status))

        return stream

    def unary(self: Any, request: Any, context: grpc.ServicerContext) -> Any:
        md = _metadata(context)
        try:
            return self.backend.answer(name, request, md)
        except Refused as refused:
            context.abort_with_status(rpc_status.to_status(refused.status))

    return unary


def _aio_method(name: str) -> Any:
    if name in STREAMING:

        async def stream(self: Any, request: Any, context: grpc.aio.ServicerContext) -> Any:
            md = _metadata(context)
            try:
                # The canned generators sleep with time.sleep; step them in a thread.
                events = iter(self.backend.answer(name, request, md))
                while (event := await asyncio.to_thread(next, events, None)) is not None:
                    yield event
            except Refused as refused:
                await context.abort_with_status(rpc_status.to_status(refused.status))

        return stream

    async def unary(self: Any, request: Any, context: grpc.aio.ServicerContext) -> Any:
        md = _metadata(context)
        try:
            return self.backend.answer(name, request, md)
        except Refused as refused:
            await context.abort_with_status(rpc_status.to_status(refused.status))

    return unary


def _servicer_class(class_name: str, factory: Any) -> type:
    namespace: dict[str, Any] = {name: factory(name) for name in _rpc_names()}

    def __init__(self: Any, backend: CannedBackend | None = None) -> None:
        self.backend = backend or CannedBackend()

    namespace["__init__"] = __init__
    return type(class_name, tuple(base for base, _ in SERVICES), namespace)


# A subclass of every generated *Servicer base, answering from one CannedBackend.
CannedServicer = _servicer_class("CannedServicer", _sync_method)
AioCannedServicer = _servicer_class("AioCannedServicer", _aio_method)


def add_to_server(servicer: Any, server: Any) -> None:
    for _, add in SERVICES:
        add(servicer, server)
