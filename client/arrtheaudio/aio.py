"""``AsyncClient``: the asyncio client over ``grpc.aio``, one typed method per RPC of every service.

This is the one source of both clients: ``client.py`` (the blocking ``Client``) is generated
from it by ``scripts/gen_client.py`` (unasync: ``async``/``await`` dropped, async names mapped
to their sync twins), and ``scripts/test.sh`` fails when the generated file is stale. Edit
this file, then run the generator; docstrings here are shared by both, so they speak of
"the client".

Methods return the contract's protobuf messages (typed by the generated ``.pyi`` stubs);
where a response only wraps one object (``GetJobResponse.job``) the object itself is
returned. Failures raise ``arrtheaudio.errors.ArrTheAudioError`` subclasses. The channel is
opened lazily on first use, because a ``grpc.aio`` channel binds to the event loop running
when it is created.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Self, TypeVar, Unpack

import grpc
from google.protobuf import timestamp_pb2

from arrtheaudio import _requests, _watch, enums
from arrtheaudio._channel import AsyncChannel, async_channel
from arrtheaudio._requests import JobFilters
from arrtheaudio._stubs import Stubs
from arrtheaudio.errors import error_from_rpc
from arrtheaudio.options import DEFAULT_TIMEOUT, ClientOptions
from arrtheaudio.paging import MAX_PAGE_SIZE, Page, awalk_pages
from arrtheaudio_proto.v1 import (
    admin_service_pb2,
    batch_service_pb2,
    common_pb2,
    job_service_pb2,
    stats_service_pb2,
    webhook_service_pb2,
)

E = TypeVar("E")


class AsyncClient:
    """Talks to one ArrTheAudio server over one gRPC channel.

    Configuration: explicit arguments win, then ``ARRTHEAUDIO_TARGET`` / ``ARRTHEAUDIO_API_KEY``.
    Use it as a context manager (or call ``close()``) to release the channel. Pass ``channel``
    to reuse an existing one (it is then not closed by the client).
    """

    def __init__(
        self,
        target: str | None = None,
        *,
        api_key: str | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
        tls: bool = False,
        root_certificates: bytes | None = None,
        options: ClientOptions | None = None,
        channel: AsyncChannel | None = None,
    ) -> None:
        self.options = options or ClientOptions.resolve(
            target, api_key, timeout=timeout, tls=tls, root_certificates=root_certificates
        )
        self._owns_channel = channel is None
        self._channel = channel
        self._bound: Stubs | None = Stubs.bind(channel) if channel is not None else None
        self._metadata = self.options.metadata()

    @property
    def _stubs(self) -> Stubs:
        if self._bound is None:
            self._channel = async_channel(self.options)
            self._bound = Stubs.bind(self._channel)
        return self._bound

    # -- lifecycle -------------------------------------------------------------------------

    async def close(self) -> None:
        """Close the channel the client opened (a channel passed in stays open)."""
        if self._owns_channel and self._channel is not None:
            await self._channel.close()
            self._channel = None
            self._bound = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # -- plumbing --------------------------------------------------------------------------

    async def _unary(self, method: Any, request: Any) -> Any:
        try:
            return await method(request, metadata=self._metadata, timeout=self.options.timeout)
        except grpc.RpcError as exc:
            raise error_from_rpc(exc) from exc

    async def _watch(
        self, method: Any, request: Any, heartbeats: bool, timeout: float | None
    ) -> AsyncIterator[E]:
        call = method(request, metadata=self._metadata, timeout=timeout)
        try:
            async for event in call:
                _watch.raise_if_error(event)
                if _watch.should_yield(event, heartbeats):
                    yield event
                if event.final:
                    return
        except grpc.RpcError as exc:
            raise error_from_rpc(exc) from exc
        finally:
            call.cancel()
        raise _watch.ended_early()

    # -- AdminService ----------------------------------------------------------------------

    async def health(self) -> admin_service_pb2.GetHealthResponse:
        """Whether the server can serve (needs no API key)."""
        return await self._unary(self._stubs.admin.GetHealth, admin_service_pb2.GetHealthRequest())

    async def cleanup(
        self, older_than: int | timedelta = 0, statuses: Iterable[enums.EnumLike] = ()
    ) -> admin_service_pb2.CleanupResponse:
        """Remove finished jobs older than ``older_than`` (days or whole-day timedelta; 0 = configured)."""
        return await self._unary(self._stubs.admin.Cleanup, _requests.cleanup(older_than, statuses))

    async def test_arr_connections(self) -> admin_service_pb2.TestArrConnectionsResponse:
        """Ask every configured Sonarr/Radarr connection now: state, title count, reason."""
        return await self._unary(
            self._stubs.admin.TestArrConnections, admin_service_pb2.TestArrConnectionsRequest()
        )

    async def list_schedules(self) -> batch_service_pb2.ListSchedulesResponse:
        """The configured scheduled scans with their next and last runs."""
        return await self._unary(self._stubs.batches.ListSchedules, batch_service_pb2.ListSchedulesRequest())

    # -- JobService ------------------------------------------------------------------------

    async def get_job(self, job_id: str) -> common_pb2.Job:
        """One job by its id (or a unique prefix of it)."""
        reply = await self._unary(self._stubs.jobs.GetJob, job_service_pb2.GetJobRequest(job_id=job_id))
        return reply.job

    async def list_jobs(
        self, *, limit: int = 0, offset: int = 0, order_by: str = "", **filters: Unpack[JobFilters]
    ) -> job_service_pb2.ListJobsResponse:
        """One page of jobs (``.jobs``) and the number of all matches (``.total_size``).

        ``filters`` (all must match) are the keys of ``arrtheaudio.JobFilters``.
        """
        request = _requests.list_jobs(limit=limit, offset=offset, order_by=order_by, **filters)
        return await self._unary(self._stubs.jobs.ListJobs, request)

    def iter_jobs(
        self,
        *,
        order_by: str = "",
        page_size: int = MAX_PAGE_SIZE,
        max_items: int | None = None,
        **filters: Unpack[JobFilters],
    ) -> AsyncIterator[common_pb2.Job]:
        """Every job matching the filters (as for ``list_jobs``), fetched page by page as you iterate."""
        _requests.list_jobs(**filters)  # an unknown filter fails here, not at the first page

        async def fetch(offset: int, limit: int) -> Page[common_pb2.Job]:
            reply = await self.list_jobs(limit=limit, offset=offset, order_by=order_by, **filters)
            return Page(reply.jobs, reply.total_size)

        return awalk_pages(fetch, page_size=page_size, max_items=max_items, key=lambda job: job.job_id)

    async def cancel_job(self, job_id: str) -> common_pb2.Job:
        """Cancel a queued/waiting/running job; FailedPrecondition when it already finished."""
        request = job_service_pb2.CancelJobRequest(job_id=job_id)
        reply = await self._unary(self._stubs.jobs.CancelJob, request)
        return reply.job

    async def retry_job(self, job_id: str) -> common_pb2.Job:
        """Queue a failed or cancelled job again (a fresh start); returns the job."""
        request = job_service_pb2.RetryJobRequest(job_id=job_id)
        return (await self._unary(self._stubs.jobs.RetryJob, request)).job

    async def get_queue(self, next_limit: int = 0) -> job_service_pb2.GetQueueResponse:
        """Queue counts, workers, the running jobs and the next ``next_limit`` waiting ones."""
        request = job_service_pb2.GetQueueRequest(next_limit=next_limit)
        return await self._unary(self._stubs.jobs.GetQueue, request)

    def watch_job(
        self, job_id: str, *, heartbeats: bool = False, timeout: float | None = None
    ) -> AsyncIterator[job_service_pb2.JobEvent]:
        """Events of one job: the snapshot, every change, ending after the terminal one."""
        request = job_service_pb2.WatchJobRequest(job_id=job_id)
        return self._watch(self._stubs.jobs.WatchJob, request, heartbeats, timeout)

    def watch_queue(
        self, *, heartbeats: bool = False, timeout: float | None = None
    ) -> AsyncIterator[job_service_pb2.QueueEvent]:
        """Queue counts and job changes until you stop iterating (or the server fails the stream)."""
        request = job_service_pb2.WatchQueueRequest()
        return self._watch(self._stubs.jobs.WatchQueue, request, heartbeats, timeout)

    # -- BatchService ----------------------------------------------------------------------

    async def start_batch(
        self,
        path: str,
        *,
        recursive: bool | None = None,
        pattern: str = "",
        dry_run: bool = False,
        priority: enums.EnumLike = None,
        min_size_mb: float = 0.0,
        max_age: float | timedelta = 0.0,
        exclude: Iterable[str] = (),
        force: bool = False,
    ) -> batch_service_pb2.StartBatchResponse:
        """Scan ``path`` (on the server) and queue one job per media file; returns at once."""
        request = _requests.start_batch(
            path,
            recursive=recursive,
            pattern=pattern,
            dry_run=dry_run,
            priority=priority,
            min_size_mb=min_size_mb,
            max_age=max_age,
            exclude=exclude,
            force=force,
        )
        return await self._unary(self._stubs.batches.StartBatch, request)

    async def get_batch(
        self, batch_id: str, *, limit: int = 0, offset: int = 0
    ) -> batch_service_pb2.GetBatchResponse:
        """One batch (by id or unique prefix) and one page of its per-file jobs."""
        request = batch_service_pb2.GetBatchRequest(batch_id=batch_id, limit=limit, offset=offset)
        return await self._unary(self._stubs.batches.GetBatch, request)

    async def list_batches(
        self, *, status: enums.EnumLike = None, limit: int = 0, offset: int = 0
    ) -> batch_service_pb2.ListBatchesResponse:
        """One page of batches, newest first (``.batches``, ``.total_size``)."""
        request = _requests.list_batches(status=status, limit=limit, offset=offset)
        return await self._unary(self._stubs.batches.ListBatches, request)

    def iter_batches(
        self, *, status: enums.EnumLike = None, page_size: int = MAX_PAGE_SIZE, max_items: int | None = None
    ) -> AsyncIterator[batch_service_pb2.Batch]:
        """Every batch (of ``status``), fetched page by page as you iterate."""

        async def fetch(offset: int, limit: int) -> Page[batch_service_pb2.Batch]:
            reply = await self.list_batches(status=status, limit=limit, offset=offset)
            return Page(reply.batches, reply.total_size)

        return awalk_pages(fetch, page_size=page_size, max_items=max_items, key=lambda batch: batch.batch_id)

    def iter_batch_jobs(
        self, batch_id: str, *, page_size: int = MAX_PAGE_SIZE, max_items: int | None = None
    ) -> AsyncIterator[common_pb2.Job]:
        """The batch's per-file jobs in the order they were queued."""

        async def fetch(offset: int, limit: int) -> Page[common_pb2.Job]:
            reply = await self.get_batch(batch_id, limit=limit, offset=offset)
            return Page(reply.jobs, reply.total_jobs)

        return awalk_pages(fetch, page_size=page_size, max_items=max_items, key=lambda job: job.job_id)

    async def retry_batch(self, batch_id: str) -> batch_service_pb2.RetryBatchResponse:
        """Queue the batch's failed jobs again; ``retried_jobs`` says how many."""
        request = batch_service_pb2.RetryBatchRequest(batch_id=batch_id)
        return await self._unary(self._stubs.batches.RetryBatch, request)

    async def cancel_batch(self, batch_id: str) -> batch_service_pb2.CancelBatchResponse:
        """Stop the batch's scan and cancel its jobs that have not started."""
        request = batch_service_pb2.CancelBatchRequest(batch_id=batch_id)
        return await self._unary(self._stubs.batches.CancelBatch, request)

    def watch_batch(
        self, batch_id: str, *, heartbeats: bool = False, timeout: float | None = None
    ) -> AsyncIterator[batch_service_pb2.BatchEvent]:
        """Progress events of one batch, ending after the terminal one."""
        request = batch_service_pb2.WatchBatchRequest(batch_id=batch_id)
        return self._watch(self._stubs.batches.WatchBatch, request, heartbeats, timeout)

    # -- StatsService ----------------------------------------------------------------------

    async def get_stats(self) -> stats_service_pb2.GetStatsResponse:
        """Queue counts, workers, today's and lifetime outcomes, per container and per source."""
        return await self._unary(self._stubs.stats.GetStats, stats_service_pb2.GetStatsRequest())

    async def get_daily_stats(self, days: int = 0) -> stats_service_pb2.GetDailyStatsResponse:
        """Jobs finished per UTC day, oldest first; ``days`` 0 means the server's retention window."""
        request = stats_service_pb2.GetDailyStatsRequest(days=days)
        return await self._unary(self._stubs.stats.GetDailyStats, request)

    async def get_job_stats(
        self,
        *,
        batch_id: str = "",
        webhook_id: str = "",
        source: enums.EnumLike = None,
        container: enums.EnumLike = None,
        created_after: datetime | timestamp_pb2.Timestamp | None = None,
    ) -> stats_service_pb2.GetJobStatsResponse:
        """Outcome figures of the jobs matching every given filter."""
        request = _requests.job_stats(
            batch_id=batch_id,
            webhook_id=webhook_id,
            source=source,
            container=container,
            created_after=created_after,
        )
        return await self._unary(self._stubs.stats.GetJobStats, request)

    # -- WebhookService --------------------------------------------------------------------

    async def sonarr_webhook(
        self,
        payload: _requests.WebhookPayload,
        *,
        token: str = "",
        apikey: str = "",
        content_type: str = "application/json",
    ) -> webhook_service_pb2.SonarrWebhookResponse:
        """Deliver a Sonarr webhook body (bytes/str sent as-is, a dict as JSON)."""
        request = _requests.sonarr_webhook(payload, token=token, apikey=apikey, content_type=content_type)
        return await self._unary(self._stubs.webhooks.SonarrWebhook, request)

    async def radarr_webhook(
        self,
        payload: _requests.WebhookPayload,
        *,
        token: str = "",
        apikey: str = "",
        content_type: str = "application/json",
    ) -> webhook_service_pb2.RadarrWebhookResponse:
        """Deliver a Radarr webhook body (bytes/str sent as-is, a dict as JSON)."""
        request = _requests.radarr_webhook(payload, token=token, apikey=apikey, content_type=content_type)
        return await self._unary(self._stubs.webhooks.RadarrWebhook, request)

    async def list_webhooks(
        self, *, source: enums.EnumLike = None, limit: int = 0, offset: int = 0
    ) -> webhook_service_pb2.ListWebhooksResponse:
        """Recent Sonarr/Radarr deliveries, newest first."""
        request = webhook_service_pb2.ListWebhooksRequest(
            source=enums.to_value(enums.Source, source), limit=limit, offset=offset
        )
        return await self._unary(self._stubs.webhooks.ListWebhooks, request)

    async def get_webhook(self, webhook_id: str) -> webhook_service_pb2.GetWebhookResponse:
        """One webhook delivery (by id or unique prefix) and its jobs."""
        request = webhook_service_pb2.GetWebhookRequest(webhook_id=webhook_id)
        return await self._unary(self._stubs.webhooks.GetWebhook, request)

    def watch_webhook(
        self, webhook_id: str, *, heartbeats: bool = False, timeout: float | None = None
    ) -> AsyncIterator[webhook_service_pb2.WebhookEvent]:
        """Job changes of one delivery, ending when all its jobs are finished."""
        request = webhook_service_pb2.WatchWebhookRequest(webhook_id=webhook_id)
        return self._watch(self._stubs.webhooks.WatchWebhook, request, heartbeats, timeout)
