"""The in-place MP4 writer on real ffmpeg-made files: read back with ffprobe (exactly one
default audio track, the chosen one), ``cmp -l`` showing only the tkhd flag (and
alternate_group) bytes changed, the inode, the hard links and the mtime kept; every state a
crash between two byte writes can leave is playable and the next run completes it."""

from __future__ import annotations

import errno
import fcntl
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from arrtheaudio_server.media.mp4_inplace import (
    ByteWrite,
    _os_failure,
    common_group,
    plan,
    set_default_in_place,
)
from arrtheaudio_server.media.mp4_read import Mp4Probe, read_mp4
from arrtheaudio_server.media.result import ReasonCode
from tests.support.mp4_files import EDITABLE, audio_tkhds, ffprobe_json

Mp4 = Callable[[str], Path]
MTIME = 1_500_000_000_123_456_789


def _probe(path: Path) -> Mp4Probe:
    result = read_mp4(path)
    assert isinstance(result, Mp4Probe) and result.fallback_reason is None, result
    return result


def _default_audio(path: Path) -> list[int]:
    audio = [s for s in ffprobe_json(path)["streams"] if s["codec_type"] == "audio"]
    return [i for i, s in enumerate(audio) if s["disposition"]["default"]]


def _cmp(a: Path, b: Path) -> list[tuple[int, int, int]]:
    """``cmp -l``: (0-based offset, old byte, new byte) of every differing byte."""
    proc = subprocess.run(["cmp", "-l", str(a), str(b)], capture_output=True, text=True, check=False)
    assert proc.returncode in (0, 1), proc.stderr
    rows = []
    for line in proc.stdout.splitlines():
        offset, old, new = line.split()
        rows.append((int(offset) - 1, int(old, 8), int(new, 8)))
    return rows


@pytest.mark.parametrize("layout", EDITABLE, ids=lambda layout: layout.name)
def test_only_flag_bytes_change_and_ffprobe_agrees(mp4: Mp4, tmp_path: Path, layout) -> None:
    path = mp4(layout.name)
    os.utime(path, ns=(MTIME, MTIME))
    original = tmp_path / "original.mp4"
    original.write_bytes(path.read_bytes())
    before = os.stat(path)
    probe = _probe(path)
    target = len(probe.info.tracks) - 1
    other_streams = [s for s in ffprobe_json(path)["streams"] if s["codec_type"] != "audio"]

    assert set_default_in_place(path, probe, target) is None

    assert _default_audio(path) == [target]
    after = os.stat(path)
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (before.st_ino, before.st_size, MTIME)
    assert probe.layout is not None
    allowed = {t.flag_byte_offset for t in probe.layout.audio}
    allowed |= {t.group_offset + i for t in probe.layout.audio for i in (0, 1)}
    changed = _cmp(original, path)
    assert changed and {offset for offset, _, _ in changed} <= allowed, changed
    for offset, old, new in changed:
        if offset in {t.flag_byte_offset for t in probe.layout.audio}:
            assert old ^ new == 0x01  # only the track_enabled bit
    flags = audio_tkhds(path)
    assert [enabled for enabled, _, _ in flags] == [i == target for i in range(len(flags))]
    assert len({group for _, group, _ in flags}) == 1  # one alternate group for all audio
    # Video, subtitle and chapter tracks untouched (dispositions as before).
    assert [s for s in ffprobe_json(path)["streams"] if s["codec_type"] != "audio"] == other_streams
    reread = _probe(path)
    assert reread.info.default_indexes == [target]
    strip = [(t.language, t.title, t.codec, t.channels) for t in probe.info.tracks]
    assert [(t.language, t.title, t.codec, t.channels) for t in reread.info.tracks] == strip


def test_already_correct_is_not_opened_for_writing(mp4: Mp4) -> None:
    path = mp4("moov_last.mp4")
    os.utime(path, ns=(MTIME, MTIME))
    path.chmod(0o444)  # would fail to open O_RDWR for a non-root user; nothing is opened anyway
    before = (path.read_bytes(), os.stat(path).st_mtime_ns, os.stat(path).st_ctime_ns)
    assert set_default_in_place(path, _probe(path), 0) is None
    assert (path.read_bytes(), os.stat(path).st_mtime_ns, os.stat(path).st_ctime_ns) == before


