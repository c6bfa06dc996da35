"""Commands that talk to a running ArrTheAudio server: batches, jobs, queue, stats, webhooks, admin.

Connection options work on the group (``arrtheaudio --target h:p --json jobs list``) and on
each command (``arrtheaudio jobs list --json``); the command's own value wins. The API key
comes from ``--api-key``, ``ARRTHEAUDIO_API_KEY``, or ``./config/api_key`` (the file the
server writes at first start), in that order.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)

from arrtheaudio import enums
from arrtheaudio.cli import exit_codes, render
from arrtheaudio.client import Client
from arrtheaudio.durations import days, parse_duration, whole_days
from arrtheaudio.errors import ArrTheAudioError
from arrtheaudio.options import API_KEY_ENV, DEFAULT_TARGET, TARGET_ENV
from arrtheaudio_proto.v1 import batch_service_pb2, common_pb2

API_KEY_FILE = Path("config/api_key")
_META_KEY = "arrtheaudio.remote"
F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class RemoteSettings:
    target: str | None = None
    api_key: str | None = None
    as_json: bool = False

    def resolved_api_key(self) -> str | None:
        if self.api_key:
            return self.api_key
        if API_KEY_FILE.is_file():
            return API_KEY_FILE.read_text(encoding="utf-8").strip() or None
        return None


def _settings(ctx: click.Context) -> RemoteSettings:
    return ctx.meta.setdefault(_META_KEY, RemoteSettings())  # meta is shared by nested contexts


def _store(attribute: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        if value is None or value is False:
            return
        setattr(_settings(ctx), attribute, value)

    return callback


def _connection_option_specs(*, group_level: bool) -> list[tuple[list[str], dict[str, Any]]]:
    """The same three options for the group (with env vars) and for each command (explicit only)."""
    common: dict[str, Any] = {"expose_value": False, "is_eager": True}
    return [
        (
            ["--target"],
            {
                **common,
                "metavar": "HOST:PORT",
                "callback": _store("target"),
                "envvar": TARGET_ENV if group_level else None,
                "help": f"Server address (env {TARGET_ENV}; default {DEFAULT_TARGET}).",
            },
        ),
        (
            ["--api-key"],
            {
                **common,
                "metavar": "KEY",
                "callback": _store("api_key"),
                "envvar": API_KEY_ENV if group_level else None,
                "help": f"API key (env {API_KEY_ENV}; else ./config/api_key).",
            },
        ),
        (
            ["--json", "as_json"],
            {
                **common,
                "is_flag": True,
                "default": False,
                "callback": _store("as_json"),
                "help": "Print protobuf JSON (streams: one object per line).",
            },
        ),
    ]


def _install_group_options(group: click.Group) -> None:
    taken = {name for param in group.params for name in param.opts}
    for opts, attrs in _connection_option_specs(group_level=True):
        option = click.Option(opts, **attrs)
        if not taken.intersection(option.opts):
            group.params.append(option)


def remote_command(func: F) -> F:
    """Give a command the connection options and turn client errors into one line + exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        try:
            return func(*args, **kwargs)
        except ArrTheAudioError as exc:
            click.echo(f"Error: {exc.message()}", err=True)
            ctx.exit(exit_codes.for_error(exc))

    decorated: Callable[..., Any] = wrapper
    for opts, attrs in reversed(_connection_option_specs(group_level=False)):
        decorated = click.option(*opts, **attrs)(decorated)
    return decorated  # type: ignore[return-value]


@dataclass
class Session:
    """What a command needs: a connected client, where to print, and how."""

    client: Client
    console: Console
    as_json: bool

    def show(self, message: Any, *renderables: Any, compact: bool = False) -> None:
        """``message`` as JSON with ``--json``; else the tables or lines made for people."""
        if self.as_json:
            render.print_json(self.console, message, compact=compact)
        else:
            for renderable in renderables:
                self.console.print(renderable)


def session() -> Session:
    """A Session closed with the click context (so every command gets one channel, released at exit)."""
    ctx = click.get_current_context()
    settings = _settings(ctx)
    client = ctx.with_resource(Client(settings.target or None, api_key=settings.resolved_api_key()))
    return Session(client=client, console=Console(), as_json=settings.as_json)


