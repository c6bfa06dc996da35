"""Tables at 80 columns: 8-character ids that never wrap, and only the path column folds."""

from __future__ import annotations

import uuid

import pytest
from rich.console import Console

from arrtheaudio.cli import render
from arrtheaudio_proto.v1 import batch_service_pb2, common_pb2, job_service_pb2, webhook_service_pb2

LONG_PATH = (
    "/media/tv/Some Very Long Show Name (2019)/Season 01/Some Very Long Show Name - S01E01 [WEBDL-1080p].mkv"
)


def _jobs() -> list[common_pb2.Job]:
    jobs = []
    for status, code in [
        (common_pb2.JOB_STATUS_COMPLETED, "changed"),
        (common_pb2.JOB_STATUS_WAITING_FOR_SPACE, ""),
        (common_pb2.JOB_STATUS_FAILED, "no_preferred_language"),
        (common_pb2.JOB_STATUS_RUNNING, ""),
    ]:
        job = common_pb2.Job(
            job_id=uuid.uuid4().hex, status=status, reason_code=code, file_path=LONG_PATH, language="jpn"
        )
        job.created_at.GetCurrentTime()
        jobs.append(job)
    return jobs


def _lines(*renderables: object, width: int) -> list[str]:
    console = Console(width=width, record=True, force_terminal=False, color_system=None)
    for renderable in renderables:
        console.print(renderable)
    return console.export_text().splitlines()


def _assert_short_ids_on_one_line(lines: list[str], ids: list[str], width: int = 80) -> None:
    text = "\n".join(lines)
    for full in ids:
        assert full not in text  # tables show the short form ...
        assert sum(line.split()[:1] == [full[:8]] or f" {full[:8]} " in line for line in lines) == 1, full
    assert max(len(line) for line in lines) <= width


@pytest.mark.parametrize("width", [80, 100])
def test_jobs_table_fits_and_ids_never_wrap(width: int) -> None:
    jobs = _jobs()
    lines = _lines(render.jobs_table(jobs, title="Jobs", width=width), width=width)
    _assert_short_ids_on_one_line(lines, [job.job_id for job in jobs], width)
    assert any("waiting_for_space" in line for line in lines)  # status never folds
    assert any("no_preferred_language" in line for line in lines)
    assert "Created" not in "\n".join(lines)  # left out below render.WIDE columns
    assert "[WEBDL-1080p].mkv" in "\n".join(lines)  # the path folds but is all there


def test_wide_terminals_get_every_column() -> None:
    lines = _lines(render.jobs_table(_jobs(), title="Jobs", width=160), width=160)
    header = next(line for line in lines if line.lstrip().startswith("ID"))
    assert header.split() == ["ID", "Status", "Result", "Lang", "Time", "Created", "File"]


def test_batches_and_queue_tables_fit_80_columns() -> None:
    batches = []
    for dry_run in (True, False):
        batch = batch_service_pb2.Batch(
            batch_id=uuid.uuid4().hex,
            status=common_pb2.BATCH_STATUS_SCANNING,
            path=LONG_PATH,
            dry_run=dry_run,
        )
        batch.progress.completed, batch.progress.total = 1200, 12000
        batches.append(batch)
    jobs = _jobs()
    queue = job_service_pb2.GetQueueResponse(
        current_jobs=jobs[:2],
        next_jobs=[
            job_service_pb2.QueuedJob(position=index + 1, job=job) for index, job in enumerate(jobs[2:])
        ],
    )
    lines = _lines(render.batches_table(batches, width=80), *render.queue_tables(queue, width=80), width=80)
    _assert_short_ids_on_one_line(lines, [b.batch_id for b in batches] + [j.job_id for j in jobs])
    assert any("scanning (dry)" in line for line in lines)


def test_details_show_the_whole_id() -> None:
    job = _jobs()[0]
    text = "\n".join(_lines(render.job_details(job), width=80))
    assert job.job_id in text


def test_webhooks_table_fits_80_columns() -> None:
    hooks = [
        webhook_service_pb2.Webhook(
            webhook_id=uuid.uuid4().hex,
            source=common_pb2.SOURCE_SONARR,
            event_type="Download",
            title="Some Very Long Show Name (2019) - S01E01 - A Rather Long Episode Title",
            file_count=12,
        )
        for _ in range(3)
    ]
    lines = _lines(render.webhooks_table(hooks, width=80), width=80)
    _assert_short_ids_on_one_line(lines, [hook.webhook_id for hook in hooks])
