"""The MP4 fallback: set the default audio track by an atomic ``ffmpeg -c copy`` remux.

MP4s are edited in place (``mp4_inplace``); this path is only for the layouts the reader
says cannot be edited safely (``Mp4Probe.fallback_reason``: several ``moov``, a compressed
``cmov``, sizes that do not add up, ...). The file is rewritten: ffmpeg copies
every stream into ``.<name>.arrtheaudio-tmp.mp4`` beside the original (same filesystem,
so the final ``os.replace`` is atomic), the temp file is fsynced and verified, gets the
original's mode, owner, group and timestamps, and only then replaces the original.
Until that rename the original is never opened for writing; on any failure, timeout or
cancellation the temp file is removed, and a temp file left by a crash is removed at the
next start by ``tempfiles.cleanup_stale_temp_files``.

Traps handled (ffmpeg 5.1):
* ``-disposition:a:1 default`` alone leaves a:0 default too — every audio stream gets an
  explicit ``+default`` / ``-default`` (the ``+``/``-`` form keeps other flags such as comment);
* a remux drops MP4 track titles — each is passed back with ``-metadata:s:N title=``;
* ``-map 0`` would also copy the chapter text track as a data stream beside the one the
  muxer rebuilds from the chapter list — that stream is unmapped (``-map -0:N``);
* the temp name ends in ``.mp4`` and ``-f mp4`` is given anyway.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

from arrtheaudio_server.media.probe_types import ProbeInfo
from arrtheaudio_server.media.result import ReasonCode
from arrtheaudio_server.media.tempfiles import (
    FreeSpaceProbe,
    changed_since,
    copy_attributes,
    disk_free_bytes,
    fsync,
    remove,
    temp_path_for,
)
from arrtheaudio_server.media.tools import run_tool
from arrtheaudio_server.media.write import WriteFailure

Verifier = Callable[[Path], Awaitable[WriteFailure | None]]


def preflight(path: Path, *, free_space: FreeSpaceProbe = disk_free_bytes) -> WriteFailure | None:
    """Reasons not to start a remux at all: no room, a read-only directory.

    Hard links are the pipeline's decision (``execution.hardlinks``), made before this.
    """
    st = os.stat(path)
    need = 2 * st.st_size
    free = free_space(path.parent)
    if free < need:
        return WriteFailure(
            ReasonCode.INSUFFICIENT_SPACE,
            f"insufficient space: {free} bytes free in {path.parent}, {need} needed (2 x file size)",
        )
    if not os.access(path.parent, os.W_OK | os.X_OK):
        return WriteFailure(ReasonCode.PERMISSION_DENIED, f"cannot create a temp file in {path.parent}")
    return None


def remux_args(
    src: Path, dst: Path, info: ProbeInfo, target_index: int, *, ffmpeg: str = "ffmpeg"
) -> list[str]:
    """The ffmpeg command line that copies every stream and flips only the default flags."""
    argv = [ffmpeg, "-hide_banner", "-nostdin", "-v", "error", "-y", "-i", str(src), "-map", "0"]
    skipped = sorted(set(info.chapter_streams))
    for index in skipped:
        argv += ["-map", f"-0:{index}"]
    argv += ["-c", "copy", "-map_metadata", "0", "-map_chapters", "0"]
    # Output stream numbers shift down past every unmapped chapter stream.
    for index, title in info.stream_titles:
        if index in skipped:
            continue
        out_index = index - sum(1 for s in skipped if s < index)
        argv += [f"-metadata:s:{out_index}", f"title={title}"]
    for track in info.tracks:
        argv += [f"-disposition:a:{track.index}", "+default" if track.index == target_index else "-default"]
    argv += ["-f", "mp4", str(dst)]
    return argv


async def set_default_audio_mp4(
    path: Path,
    info: ProbeInfo,
    target_index: int,
    *,
    timeout: float,
    verify: Verifier,
    ffmpeg: str = "ffmpeg",
) -> WriteFailure | None:
    """Remux ``path`` so ``target_index`` is the only default audio track; None on success.

    Call ``preflight`` first. Cancellation propagates after ffmpeg is killed and the temp
    file removed; the original is untouched in every outcome except success.
    """
    original = os.stat(path)
    tmp = temp_path_for(path)
    remove(tmp)  # a leftover from an earlier crash of this very file
    try:
        result = await run_tool(remux_args(path, tmp, info, target_index, ffmpeg=ffmpeg), timeout=timeout)
        if not result.ok:
            code = ReasonCode.TIMEOUT if result.timed_out else ReasonCode.TOOL_FAILED
            remove(tmp)
            return WriteFailure(code, result.describe())
        # fsync of a large file takes seconds of disk time: in a thread, never on the event loop.
        await asyncio.to_thread(fsync, tmp)
        failure = await verify(tmp)
        if failure is None:
            failure = copy_attributes(original, tmp)
        if failure is not None:
            remove(tmp)
            return failure
        if changed_since(path, original):
            # Someone (Sonarr upgrading the file?) changed it while we copied: our copy is stale.
            remove(tmp)
            return WriteFailure(ReasonCode.TOOL_FAILED, "the file changed while it was being remuxed")
        os.replace(tmp, path)
        await asyncio.to_thread(fsync, path.parent, directory=True)
    except BaseException:
        # Timeout of the whole job, shutdown, or a bug: never leave the temp file behind.
        remove(tmp)
        raise
    return None