class DurationParam(click.ParamType):
    """``30d``, ``12h``, ``1w``, ``1d12h`` → ``timedelta``."""

    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> timedelta:
        if isinstance(value, timedelta):
            return value
        try:
            return parse_duration(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def _enum_choice(enum: Any) -> click.Choice:
    return click.Choice(enums.choices(enum), case_sensitive=False)


# -- streaming output ---------------------------------------------------------------------------


def _job_event_line(event: Any) -> str:
    job = event.job
    kind = enums.label(enums.EventType, event.type)
    status = render.styled(enums.label(enums.JobStatus, job.status))
    extra = render.job_result(job)
    return (
        f"{kind:<8} {render.short_id(job.job_id)} {status}"
        + (f" {extra}" if extra else "")
        + (f" — {escape(job.reason)}" if job.reason and event.final else "")
    )


def _final_exit(ok: bool) -> None:
    if not ok:
        click.get_current_context().exit(exit_codes.UNSUCCESSFUL)


def _follow_batch(s: Session, batch_id: str) -> None:
    """Live progress bar (ETA from the server's estimate) until the batch is terminal."""
    if s.as_json:
        last = None
        for event in s.client.watch_batch(batch_id):
            render.print_json(s.console, event, compact=True)
            last = event
        _final_exit(last is not None and last.batch.status == common_pb2.BATCH_STATUS_COMPLETED)
        return
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("ETA {task.fields[eta]}"),
        TimeElapsedColumn(),
    )
    batch: batch_service_pb2.Batch | None = None
    with Progress(*columns, console=s.console, transient=False) as progress:
        task = progress.add_task(render.short_id(batch_id), total=None, eta="?")
        for event in s.client.watch_batch(batch_id):
            batch = event.batch
            p = batch.progress
            progress.update(
                task,
                description=f"{render.short_id(batch.batch_id)} {enums.label(enums.BatchStatus, batch.status)}",
                total=p.total or None,
                completed=p.completed,
                eta=f"{p.eta_seconds:.0f}s" if p.eta_seconds else ("-" if event.final else "?"),
            )
    if batch is not None:
        s.console.print(render.batch_details(batch))
        _final_exit(batch.status == common_pb2.BATCH_STATUS_COMPLETED)


# -- commands -----------------------------------------------------------------------------------


