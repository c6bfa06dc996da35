"""Scenario 2 — kill mid-MP4-remux: SIGKILL to the server, and separately to its ffmpeg child.

The remux is caught in the middle for certain, not by luck: an ``ffmpeg`` first on the
server's PATH passes ``-re`` to the real ffmpeg (read the input at its native rate), so the
remux of a 6-second file takes about six seconds while the temp file grows. The test kills
once that temp file has data in it.

Pass: the original is byte-identical with the same mtime right after the kill; after the
restart (or after the retry delay) the temp file is gone; the job completes on its retry and
the file then has exactly one default audio track, the Japanese one.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.reliability.harness import (
    Api,
    Database,
    fingerprint,
    media_problems,
    prepend_path,
    server_settings,
    temp_files,
    tool_path,
    wait_for,
    write_script,
)
from tests.reliability.results import record
from tests.support.media_files import AudioSpec, make_mp4
from tests.support.mp4_files import with_compressed_moov
from tests.support.server import ServerProcess, make_server

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

SLOW_FFMPEG = """#!/bin/bash
# Test double in front of the real ffmpeg: while {ctl}/slow exists, a remux (its output is
# our temp file) reads its input at native speed (-re), so it can be killed half-way.
case " $* " in
  *arrtheaudio-tmp*)
    echo $$ >> {ctl}/remux.pids
    if [ -e {ctl}/slow ]; then
      args=()
      for a in "$@"; do
        if [ "$a" = "-i" ]; then args+=("-re"); fi
        args+=("$a")
      done
      exec {real} "${{args[@]}}"
    fi
    ;;
esac
exec {real} "$@"
"""


def _setup(tmp_path: Path) -> tuple[ServerProcess, Path, Path, Database]:
    root = tmp_path / "media"
    # A compressed index (cmov): MP4s are edited in place by default, this one can only be
    # remuxed, which is the write this scenario kills.
    movie = with_compressed_moov(
        make_mp4(
            root / "Movie (2020)" / "Movie (2020).mp4",
            tracks=[AudioSpec("eng", default=True), AudioSpec("jpn")],
            duration=6.0,
        )
    )
    ctl = tmp_path / "ctl"
    ctl.mkdir()
    (ctl / "slow").touch()
    bin_dir = tmp_path / "bin"
    write_script(bin_dir / "ffmpeg", SLOW_FFMPEG.format(ctl=ctl, real=tool_path("ffmpeg")))
    settings = server_settings(root, worker_count=1, retry_delay_seconds=4.0, timeout_seconds=60.0)
    server = make_server(tmp_path, settings)
    server.env = prepend_path(server.env, bin_dir)
    return server, movie, ctl, Database(sqlite_path=server.config_path.parent / "arrtheaudio.db")


def _remux_in_progress(movie: Path, ctl: Path) -> int:
    """Wait until the temp file has data; returns the remuxing ffmpeg's pid."""

    def started() -> bool:
        temps = temp_files(movie.parent)
        return bool(temps) and temps[0].stat().st_size > 0 and (ctl / "remux.pids").exists()

    wait_for(started, timeout=60, interval=0.05, what="the remux to write its temp file")
    return int((ctl / "remux.pids").read_text().split()[-1])


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def _only_job(db: Database) -> dict:
    jobs = db.jobs()
    assert len(jobs) == 1
    return jobs[0]


def test_sigkill_to_the_server_mid_remux(tmp_path: Path) -> None:
    started = time.monotonic()
    server, movie, ctl, db = _setup(tmp_path)
    before = fingerprint(movie)
    server.start()
    api = Api(server.target)
    try:
        api.start_batch(movie.parent)
        ffmpeg_pid = _remux_in_progress(movie, ctl)
        server.kill9()
        assert fingerprint(movie) == before, "the original changed while the remux ran"
        assert _only_job(db)["status"] == "running"
        # The server died; the tool it started must not keep working for nobody.
        deadline = time.monotonic() + 3
        while _alive(ffmpeg_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        orphan_survived = _alive(ffmpeg_pid)
        (ctl / "slow").unlink()
        server.start()
        api.close()
        api = Api(server.target)
        job = wait_for(
            lambda: (j := _only_job(db))["status"] == "completed" and j,
            timeout=60,
            what="the job to complete on its retry",
        )
    finally:
        api.close()
        server.stop()
        for pid in (ctl / "remux.pids").read_text().split() if (ctl / "remux.pids").exists() else ():
            if _alive(int(pid)):
                os.kill(int(pid), signal.SIGKILL)
    assert job["attempts"] == 2 and job["result"] == "success" and job["track_changed"]
    assert temp_files(movie.parent) == []
    assert media_problems([movie]) == {}
    assert fingerprint(movie) != before
    record(
        "kill-mid-remux",
        variant="sigkill-server",
        file_seconds=6,
        attempts=job["attempts"],
        orphan_ffmpeg_after_kill=orphan_survived,
        seconds=round(time.monotonic() - started, 1),
    )
    assert not orphan_survived, "ffmpeg kept running after its server was killed (orphaned tool process)"


def test_sigkill_to_ffmpeg_mid_remux(tmp_path: Path) -> None:
    started = time.monotonic()
    server, movie, ctl, db = _setup(tmp_path)
    before = fingerprint(movie)
    server.start()
    api = Api(server.target)
    try:
        api.start_batch(movie.parent)
        ffmpeg_pid = _remux_in_progress(movie, ctl)
        os.kill(ffmpeg_pid, signal.SIGKILL)
        # The worker sees the tool die: it removes the temp file and schedules a retry.
        job = wait_for(
            lambda: (j := _only_job(db))["status"] == "queued" and j,
            timeout=30,
            what="the failed attempt to be queued for a retry",
        )
        assert job["attempts"] == 1 and job["reason_code"] == "tool_failed", job
        assert fingerprint(movie) == before, "the original changed after ffmpeg was killed"
        assert temp_files(movie.parent) == [], "the temp file of the killed remux was left behind"
        (ctl / "slow").unlink()
        job = wait_for(
            lambda: (j := _only_job(db))["status"] == "completed" and j,
            timeout=60,
            what="the retry to complete",
        )
    finally:
        api.close()
        server.stop()
    assert job["attempts"] == 2 and job["result"] == "success"
    assert temp_files(movie.parent) == []
    assert media_problems([movie]) == {}
    record(
        "kill-mid-remux",
        variant="sigkill-ffmpeg",
        file_seconds=6,
        attempts=job["attempts"],
        seconds=round(time.monotonic() - started, 1),
    )
