"""Scenario 4 — disk full: an MP4 job on a real, small tmpfs.

* Not enough room for the temp copy (the server wants 2 × the file's size free): the job
  parks as ``waiting_for_space`` without using up attempts, the file untouched; once space
  is freed it proceeds and the file ends up correct.
* The disk fills up *during* the remux (a slowed ffmpeg writes its temp file while the test
  fills the filesystem to the last byte): ffmpeg fails with ENOSPC, the temp file is
  removed, the original is byte-identical; after space is freed the job completes.

The tmpfs is mounted by the test (root); where mounting is impossible (no privilege) the
test skips with the reason — except under ``CI=true``, where it fails instead.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
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
from tests.reliability.test_kill_mid_remux import SLOW_FFMPEG
from tests.support.media_files import AudioSpec, make_mp4
from tests.support.mp4_files import with_compressed_moov
from tests.support.server import make_server

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

TMPFS_SIZE = 1024 * 1024


def _ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    mount_point = tmp_path / "media"
    mount_point.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE},mode=0755", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        reason = f"cannot mount a tmpfs here: {result.stderr.strip() or result.returncode}"
        if _ci():
            pytest.fail(f"CI is set but {reason}")
        pytest.skip(reason)
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], capture_output=True, check=False)


def _fill(path: Path, *, leave: int = 0) -> int:
    """Write ``path`` until only ``leave`` bytes are free (0: until ENOSPC); returns its size."""
    stats = os.statvfs(path.parent)
    free = stats.f_bavail * stats.f_frsize
    size = 0
    with open(path, "wb") as handle:
        chunk = b"\0" * 65536
        target = max(0, free - leave)
        try:
            while size < target or not leave:
                piece = chunk[: min(len(chunk), target - size)] if leave else chunk
                if not piece:
                    break
                handle.write(piece)
                handle.flush()
                size += len(piece)
        except OSError:
            pass
    return os.stat(path).st_size


def _movie(root: Path) -> Path:
    # A compressed index (cmov): only the remux fallback can change it, and only the remux
    # (or a hard-link copy) needs free space; MP4s edited in place never wait for space.
    return with_compressed_moov(
        make_mp4(
            root / "Movie (2021)" / "Movie (2021).mp4",
            tracks=[AudioSpec("eng", default=True), AudioSpec("jpn")],
            duration=6.0,
        )
    )


def test_not_enough_room_waits_for_space_then_proceeds(small_fs: Path, tmp_path: Path) -> None:
    started = time.monotonic()
    movie = _movie(small_fs)
    size = movie.stat().st_size
    filler = small_fs / "filler.bin"
    _fill(filler, leave=int(1.5 * size))  # room for less than the 2 × size the remux may need
    before = fingerprint(movie)
    server = make_server(tmp_path, server_settings(small_fs, worker_count=1, space_recheck_seconds=0.3))
    db = Database(sqlite_path=server.config_path.parent / "arrtheaudio.db")
    server.start()
    api = Api(server.target)
    try:
        api.start_batch(movie.parent)
        job = wait_for(
            lambda: (j := db.jobs()) and j[0]["status"] == "waiting_for_space" and j[0],
            timeout=30,
            what="the job to wait for space",
        )
        assert job["reason_code"] == "insufficient_space", job
        time.sleep(2.0)  # several re-checks: still waiting, and waiting costs no attempts
        job = db.jobs()[0]
        assert job["status"] in ("waiting_for_space", "queued", "running") and int(job["attempts"]) == 0, job
        assert api.job(job["job_id"]).status != 0
        assert fingerprint(movie) == before and temp_files(small_fs) == []
        filler.unlink()
        job = wait_for(
            lambda: (j := db.jobs()[0])["status"] == "completed" and j,
            timeout=30,
            what="the job to proceed once space was freed",
        )
    finally:
        api.close()
        server.stop()
    assert job["result"] == "success" and job["track_changed"] and int(job["attempts"]) == 1, job
    assert media_problems([movie]) == {} and temp_files(small_fs) == []
    record(
        "disk-full",
        variant="waiting-for-space",
        tmpfs_bytes=TMPFS_SIZE,
        file_bytes=size,
        seconds=round(time.monotonic() - started, 1),
    )


def test_disk_filling_up_mid_remux_keeps_the_original(small_fs: Path, tmp_path: Path) -> None:
    started = time.monotonic()
    movie = _movie(small_fs)
    before = fingerprint(movie)
    ctl = tmp_path / "ctl"
    ctl.mkdir()
    (ctl / "slow").touch()
    bin_dir = tmp_path / "bin"
    write_script(bin_dir / "ffmpeg", SLOW_FFMPEG.format(ctl=ctl, real=tool_path("ffmpeg")))
    server = make_server(
        tmp_path,
        server_settings(small_fs, worker_count=1, space_recheck_seconds=0.3, retry_delay_seconds=0.3),
    )
    server.env = prepend_path(server.env, bin_dir)
    db = Database(sqlite_path=server.config_path.parent / "arrtheaudio.db")
    filler = small_fs / "filler.bin"
    server.start()
    api = Api(server.target)
    try:
        api.start_batch(movie.parent)
        wait_for(
            lambda: any(p.stat().st_size > 0 for p in temp_files(small_fs)),
            timeout=30,
            interval=0.05,
            what="the remux to start writing",
        )
        filled = _fill(filler)  # to the last byte, while ffmpeg still writes
        job = wait_for(
            lambda: (j := db.jobs()[0])["status"] in ("queued", "waiting_for_space") and j,
            timeout=30,
            what="the failed remux to be scheduled again",
        )
        assert int(job["attempts"]) in (0, 1), job
        # ffmpeg 5.1 may even exit 0 on ENOSPC: the verification of the temp file catches that.
        first_reason = job["reason"]
        assert fingerprint(movie) == before, "the original changed when the disk filled up mid-remux"
        assert temp_files(small_fs) == [], "the temp file of the failed remux was left on the full disk"
        filler.unlink()
        (ctl / "slow").unlink()
        job = wait_for(
            lambda: (j := db.jobs()[0])["status"] == "completed" and j,
            timeout=30,
            what="the job to complete after space was freed",
        )
    finally:
        api.close()
        server.stop()
    assert job["result"] == "success" and job["track_changed"], job
    assert media_problems([movie]) == {} and temp_files(small_fs) == []
    record(
        "disk-full",
        variant="enospc-mid-remux",
        tmpfs_bytes=TMPFS_SIZE,
        filler_bytes=filled,
        first_failure=(first_reason or "")[:80],
        seconds=round(time.monotonic() - started, 1),
    )
