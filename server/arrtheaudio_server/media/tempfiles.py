"""Temp files beside a media file, and the one way to replace a file with one atomically.

Two writers need a new file beside the original: the MP4 remux fallback, and the
``execution.hardlinks: copy`` policy (copy, edit the copy, replace). Both put it in the same
directory (same filesystem, so ``os.replace`` is atomic) under one recognizable hidden name,
``.<name>.arrtheaudio-tmp.mkv|mp4``, so a temp file a crash left behind is found and removed
at the next start by ``cleanup_stale_temp_files``.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import structlog

from arrtheaudio_server.media.result import ReasonCode
from arrtheaudio_server.media.write import WriteFailure

log = structlog.get_logger(__name__)

TEMP_MARK = ".arrtheaudio-tmp"
_TEMP_NAME = re.compile(r"^\..+\.arrtheaudio-tmp\.(mp4|mkv)$", re.DOTALL)

FreeSpaceProbe = Callable[[Path], int]


def temp_path_for(path: Path) -> Path:
    """Hidden, recognizable, same directory: ``/tv/.Show S01E01.mkv.arrtheaudio-tmp.mkv``.

    It ends in the container's usual extension (``.mp4`` for .mp4/.m4v) so tools that go by
    the name treat it right.
    """
    ext = ".mkv" if path.suffix.lower() == ".mkv" else ".mp4"
    return path.with_name(f".{path.name}{TEMP_MARK}{ext}")


def is_temp_file(name: str) -> bool:
    return bool(_TEMP_NAME.match(name))


def disk_free_bytes(directory: Path) -> int:
    return shutil.disk_usage(directory).free


def remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def fsync(path: Path, *, directory: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def copy_attributes(src: os.stat_result, dst: Path) -> WriteFailure | None:
    """Give ``dst`` the original's owner, group, mode and timestamps (a replace must not show)."""
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


def changed_since(path: Path, original: os.stat_result) -> bool:
    """Someone (Sonarr upgrading the file?) replaced or rewrote ``path`` since ``original``."""
    current = os.stat(path)
    return (current.st_mtime_ns, current.st_size, current.st_ino) != (
        original.st_mtime_ns,
        original.st_size,
        original.st_ino,
    )


def cleanup_stale_temp_files(roots: Iterable[Path | str], *, older_than_seconds: float = 0.0) -> list[Path]:
    """Remove temp files that a crash left under ``roots``; returns what was removed.

    Blocking (it walks directory trees): call it in a thread at start. ``older_than_seconds``
    protects temp files that another live instance sharing the library is still writing —
    pass the processing timeout there, since no write may run longer than that.
    """
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