def test_second_run_writes_nothing(mp4: Mp4) -> None:
    path = mp4("four_tracks.mp4")
    assert set_default_in_place(path, _probe(path), 2) is None
    once = path.read_bytes()
    probe = _probe(path)
    assert plan(probe.layout, 2) == ([], [])  # type: ignore[arg-type]
    assert set_default_in_place(path, probe, 2) is None
    assert path.read_bytes() == once


def test_alternate_groups_are_joined(mp4: Mp4, tmp_path: Path) -> None:
    """English (group 1) and French (group 2) both enabled: Apple players would play both."""
    path = mp4("groups.mp4")
    original = tmp_path / "original.mp4"
    original.write_bytes(path.read_bytes())
    probe = _probe(path)
    assert [(e, g) for e, g, _ in audio_tkhds(path)] == [(True, 1), (True, 2), (False, 2)]
    assert set_default_in_place(path, probe, 2) is None
    assert [(e, g) for e, g, _ in audio_tkhds(path)] == [(False, 2), (False, 2), (True, 2)]
    assert _default_audio(path) == [2]
    assert probe.layout is not None
    english = probe.layout.audio[0]
    # group 1 -> 2 is one byte (the low one); two flag bits.
    assert sorted(o for o, _, _ in _cmp(original, path)) == sorted(
        [
            english.group_offset + 1,
            english.flag_byte_offset,
            probe.layout.audio[1].flag_byte_offset,
            probe.layout.audio[2].flag_byte_offset,
        ]
    )


def test_hard_links_see_the_change(mp4: Mp4, tmp_path: Path) -> None:
    path = mp4("faststart.mp4")
    other = tmp_path / "seeding" / "same.mp4"
    other.parent.mkdir()
    os.link(path, other)
    inode = os.stat(path).st_ino
    assert set_default_in_place(path, _probe(path), 1) is None
    assert os.stat(other).st_ino == inode == os.stat(path).st_ino
    assert os.stat(path).st_nlink == 2
    assert _default_audio(other) == [1]
    assert other.read_bytes() == path.read_bytes()


def test_file_changed_behind_our_back_writes_nothing(mp4: Mp4) -> None:
    path = mp4("moov_last.mp4")
    probe = _probe(path)
    assert probe.layout is not None
    # Someone flips a byte of a tkhd and puts the mtime back: the bytes check catches it.
    tkhd = probe.layout.audio[1]
    data = bytearray(path.read_bytes())
    data[tkhd.offset + 20] ^= 0xFF
    stat = os.stat(path)
    path.write_bytes(bytes(data))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    snapshot = path.read_bytes()
    failure = set_default_in_place(path, probe, 1)
    assert failure is not None and failure.reason_code is ReasonCode.TOOL_FAILED
    assert "changed since it was read" in failure.reason and f"byte {tkhd.offset}" in failure.reason
    assert path.read_bytes() == snapshot


def test_an_mtime_change_alone_is_enough_to_refuse(mp4: Mp4) -> None:
    path = mp4("moov_last.mp4")
    probe = _probe(path)
    stat = os.stat(path)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
    snapshot = path.read_bytes()
    failure = set_default_in_place(path, probe, 1)
    assert failure is not None and failure.reason_code is ReasonCode.TOOL_FAILED
    assert "identity, size or mtime" in failure.reason
    assert path.read_bytes() == snapshot


def test_replaced_file_is_refused(mp4: Mp4, tmp_path: Path) -> None:
    path = mp4("moov_last.mp4")
    probe = _probe(path)
    replacement = tmp_path / "new.mp4"
    replacement.write_bytes(path.read_bytes())
    os.replace(replacement, path)  # same bytes, new inode (an upgrade by Sonarr)
    failure = set_default_in_place(path, probe, 1)
    assert failure is not None and "identity, size or mtime" in failure.reason
    assert _default_audio(path) == [0]


def test_another_editor_holding_the_lock_is_refused(mp4: Mp4) -> None:
    path = mp4("moov_last.mp4")
    probe = _probe(path)
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        failure = set_default_in_place(path, probe, 1)
    finally:
        os.close(fd)
    assert failure is not None and "another process" in failure.reason
    assert _default_audio(path) == [0]


