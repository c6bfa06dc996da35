"""Read a file's audio tracks: the one entry point, dispatching on the container.

* Matroska: ``mkv_read.read_mkv``, a bounded in-process EBML reader (no subprocess to read
  or to verify; see its module doc).
* MP4: ``pymediainfo`` in-process with ``parse_speed=0`` (≈4 ms a file; the only reader
  here that reports MP4 track titles and the enabled flag, and flags truncated files).

Both readers block (file reads, a C call), so they run in a worker thread
(``asyncio.to_thread``) and never on the event loop. Every problem is a ``ProbeFailure``
value with a reason; nothing here raises for a bad file.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from arrtheaudio_server.languages import normalize, parse_language
from arrtheaudio_server.media.mkv_read import read_mkv
from arrtheaudio_server.media.probe_types import ProbeFailure, ProbeInfo
from arrtheaudio_server.media.result import AudioTrack, Container, ReasonCode

__all__ = ["ProbeFailure", "ProbeInfo", "probe"]


_MEDIAINFO_FORMATS = {Container.MKV: {"Matroska", "WebM"}, Container.MP4: {"MPEG-4", "QuickTime"}}


def _yes(value: Any) -> bool | None:
    if value is None:
        return None
    return str(value).strip().lower() in {"yes", "1", "true"}


def _int(value: Any) -> int | None:
    if value is None:
        return None
    try:
        return int(str(value).split("/")[0].split(" ")[0])
    except ValueError:
        return None


def _stream_order(value: Any) -> int | None:
    # MediaInfo writes "1" or, for nested streams, "0-1"; the first number is the stream index.
    if value is None:
        return None
    return _int(str(value).split("-")[0])


def _ietf_of(raw: str | None) -> str | None:
    lang = parse_language(raw)
    if lang is None or lang.region is None:
        return None
    return raw


def _mediainfo(path: Path) -> Any:
    from pymediainfo import MediaInfo  # the wheel bundles libmediainfo; imported once, lazily

    return MediaInfo.parse(str(path), parse_speed=0)


def _read_mediainfo(path: Path, container: Container) -> Any | ProbeFailure:
    try:
        info = _mediainfo(path)
    except PermissionError as exc:
        return ProbeFailure(ReasonCode.UNREADABLE, f"cannot read the file: {exc.strerror or exc}")
    except OSError as exc:
        return ProbeFailure(ReasonCode.UNREADABLE, f"cannot read the file: {exc}")
    except Exception as exc:  # noqa: BLE001 - the C library reports garbage in many ways
        return ProbeFailure(ReasonCode.CORRUPT, f"MediaInfo could not parse the file: {exc}")
    general = info.general_tracks[0] if info.general_tracks else None
    fmt = getattr(general, "format", None)
    if fmt is None:
        return ProbeFailure(ReasonCode.CORRUPT, "not a recognizable media file (no container format found)")
    if fmt not in _MEDIAINFO_FORMATS[container]:
        return ProbeFailure(ReasonCode.UNSUPPORTED, f"file content is {fmt}, not {container.value.upper()}")
    if _yes(getattr(general, "istruncated", None)):
        return ProbeFailure(ReasonCode.CORRUPT, "the file is truncated")
    return info


def _mp4_tracks(info: Any) -> ProbeInfo | ProbeFailure:
    tracks: list[AudioTrack] = []
    chapter_streams: list[int] = []
    titles: list[tuple[int, str]] = []
    stream_count = 0
    for track in info.tracks:
        order = _stream_order(track.streamorder)
        if track.track_type == "General" or order is None:
            continue
        stream_count += 1
        if track.title:
            titles.append((order, track.title))
        if track.track_type == "Menu":
            # A text track referenced as chapters: ffmpeg recreates it from the chapter list.
            chapter_streams.append(order)
            continue
        if track.track_type != "Audio":
            continue
        raw_lang = track.language
        tracks.append(
            AudioTrack(
                index=len(tracks),
                track_id=order,
                language=normalize(raw_lang),
                ietf=_ietf_of(raw_lang),
                title=track.title or None,
                codec=track.format,
                channels=_int(track.channel_s),
                default=bool(_yes(track.default)),
                forced=bool(_yes(track.forced)),
            )
        )
    chapters = 0
    for menu in info.menu_tracks:
        if _stream_order(menu.streamorder) is None:
            chapters += sum(1 for key in menu.to_data() if key[:2].isdigit() and "_" in key)
    if stream_count == 0:
        return ProbeFailure(ReasonCode.CORRUPT, "the file holds no readable streams")
    return ProbeInfo(
        container=Container.MP4,
        tracks=tuple(tracks),
        stream_count=stream_count,
        chapters=chapters,
        chapter_streams=tuple(chapter_streams),
        stream_titles=tuple(titles),
    )


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


def read_tracks(path: Path, container: Container) -> ProbeInfo | ProbeFailure:
    """The blocking read behind ``probe``: for callers already in a worker thread."""
    failure = _precheck(path)
    if failure is not None:
        return failure
    if container is Container.MKV:
        return read_mkv(path)
    info = _read_mediainfo(path, container)
    if isinstance(info, ProbeFailure):
        return info
    return _mp4_tracks(info)


async def probe(path: Path, container: Container) -> ProbeInfo | ProbeFailure:
    """Read ``path``'s audio tracks in a worker thread (see the module doc for the readers)."""
    return await asyncio.to_thread(read_tracks, path, container)
