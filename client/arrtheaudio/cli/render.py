"""How the remote commands show results: rich tables for people, protobuf JSON for scripts.

``--json`` prints ``json_format.MessageToJson`` with the proto field names (``job_id``, not
``jobId``) so the output matches the .proto files and grpcurl; streams print one compact
JSON object per line (NDJSON), like the HTTP watch endpoints.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import UTC

from google.protobuf import json_format, timestamp_pb2
from google.protobuf.message import Message
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from arrtheaudio import enums
from arrtheaudio_proto.v1 import (
    admin_service_pb2,
    batch_service_pb2,
    common_pb2,
    job_service_pb2,
    stats_service_pb2,
    webhook_service_pb2,
)

_STATUS_STYLE = {
    "completed": "green",
    "failed": "red",
    "cancelled": "yellow",
    "running": "cyan",
    "queued": "white",
    "waiting_for_space": "magenta",
    "scanning": "cyan",
}


def to_json(message: Message, *, compact: bool = False) -> str:
    return json_format.MessageToJson(
        message, preserving_proto_field_name=True, indent=None if compact else 2, sort_keys=False
    )


def print_json(console: Console, message: Message, *, compact: bool = False) -> None:
    # Plain print: rich markup or wrapping must never alter machine-readable output.
    console.print(to_json(message, compact=compact), markup=False, highlight=False, soft_wrap=True)


# Tables show ids as git shows commits: the first characters, which every command taking an id
# accepts back (the server resolves a unique prefix; details views show the whole id).
SHORT_ID = 8


def short_id(value: str) -> str:
    return value[:SHORT_ID]


def when(parent: Message, field: str, *, short: bool = False) -> str:
    """Local time of a Timestamp field; ``short`` (tables) drops the year and seconds."""
    if not parent.HasField(field):
        return ""
    stamp: timestamp_pb2.Timestamp = getattr(parent, field)
    return stamp.ToDatetime(tzinfo=UTC).astimezone().strftime("%m-%d %H:%M" if short else "%Y-%m-%d %H:%M:%S")


# Below this many columns the list tables leave out their least needed columns.
WIDE = 120


def _table(
    title: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    path_column: str,
    wide_only: Collection[str] = (),
    width: int | None = None,
) -> Table:
    """A list table that stays readable at 80 columns: no vertical rules, ids and short values
    never wrap, only the path column (last) folds, and ``wide_only`` columns are left out
    when the terminal is narrower than ``WIDE`` (``width`` None: keep everything)."""
    keep = [
        index for index, name in enumerate(columns) if width is None or width >= WIDE or name not in wide_only
    ]
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    for index in keep:
        if columns[index] == path_column:
            table.add_column(columns[index], overflow="fold", ratio=1)
        else:
            table.add_column(columns[index], no_wrap=True)
    for row in rows:
        table.add_row(*(row[index] for index in keep))
    return table


def styled(label: str) -> str:
    style = _STATUS_STYLE.get(label)
    return f"[{style}]{label}[/]" if style else label


def duration_ms(ms: float) -> str:
    if not ms:
        return ""
    return f"{ms / 1000:.1f}s" if ms >= 1000 else f"{ms:.0f}ms"


def job_result(job: common_pb2.Job) -> str:
    result = enums.label(enums.JobResult, job.result)
    return f"{result} ({job.reason_code})" if result and job.reason_code else result


def jobs_table(jobs: Iterable[common_pb2.Job], title: str = "Jobs", *, width: int | None = None) -> Table:
    rows = (
        (
            short_id(job.job_id),
            styled(enums.label(enums.JobStatus, job.status)),
            # The reason code says it in a table ("changed", "already_correct"); `jobs show` has both.
            job.reason_code or enums.label(enums.JobResult, job.result),
            job.language,
            duration_ms(job.duration_ms),
            when(job, "created_at", short=True),
            escape(job.file_path),
        )
        for job in jobs
    )
    return _table(
        title,
        ("ID", "Status", "Result", "Lang", "Time", "Created", "File"),
        rows,
        path_column="File",
        wide_only=("Time", "Created"),
        width=width,
    )


def job_details(job: common_pb2.Job) -> Table:
    table = Table(title=f"Job {job.job_id}", show_header=False)
    table.add_column("Field", style="bold")
    table.add_column("Value", overflow="fold")
    track = ""
    if job.HasField("selected_track"):
        track = f"#{job.selected_track.index} ({job.selected_track.language or 'und'})"
    rows = [
        ("File", escape(job.file_path)),
        ("Status", styled(enums.label(enums.JobStatus, job.status))),
        ("Result", job_result(job)),
        ("Reason", escape(job.reason)),
        ("Priority", enums.label(enums.Priority, job.priority)),
        ("Source", enums.label(enums.Source, job.source)),
        ("Container", enums.label(enums.Container, job.container)),
        (
            "Language",
            f"{job.language} ({enums.label(enums.LanguageSource, job.language_source)})"
            if job.language
            else "",
        ),
        ("Selected track", track),
        ("Track changed", "yes" if job.track_changed else "no"),
        ("Dry run", "yes" if job.dry_run else ""),
        ("Batch", job.batch_id),
        ("Webhook", job.webhook_id),
        ("Worker", job.worker_id),
        ("Attempts", str(job.attempts)),
        ("Created", when(job, "created_at")),
        ("Started", when(job, "started_at")),
        ("Completed", when(job, "completed_at")),
        ("Duration", duration_ms(job.duration_ms)),
    ]
    for name, value in rows:
        if value:
            table.add_row(name, value)
    return table


_METHOD_WORDS = {"in_place": "in place", "mkvpropedit": "mkvpropedit", "remux": "remux"}
_FLAG_WORDS = (
    ("forced", "forced"),
    ("commentary", "commentary"),
    ("visual_impaired", "visually impaired"),
    ("hearing_impaired", "hearing impaired"),
    ("original", "original"),
)


def track_flags(track: common_pb2.AudioTrack) -> str:
    return ", ".join(word for name, word in _FLAG_WORDS if getattr(track, name))


def _default_change(track: common_pb2.AudioTrack) -> str:
    before = "yes" if track.default_before else "no"
    after = "yes" if track.default_after else "no"
    if before == after:
        return before
    return f"[bold]{before} → {after}[/]"


def written(write_method: int, write_note: str, *, dry_run: bool) -> str:
    """``written: mkvpropedit (why)``; a dry run says what it would write."""
    method = _METHOD_WORDS.get(enums.label(enums.WriteMethod, write_method))
    note = f" ({escape(write_note)})" if write_note else ""
    if method is None:
        return "written: nothing" + note
    return ("would write: " if dry_run else "written: ") + method + note


def tracks_table(
    tracks: Iterable[common_pb2.AudioTrack],
    *,
    write_method: int = 0,
    write_note: str = "",
    dry_run: bool = False,
) -> Table:
    """The audio tracks as read before the change, and what became of the default flag."""
    table = Table(title="Audio tracks", caption=written(write_method, write_note, dry_run=dry_run))
    for column in ("#", "Lang", "Title", "Codec", "Ch", "Flags", "Default"):
        table.add_column(column, overflow="fold")
    for track in tracks:
        table.add_row(
            str(track.index),
            escape(track.ietf or track.language or "und"),
            escape(track.title),
            escape(track.codec),
            str(track.channels or ""),
            track_flags(track),
            _default_change(track),
        )
    return table


def job_tracks(job: common_pb2.Job) -> Table | str:
    if not job.audio_tracks:
        return written(job.write_method, job.write_note, dry_run=job.dry_run)
    return tracks_table(
        job.audio_tracks, write_method=job.write_method, write_note=job.write_note, dry_run=job.dry_run
    )


def _progress(progress: batch_service_pb2.BatchProgress) -> str:
    return f"{progress.completed}/{progress.total} ({progress.percent:.0f}%)"


def batches_table(
    batches: Iterable[batch_service_pb2.Batch], title: str = "Batches", *, width: int | None = None
) -> Table:
    rows = (
        (
            short_id(batch.batch_id),
            styled(enums.label(enums.BatchStatus, batch.status)) + (" (dry)" if batch.dry_run else ""),
            f"{batch.progress.completed}/{batch.progress.total}",
            str(batch.results.track_changes),
            str(batch.progress.failed),
            str(batch.progress.skipped),
            when(batch, "created_at", short=True),
            escape(batch.path),
        )
        for batch in batches
    )
    return _table(
        title,
        ("ID", "Status", "Done", "Changed", "Failed", "Skipped", "Created", "Path"),
        rows,
        path_column="Path",
        wide_only=("Skipped", "Created"),
        width=width,
    )


def batch_details(batch: batch_service_pb2.Batch) -> Table:
    table = Table(title=f"Batch {batch.batch_id}", show_header=False)
    table.add_column("Field", style="bold")
    table.add_column("Value", overflow="fold")
    p = batch.progress
    rows = [
        ("Path", escape(batch.path)),
        ("Status", styled(enums.label(enums.BatchStatus, batch.status))),
        ("Progress", _progress(p)),
        ("Running / queued", f"{p.running} / {p.queued}"),
        ("Failed / skipped / cancelled", f"{p.failed} / {p.skipped} / {p.cancelled}"),
        ("Tracks changed", str(batch.results.track_changes)),
        ("ETA", f"{p.eta_seconds:.0f}s" if p.eta_seconds else ""),
        ("Estimated files", str(batch.estimated_files)),
        ("Pattern", escape(batch.pattern)),
        ("Recursive", "yes" if batch.recursive else "no"),
        ("Dry run", "yes" if batch.dry_run else ""),
        ("Excluded", escape(", ".join(batch.exclude_patterns))),
        ("Created", when(batch, "created_at")),
        ("Completed", when(batch, "completed_at")),
        ("Error", f"[red]{escape(batch.error)}[/]" if batch.error else ""),
    ]
    for name, value in rows:
        if value:
            table.add_row(name, value)
    return table


def _counts_table(title: str, counts: common_pb2.JobCounts, workers: common_pb2.WorkerCounts) -> Table:
    table = Table(title=title)
    for column in (
        "Total",
        "Queued",
        "Running",
        "Waiting for space",
        "Completed",
        "Failed",
        "Cancelled",
        "Workers",
    ):
        table.add_column(column, justify="right")
    table.add_row(
        str(counts.total),
        str(counts.queued),
        str(counts.running),
        str(counts.waiting_for_space),
        str(counts.completed),
        str(counts.failed),
        str(counts.cancelled),
        f"{workers.active}/{workers.total} active",
    )
    return table


def queue_tables(queue: job_service_pb2.GetQueueResponse, *, width: int | None = None) -> list[Table]:
    running = _table(
        "Running",
        ("ID", "Worker", "Started", "File"),
        (
            (short_id(job.job_id), job.worker_id, when(job, "started_at", short=True), escape(job.file_path))
            for job in queue.current_jobs
        ),
        path_column="File",
        wide_only=("Worker",),
        width=width,
    )
    upcoming = _table(
        "Next",
        ("#", "ID", "Priority", "Created", "File"),
        (
            (
                str(queued.position),
                short_id(queued.job.job_id),
                enums.label(enums.Priority, queued.job.priority),
                when(queued.job, "created_at", short=True),
                escape(queued.job.file_path),
            )
            for queued in queue.next_jobs
        ),
        path_column="File",
        width=width,
    )
    return [_counts_table("Queue", queue.counts, queue.workers), running, upcoming]


def _outcome_row(name: str, stats: common_pb2.OutcomeStats) -> tuple[str, ...]:
    return (
        name,
        str(stats.total),
        str(stats.success),
        str(stats.failed),
        str(stats.skipped),
        str(stats.track_changes),
        f"{stats.success_rate * 100:.1f}%",
        duration_ms(stats.avg_duration_ms),
    )


def stats_tables(stats: stats_service_pb2.GetStatsResponse) -> list[Table]:
    outcomes = Table(title="Finished jobs")
    for column in ("", "Total", "Success", "Failed", "Skipped", "Changed", "Success rate", "Avg duration"):
        outcomes.add_column(column, justify="right")
    outcomes.add_row(*_outcome_row("today", stats.today))
    outcomes.add_row(*_outcome_row("lifetime", stats.lifetime))
    for item in stats.containers:
        outcomes.add_row(*_outcome_row(enums.label(enums.Container, item.container) or "unknown", item.stats))
    for source in stats.sources:
        outcomes.add_row(*_outcome_row(enums.label(enums.Source, source.source) or "unknown", source.stats))
    return [_counts_table("Queue", stats.queue, stats.workers), outcomes]


def daily_table(reply: stats_service_pb2.GetDailyStatsResponse) -> Table:
    table = Table(title="Jobs per day (UTC)")
    for column in ("Day", "Total", "Success", "Failed", "Skipped", "Changed", "Avg duration", ""):
        table.add_column(column, justify="right")
    peak = max((day.total for day in reply.days), default=0) or 1
    for day in reply.days:
        bar = "█" * round(20 * day.total / peak)
        table.add_row(
            day.date,
            str(day.total),
            str(day.success),
            str(day.failed),
            str(day.skipped),
            str(day.track_changes),
            duration_ms(day.avg_duration_ms) if day.total else "",
            bar,
        )
    return table


def webhooks_table(
    hooks: Iterable[webhook_service_pb2.Webhook], title: str = "Webhooks", *, width: int | None = None
) -> Table:
    rows = (
        (
            short_id(hook.webhook_id),
            enums.label(enums.Source, hook.source),
            escape(hook.event_type),
            str(hook.file_count),
            f"{hook.counts.completed + hook.counts.failed + hook.counts.cancelled}/{hook.counts.total}",
            str(hook.results.track_changes),
            str(hook.counts.failed),
            when(hook, "created_at", short=True),
            escape(hook.title),
        )
        for hook in hooks
    )
    return _table(
        title,
        ("ID", "Source", "Event", "Files", "Done", "Changed", "Failed", "Received", "Title"),
        rows,
        path_column="Title",
        wide_only=("Files", "Failed"),
        width=width,
    )


def webhook_tables(reply: webhook_service_pb2.GetWebhookResponse, *, width: int | None = None) -> list[Table]:
    hook = reply.webhook
    summary = Table(title=f"Webhook {hook.webhook_id}", show_header=False)
    summary.add_column("Field", style="bold")
    summary.add_column("Value", overflow="fold")
    rows = [
        ("Source", enums.label(enums.Source, hook.source)),
        ("Event", escape(hook.event_type)),
        ("Title", escape(hook.title)),
        ("Original language", hook.original_language),
        ("Files", str(hook.file_count)),
        ("Done", f"{hook.counts.completed + hook.counts.failed + hook.counts.cancelled}/{hook.counts.total}"),
        ("Tracks changed", str(hook.results.track_changes)),
        ("Received", when(hook, "created_at")),
    ]
    for name, value in rows:
        if value:
            summary.add_row(name, value)
    return [summary, jobs_table(reply.jobs, title="Jobs", width=width)]


def health_line(health: admin_service_pb2.GetHealthResponse) -> str:
    style = "green" if health.status == "SERVING" else "red"
    return f"[{style}]{health.status}[/] version {health.version}, storage {health.storage}"


def cleanup_line(reply: admin_service_pb2.CleanupResponse) -> str:
    return (
        f"Removed {reply.jobs_removed} jobs, {reply.batches_removed} batches, "
        f"{reply.webhooks_removed} webhooks."
    )
