"""Set the default audio track of an MP4 by an atomic ``ffmpeg -c copy`` remux.

MP4 has no in-place flag editor in our toolbox, so the file is rewritten: ffmpeg copies
every stream into ``.<name>.arrtheaudio-tmp.mp4`` beside the original (same filesystem,
so the final ``os.replace`` is atomic), the temp file is fsynced and verified, gets the
original's mode, owner, group and timestamps, and only then replaces the original.
Until that rename the original is never opened for writing; on any failure, timeout or
cancellation the temp file is removed, and a temp file left by a crash is removed at the
next start by ``cleanup_stale_temp_files``.

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
import contextlib
import os
import shutil
import stat
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path

import structlog

from arrtheaudio_server.media.probe import ProbeInfo
from arrtheaudio_server.media.result import ReasonCode
from arrtheaudio_server.media.tools import run_tool
from arrtheaudio_server.media.write import WriteFailure

log = structlog.get_logger(__name__)

TEMP_SUFFIX = ".arrtheaudio-tmp.mp4"

FreeSpaceProbe = Callable[[Path], int]
Verifier = Callable[[Path], Awaitable[WriteFailure | None]]


def temp_path_for(path: Path) -> Path:
    """Hidden, recognizable, same directory: ``/tv/.Show S01E01.mp4.arrtheaudio-tmp.mp4``."""
    return path.with_name(f".{path.name}{TEMP_SUFFIX}")


def is_temp_file(name: str) -> bool:
    return name.startswith(".") and name.endswith(TEMP_SUFFIX)


def disk_free_bytes(directory: Path) -> int:
    return shutil.disk_usage(directory).free


def preflight(
    path: Path,
    *,
    allow_hardlinks: bool,
    free_space: FreeSpaceProbe = disk_free_bytes,
) -> WriteFailure | None:
    """Reasons not to start a remux at all: hard links, no room, a read-only directory."""
    st = os.stat(path)
    if st.st_nlink > 1 and not allow_hardlinks:
        return WriteFailure(
            ReasonCode.HARDLINKED,
            f"the file has {st.st_nlink} hard links; replacing it would break them "
            "(set execution.allow_hardlinked_mp4 to allow)",
        )
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


def _copy_attributes(src: os.stat_result, dst: Path) -> WriteFailure | None:
    try:
        os.chown(dst, src.st_uid, src.st_gid)
    except PermissionError:
        now = os.stat(dst)
        if (now.st_uid, now.st_gid) != (src.st_uid, src.st_gid):
            return WriteFailure(
                ReasonCode.PERMISSION_DENIED,
                "cannot keep the file's owner/group (the server runs as another user)",
            )
    os.chmod(dst, stat.S_IMODE(src.st_mode))
    os.utime(dst, ns=(src.st_atime_ns, src.st_mtime_ns))
    return None


def _fsync(path: Path, *, directory: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


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
    _remove(tmp)  # a leftover from an earlier crash of this very file
    try:
        result = await run_tool(remux_args(path, tmp, info, target_index, ffmpeg=ffmpeg), timeout=timeout)
        if not result.ok:
            code = ReasonCode.TIMEOUT if result.timed_out else ReasonCode.TOOL_FAILED
            _remove(tmp)
            return WriteFailure(code, result.describe())
        # fsync of a large file takes seconds of disk time: in a thread, never on the event loop.
        await asyncio.to_thread(_fsync, tmp)
        failure = await verify(tmp)
        if failure is None:
            failure = _copy_attributes(original, tmp)
        if failure is not None:
            _remove(tmp)
            return failure
        current = os.stat(path)
        if (current.st_mtime_ns, current.st_size, current.st_ino) != (
            original.st_mtime_ns,
            original.st_size,
            original.st_ino,
        ):
            # Someone (Sonarr upgrading the file?) changed it while we copied: our copy is stale.
            _remove(tmp)
            return WriteFailure(ReasonCode.TOOL_FAILED, "the file changed while it was being remuxed")
        os.replace(tmp, path)
        await asyncio.to_thread(_fsync, path.parent, directory=True)
    except BaseException:
        # Timeout of the whole job, shutdown, or a bug: never leave the temp file behind.
        _remove(tmp)
        raise
    return None


def cleanup_stale_temp_files(roots: Iterable[Path | str], *, older_than_seconds: float = 0.0) -> list[Path]:
    """Remove remux temp files that a crash left under ``roots``; returns what was removed.

    Blocking (it walks directory trees): call it in a thread at start. ``older_than_seconds``
    protects temp files that another live instance sharing the library is still writing —
    pass the processing timeout there, since no remux may run longer than that.
    """
    import time

    removed: list[Path] = []
    cutoff = time.time() - older_than_seconds
    for root in roots:
        for dirpath, _dirnames, filenames in os.walk(root):
            for name in filenames:
                if not is_temp_file(name):
                    continue
                candidate = Path(dirpath) / name
                try:
                    if older_than_seconds and candidate.stat().st_mtime > cutoff:
                        continue
                    candidate.unlink()
                except FileNotFoundError:
                    continue
                except OSError as exc:
                    log.warning("media.temp_cleanup_failed", path=str(candidate), error=str(exc))
                    continue
                removed.append(candidate)
                log.info("media.temp_removed", path=str(candidate))
    return removed
