"""WebhookService: what Sonarr and Radarr call on import, and what became of each call.

Order of checks, each ending the request before the next one can change anything:
credentials (UNAUTHENTICATED) → body size and JSON shape (INVALID_ARGUMENT) → event type
(Test and non-import events are acknowledged with 200 and no job) → every file path mapped
and resolved (one path outside the media roots refuses the whole delivery with
PERMISSION_DENIED; nothing is queued) → files that do not exist are reported per file, the
rest queued in one transaction. So a rejected delivery never leaves half its jobs behind.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import structlog
from google.rpc import error_details_pb2

from arrtheaudio_proto.v1 import common_pb2, webhook_service_pb2, webhook_service_pb2_grpc
from arrtheaudio_server import observability
from arrtheaudio_server.api import convert
from arrtheaudio_server.api.auth import Credentials
from arrtheaudio_server.api.errors import ApiError, FieldViolation, abort_expected, translates_errors
from arrtheaudio_server.api.validation import enum_value, page, require_id
from arrtheaudio_server.api.watch import WatchConfig, WatchSpec, watch_stream
from arrtheaudio_server.metadata.arr_payload import ArrKind, ArrWebhook, parse_arr_webhook
from arrtheaudio_server.paths import PathPolicy, PathRejected
from arrtheaudio_server.queue.domain import QueueError, Source
from arrtheaudio_server.queue.facade import QueueFacade

log = structlog.get_logger(__name__)

# A Sonarr season pack of a few hundred episodes is well under 1 MiB of JSON.
MAX_BODY_BYTES = 1024 * 1024

_UNAUTHENTICATED = (
    "missing or wrong webhook credentials: send the API key as the X-Api-Key header, as ?apikey= / ?token= "
    "in the URL, or as the password of HTTP Basic auth"
)


class WebhookServicer(webhook_service_pb2_grpc.WebhookServiceServicer):
    def __init__(
        self,
        queue: QueueFacade,
        paths: PathPolicy,
        credentials: Credentials,
        watch: WatchConfig | None = None,
        *,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self._queue = queue
        self._paths = paths
        self._credentials = credentials
        self._watch = watch or WatchConfig()
        self._max_body_bytes = max_body_bytes

    @translates_errors
    async def SonarrWebhook(
        self, request: webhook_service_pb2.SonarrWebhookRequest, context: grpc.aio.ServicerContext
    ) -> webhook_service_pb2.SonarrWebhookResponse:
        return await self._deliver("sonarr", request, context, webhook_service_pb2.SonarrWebhookResponse)

    @translates_errors
    async def RadarrWebhook(
        self, request: webhook_service_pb2.RadarrWebhookRequest, context: grpc.aio.ServicerContext
    ) -> webhook_service_pb2.RadarrWebhookResponse:
        return await self._deliver("radarr", request, context, webhook_service_pb2.RadarrWebhookResponse)

    async def _deliver(
        self, kind: ArrKind, request: Any, context: grpc.aio.ServicerContext, response_type: type[Any]
    ) -> Any:
        """Answer the delivery and count its outcome for /metrics (accepted, ignored, rejected, unauthenticated)."""
        try:
            reply = await self._answer(kind, request, context, response_type)
        except ApiError as exc:
            outcome = "unauthenticated" if exc.code == grpc.StatusCode.UNAUTHENTICATED else "rejected"
            observability.WEBHOOK_DELIVERIES.labels(kind, outcome).inc()
            raise
        except Exception:
            observability.WEBHOOK_DELIVERIES.labels(kind, "rejected").inc()
            raise
        accepted = reply.status == webhook_service_pb2.WEBHOOK_STATUS_ACCEPTED
        observability.WEBHOOK_DELIVERIES.labels(kind, "accepted" if accepted else "ignored").inc()
        return reply

    async def _answer(
        self, kind: ArrKind, request: Any, context: grpc.aio.ServicerContext, response_type: type[Any]
    ) -> Any:
        if not self._credentials.webhook_allowed(
            context.invocation_metadata(), token=request.token, apikey=request.apikey
        ):
            log.warning("webhook.unauthenticated", kind=kind, peer=context.peer())
            raise ApiError(grpc.StatusCode.UNAUTHENTICATED, _UNAUTHENTICATED)
        raw = request.body.data
        if len(raw) > self._max_body_bytes:
            raise ApiError(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"body: {len(raw)} bytes is more than the {self._max_body_bytes} a webhook may send",
                violations=[FieldViolation("body", f"larger than {self._max_body_bytes} bytes")],
            )
        payload = parse_arr_webhook(kind, raw)
        log.info("webhook.received", kind=kind, event_type=payload.event_type, files=len(payload.files))
        if payload.is_test:
            return response_type(
                status=webhook_service_pb2.WEBHOOK_STATUS_IGNORED,
                message=f"Test received: ArrTheAudio is reachable and accepted the {kind.capitalize()} credentials",
            )
        if not payload.carries_files:
            return response_type(
                status=webhook_service_pb2.WEBHOOK_STATUS_IGNORED,
                message=f"event {payload.event_type!r} ignored: only Download/ImportComplete events carry new files",
            )
        return await self._enqueue(payload, response_type)

    async def _enqueue(self, payload: ArrWebhook, response_type: type[Any]) -> Any:
        results: list[webhook_service_pb2.WebhookFileResult] = []
        usable: dict[str, Path] = {}  # resolved path -> path, in payload order
        missing: list[error_details_pb2.ResourceInfo] = []
        # realpath/stat can block for long on a network share: never on the event loop.
        outcomes = await asyncio.to_thread(self._resolve_all, payload.files)
        # One path outside the roots refuses the whole delivery, whatever else it holds.
        for arr_path, mapped, resolved in outcomes:
            if isinstance(resolved, PathRejected) and resolved.kind == "outside_roots":
                log.warning("webhook.outside_roots", path=arr_path, mapped=mapped)
                raise ApiError(
                    grpc.StatusCode.PERMISSION_DENIED,
                    f"{arr_path!r} (mapped to {mapped!r}) is outside the configured media roots; "
                    "nothing of this delivery was queued",
                ) from resolved
        for position, (_arr_path, mapped, resolved) in enumerate(outcomes):
            if isinstance(resolved, PathRejected):
                exc = resolved
                if exc.kind == "invalid":
                    field = _file_field(payload, position)
                    raise ApiError(
                        grpc.StatusCode.INVALID_ARGUMENT,
                        f"{field}: {exc}",
                        violations=[FieldViolation(field, str(exc))],
                    ) from exc
                missing.append(
                    error_details_pb2.ResourceInfo(
                        resource_type="file", resource_name=mapped, description=str(exc)
                    )
                )
                results.append(
                    webhook_service_pb2.WebhookFileResult(path=mapped, accepted=False, error=str(exc))
                )
                continue
            key = str(resolved)
            results.append(webhook_service_pb2.WebhookFileResult(path=key, accepted=True))
            usable.setdefault(key, resolved)
        if not usable:
            raise ApiError(
                grpc.StatusCode.NOT_FOUND,
                "none of the delivery's files exists on this server: " + "; ".join(r.error for r in results),
                resources=missing,
            )

        source = Source.SONARR if payload.kind == "sonarr" else Source.RADARR
        info, enqueued = await self._queue.enqueue_webhook(
            source=source,
            event_type=payload.event_type,
            title=payload.title,
            hints=payload.hints,
            files=list(usable.values()),
        )
        by_path = {entry.path: entry for entry in enqueued}
        for key, entry in zip(usable, enqueued, strict=False):
            by_path.setdefault(key, entry)
        for result in results:
            if not result.accepted:
                continue
            item = by_path.get(result.path)
            if item is None:  # pragma: no cover - the queue answers for every file it was given
                result.accepted = False
                result.error = "not queued"
                continue
            result.job_id = item.job_id
            result.deduplicated = item.deduplicated
        job_ids: list[str] = []
        for result in results:
            if result.accepted and result.job_id not in job_ids:
                job_ids.append(result.job_id)
        new = sum(1 for r in results if r.accepted and not r.deduplicated)
        deduplicated = sum(1 for r in results if r.accepted and r.deduplicated)
        rejected = sum(1 for r in results if not r.accepted)
        message = f"queued {new} of {len(payload.files)} file(s)"
        if deduplicated:
            message += f", {deduplicated} already queued"
        if rejected:
            message += f", {rejected} not found"
        log.info("webhook.accepted", webhook_id=info.webhook_id, jobs=len(job_ids), missing=rejected)
        return response_type(
            status=webhook_service_pb2.WEBHOOK_STATUS_ACCEPTED,
            webhook_id=info.webhook_id,
            job_ids=job_ids,
            file_count=len(payload.files),
            message=message,
            files=results,
        )

    def _resolve_all(self, arr_paths: tuple[str, ...]) -> list[tuple[str, str, Path | PathRejected]]:
        """Each Arr path mapped and resolved (or the reason it cannot be used)."""
        outcomes: list[tuple[str, str, Path | PathRejected]] = []
        for arr_path in arr_paths:
            mapped = self._paths.map_arr_path(arr_path)
            try:
                outcomes.append((arr_path, mapped, self._paths.resolve(mapped, expect="file")))
            except PathRejected as exc:
                outcomes.append((arr_path, mapped, exc))
        return outcomes

    async def _webhook_id(self, value: str) -> str:
        """The whole webhook id ``value`` (an id or a unique prefix) stands for."""
        return await self._queue.resolve_id("webhook", require_id(value, "webhook_id"), "webhook_id")

    @translates_errors
    async def ListWebhooks(
        self, request: webhook_service_pb2.ListWebhooksRequest, context: grpc.aio.ServicerContext
    ) -> webhook_service_pb2.ListWebhooksResponse:
        limit, offset = page(request.limit, request.offset)
        source = enum_value(request.source, convert.SOURCE_FROM_PB, "source")
        found, total = await self._queue.list_webhooks(limit=limit, offset=offset, source=source)
        return webhook_service_pb2.ListWebhooksResponse(
            webhooks=[convert.webhook_to_pb(info, counts) for info, counts in found], total_size=total
        )

    @translates_errors
    async def GetWebhook(
        self, request: webhook_service_pb2.GetWebhookRequest, context: grpc.aio.ServicerContext
    ) -> webhook_service_pb2.GetWebhookResponse:
        info, counts, jobs = await self._queue.get_webhook(await self._webhook_id(request.webhook_id))
        return webhook_service_pb2.GetWebhookResponse(
            webhook=convert.webhook_to_pb(info, counts), jobs=[convert.job_to_pb(job) for job in jobs]
        )

    async def WatchWebhook(
        self, request: webhook_service_pb2.WatchWebhookRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[webhook_service_pb2.WebhookEvent]:
        try:
            webhook_id = await self._webhook_id(request.webhook_id)
        except (ApiError, QueueError) as exc:
            await abort_expected(context, exc)

        async def load() -> webhook_service_pb2.Webhook:
            info, counts, _jobs = await self._queue.get_webhook(webhook_id)
            return convert.webhook_to_pb(info, counts)

        def make(
            seq: int,
            kind: int,
            state: webhook_service_pb2.Webhook,
            job: common_pb2.Job | None,
            final: bool,
            error: Any,
        ) -> webhook_service_pb2.WebhookEvent:
            return webhook_service_pb2.WebhookEvent(
                sequence=seq, type=kind, webhook=state, job=job, final=final, error=error
            )

        spec = WatchSpec(load=load, is_final=_webhook_final, make_event=make)
        async for event in watch_stream(
            context, self._queue.subscribe(webhook_id=webhook_id), spec, self._watch
        ):
            yield event


def _webhook_final(webhook: webhook_service_pb2.Webhook) -> bool:
    counts = webhook.counts
    return counts.total > 0 and counts.completed + counts.failed + counts.cancelled >= counts.total


def _file_field(payload: ArrWebhook, position: int) -> str:
    if payload.kind == "radarr":
        return "movieFile.path"
    return "episodeFile.path" if len(payload.files) == 1 else f"episodeFiles[{position}].path"
