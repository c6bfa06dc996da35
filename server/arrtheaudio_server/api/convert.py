"""Domain values ⇄ protobuf messages, in one place.

The queue speaks :mod:`arrtheaudio_server.queue.domain` dataclasses, the wire speaks
``arrtheaudio.v1``. Every servicer converts through these functions so an enum or a field
is translated the same way on every RPC (and an unset domain value always becomes the
proto's zero value, never a made-up default).
"""

from __future__ import annotations

from datetime import datetime

import langcodes
from google.protobuf.timestamp_pb2 import Timestamp

from arrtheaudio_proto.v1 import (
    admin_service_pb2,
    batch_service_pb2,
    common_pb2,
    stats_service_pb2,
    webhook_service_pb2,
)
from arrtheaudio_server.media.result import Container, ResultStatus, TrackChange, WriteMethod
from arrtheaudio_server.metadata.arr_catalog import ConnectionStatus
from arrtheaudio_server.metadata.plan import LanguageSource
from arrtheaudio_server.queue import domain as d
from arrtheaudio_server.queue.scheduler import ScheduleInfo
from arrtheaudio_server.queue.store.schedule_runs import RunOutcome

# --- enums ---------------------------------------------------------------------------------

JOB_STATUS_TO_PB: dict[d.JobStatus, int] = {
    d.JobStatus.QUEUED: common_pb2.JOB_STATUS_QUEUED,
    d.JobStatus.RUNNING: common_pb2.JOB_STATUS_RUNNING,
    d.JobStatus.WAITING_FOR_SPACE: common_pb2.JOB_STATUS_WAITING_FOR_SPACE,
    d.JobStatus.COMPLETED: common_pb2.JOB_STATUS_COMPLETED,
    d.JobStatus.FAILED: common_pb2.JOB_STATUS_FAILED,
    d.JobStatus.CANCELLED: common_pb2.JOB_STATUS_CANCELLED,
}
JOB_STATUS_FROM_PB = {value: key for key, value in JOB_STATUS_TO_PB.items()}

PRIORITY_TO_PB: dict[d.Priority, int] = {
    d.Priority.LOW: common_pb2.PRIORITY_LOW,
    d.Priority.NORMAL: common_pb2.PRIORITY_NORMAL,
    d.Priority.HIGH: common_pb2.PRIORITY_HIGH,
}
PRIORITY_FROM_PB = {value: key for key, value in PRIORITY_TO_PB.items()}

SOURCE_TO_PB: dict[d.Source, int] = {
    d.Source.SONARR: common_pb2.SOURCE_SONARR,
    d.Source.RADARR: common_pb2.SOURCE_RADARR,
    d.Source.MANUAL: common_pb2.SOURCE_MANUAL,
}
SOURCE_FROM_PB = {value: key for key, value in SOURCE_TO_PB.items()}

CONTAINER_TO_PB: dict[Container, int] = {
    Container.MKV: common_pb2.CONTAINER_MKV,
    Container.MP4: common_pb2.CONTAINER_MP4,
}
CONTAINER_FROM_PB = {value: key for key, value in CONTAINER_TO_PB.items()}

RESULT_TO_PB: dict[ResultStatus, int] = {
    ResultStatus.SUCCESS: common_pb2.JOB_RESULT_SUCCESS,
    ResultStatus.FAILED: common_pb2.JOB_RESULT_FAILED,
    ResultStatus.SKIPPED: common_pb2.JOB_RESULT_SKIPPED,
}

LANGUAGE_SOURCE_TO_PB: dict[LanguageSource, int] = {
    LanguageSource.ARR: common_pb2.LANGUAGE_SOURCE_ARR,
    LanguageSource.ARR_LIBRARY: common_pb2.LANGUAGE_SOURCE_ARR_LIBRARY,
    LanguageSource.TMDB: common_pb2.LANGUAGE_SOURCE_TMDB,
    LanguageSource.HEURISTIC: common_pb2.LANGUAGE_SOURCE_HEURISTIC,
    LanguageSource.PRIORITY: common_pb2.LANGUAGE_SOURCE_PRIORITY,
    LanguageSource.NONE: common_pb2.LANGUAGE_SOURCE_NONE,
}

