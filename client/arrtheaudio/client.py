"""``Client``: the blocking client, one typed method per RPC of every service.

Methods return the contract's protobuf messages (typed by the generated ``.pyi`` stubs);
where a response only wraps one object (``GetJobResponse.job``) the object itself is
returned. Failures raise ``arrtheaudio.errors.ArrTheAudioError`` subclasses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Self, TypeVar

import grpc
from google.protobuf import timestamp_pb2

from arrtheaudio import _requests, _watch, enums
from arrtheaudio._channel import sync_channel
from arrtheaudio._stubs import Stubs
from arrtheaudio.errors import error_from_rpc
from arrtheaudio.options import DEFAULT_TIMEOUT, ClientOptions
from arrtheaudio.paging import MAX_PAGE_SIZE, Page, walk_pages
from arrtheaudio_proto.v1 import (
    admin_service_pb2,
    batch_service_pb2,
    common_pb2,
    job_service_pb2,
    stats_service_pb2,
    webhook_service_pb2,
)

R = TypeVar("R")
E = TypeVar("E")


class Client:
    """Talks to one ArrTheAudio server over a blocking gRPC channel.

    ``Client()`` reads ``ARRTHEAUDIO_TARGET`` / ``ARRTHEAUDIO_API_KEY``; explicit arguments win.
    Use it as a context manager (or call ``close()``) to release the channel. Pass ``channel``
    to reuse an existing ``grpc.Channel`` (it is then not closed by the client).
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
        channel: grpc.Channel | None = None,
    ) -> None:
        self.options = options or ClientOptions.resolve(
            target, api_key, timeout=timeout, tls=tls, root_certificates=root_certificates
        )
        self._owns_channel = channel is None
        self._channel = channel if channel is not None else sync_channel(self.options)
        self._stubs = Stubs.bind(self._channel)
        self._metadata = self.options.metadata()

    # -- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        if self._owns_channel:
            self._channel.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- plumbing --------------------------------------------------------------------------

    def _unary(self, method: Callable[..., R], request: Any) -> R:
        try:
            return method(request, metadata=self._metadata, timeout=self.options.timeout)
        except grpc.RpcError as exc:
            raise error_from_rpc(exc) from exc

    def _watch(
        self, method: Callable[..., Any], request: Any, heartbeats: bool, timeout: float | None
    ) -> Iterator[E]:
        call = method(request, metadata=self._metadata, timeout=timeout)
        try:
            for event in call:
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

    def health(self) -> admin_service_pb2.GetHealthResponse:
        """Whether the server can serve (needs no API key)."""
        return self._unary(self._stubs.admin.GetHealth, admin_service_pb2.GetHealthRequest())

    def cleanup(
        self, older_than: int | timedelta = 0, statuses: Iterable[enums.EnumLike] = ()
    ) -> admin_service_pb2.CleanupResponse:
        """Remove finished jobs older than ``older_than`` (days or whole-day timedelta; 0 = configured)."""
        return self._unary(self._stubs.admin.Cleanup, _requests.cleanup(older_than, statuses))

    # -- JobService ------------------------------------------------------------------------

    def get_job(self, job_id: str) -> common_pb2.Job:
        return self._unary(self._stubs.jobs.GetJob, job_service_pb2.GetJobRequest(job_id=job_id)).job

    def list_jobs(
        self,
        *,
        status: enums.EnumLike = None,
        webhook_id: str = "",
        batch_id: str = "",
        source: enums.EnumLike = None,
        container: enums.EnumLike = None,
        limit: int = 0,
        offset: int = 0,
        order_by: str = "",
    ) -> job_service_pb2.ListJobsResponse:
        """One page of jobs (``.jobs``) and the number of all matches (``.total_size``)."""
        request = _requests.list_jobs(
            status=status,
            webhook_id=webhook_id,
            batch_id=batch_id,
            source=source,
            container=container,
            limit=limit,
            offset=offset,
            order_by=order_by,
        )
        return self._unary(self._stubs.jobs.ListJobs, request)

    def iter_jobs(
        self,
        *,
        status: enums.EnumLike = None,
        webhook_id: str = "",
        batch_id: str = "",
        source: enums.EnumLike = None,
        container: enums.EnumLike = None,
        order_by: str = "",
        page_size: int = MAX_PAGE_SIZE,
        max_items: int | None = None,
    ) -> Iterator[common_pb2.Job]:
        """Every job matching the filters, fetched page by page as you iterate."""

        def fetch(offset: int, limit: int) -> Page[common_pb2.Job]:
            reply = self.list_jobs(
                status=status,
                webhook_id=webhook_id,
                batch_id=batch_id,
                source=source,
                container=container,
                limit=limit,
                offset=offset,
                order_by=order_by,
            )
            return Page(reply.jobs, reply.total_size)

        return walk_pages(fetch, page_size=page_size, max_items=max_items, key=lambda job: job.job_id)

    def cancel_job(self, job_id: str) -> common_pb2.Job:
        """Cancel a queued/waiting/running job; FailedPrecondition when it already finished."""
        return self._unary(self._stubs.jobs.CancelJob, job_service_pb2.CancelJobRequest(job_id=job_id)).job

    def get_queue(self, next_limit: int = 0) -> job_service_pb2.GetQueueResponse:
        return self._unary(self._stubs.jobs.GetQueue, job_service_pb2.GetQueueRequest(next_limit=next_limit))

    def watch_job(
        self, job_id: str, *, heartbeats: bool = False, timeout: float | None = None
    ) -> Iterator[job_service_pb2.JobEvent]:
        """Events of one job: the snapshot, every change, ending after the terminal one."""
        request = job_service_pb2.WatchJobRequest(job_id=job_id)
        return self._watch(self._stubs.jobs.WatchJob, request, heartbeats, timeout)

    def watch_queue(
        self, *, heartbeats: bool = False, timeout: float | None = None
    ) -> Iterator[job_service_pb2.QueueEvent]:
        """Queue counts and job changes until you stop iterating (or the server fails the stream)."""
        return self._watch(
            self._stubs.jobs.WatchQueue, job_service_pb2.WatchQueueRequest(), heartbeats, timeout
        )

    # -- BatchService ----------------------------------------------------------------------

    def start_batch(
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
        )
        return self._unary(self._stubs.batches.StartBatch, request)

    def get_batch(
        self, batch_id: str, *, limit: int = 0, offset: int = 0
    ) -> batch_service_pb2.GetBatchResponse:
        request = batch_service_pb2.GetBatchRequest(batch_id=batch_id, limit=limit, offset=offset)
        return self._unary(self._stubs.batches.GetBatch, request)

    def list_batches(
        self, *, status: enums.EnumLike = None, limit: int = 0, offset: int = 0
    ) -> batch_service_pb2.ListBatchesResponse:
        request = _requests.list_batches(status=status, limit=limit, offset=offset)
        return self._unary(self._stubs.batches.ListBatches, request)

    def iter_batches(
        self, *, status: enums.EnumLike = None, page_size: int = MAX_PAGE_SIZE, max_items: int | None = None
    ) -> Iterator[batch_service_pb2.Batch]:
        def fetch(offset: int, limit: int) -> Page[batch_service_pb2.Batch]:
            reply = self.list_batches(status=status, limit=limit, offset=offset)
            return Page(reply.batches, reply.total_size)

        return walk_pages(fetch, page_size=page_size, max_items=max_items, key=lambda batch: batch.batch_id)

    def iter_batch_jobs(
        self, batch_id: str, *, page_size: int = MAX_PAGE_SIZE, max_items: int | None = None
    ) -> Iterator[common_pb2.Job]:
        """The batch's per-file jobs in the order they were queued."""

        def fetch(offset: int, limit: int) -> Page[common_pb2.Job]:
            reply = self.get_batch(batch_id, limit=limit, offset=offset)
            return Page(reply.jobs, reply.total_jobs)

        return walk_pages(fetch, page_size=page_size, max_items=max_items, key=lambda job: job.job_id)

    def cancel_batch(self, batch_id: str) -> batch_service_pb2.CancelBatchResponse:
        return self._unary(
            self._stubs.batches.CancelBatch, batch_service_pb2.CancelBatchRequest(batch_id=batch_id)
        )

    def watch_batch(
        self, batch_id: str, *, heartbeats: bool = False, timeout: float | None = None
    ) -> Iterator[batch_service_pb2.BatchEvent]:
        request = batch_service_pb2.WatchBatchRequest(batch_id=batch_id)
        return self._watch(self._stubs.batches.WatchBatch, request, heartbeats, timeout)

    # -- StatsService ----------------------------------------------------------------------

    def get_stats(self) -> stats_service_pb2.GetStatsResponse:
        return self._unary(self._stubs.stats.GetStats, stats_service_pb2.GetStatsRequest())

    def get_job_stats(
        self,
        *,
        batch_id: str = "",
        webhook_id: str = "",
        source: enums.EnumLike = None,
        container: enums.EnumLike = None,
        created_after: datetime | timestamp_pb2.Timestamp | None = None,
    ) -> stats_service_pb2.GetJobStatsResponse:
        request = _requests.job_stats(
            batch_id=batch_id,
            webhook_id=webhook_id,
            source=source,
            container=container,
            created_after=created_after,
        )
        return self._unary(self._stubs.stats.GetJobStats, request)

    # -- WebhookService --------------------------------------------------------------------

    def sonarr_webhook(
        self,
        payload: _requests.WebhookPayload,
        *,
        token: str = "",
        apikey: str = "",
        content_type: str = "application/json",
    ) -> webhook_service_pb2.SonarrWebhookResponse:
        """Deliver a Sonarr webhook body (bytes/str sent as-is, a dict as JSON)."""
        request = _requests.sonarr_webhook(payload, token=token, apikey=apikey, content_type=content_type)
        return self._unary(self._stubs.webhooks.SonarrWebhook, request)

    def radarr_webhook(
        self,
        payload: _requests.WebhookPayload,
        *,
        token: str = "",
        apikey: str = "",
        content_type: str = "application/json",
    ) -> webhook_service_pb2.RadarrWebhookResponse:
        request = _requests.radarr_webhook(payload, token=token, apikey=apikey, content_type=content_type)
        return self._unary(self._stubs.webhooks.RadarrWebhook, request)

    def get_webhook(self, webhook_id: str) -> webhook_service_pb2.GetWebhookResponse:
        request = webhook_service_pb2.GetWebhookRequest(webhook_id=webhook_id)
        return self._unary(self._stubs.webhooks.GetWebhook, request)

    def watch_webhook(
        self, webhook_id: str, *, heartbeats: bool = False, timeout: float | None = None
    ) -> Iterator[webhook_service_pb2.WebhookEvent]:
        request = webhook_service_pb2.WatchWebhookRequest(webhook_id=webhook_id)
        return self._watch(self._stubs.webhooks.WatchWebhook, request, heartbeats, timeout)
