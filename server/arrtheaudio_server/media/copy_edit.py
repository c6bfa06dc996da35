"""Break a hard link safely: copy the file beside itself, edit the copy, atomically replace.

``execution.hardlinks: copy`` exists for libraries whose files are hard links of what a
torrent client seeds: editing the shared inode would change the seeded bytes (the client's
recheck then fails for those pieces). Here only this name gets the new bytes; every other
name keeps the old inode untouched.

Order: space check (one file size free) → copy into the temp name (``tempfiles``) → edit
the copy (the caller's function: mkvpropedit, or the MP4 in-place flag write, each with its
verification) → fsync → owner, mode and times of the original → the original must not have
changed meanwhile → ``os.replace`` → fsync of the directory. Any failure, timeout or
cancellation removes the temp file; the original is untouched in every outcome but success.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path

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
from arrtheaudio_server.media.write import WriteFailure

Editor = Callable[[Path], Awaitable[WriteFailure | None]]


def copy_preflight(path: Path, *, free_space: FreeSpaceProbe = disk_free_bytes) -> WriteFailure | None:
    """Room for one more copy of the file, and a writable directory (blocking stats)."""
    size = os.stat(path).st_size
    free = free_space(path.parent)
    if free < size:
        return WriteFailure(
            ReasonCode.INSUFFICIENT_SPACE,
            f"insufficient space: {free} bytes free in {path.parent}, {size} needed to copy the "
            "hard-linked file (execution.hardlinks: copy)",
        )
    if not os.access(path.parent, os.W_OK | os.X_OK):
        return WriteFailure(ReasonCode.PERMISSION_DENIED, f"cannot create a temp file in {path.parent}")
    return None


def _discard(tmp: Path) -> None:
    """Remove our temp file on a failure path; a second error must not hide the first."""
    with contextlib.suppress(OSError):
        remove(tmp)


def _copy(src: Path, dst: Path) -> None:
    remove(dst)  # a leftover from an earlier crash of this very file
    shutil.copyfile(src, dst)  # copy_file_range / sendfile: in the kernel, reflinked where it can


async def edit_a_copy(path: Path, edit: Editor) -> WriteFailure | None:
    """Give ``path`` a new inode holding the edited bytes; None on success (call the preflight first)."""
    original = os.stat(path)
    tmp = temp_path_for(path)
    try:
        try:
            await asyncio.to_thread(_copy, path, tmp)
        except OSError as exc:
            _discard(tmp)
            code = (
                ReasonCode.INSUFFICIENT_SPACE
                if exc.errno in (errno.ENOSPC, errno.EDQUOT)
                else ReasonCode.TOOL_FAILED
            )
            return WriteFailure(code, f"cannot copy the hard-linked file: {exc.strerror or exc}")
        failure = await edit(tmp)
        if failure is None:
            await asyncio.to_thread(fsync, tmp)
            failure = copy_attributes(original, tmp)
        if failure is None and changed_since(path, original):
            failure = WriteFailure(ReasonCode.TOOL_FAILED, "the file changed while its copy was being edited")
        if failure is not None:
            _discard(tmp)
            return failure
        os.replace(tmp, path)
        await asyncio.to_thread(fsync, path.parent, directory=True)
    except BaseException:
        _discard(tmp)
        raise
    return None
