"""``arrtheaudio`` remote commands via click's CliRunner against an in-process server."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from arrtheaudio.cli import exit_codes
from arrtheaudio.cli.main import cli
from arrtheaudio_proto.v1 import common_pb2
from tests.client.canned import API_KEY, CannedBackend

grpc_max_workers = 4  # read by pytest-grpc


@pytest.fixture
def run(grpc_addr: str, backend: CannedBackend) -> Any:
    def invoke(*args: str, env: dict[str, str | None] | None = None) -> Result:
        base: dict[str, str | None] = {
            "ARRTHEAUDIO_TARGET": grpc_addr,
            "ARRTHEAUDIO_API_KEY": API_KEY,
            "COLUMNS": "250",
        }
        return CliRunner().invoke(cli, list(args), env={**base, **(env or {})}, catch_exceptions=False)

    return invoke


def test_jobs_list_table_and_filters(run: Any, backend: CannedBackend) -> None:
    result = run("jobs", "list", "--source", "sonarr", "--status", "completed", "--limit", "5")
    assert result.exit_code == 0, result.output
    assert "job-4" in result.stdout and "job-5" in result.stdout and "job-1 " not in result.stdout
    assert "Jobs (2 total)" in result.stdout
    assert "/media/tv/Show/S01E05.mkv" in result.stdout
    sent = backend.requests[-1][1]
    assert (sent.source, sent.status, sent.limit) == (
        common_pb2.SOURCE_SONARR,
        common_pb2.JOB_STATUS_COMPLETED,
        5,
    )


def test_jobs_list_json_uses_proto_field_names(run: Any) -> None:
    result = run("--json", "jobs", "list", "--batch", "batch-1", "--order-by", "created_at asc")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["total_size"] == 3
    assert [job["job_id"] for job in data["jobs"]] == ["job-1", "job-2", "job-3"]
    assert data["jobs"][0]["status"] == "JOB_STATUS_COMPLETED"


def test_json_flag_also_works_after_the_command(run: Any) -> None:
    result = run("jobs", "show", "job-6", "--json")
    assert json.loads(result.stdout)["reason_code"] == "corrupt"


def test_jobs_show_table(run: Any) -> None:
    result = run("jobs", "show", "job-1")
    assert result.exit_code == 0
    for expected in ("Job job-1", "completed", "success (changed)", "jpn", "batch-1", "100ms"):
        assert expected in result.stdout
    # The audio tracks as read, with the default before -> after, and how it was written.
    for expected in ("Audio tracks", "English", "E-AC-3", "yes → no", "no → yes", "written: mkvpropedit"):
        assert expected in result.stdout
    assert "hearing impaired, original" in result.stdout


def test_not_found_is_one_line_and_exit_3(run: Any) -> None:
    result = run("jobs", "show", "nope")
    assert result.exit_code == exit_codes.NOT_FOUND
    assert result.stderr == "Error: NOT_FOUND: job nope not found\n"
    assert result.stdout == ""


def test_invalid_argument_shows_field_violations(run: Any) -> None:
    result = run("jobs", "list", "--order-by", "size")
    assert result.exit_code == exit_codes.INVALID_ARGUMENT
    assert "order_by: unknown order 'size'" in result.stderr


def test_bad_option_is_a_usage_error(run: Any, backend: CannedBackend) -> None:
    result = run("jobs", "list", "--limit", "500")
    assert result.exit_code == exit_codes.USAGE
    assert backend.requests == []


def test_jobs_cancel_then_conflict(run: Any) -> None:
    first = run("jobs", "cancel", "job-7")
    assert first.exit_code == 0 and "now cancelled" in first.stdout
    again = run("jobs", "cancel", "job-7")
    assert again.exit_code == exit_codes.CONFLICT
    assert "FAILED_PRECONDITION" in again.stderr
    as_json = run("--json", "jobs", "cancel", "job-1")
    assert as_json.exit_code == exit_codes.CONFLICT


def test_jobs_watch_lines_and_ndjson(run: Any) -> None:
    result = run("jobs", "watch", "job-2")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["snapshot", "update", "update"]
    assert "completed" in lines[-1]
    ndjson = run("--json", "jobs", "watch", "job-2")
    events = [json.loads(line) for line in ndjson.stdout.splitlines()]
    assert [int(e["sequence"]) for e in events] == [1, 3, 4]
    assert events[-1]["final"] is True


def test_jobs_watch_failed_job_exits_8(run: Any) -> None:
    result = run("jobs", "watch", "job-6")
    assert result.exit_code == exit_codes.UNSUCCESSFUL
    assert "failed (corrupt)" in result.stdout


def test_jobs_watch_in_band_error(run: Any) -> None:
    result = run("jobs", "watch", "job-broken")
    assert result.exit_code == exit_codes.ERROR
    assert "INTERNAL: storage went away" in result.stderr


def test_batch_start_sends_options(run: Any, backend: CannedBackend) -> None:
    result = run(
        "batch",
        "start",
        "/media/tv/Show",
        "--pattern",
        "*.mkv",
        "--no-recursive",
        "--dry-run",
        "--priority",
        "high",
        "--min-size",
        "100",
        "--max-age",
        "12h",
        "--exclude",
        "**/Extras/**",
        "--exclude",
        "*.sample.*",
    )
    assert result.exit_code == 0, result.output
    assert "Batch batch-6 started: scanning /media/tv/Show (about 3 files)" in result.stdout
    sent = backend.requests[-1][1]
    assert (sent.recursive, sent.pattern, sent.dry_run, sent.priority, sent.min_size_mb) == (
        False,
        "*.mkv",
        True,
        common_pb2.PRIORITY_HIGH,
        100.0,
    )
    assert sent.max_age_days == pytest.approx(0.5)
    assert list(sent.exclude_patterns) == ["**/Extras/**", "*.sample.*"]


def test_batch_start_watch_shows_progress_to_completion(run: Any) -> None:
    result = run("batch", "start", "/media/tv/Other", "--watch")
    assert result.exit_code == 0, result.output
    assert "3/3" in result.stdout and "100%" in result.stdout
    assert "Batch batch-6" in result.stdout  # the final details table


def test_batch_start_watch_json_is_ndjson(run: Any) -> None:
    result = run("--json", "batch", "start", "/media/tv/Other", "--watch")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines[0]["batch_id"] == "batch-6"
    assert [line["batch"]["progress"].get("completed", 0) for line in lines[1:]] == [0, 1, 2, 3]


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/etc", exit_codes.DENIED),
        ("/media/full", exit_codes.UNAVAILABLE),
        ("rel", exit_codes.INVALID_ARGUMENT),
    ],
)
def test_batch_start_errors(run: Any, path: str, code: int) -> None:
    result = run("batch", "start", path)
    assert result.exit_code == code
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1


def test_batch_start_twice_conflicts(run: Any) -> None:
    assert run("batch", "start", "/media/x").exit_code == 0
    assert run("batch", "start", "/media/x").exit_code == exit_codes.CONFLICT


def test_batch_status_list_cancel_watch(run: Any) -> None:
    status = run("batch", "status", "batch-1", "--limit", "2")
    assert status.exit_code == 0
    assert "Batch batch-1" in status.stdout and "Jobs 1-2 of 3" in status.stdout
    listed = json.loads(run("--json", "batch", "list", "--limit", "2").stdout)
    assert listed["total_size"] == 5 and len(listed["batches"]) == 2
    table = run("batch", "list", "--status", "completed")
    assert "Batches (5 total)" in table.stdout and "/media/tv/Show3" in table.stdout
    cancelled = run("batch", "cancel", "batch-2")
    assert "2 jobs cancelled" in cancelled.stdout
    assert json.loads(run("--json", "batch", "cancel", "batch-3").stdout)["cancelled_jobs"] == 2
    assert run("batch", "watch", "batch-broken").exit_code == exit_codes.UNAVAILABLE
    assert run("batch", "status", "batch-404").exit_code == exit_codes.NOT_FOUND


def test_batch_watch_cancelled_batch_exits_8(run: Any, backend: CannedBackend) -> None:
    # The canned stream always ends COMPLETED; a cancelled snapshot must make the exit code 8.
    original = backend.WatchBatch

    def cancelled(request: Any, md: Any) -> Any:
        for event in original(request, md):
            if event.final:
                event.batch.status = common_pb2.BATCH_STATUS_CANCELLED
            yield event

    backend.WatchBatch = cancelled  # type: ignore[method-assign]
    assert run("batch", "watch", "batch-1").exit_code == exit_codes.UNSUCCESSFUL
    assert run("--json", "batch", "watch", "batch-1").exit_code == exit_codes.UNSUCCESSFUL


def test_queue_stats_health(run: Any) -> None:
    queue = run("queue", "--next", "3")
    assert queue.exit_code == 0 and "inst/1" in queue.stdout and "job-7" in queue.stdout
    stats = run("stats")
    assert "lifetime" in stats.stdout and "83.3%" in stats.stdout and "mkv" in stats.stdout
    assert json.loads(run("--json", "stats").stdout)["lifetime"]["total"] in (6, "6")
    health = run("health")
    assert "SERVING" in health.stdout and "sqlite" in health.stdout
    assert json.loads(run("health", "--json").stdout)["status"] == "SERVING"


def test_webhook_show_and_watch(run: Any) -> None:
    shown = run("webhook", "show", "wh-1")
    assert shown.exit_code == 0 and "Download" in shown.stdout and "job-4" in shown.stdout
    watched = run("webhook", "watch", "wh-1")
    assert watched.stdout.splitlines()[0].startswith("snapshot wh-1 2/2 done")
    assert "job-4" in watched.stdout.splitlines()[1]
    assert len(run("--json", "webhook", "watch", "wh-1").stdout.splitlines()) == 2
    assert run("webhook", "show", "wh-9").exit_code == exit_codes.NOT_FOUND


def test_admin_cleanup_durations(run: Any, backend: CannedBackend) -> None:
    result = run("admin", "cleanup", "--older-than", "30d", "--status", "failed", "--status", "cancelled")
    assert result.exit_code == 0
    assert result.stdout.strip() == "Removed 30 jobs, 2 batches, 0 webhooks."
    sent = backend.requests[-1][1]
    assert list(sent.statuses) == [common_pb2.JOB_STATUS_FAILED, common_pb2.JOB_STATUS_CANCELLED]
    assert json.loads(run("--json", "admin", "cleanup", "--older-than", "2w").stdout)["jobs_removed"] == 14
    half_day = run("admin", "cleanup", "--older-than", "12h")
    assert half_day.exit_code == exit_codes.USAGE and "whole number of days" in half_day.stderr
    bogus = run("admin", "cleanup", "--older-than", "soon")
    assert bogus.exit_code == exit_codes.USAGE and "invalid duration" in bogus.stderr


def test_wrong_key_and_key_file(run: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = run("stats", "--api-key", "wrong")
    assert wrong.exit_code == exit_codes.DENIED and "UNAUTHENTICATED" in wrong.stderr
    monkeypatch.chdir(tmp_path)
    assert run("stats", env={"ARRTHEAUDIO_API_KEY": None}).exit_code == exit_codes.DENIED
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "api_key").write_text(API_KEY + "\n")
    assert run("stats", env={"ARRTHEAUDIO_API_KEY": None}).exit_code == 0


def test_command_target_overrides_group_and_unreachable_exits_7(run: Any, grpc_addr: str) -> None:
    result = run("--target", "127.0.0.1:1", "health", "--target", grpc_addr)
    assert result.exit_code == 0
    down = run("--target", "127.0.0.1:1", "health")
    assert down.exit_code == exit_codes.UNAVAILABLE and down.stderr.startswith("Error: UNAVAILABLE")


def test_serve_runs_the_server_main_lazily(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls: list[list[str]] = []
    fake = types.ModuleType("arrtheaudio_server.app")
    fake.main = calls.append  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "arrtheaudio_server.app", fake)
    config = tmp_path / "config.yaml"
    assert CliRunner().invoke(cli, ["serve", "--config", str(config)]).exit_code == 0
    assert CliRunner().invoke(cli, ["serve"]).exit_code == 0
    assert calls == [["--config", str(config)], []]


def test_paths_with_brackets_are_printed_literally(run: Any, backend: CannedBackend) -> None:
    backend.jobs["job-1"].file_path = "/media/tv/Show [1080p] [/]/S01E01 [bold].mkv"
    backend.jobs["job-1"].reason = "odd [/] reason"
    shown = run("jobs", "show", "job-1")
    assert shown.exit_code == 0, shown.output
    assert "/media/tv/Show [1080p] [/]/S01E01 [bold].mkv" in shown.stdout
    assert "odd [/] reason" in shown.stdout
    listed = run("jobs", "list", "--batch", "batch-1")
    assert "[1080p]" in listed.stdout
