"""MP4 remux safety: attributes kept, hard links and full disks refused, crashes harmless."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from arrtheaudio_server.media.pipeline import Pipeline
from arrtheaudio_server.media.result import ReasonCode, ResultStatus
from arrtheaudio_server.media.tempfiles import cleanup_stale_temp_files, is_temp_file, temp_path_for
from tests.support.media_files import file_fingerprint, read_back
from tests.support.mp4_files import with_compressed_moov

Media = Callable[..., Path]


def remux_only(path: Path) -> Path:
    """The MP4 with its index compressed (cmov): readable, but only the remux fallback may change it.

    MP4s are edited in place by default; these tests are about the fallback's safety.
    """
    return with_compressed_moov(path)


def _children_named(name: str) -> list[int]:
    me = os.getpid()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/comm") as fh:
                comm = fh.read().strip()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if int(fields[1]) == me and comm == name and fields[0] != "Z":
            found.append(int(entry))
    return found


async def _wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.01)


async def test_mode_mtime_and_owner_survive_the_remux(media: Media, settings_factory) -> None:
    path = remux_only(media("multi.mp4"))
    path.chmod(0o640)
    os.utime(path, ns=(1_500_000_000_123_456_789, 1_500_000_000_123_456_789))
    before = os.stat(path)
    pipeline = Pipeline(settings_factory(language_priority=["jpn"]))
    result = await pipeline.process(path)
    assert result.reason_code is ReasonCode.CHANGED, result.reason
    after = os.stat(path)
    assert after.st_ino != before.st_ino  # it really was replaced...
    assert (after.st_mode, after.st_mtime_ns, after.st_uid, after.st_gid) == (
        before.st_mode,
        before.st_mtime_ns,
        before.st_uid,
        before.st_gid,
    )  # ...and looks like the original
    assert [p.name for p in path.parent.iterdir() if is_temp_file(p.name)] == []
    info = read_back(path)
    assert info.default_audio_indexes == [1] and [s.title for s in info.audio] == [
        "English",
        "Japanese",
        None,
    ]
    assert info.chapters == 2 and info.kinds().count("data") == 1  # one chapter track, not two


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root")
async def test_owner_and_group_survive_for_another_user(media: Media, settings_factory) -> None:
    path = remux_only(media("multi.mp4"))
    os.chown(path, 65534, 65534)
    result = await Pipeline(settings_factory(language_priority=["jpn"])).process(path)
    assert result.reason_code is ReasonCode.CHANGED
    assert (os.stat(path).st_uid, os.stat(path).st_gid) == (65534, 65534)


async def test_a_hard_linked_mp4_that_needs_a_remux_is_refused_unless_copy_is_allowed(
    media: Media, settings_factory, tmp_path: Path
) -> None:
    path = remux_only(media("multi.mp4"))
    twin = tmp_path / "twin.mp4"
    os.link(path, twin)
    before = file_fingerprint(path)
    refused = await Pipeline(settings_factory(language_priority=["jpn"])).process(path)
    assert refused.status is ResultStatus.SKIPPED and refused.reason_code is ReasonCode.HARDLINKED
    assert "execution.hardlinks: copy" in refused.reason
    assert file_fingerprint(path) == before
    allowed = await Pipeline(
        settings_factory(language_priority=["jpn"], execution={"hardlinks": "copy"})
    ).process(path)
    assert allowed.reason_code is ReasonCode.CHANGED and allowed.write_method.value == "remux"
    assert "hard link broken" in (allowed.write_note or "")
    assert read_back(path).default_audio_indexes == [1]
    assert read_back(twin).default_audio_indexes == [0]  # the other name keeps the old bytes


async def test_mkv_with_hard_links_is_edited_in_place(media: Media, settings_factory, tmp_path: Path) -> None:
    path = media("multi.mkv")
    twin = tmp_path / "twin.mkv"
    os.link(path, twin)
    result = await Pipeline(settings_factory(language_priority=["jpn"])).process(path)
    assert result.reason_code is ReasonCode.CHANGED
    assert read_back(twin).default_audio_indexes == [1]  # same inode, both names see the change


async def test_insufficient_space_is_reported_distinctly(media: Media, settings_factory) -> None:
    path = remux_only(media("multi.mp4"))
    size = path.stat().st_size
    seen: list[Path] = []

    def free_space(directory: Path) -> int:
        seen.append(directory)
        return 2 * size - 1

    before = file_fingerprint(path)
    result = await Pipeline(settings_factory(language_priority=["jpn"]), free_space=free_space).process(path)
    assert result.status is ResultStatus.FAILED and result.reason_code is ReasonCode.INSUFFICIENT_SPACE
    assert "insufficient space" in result.reason and seen == [path.parent]
    assert file_fingerprint(path) == before
    enough = await Pipeline(
        settings_factory(language_priority=["jpn"]), free_space=lambda _d: 2 * size
    ).process(path)
    assert enough.reason_code is ReasonCode.CHANGED


async def test_sigkilled_ffmpeg_leaves_the_original_byte_identical(
    media: Media, settings_factory, slow_ffmpeg: str
) -> None:
    path = remux_only(media("multi.mp4"))
    before = file_fingerprint(path)
    pipeline = Pipeline(settings_factory(language_priority=["jpn"], tools={"ffmpeg": slow_ffmpeg}))
    task = asyncio.create_task(pipeline.process(path))
    tmp = temp_path_for(path)
    await _wait_for(lambda: tmp.exists() and bool(_children_named("ffmpeg")))
    for pid in _children_named("ffmpeg"):
        os.kill(pid, signal.SIGKILL)
    result = await task
    assert result.status is ResultStatus.FAILED and result.reason_code is ReasonCode.TOOL_FAILED
    assert result.reason_code.retryable
    assert file_fingerprint(path) == before
    assert not tmp.exists()


async def test_cancelled_remux_kills_ffmpeg_removes_temp_and_reraises(
    media: Media, settings_factory, slow_ffmpeg: str
) -> None:
    path = remux_only(media("multi.mp4"))
    before = file_fingerprint(path)
    pipeline = Pipeline(settings_factory(language_priority=["jpn"], tools={"ffmpeg": slow_ffmpeg}))
    task = asyncio.create_task(pipeline.process(path))
    tmp = temp_path_for(path)
    await _wait_for(lambda: tmp.exists() and bool(_children_named("ffmpeg")))
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert file_fingerprint(path) == before
    assert not tmp.exists()
    assert _children_named("ffmpeg") == []


async def test_whole_file_timeout_stops_the_remux(media: Media, settings_factory, slow_ffmpeg: str) -> None:
    path = remux_only(media("multi.mp4"))
    before = file_fingerprint(path)
    settings = settings_factory(
        language_priority=["jpn"], tools={"ffmpeg": slow_ffmpeg}, processing={"timeout_seconds": 0.4}
    )
    result = await Pipeline(settings).process(path)
    assert result.status is ResultStatus.FAILED and result.reason_code is ReasonCode.TIMEOUT
    assert result.selected is not None and result.tracks  # what was known is still reported
    assert file_fingerprint(path) == before
    assert not temp_path_for(path).exists()
    assert _children_named("ffmpeg") == []


async def test_a_file_changed_during_the_remux_is_not_replaced(
    media: Media, settings_factory, slow_ffmpeg: str
) -> None:
    path = remux_only(media("multi.mp4"))
    pipeline = Pipeline(settings_factory(language_priority=["jpn"], tools={"ffmpeg": slow_ffmpeg}))
    task = asyncio.create_task(pipeline.process(path))
    await _wait_for(lambda: temp_path_for(path).exists())
    with open(path, "ab") as fh:  # e.g. Sonarr replacing the file with an upgrade
        fh.write(b"\0")
    changed = file_fingerprint(path)
    result = await task
    assert result.status is ResultStatus.FAILED and "changed while" in result.reason
    assert file_fingerprint(path) == changed and not temp_path_for(path).exists()


async def test_ffmpeg_failure_keeps_the_original(media: Media, settings_factory, tmp_path: Path) -> None:
    broken = tmp_path / "broken-ffmpeg"
    broken.write_text('#!/bin/sh\necho "simulated failure" >&2\nexit 1\n')
    broken.chmod(0o755)
    path = remux_only(media("multi.mp4"))
    before = file_fingerprint(path)
    result = await Pipeline(
        settings_factory(language_priority=["jpn"], tools={"ffmpeg": str(broken)})
    ).process(path)
    assert result.reason_code is ReasonCode.TOOL_FAILED and "simulated failure" in result.reason
    assert file_fingerprint(path) == before


async def test_verification_failure_keeps_the_original(
    media: Media, settings_factory, tmp_path: Path
) -> None:
    # An "ffmpeg" that writes a valid MP4 but renames a track: verify must catch it.
    lossy = tmp_path / "lossy-ffmpeg"
    lossy.write_text(
        '#!/bin/bash\nlast="${@: -1}"\nset -- "${@:1:$#-1}"\nexec ffmpeg "$@" -metadata:s:a:0 title=Oops "$last"\n'
    )
    lossy.chmod(0o755)
    path = remux_only(media("multi.mp4"))
    before = file_fingerprint(path)
    result = await Pipeline(
        settings_factory(language_priority=["jpn"], tools={"ffmpeg": str(lossy)})
    ).process(path)
    assert result.status is ResultStatus.FAILED and result.reason_code is ReasonCode.VERIFY_FAILED, (
        result.reason
    )
    assert file_fingerprint(path) == before and not temp_path_for(path).exists()


def test_cleanup_removes_only_our_stale_temp_files(tmp_path: Path) -> None:
    deep = tmp_path / "tv" / "Show" / "Season 01"
    deep.mkdir(parents=True)
    stale = temp_path_for(deep / "Show S01E01.mp4")
    stale.write_bytes(b"partial")
    fresh = temp_path_for(deep / "Show S01E02.mp4")
    fresh.write_bytes(b"being written by another instance")
    keep = [deep / "Show S01E01.mp4", deep / ".hidden.mp4", deep / "x.arrtheaudio-tmp.mp4.part"]
    for path in keep:
        path.write_bytes(b"media")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    removed = cleanup_stale_temp_files([tmp_path / "tv", tmp_path / "missing-root"], older_than_seconds=600)
    assert removed == [stale]
    assert fresh.exists() and all(p.exists() for p in keep)
    assert cleanup_stale_temp_files([tmp_path]) == [fresh]


async def test_waiting_for_a_remux_slot_does_not_count_against_the_timeout(
    media: Media, settings_factory, slow_ffmpeg: str
) -> None:
    # One slot, two slow (≈1 s) remuxes, a 1.8 s budget per file: the second waits ≈1 s for
    # the slot and still gets its full budget for its own remux.
    settings = settings_factory(
        language_priority=["jpn"],
        tools={"ffmpeg": slow_ffmpeg},
        processing={"timeout_seconds": 1.8, "max_mp4_concurrent": 1},
    )
    pipeline = Pipeline(settings)
    first, second = remux_only(media("multi.mp4", "a/one.mp4")), remux_only(media("multi.mp4", "b/two.mp4"))
    results = await asyncio.gather(pipeline.process(first), pipeline.process(second))
    assert [r.reason_code for r in results] == [ReasonCode.CHANGED, ReasonCode.CHANGED], [
        r.reason for r in results
    ]
