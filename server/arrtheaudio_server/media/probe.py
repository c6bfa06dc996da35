"""Read a file's audio tracks: the one entry point, dispatching on the container.

Both readers are in-process and bounded, so no subprocess runs to read or to verify:

* Matroska: ``mkv_read.read_mkv`` (EBML header, SeekHead, Tracks, Chapters; see its doc);
* MP4: ``mp4_read.read_mp4`` (a bounded box walker), which also tells where the audio tkhd
  flags sit, so the in-place writer can use the same read, or why the remux fallback is
  needed (``Mp4Probe.fallback_reason``).

Both block (file reads), so they run in a worker thread (``asyncio.to_thread``), never on
the event loop. Every problem is a ``ProbeFailure`` value; nothing here raises for a bad file.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path

from arrtheaudio_server.media.mkv_read import read_mkv
from arrtheaudio_server.media.mp4_read import Mp4Probe, read_mp4
from arrtheaudio_server.media.probe_types import ProbeFailure, ProbeInfo
from arrtheaudio_server.media.result import Container, ReasonCode

__all__ = ["FileRead", "ProbeFailure", "ProbeInfo", "probe", "read_file", "read_tracks"]


@dataclass(frozen=True, slots=True)
class FileRead:
    """What the pipeline needs from one read: the tracks, and for MP4 the in-place layout."""

    info: ProbeInfo
    mp4: Mp4Probe | None = None  # MP4 only: layout and fallback_reason for the writer


def _precheck(path: Path) -> ProbeFailure | None:
    try:
        size = os.stat(path).st_size
    except FileNotFoundError:
        return ProbeFailure(ReasonCode.NOT_FOUND, "the file does not exist")
    except OSError as exc:
        return ProbeFailure(ReasonCode.UNREADABLE, f"cannot stat the file: {exc.strerror or exc}")
    if size == 0:
        return ProbeFailure(ReasonCode.CORRUPT, "the file is empty (0 bytes)")
    if not os.access(path, os.R_OK):
        return ProbeFailure(ReasonCode.UNREADABLE, "the file is not readable (permission denied)")
    return None


def read_file(path: Path, container: Container) -> FileRead | ProbeFailure:
    """The blocking read behind ``probe``: for callers already in a worker thread."""
    failure = _precheck(path)
    if failure is not None:
        return failure
    if container is Container.MKV:
        info = read_mkv(path)
        return info if isinstance(info, ProbeFailure) else FileRead(info)
    mp4 = read_mp4(path)
    return mp4 if isinstance(mp4, ProbeFailure) else FileRead(mp4.info, mp4)


def read_tracks(path: Path, container: Container) -> ProbeInfo | ProbeFailure:
    read = read_file(path, container)
    return read if isinstance(read, ProbeFailure) else read.info


async def probe(path: Path, container: Container) -> ProbeInfo | ProbeFailure:
    """Read ``path``'s audio tracks in a worker thread (see the module doc for the readers)."""
    return await asyncio.to_thread(read_tracks, path, container)
