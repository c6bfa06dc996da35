"""How many media tools a file costs, counted from outside: every tool on ``PATH`` is a
wrapper that logs its call and then runs the real one, and ``arrtheaudio process`` runs as
a user would run it (a real subprocess, no server).

The floor the issue sets: 1 run (``mkvpropedit``) for an MKV that needs a change, 0 for an
MP4 changed in place, 0 for any file that is already correct; the reading and the
verification happen in-process. Only the MP4 remux fallback runs ffmpeg.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.media_files import file_fingerprint, read_back

Media = Callable[..., Path]
TOOLS = ("mkvmerge", "mkvpropedit", "mkvinfo", "mkvextract", "ffmpeg", "ffprobe", "mediainfo")


@pytest.fixture
def counted(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """An environment whose PATH starts with logging wrappers around every media tool."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "tool-runs.log"
    for name in TOOLS:
        real = shutil.which(name, path="/usr/local/bin:/usr/bin:/bin")
        target = bin_dir / name
        if real is None:
            target.write_text(f'#!/bin/sh\necho "{name} $*" >> {log}\nexit 127\n')
        else:
            target.write_text(f'#!/bin/sh\necho "{name} $*" >> {log}\nexec {real} "$@"\n')
        target.chmod(0o755)
    env = dict(os.environ)
    env["PATH"] = f"{bin_dir}:{env.get('PATH', '/usr/bin:/bin')}"
    return env, log


def runs(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def process(env: dict[str, str], path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cli = Path(sys.executable).with_name("arrtheaudio")
    return subprocess.run(
        [str(cli), "process", str(path), *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=path.parent,
        timeout=120,
    )


def test_a_changed_mkv_costs_one_mkvpropedit_run(media: Media, counted: tuple[dict[str, str], Path]) -> None:
    env, log = counted
    path = media("multi.mkv")
    done = process(env, path, "-l", "jpn")
    assert done.returncode == 0, done.stdout + done.stderr
    assert [line.split()[0] for line in runs(log)] == ["mkvpropedit"], runs(log)
    assert read_back(path).default_audio_indexes == [1]  # verified in-process, and really changed


def test_a_changed_mp4_costs_no_tool_run(media: Media, counted: tuple[dict[str, str], Path]) -> None:
    env, log = counted
    path = media("multi.mp4")
    inode = path.stat().st_ino
    done = process(env, path, "-l", "jpn")
    assert done.returncode == 0 and "written: in place" in done.stdout, done.stdout + done.stderr
    assert runs(log) == []
    assert read_back(path).default_audio_indexes == [1] and path.stat().st_ino == inode


def test_only_the_remux_fallback_runs_ffmpeg(media: Media, counted: tuple[dict[str, str], Path]) -> None:
    from tests.support.mp4_files import with_compressed_moov

    env, log = counted
    path = with_compressed_moov(media("multi.mp4"))
    done = process(env, path, "-l", "jpn")
    assert done.returncode == 0 and "written: remux (fallback:" in done.stdout, done.stdout + done.stderr
    assert [line.split()[0] for line in runs(log)] == ["ffmpeg"], runs(log)
    assert read_back(path).default_audio_indexes == [1]


@pytest.mark.parametrize("name", ["correct.mkv", "correct.mp4"])
def test_an_already_correct_file_costs_no_tool_run_and_is_untouched(
    media: Media, counted: tuple[dict[str, str], Path], name: str
) -> None:
    env, log = counted
    path = media(name)
    before = file_fingerprint(path)
    done = process(env, path, "-l", "eng")
    assert done.returncode == 0 and "already correct" in done.stdout, done.stdout + done.stderr
    assert runs(log) == []
    assert file_fingerprint(path) == before


@pytest.mark.parametrize("name", ["multi.mkv", "multi.mp4"])
def test_a_dry_run_costs_no_tool_run(media: Media, counted: tuple[dict[str, str], Path], name: str) -> None:
    env, log = counted
    path = media(name)
    done = process(env, path, "-l", "jpn", "--dry-run")
    assert done.returncode == 0 and "would make" in done.stdout, done.stdout + done.stderr
    assert runs(log) == []


def test_a_corrupt_mkv_costs_no_tool_run(media: Media, counted: tuple[dict[str, str], Path]) -> None:
    env, log = counted
    done = process(env, media("truncated.mkv"), "-l", "jpn")
    assert done.returncode == 1 and "truncated" in done.stdout
    assert runs(log) == []