BATCH_STATUS_TO_PB: dict[d.BatchStatus, int] = {
    d.BatchStatus.SCANNING: common_pb2.BATCH_STATUS_SCANNING,
    d.BatchStatus.RUNNING: common_pb2.BATCH_STATUS_RUNNING,
    d.BatchStatus.COMPLETED: common_pb2.BATCH_STATUS_COMPLETED,
    d.BatchStatus.CANCELLED: common_pb2.BATCH_STATUS_CANCELLED,
    d.BatchStatus.FAILED: common_pb2.BATCH_STATUS_FAILED,
}
BATCH_STATUS_FROM_PB = {value: key for key, value in BATCH_STATUS_TO_PB.items()}
TERMINAL_BATCH_STATUSES = frozenset({d.BatchStatus.COMPLETED, d.BatchStatus.CANCELLED, d.BatchStatus.FAILED})


def language_code(name: str | None) -> str:
    """The Arr's language name ("Japanese") as ISO 639-2/T ("jpn"); empty when unknown."""
    if not name:
        return ""
    try:
        return str(langcodes.find(name).to_alpha3())
    except LookupError:
        try:
            return str(langcodes.Language.get(name).to_alpha3())
        except (LookupError, ValueError):
            return ""


def timestamp(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


# --- messages ------------------------------------------------------------------------------


WRITE_METHOD_TO_PB: dict[WriteMethod, int] = {
    WriteMethod.NONE: common_pb2.WRITE_METHOD_NONE,
    WriteMethod.IN_PLACE: common_pb2.WRITE_METHOD_IN_PLACE,
    WriteMethod.MKVPROPEDIT: common_pb2.WRITE_METHOD_MKVPROPEDIT,
    WriteMethod.REMUX: common_pb2.WRITE_METHOD_REMUX,
}


def track_to_pb(change: TrackChange) -> common_pb2.AudioTrack:
    track = change.track
    return common_pb2.AudioTrack(
        index=track.index,
        language=track.language or "",
        ietf=track.ietf or "",
        title=track.title or "",
        codec=track.codec or "",
        channels=track.channels or 0,
        forced=track.forced,
        commentary=track.commentary,
        visual_impaired=track.visual_impaired,
        hearing_impaired=track.hearing_impaired,
        original=track.original,
        default_before=track.default,
        default_after=change.default_after,
    )


def job_to_pb(job: d.Job) -> common_pb2.Job:
    message = common_pb2.Job(
        job_id=job.job_id,
        file_path=job.file_path,
        status=JOB_STATUS_TO_PB[job.status],
        priority=PRIORITY_TO_PB[d.Priority(job.priority)],
        container=CONTAINER_TO_PB[job.container] if job.container else common_pb2.CONTAINER_UNSPECIFIED,
        source=SOURCE_TO_PB[job.source],
        webhook_id=job.webhook_id or "",
        batch_id=job.batch_id or "",
        attempts=job.attempts,
        result=RESULT_TO_PB[job.result] if job.result else common_pb2.JOB_RESULT_UNSPECIFIED,
        reason=job.reason or "",
        reason_code=job.reason_code or "",
        duration_ms=job.duration_ms or 0,
        track_changed=job.track_changed,
        language=job.language or "",
        language_source=(
            LANGUAGE_SOURCE_TO_PB[job.language_source]
            if job.language_source
            else common_pb2.LANGUAGE_SOURCE_UNSPECIFIED
        ),
        worker_id=job.worker_id or "",
        dry_run=job.dry_run,
        audio_tracks=[track_to_pb(change) for change in job.tracks],
        write_method=(
            WRITE_METHOD_TO_PB[job.write_method] if job.write_method else common_pb2.WRITE_METHOD_UNSPECIFIED
        ),
        write_note=job.write_note or "",
    )
    message.created_at.CopyFrom(timestamp(job.created_at))
    if job.started_at:
        message.started_at.CopyFrom(timestamp(job.started_at))
    if job.completed_at:
        message.completed_at.CopyFrom(timestamp(job.completed_at))
    if job.selected_track is not None:
        message.selected_track.index = job.selected_track.index
        message.selected_track.language = job.selected_track.language or ""
    return message


def counts_to_pb(counts: d.Counts) -> common_pb2.JobCounts:
    return common_pb2.JobCounts(
        total=counts.total,
        queued=counts.queued,
        running=counts.running,
        waiting_for_space=counts.waiting_for_space,
        completed=counts.completed,
        failed=counts.failed,
        cancelled=counts.cancelled,
    )


def results_to_pb(counts: d.Counts) -> common_pb2.ResultCounts:
    return common_pb2.ResultCounts(
        success=counts.success,
        failed=counts.result_failed,
        skipped=counts.skipped,
        track_changes=counts.track_changes,
    )


def workers_to_pb(total: int, active: int) -> common_pb2.WorkerCounts:
    return common_pb2.WorkerCounts(total=total, active=active, idle=max(total - active, 0))


def period_to_pb(period: d.PeriodStats) -> common_pb2.OutcomeStats:
    return common_pb2.OutcomeStats(
        total=period.total,
        success=period.success,
        failed=period.failed,
        skipped=period.skipped,
        track_changes=period.track_changes,
        success_rate=period.success_rate,
        avg_duration_ms=period.avg_duration_ms,
    )


def container_stats_to_pb(per_container: dict[str, d.PeriodStats]) -> list[stats_service_pb2.ContainerStats]:
    out = []
    for name, period in sorted(per_container.items()):
        try:
            container = CONTAINER_TO_PB[Container(name)]
        except ValueError:
            container = common_pb2.CONTAINER_UNSPECIFIED
        out.append(stats_service_pb2.ContainerStats(container=container, stats=period_to_pb(period)))
    return out


def source_stats_to_pb(per_source: dict[str, d.PeriodStats]) -> list[stats_service_pb2.SourceStats]:
    out = []
    for name, period in sorted(per_source.items()):
        try:
            source = SOURCE_TO_PB[d.Source(name)]
        except ValueError:
            source = common_pb2.SOURCE_UNSPECIFIED
        out.append(stats_service_pb2.SourceStats(source=source, stats=period_to_pb(period)))
    return out


def reasons_to_pb(reasons: tuple[d.ReasonCount, ...]) -> list[stats_service_pb2.ReasonCount]:
    return [stats_service_pb2.ReasonCount(reason_code=r.reason_code, count=r.count) for r in reasons]


def job_stats_to_pb(stats: d.JobStats) -> stats_service_pb2.GetJobStatsResponse:
    return stats_service_pb2.GetJobStatsResponse(
        counts=counts_to_pb(stats.counts),
        outcomes=period_to_pb(stats.outcomes),
        containers=container_stats_to_pb(stats.per_container),
        sources=source_stats_to_pb(stats.per_source),
        reasons=reasons_to_pb(stats.reasons),
    )


def batch_progress_to_pb(info: d.BatchInfo) -> batch_service_pb2.BatchProgress:
    counts = info.counts
    done = info.status in TERMINAL_BATCH_STATUSES and counts.finished == counts.total
    return batch_service_pb2.BatchProgress(
        total=counts.total,
        completed=counts.finished,
        running=counts.running,
        queued=counts.queued + counts.waiting_for_space,
        failed=counts.failed,
        skipped=counts.skipped,
        cancelled=counts.cancelled,
        percent=counts.percent,
        eta_seconds=0.0 if done or not info.eta_seconds else float(info.eta_seconds),
    )


def batch_to_pb(info: d.BatchInfo) -> batch_service_pb2.Batch:
    request = info.request
    message = batch_service_pb2.Batch(
        batch_id=info.batch_id,
        status=BATCH_STATUS_TO_PB[info.status],
        path=request.path,
        recursive=request.recursive,
        pattern=request.pattern or "",
        dry_run=request.dry_run,
        priority=PRIORITY_TO_PB[d.Priority(request.priority)],
        min_size_mb=request.min_size_mb or 0.0,
        max_age_days=request.max_age_days or 0.0,
        exclude_patterns=list(request.exclude_patterns),
        estimated_files=info.estimated_files,
        progress=batch_progress_to_pb(info),
        results=results_to_pb(info.counts),
        error=info.error or "",
    )
    message.created_at.CopyFrom(timestamp(info.created_at))
    if info.completed_at:
        message.completed_at.CopyFrom(timestamp(info.completed_at))
    return message


def webhook_to_pb(info: d.WebhookInfo, counts: d.Counts) -> webhook_service_pb2.Webhook:
    message = webhook_service_pb2.Webhook(
        webhook_id=info.webhook_id,
        source=SOURCE_TO_PB[info.source],
        event_type=info.event_type,
        title=info.title or "",
        file_count=len(info.job_ids),
        job_ids=list(info.job_ids),
        counts=counts_to_pb(counts),
        results=results_to_pb(counts),
        original_language=language_code(info.hints.original_language),
    )
    message.created_at.CopyFrom(timestamp(info.created_at))
    return message


def daily_to_pb(item: d.DailyCount) -> stats_service_pb2.DailyStats:
    return stats_service_pb2.DailyStats(
        date=item.day.isoformat(),
        total=item.total,
        success=item.success,
        failed=item.failed,
        skipped=item.skipped,
        track_changes=item.track_changes,
        avg_duration_ms=item.duration_ms_sum / item.total if item.total else 0.0,
    )


ARR_KIND_TO_PB = {"sonarr": admin_service_pb2.ARR_KIND_SONARR, "radarr": admin_service_pb2.ARR_KIND_RADARR}
CONNECTION_STATE_TO_PB = {
    "ok": admin_service_pb2.CONNECTION_STATE_OK,
    "error": admin_service_pb2.CONNECTION_STATE_ERROR,
    "unknown": admin_service_pb2.CONNECTION_STATE_UNKNOWN,
}


def arr_connection_to_pb(status: ConnectionStatus) -> admin_service_pb2.ArrConnection:
    message = admin_service_pb2.ArrConnection(
        kind=ARR_KIND_TO_PB[status.kind],
        name=status.name,
        url=status.url,
        state=CONNECTION_STATE_TO_PB[status.state],
        title_count=status.title_count,
        message=status.message,
    )
    if status.checked_at is not None:
        message.checked_at.CopyFrom(timestamp(status.checked_at))
    return message


def health_detail_to_pb(status: ConnectionStatus) -> admin_service_pb2.HealthDetail:
    """A connection not asked yet is no problem; one that failed is, with its reason."""
    return admin_service_pb2.HealthDetail(
        component=f"arr:{status.kind}/{status.name}",
        healthy=status.state != "error",
        message=status.message or status.state,
    )


RUN_OUTCOME_TO_PB = {
    RunOutcome.STARTED: batch_service_pb2.SCHEDULE_RUN_OUTCOME_STARTED,
    RunOutcome.SKIPPED: batch_service_pb2.SCHEDULE_RUN_OUTCOME_SKIPPED,
    RunOutcome.FAILED: batch_service_pb2.SCHEDULE_RUN_OUTCOME_FAILED,
}


def schedule_to_pb(info: ScheduleInfo) -> batch_service_pb2.Schedule:
    s = info.schedule
    options = batch_service_pb2.StartBatchRequest(
        path=s.path,
        recursive=s.recursive,
        pattern=s.pattern or "",
        dry_run=s.dry_run,
        priority=PRIORITY_TO_PB[d.Priority[s.priority.upper()]],
        min_size_mb=s.min_size_mb or 0.0,
        max_age_days=s.max_age_days or 0.0,
        exclude_patterns=list(s.exclude_patterns),
        force=s.force,
    )
    message = batch_service_pb2.Schedule(
        name=s.name, cron=s.cron, options=options, last_batch_id=info.last_batch_id or ""
    )
    message.next_run_at.CopyFrom(timestamp(info.next_run_at))
    run = info.last_run
    if run is not None:
        message.last_run_at.CopyFrom(timestamp(run.due_at))
        message.last_outcome = RUN_OUTCOME_TO_PB.get(
            run.outcome, batch_service_pb2.SCHEDULE_RUN_OUTCOME_UNSPECIFIED
        )
        message.last_message = run.message or ""
    return message
