"""Request messages built from keyword arguments, shared by the sync and async clients.

Keeping construction here means both clients accept exactly the same arguments (friendly
enum names, ``datetime`` and ``timedelta`` values, dict payloads) with one implementation.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, TypedDict, Unpack

from google.api import httpbody_pb2
from google.protobuf import timestamp_pb2

from arrtheaudio import enums
from arrtheaudio.durations import days, whole_days
from arrtheaudio_proto.v1 import (
    admin_service_pb2,
    batch_service_pb2,
    job_service_pb2,
    stats_service_pb2,
    webhook_service_pb2,
)

WebhookPayload = bytes | str | Mapping[str, Any]


class JobFilters(TypedDict, total=False):
    """The filters of ``list_jobs``/``iter_jobs`` (all must match), defined once for both clients.

    Enum filters take friendly names (``status="failed"``, ``container="mkv"``) or values.
    """

    status: enums.EnumLike
    webhook_id: str
    batch_id: str
    source: enums.EnumLike
    container: enums.EnumLike


JOB_FILTERS: frozenset[str] = frozenset(JobFilters.__annotations__)


def list_jobs(
    *, limit: int = 0, offset: int = 0, order_by: str = "", **filters: Unpack[JobFilters]
) -> job_service_pb2.ListJobsRequest:
    unknown = set(filters) - JOB_FILTERS
    if unknown:
        raise TypeError(
            f"unknown job filter(s): {', '.join(sorted(unknown))}; expected {', '.join(sorted(JOB_FILTERS))}"
        )
    return job_service_pb2.ListJobsRequest(
        status=enums.to_value(enums.JobStatus, filters.get("status")),
        webhook_id=filters.get("webhook_id", ""),
        batch_id=filters.get("batch_id", ""),
        source=enums.to_value(enums.Source, filters.get("source")),
        container=enums.to_value(enums.Container, filters.get("container")),
        limit=limit,
        offset=offset,
        order_by=order_by,
    )


def start_batch(
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
) -> batch_service_pb2.StartBatchRequest:
    """``max_age`` is days (float) or a ``timedelta``; ``recursive=None`` lets the server default (True).

    ``force`` checks files unchanged since their last check too (they are skipped otherwise)."""
    request = batch_service_pb2.StartBatchRequest(
        path=str(path),
        pattern=pattern,
        dry_run=dry_run,
        priority=enums.to_value(enums.Priority, priority),
        min_size_mb=min_size_mb,
        max_age_days=days(max_age) if isinstance(max_age, timedelta) else float(max_age),
        exclude_patterns=list(exclude),
        force=force,
    )
    if recursive is not None:
        request.recursive = recursive
    return request


def list_batches(
    *, status: enums.EnumLike = None, limit: int = 0, offset: int = 0
) -> batch_service_pb2.ListBatchesRequest:
    return batch_service_pb2.ListBatchesRequest(
        status=enums.to_value(enums.BatchStatus, status), limit=limit, offset=offset
    )


def timestamp(value: datetime | timestamp_pb2.Timestamp) -> timestamp_pb2.Timestamp:
    """A naive ``datetime`` is taken as local time, like ``datetime.timestamp()`` does."""
    if isinstance(value, timestamp_pb2.Timestamp):
        return value
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value.astimezone(UTC))
    return stamp


def job_stats(
    *,
    batch_id: str = "",
    webhook_id: str = "",
    source: enums.EnumLike = None,
    container: enums.EnumLike = None,
    created_after: datetime | timestamp_pb2.Timestamp | None = None,
) -> stats_service_pb2.GetJobStatsRequest:
    request = stats_service_pb2.GetJobStatsRequest(
        batch_id=batch_id,
        webhook_id=webhook_id,
        source=enums.to_value(enums.Source, source),
        container=enums.to_value(enums.Container, container),
    )
    if created_after is not None:
        request.created_after.CopyFrom(timestamp(created_after))
    return request


def cleanup(
    older_than: int | timedelta = 0, statuses: Iterable[enums.EnumLike] = ()
) -> admin_service_pb2.CleanupRequest:
    """``older_than`` in days (int) or a whole-day ``timedelta``; 0 = the server's configured retention."""
    older_than_days = whole_days(older_than) if isinstance(older_than, timedelta) else int(older_than)
    if older_than_days < 0:
        raise ValueError("older_than must not be negative")
    return admin_service_pb2.CleanupRequest(
        older_than_days=older_than_days,
        statuses=[enums.to_value(enums.JobStatus, status) for status in statuses],
    )


def http_body(payload: WebhookPayload, content_type: str = "application/json") -> httpbody_pb2.HttpBody:
    """The webhook body exactly as Sonarr/Radarr would send it: bytes as-is, a dict as JSON."""
    if isinstance(payload, Mapping):
        data = json.dumps(payload).encode("utf-8")
    elif isinstance(payload, str):
        data = payload.encode("utf-8")
    else:
        data = bytes(payload)
    return httpbody_pb2.HttpBody(content_type=content_type, data=data)


def sonarr_webhook(
    payload: WebhookPayload, *, token: str = "", apikey: str = "", content_type: str = "application/json"
) -> webhook_service_pb2.SonarrWebhookRequest:
    return webhook_service_pb2.SonarrWebhookRequest(
        body=http_body(payload, content_type), token=token, apikey=apikey
    )


def radarr_webhook(
    payload: WebhookPayload, *, token: str = "", apikey: str = "", content_type: str = "application/json"
) -> webhook_service_pb2.RadarrWebhookRequest:
    return webhook_service_pb2.RadarrWebhookRequest(
        body=http_body(payload, content_type), token=token, apikey=apikey
    )
