"""Make one MP4 audio track the only default by rewriting tkhd bytes in place.

FFmpeg's mov demuxer takes the default disposition from the tkhd ``track_enabled`` flag and
its muxer writes exactly that flag from ``-disposition default``, so the remux this replaces
differed from its input only in those bits. Here only these bytes change, each written on
its own (one-byte writes cannot tear):

* the byte holding ``track_enabled`` (the last of tkhd's three flag bytes) of audio tracks;
* where the audio tracks sit in different alternate groups (Apple players enable one track
  per group, so two groups mean two tracks playing), the bytes of their 2-byte
  ``alternate_group`` that differ from the common group.

Crash safety — the writes come in two phases, each flushed before the next starts:

1. *adding*: move every enabled audio track, then the target, into the common group; then set
   the target's enabled bit. Every state in this phase has at least as many enabled tracks as
   before, and the enabled ones only gather in one group (players pick one of them);
2. *removing* (after ``fdatasync``): clear the other tracks' enabled bits, then move the now
   disabled tracks into the group. ``fsync`` ends it.

So a crash at any point leaves a playable file whose enabled audio tracks are the old ones,
the target, or both — never none once the file had one — and the next run, reading the
file afresh, finishes the job (every step moves toward the same end state; the common group
is chosen so that moving tracks into it keeps it the choice).

Before writing, the file must be the one that was read: same device, inode, size and mtime,
and every audio tkhd byte-identical; otherwise nothing is written. The mtime (and atime) are
put back afterwards, as the MKV path does after mkvpropedit, so libraries sorted by date
stay put. Errors are returned as ``WriteFailure`` values; nothing here raises for a bad file.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from arrtheaudio_server.media.mp4_read import Mp4Layout, Mp4Probe, TkhdLayout
from arrtheaudio_server.media.result import ReasonCode
from arrtheaudio_server.media.write import WriteFailure

_MAX_GROUP = 0x7FFF  # alternate_group is a signed 16-bit field


@dataclass(frozen=True, slots=True)
class ByteWrite:
    offset: int
    old: int
    new: int


def common_group(audio_groups: Sequence[int], other_groups: Sequence[int]) -> int | None:
    """The alternate group every audio track should share; None when they already share one.

    The most used non-zero group that no video/subtitle track is in (ties: the lowest), so
    joining never ties audio to another kind of track and each move keeps it the choice;
    when there is none, a fresh group number above every group in the file.
    """
    if len(set(audio_groups)) <= 1:
        return None
    taken = set(other_groups)
    counts = Counter(g for g in audio_groups if g != 0 and g not in taken)
    if counts:
        return min(counts, key=lambda g: (-counts[g], g))
    fresh = max([*audio_groups, *other_groups]) + 1
    return fresh if fresh <= _MAX_GROUP else None


def _group_writes(offset: int, old: int, new: int) -> list[ByteWrite]:
    old_bytes, new_bytes = old.to_bytes(2, "big"), new.to_bytes(2, "big")
    return [ByteWrite(offset + i, old_bytes[i], new_bytes[i]) for i in (1, 0) if old_bytes[i] != new_bytes[i]]


def _group(tkhd: TkhdLayout) -> int:
    group = tkhd.alternate_group
    assert group is not None, "a layout holds only tkhd versions 0 and 1 (others are a fallback)"
    return group


def plan(layout: Mp4Layout, target: int) -> tuple[list[ByteWrite], list[ByteWrite]]:
    """The (adding, removing) byte writes that make ``target`` the only enabled audio track."""
    audio = layout.audio
    group = common_group([_group(t) for t in audio], layout.other_groups)
    adding: list[ByteWrite] = []
    removing: list[ByteWrite] = []
    moved: set[int] = set()

    def join(index: int, into: list[ByteWrite]) -> None:
        tkhd = audio[index]
        if group is not None and _group(tkhd) != group and index not in moved:
            into += _group_writes(tkhd.group_offset, _group(tkhd), group)
            moved.add(index)

    for index, tkhd in enumerate(audio):
        if index != target and tkhd.enabled:
            join(index, adding)
    join(target, adding)
    flag_byte = audio[target].raw[audio[target].header + 3]
    if not flag_byte & 0x1:
        adding.append(ByteWrite(audio[target].flag_byte_offset, flag_byte, flag_byte | 0x1))
    for index, tkhd in enumerate(audio):
        if index != target and tkhd.enabled:
            flag_byte = tkhd.raw[tkhd.header + 3]
            removing.append(ByteWrite(tkhd.flag_byte_offset, flag_byte, flag_byte & ~0x1 & 0xFF))
    for index in range(len(audio)):
        if index != target:
            join(index, removing)
    return adding, removing


def _os_failure(exc: OSError, doing: str) -> WriteFailure:
    if exc.errno == errno.ENOSPC:  # copy-on-write filesystems (btrfs, ZFS) allocate on overwrite
        return WriteFailure(ReasonCode.INSUFFICIENT_SPACE, f"no space left while {doing}")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return WriteFailure(ReasonCode.PERMISSION_DENIED, f"cannot write the file: {exc.strerror or exc}")
    if exc.errno == errno.ENOENT:
        return WriteFailure(ReasonCode.NOT_FOUND, "the file disappeared before it could be edited")
    return WriteFailure(ReasonCode.TOOL_FAILED, f"{doing} failed: {exc.strerror or exc}")


def _changed_behind_our_back(fd: int, layout: Mp4Layout) -> str | None:
    st = os.fstat(fd)
    now = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    then = (layout.device, layout.inode, layout.size, layout.mtime_ns)
    if now != then:
        return "the file changed since it was read (identity, size or mtime differ); nothing written"
    for tkhd in layout.audio:
        if os.pread(fd, len(tkhd.raw), tkhd.offset) != tkhd.raw:
            return f"the file changed since it was read (tkhd at byte {tkhd.offset} differs); nothing written"
    return None


def _apply(fd: int, writes: Sequence[ByteWrite]) -> None:
    for write in writes:
        if os.pwrite(fd, bytes([write.new]), write.offset) != 1:
            raise OSError(errno.EIO, f"short write at byte {write.offset}")


def set_default_in_place(
    path: Path,
    probe: Mp4Probe,
    target_index: int,
    *,
    between_writes: Callable[[], None] | None = None,
) -> WriteFailure | None:
    """Make audio track ``target_index`` the file's only enabled one; None on success. Blocking.

    ``probe`` must come from ``read_mp4(path)`` with ``fallback_reason`` None. Already correct:
    the file is not even opened for writing. ``between_writes`` (tests) runs once, after the
    adding phase is on disk and before the removing phase starts.
    """
    layout = probe.layout
    if probe.fallback_reason is not None or layout is None:
        return WriteFailure(ReasonCode.INTERNAL, f"not editable in place: {probe.fallback_reason}")
    if not 0 <= target_index < len(layout.audio):
        return WriteFailure(ReasonCode.INTERNAL, f"no audio track {target_index} in the file")
    adding, removing = plan(layout, target_index)
    if not adding and not removing:
        return None
    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    except OSError as exc:
        return _os_failure(exc, "opening the file for writing")
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return WriteFailure(ReasonCode.TOOL_FAILED, "another process is editing the file")
        changed = _changed_behind_our_back(fd, layout)
        if changed is not None:
            return WriteFailure(ReasonCode.TOOL_FAILED, changed)
        st = os.fstat(fd)
        step = "writing the new default"
        try:
            _apply(fd, adding)
            if adding:
                os.fdatasync(fd)
            if between_writes is not None:
                between_writes()
            step = "clearing the other defaults"
            _apply(fd, removing)
            # Only flags changed: keep the file's dates, as the MKV path does after mkvpropedit.
            os.utime(fd, ns=(st.st_atime_ns, st.st_mtime_ns))
            os.fsync(fd)
        except OSError as exc:
            failure = _os_failure(exc, step)
            # Whatever was written is a valid intermediate state; the next run completes it.
            return WriteFailure(failure.reason_code, failure.reason + " (the file stays playable)")
    except OSError as exc:
        return _os_failure(exc, "checking the file before writing")
    finally:
        with contextlib.suppress(OSError):
            os.close(fd)
    return None