def test_misuse_is_a_value_not_an_exception(mp4: Mp4, tmp_path: Path) -> None:
    path = mp4("moov_last.mp4")
    probe = _probe(path)
    failure = set_default_in_place(path, probe, 7)
    assert failure is not None and failure.reason_code is ReasonCode.INTERNAL
    fallback = read_mp4(mp4("cmov.mp4"))
    assert isinstance(fallback, Mp4Probe) and fallback.fallback_reason
    failure = set_default_in_place(tmp_path / "cmov.mp4", fallback, 1)
    assert failure is not None and "not editable in place" in failure.reason
    gone = tmp_path / "gone.mp4"
    os.replace(path, gone)
    failure = set_default_in_place(path, probe, 1)
    assert failure is not None and failure.reason_code is ReasonCode.NOT_FOUND


def test_os_errors_map_to_reason_codes() -> None:
    assert _os_failure(OSError(errno.ENOSPC, "full"), "x").reason_code is ReasonCode.INSUFFICIENT_SPACE
    assert _os_failure(OSError(errno.EROFS, "ro"), "x").reason_code is ReasonCode.PERMISSION_DENIED
    assert _os_failure(OSError(errno.EACCES, "no"), "x").reason_code is ReasonCode.PERMISSION_DENIED
    assert _os_failure(OSError(errno.EIO, "io"), "x").reason_code is ReasonCode.TOOL_FAILED


def test_between_writes_sees_the_adding_phase_on_disk(mp4: Mp4) -> None:
    path = mp4("groups.mp4")
    seen: list[list[tuple[bool, int, int]]] = []
    assert (
        set_default_in_place(path, _probe(path), 2, between_writes=lambda: seen.append(audio_tkhds(path)))
        is None
    )
    # All enabled tracks gathered in group 2, the target enabled too; nothing cleared yet.
    assert [(e, g) for e, g, _ in seen[0]] == [(True, 2), (True, 2), (True, 2)]


@pytest.mark.parametrize("name", ["groups.mp4", "four_tracks.mp4", "tkhd_v1.mp4", "none_enabled.mp4"])
def test_every_crash_point_is_playable_and_the_next_run_completes_it(
    mp4: Mp4, tmp_path: Path, name: str
) -> None:
    """Apply each prefix of the byte writes (what a kill between two writes leaves)."""
    path = mp4(name)
    pristine = path.read_bytes()
    probe = _probe(path)
    assert probe.layout is not None
    target = len(probe.info.tracks) - 1
    adding, removing = plan(probe.layout, target)
    writes: list[ByteWrite] = adding + removing
    assert set_default_in_place(path, probe, target) is None
    final = path.read_bytes()
    start_enabled = sum(1 for t in probe.layout.audio if t.enabled)
    for cut in range(len(writes)):
        crashed = tmp_path / f"crash{cut}.mp4"
        data = bytearray(pristine)
        for write in writes[:cut]:
            assert data[write.offset] == write.old
            data[write.offset] = write.new
        crashed.write_bytes(bytes(data))
        enabled = [e for e, _, _ in audio_tkhds(crashed)]
        assert sum(enabled) >= min(1, start_enabled), (cut, enabled)
        if cut >= len(adding):
            assert enabled[target]  # once the adding phase is done, the target plays
        assert ffprobe_json(crashed)["streams"], "not playable"
        assert set_default_in_place(crashed, _probe(crashed), target) is None
        assert crashed.read_bytes() == final, cut


def test_common_group_choice() -> None:
    assert common_group([1, 1, 1], [0, 3]) is None
    assert common_group([1, 2, 2], [0, 3]) == 2
    assert common_group([2, 1], [0]) == 1  # a tie: the lowest
    assert common_group([0, 1], [0]) == 1  # 0 means "no group"
    assert common_group([3, 3, 1], [0, 3]) == 1  # never a group a subtitle track is in
    assert common_group([0, 3], [0, 3]) == 4  # nothing usable: a fresh group
    assert common_group([0x7FFF, 0], [0]) == 0x7FFF


def test_an_error_between_the_phases_leaves_a_playable_file(mp4: Mp4) -> None:
    """An I/O error after the adding phase: a value, and a file with the old and the new default."""
    path = mp4("moov_last.mp4")

    def fail() -> None:
        raise OSError(errno.EIO, "simulated I/O error")

    failure = set_default_in_place(path, _probe(path), 2, between_writes=fail)
    assert failure is not None and failure.reason_code is ReasonCode.TOOL_FAILED
    assert "stays playable" in failure.reason
    assert _default_audio(path) == [0, 2]
    assert set_default_in_place(path, _probe(path), 2) is None
    assert _default_audio(path) == [2]
