"""Set the default audio track of a Matroska file in place with ``mkvpropedit``.

mkvpropedit rewrites only header elements, so no copy of the file is needed and hard
links survive. Every audio track's FlagDefault is written explicitly (1 for the chosen one,
0 for all others): leaving a flag out would leave the spec default (1) in force wherever
the muxer had omitted the element.
"""

from __future__ import annotations

import os
from pathlib import Path

from arrtheaudio_server.media.result import ReasonCode
from arrtheaudio_server.media.tools import run_tool
from arrtheaudio_server.media.write import WriteFailure


def mkvpropedit_args(
    path: Path, audio_count: int, target_index: int, *, mkvpropedit: str = "mkvpropedit"
) -> list[str]:
    argv = [mkvpropedit, "--quiet", str(path)]
    for index in range(audio_count):
        # track:aN is the N-th audio track (1-based), the same order as AudioTrack.index.
        argv += [
            "--edit",
            f"track:a{index + 1}",
            "--set",
            f"flag-default={1 if index == target_index else 0}",
        ]
    return argv


async def set_default_audio_mkv(
    path: Path,
    audio_count: int,
    target_index: int,
    *,
    timeout: float,
    mkvpropedit: str = "mkvpropedit",
    keep_mtime: bool = True,
) -> WriteFailure | None:
    """Make ``target_index`` the only default audio track; None on success."""
    before = os.stat(path)
    result = await run_tool(
        mkvpropedit_args(path, audio_count, target_index, mkvpropedit=mkvpropedit), timeout=timeout
    )
    # Exit code 1 means "done, with warnings"; 2 is an error.
    if result.returncode not in (0, 1) or result.timed_out or result.error:
        code = ReasonCode.TIMEOUT if result.timed_out else ReasonCode.TOOL_FAILED
        return WriteFailure(code, result.describe())
    if keep_mtime:
        # Only a flag changed; keep the file's date so libraries sorted by date stay put.
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    return None