def register(group: click.Group) -> None:
    _install_group_options(group)

    @group.group("batch")
    def batch() -> None:
        """Library scans on the server."""

    @batch.command("start")
    @click.argument("path")
    @click.option("--pattern", default="", help='Glob on file names, e.g. "*.mkv" (default: every MKV/MP4).')
    @click.option(
        "--recursive/--no-recursive", default=True, show_default=True, help="Descend into subfolders."
    )
    @click.option("--dry-run", is_flag=True, help="Only report what would change.")
    @click.option("--priority", type=_enum_choice(enums.Priority), default=None, help="Default: normal.")
    @click.option(
        "--min-size", type=click.FloatRange(min=0), default=0.0, help="Skip files under this many MiB."
    )
    @click.option(
        "--max-age", type=DurationParam(), default=None, help="Skip files modified longer ago (e.g. 7d)."
    )
    @click.option(
        "--exclude", multiple=True, help="Glob (relative to PATH, ** allowed) to leave out; repeatable."
    )
    @click.option(
        "--force", is_flag=True, help="Check every file, also those unchanged since their last check."
    )
    @click.option(
        "--watch", is_flag=True, help="Follow the batch with a live progress bar until it finishes."
    )
    @remote_command
    def batch_start(
        path: str,
        pattern: str,
        recursive: bool,
        dry_run: bool,
        priority: str | None,
        min_size: float,
        max_age: timedelta | None,
        exclude: tuple[str, ...],
        force: bool,
        watch: bool,
    ) -> None:
        """Scan PATH (as the server sees it) and queue one job per media file."""
        s = session()
        reply = s.client.start_batch(
            path,
            recursive=recursive,
            pattern=pattern,
            dry_run=dry_run,
            priority=priority,
            min_size_mb=min_size,
            max_age=days(max_age) if max_age else 0.0,
            exclude=exclude,
            force=force,
        )
        s.show(reply, f"Batch [bold]{reply.batch_id}[/] started: {escape(reply.message)}", compact=watch)
        if watch:
            _follow_batch(s, reply.batch_id)

    @batch.command("status")
    @click.argument("batch_id")
    @click.option(
        "--limit", type=click.IntRange(0, 100), default=20, show_default=True, help="Per-file jobs to show."
    )
    @click.option("--offset", type=click.IntRange(min=0), default=0)
    @remote_command
    def batch_status(batch_id: str, limit: int, offset: int) -> None:
        """Progress, results and a page of per-file jobs of one batch.

        BATCH_ID may be any unique prefix of the id (at least 4 characters), as tables show it.
        """
        s = session()
        reply = s.client.get_batch(batch_id, limit=limit, offset=offset)
        s.show(
            reply,
            render.batch_details(reply.batch),
            render.jobs_table(
                reply.jobs,
                title=f"Jobs {offset + 1 if reply.jobs else 0}-"
                f"{offset + len(reply.jobs)} of {reply.total_jobs}",
                width=s.console.width,
            ),
        )

    @batch.command("watch")
    @click.argument("batch_id")
    @remote_command
    def batch_watch(batch_id: str) -> None:
        """Follow a batch until it finishes (exit 8 when it failed or was cancelled)."""
        _follow_batch(session(), batch_id)

    @batch.command("cancel")
    @click.argument("batch_id")
    @remote_command
    def batch_cancel(batch_id: str) -> None:
        """Stop the scan and cancel the batch's jobs that have not started."""
        s = session()
        reply = s.client.cancel_batch(batch_id)
        s.show(
            reply,
            f"Batch {render.short_id(reply.batch.batch_id)} cancelled ({reply.cancelled_jobs} jobs cancelled).",
        )

    @batch.command("retry")
    @click.argument("batch_id")
    @remote_command
    def batch_retry(batch_id: str) -> None:
        """Queue the batch's failed jobs again (after fixing what made them fail)."""
        s = session()
        reply = s.client.retry_batch(batch_id)
        skipped = (
            f", {reply.skipped_jobs} left alone: another job for the file is active"
            if reply.skipped_jobs
            else ""
        )
        s.show(
            reply,
            f"Batch {render.short_id(reply.batch.batch_id)}: {reply.retried_jobs} failed jobs queued again{skipped}.",
        )

    @batch.command("list")
    @click.option("--status", type=_enum_choice(enums.BatchStatus), default=None)
    @click.option("--limit", type=click.IntRange(0, 100), default=20, show_default=True)
    @click.option("--offset", type=click.IntRange(min=0), default=0)
    @remote_command
    def batch_list(status: str | None, limit: int, offset: int) -> None:
        """Batches, newest first."""
        s = session()
        reply = s.client.list_batches(status=status, limit=limit, offset=offset)
        s.show(
            reply,
            render.batches_table(
                reply.batches, title=f"Batches ({reply.total_size} total)", width=s.console.width
            ),
        )

    @group.group("jobs")
    def jobs() -> None:
        """Single jobs (one per file)."""

    @jobs.command("list")
    @click.option("--status", type=_enum_choice(enums.JobStatus), default=None)
    @click.option("--batch", "batch_id", default="", help="Only jobs of this batch (id or unique prefix).")
    @click.option(
        "--webhook",
        "webhook_id",
        default="",
        help="Only jobs of this webhook delivery (id or unique prefix).",
    )
    @click.option("--source", type=_enum_choice(enums.Source), default=None)
    @click.option("--container", type=_enum_choice(enums.Container), default=None)
    @click.option("--limit", type=click.IntRange(0, 100), default=20, show_default=True)
    @click.option("--offset", type=click.IntRange(min=0), default=0)
    @click.option(
        "--order-by",
        default="",
        help='"<field> [asc|desc]": created_at, completed_at, priority, duration_ms.',
    )
    @remote_command
    def jobs_list(limit: int, offset: int, order_by: str, **filters: Any) -> None:
        """Jobs matching all filters, newest first."""
        s = session()
        reply = s.client.list_jobs(limit=limit, offset=offset, order_by=order_by, **filters)
        s.show(
            reply,
            render.jobs_table(reply.jobs, title=f"Jobs ({reply.total_size} total)", width=s.console.width),
        )

    @jobs.command("show")
    @click.argument("job_id")
    @remote_command
    def jobs_show(job_id: str) -> None:
        """Everything about one job.

        JOB_ID may be any unique prefix of the id (at least 4 characters), as tables show it.
        """
        s = session()
        job = s.client.get_job(job_id)
        s.show(job, render.job_details(job), render.job_tracks(job))

    @jobs.command("cancel")
    @click.argument("job_id")
    @remote_command
    def jobs_cancel(job_id: str) -> None:
        """Cancel a job that has not finished."""
        s = session()
        job = s.client.cancel_job(job_id)
        s.show(job, f"Job {render.short_id(job.job_id)} is now {enums.label(enums.JobStatus, job.status)}.")

    @jobs.command("retry")
    @click.argument("job_id")
    @remote_command
    def jobs_retry(job_id: str) -> None:
        """Queue a failed or cancelled job again (attempts start over)."""
        s = session()
        job = s.client.retry_job(job_id)
        s.show(job, f"Job {render.short_id(job.job_id)} is now {enums.label(enums.JobStatus, job.status)}.")

    @jobs.command("watch")
    @click.argument("job_id")
    @remote_command
    def jobs_watch(job_id: str) -> None:
        """Print the job's state changes until it finishes (exit 8 when it failed or was cancelled)."""
        s = session()
        last = None
        for event in s.client.watch_job(job_id):
            last = event
            if s.as_json:
                render.print_json(s.console, event, compact=True)
            else:
                s.console.print(_job_event_line(event))
        _final_exit(last is not None and last.job.status == common_pb2.JOB_STATUS_COMPLETED)

    @group.command("queue")
    @click.option(
        "--next",
        "next_limit",
        type=click.IntRange(0, 100),
        default=10,
        show_default=True,
        help="How many waiting jobs to list.",
    )
    @remote_command
    def queue(next_limit: int) -> None:
        """Queue counts, workers, running jobs and the next ones to run."""
        s = session()
        reply = s.client.get_queue(next_limit=next_limit)
        s.show(reply, *render.queue_tables(reply, width=s.console.width))

    @group.command("stats")
    @click.option("--daily", is_flag=True, help="Jobs finished per day instead (a bar per day).")
    @click.option(
        "--days",
        type=click.IntRange(0, 366),
        default=0,
        help="With --daily: how many days back (0 = the server's retention window).",
    )
    @remote_command
    def stats(daily: bool, days: int) -> None:
        """Queue, today, lifetime, per-container and per-source figures (or, --daily, per day)."""
        s = session()
        if daily:
            per_day = s.client.get_daily_stats(days)
            s.show(per_day, render.daily_table(per_day))
            return
        reply = s.client.get_stats()
        s.show(reply, *render.stats_tables(reply))

    @group.command("health")
    @remote_command
    def health() -> None:
        """Whether the server can serve (exit 7 when it cannot)."""
        s = session()
        reply = s.client.health()
        s.show(reply, render.health_line(reply))
        if reply.status != "SERVING":
            click.get_current_context().exit(exit_codes.UNAVAILABLE)

    @group.group("webhook")
    def webhook() -> None:
        """Sonarr/Radarr webhook deliveries."""

    @webhook.command("list")
    @click.option("--source", type=_enum_choice(enums.Source), default=None)
    @click.option("--limit", type=click.IntRange(0, 100), default=20, show_default=True)
    @click.option("--offset", type=click.IntRange(min=0), default=0)
    @remote_command
    def webhook_list(source: str | None, limit: int, offset: int) -> None:
        """Recent deliveries, newest first, with how far their jobs got."""
        s = session()
        reply = s.client.list_webhooks(source=source, limit=limit, offset=offset)
        s.show(
            reply,
            render.webhooks_table(
                reply.webhooks, title=f"Webhooks ({reply.total_size} total)", width=s.console.width
            ),
        )

    @webhook.command("show")
    @click.argument("webhook_id")
    @remote_command
    def webhook_show(webhook_id: str) -> None:
        """One delivery and its jobs.

        WEBHOOK_ID may be any unique prefix of the id (at least 4 characters), as tables show it.
        """
        s = session()
        reply = s.client.get_webhook(webhook_id)
        s.show(reply, *render.webhook_tables(reply, width=s.console.width))

    @webhook.command("watch")
    @click.argument("webhook_id")
    @remote_command
    def webhook_watch(webhook_id: str) -> None:
        """Print the delivery's job changes until all its jobs are finished."""
        s = session()
        for event in s.client.watch_webhook(webhook_id):
            if s.as_json:
                render.print_json(s.console, event, compact=True)
            elif event.HasField("job"):
                s.console.print(_job_event_line(event))
            else:
                counts = event.webhook.counts
                s.console.print(
                    f"{enums.label(enums.EventType, event.type):<8} {render.short_id(event.webhook.webhook_id)} "
                    f"{counts.completed + counts.failed + counts.cancelled}/{counts.total} done"
                )

    @group.group("admin")
    def admin() -> None:
        """Housekeeping."""

    @admin.command("cleanup")
    @click.option(
        "--older-than", type=DurationParam(), required=True, help="Age cut-off in whole days: 30d, 2w."
    )
    @click.option(
        "--status",
        "statuses",
        type=click.Choice(["completed", "failed", "cancelled"], case_sensitive=False),
        multiple=True,
        help="Only these statuses (repeatable; default all three).",
    )
    @remote_command
    def admin_cleanup(older_than: timedelta, statuses: tuple[str, ...]) -> None:
        """Remove finished jobs older than the cut-off now (instead of waiting for retention)."""
        try:
            older_than_days = whole_days(older_than)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--older-than") from exc
        s = session()
        reply = s.client.cleanup(older_than_days, statuses=statuses)
        s.show(reply, render.cleanup_line(reply))


__all__ = ["DurationParam", "RemoteSettings", "register"]
