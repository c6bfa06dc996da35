"""Read a file's audio tracks.

Measured choices (libmediainfo 24.12, mkvtoolnix 74, ffmpeg 5.1):

* ``pymediainfo`` in-process with ``parse_speed=0`` reads MKV and MP4 headers in ≈4 ms and is
  the only reader that reports MP4 track titles and the MP4 default (enabled) flag, and it
  flags truncated files (``IsTruncated``). It runs in a worker thread (``asyncio.to_thread``)
  because it is a blocking C call. It is the gate for every file and the whole reader for MP4.
* For Matroska, MediaInfo drops ``FlagCommentary`` and ``FlagVisualImpaired``, which track
  choice needs. ``mkvmerge -J`` (≈22 ms, async subprocess) is complete for Matroska — flags,
  IETF tags, and the spec defaults already applied (an absent FlagDefault is 1, an absent
  Language is ``eng``) — so MKV audio tracks come from it, cross-checked against MediaInfo.
* ``mkvmerge -J`` exits 0 on a zero-byte or garbage file (``recognized: false``) and ffprobe
  exits 0 with no streams on garbage, so success is judged from content, never the exit code.

Every problem is a ``ProbeFailure`` value with a reason; nothing here raises for a bad file.
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from arrtheaudio_server.languages import normalize, parse_language
from arrtheaudio_server.media.result import AudioTrack, Container, ReasonCode
from arrtheaudio_server.media.tools import run_tool


@dataclass(frozen=True, slots=True)
class ProbeInfo:
    container: Container
    tracks: tuple[AudioTrack, ...]
    stream_count: int  # every stream the container holds (video, audio, subtitles, chapter text, ...)
    chapters: int = 0
    # MP4 only: stream indexes (as ffmpeg numbers them) of chapter text tracks, which a remux
    # must not copy as data streams, and every stream's title, which a remux would drop.
    chapter_streams: tuple[int, ...] = ()
    stream_titles: tuple[tuple[int, str], ...] = ()

    @property
    def default_indexes(self) -> list[int]:
        return [track.index for track in self.tracks if track.default]


@dataclass(frozen=True, slots=True)
class ProbeFailure:
    reason_code: ReasonCode
    reason: str


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


async def _read_mediainfo(path: Path, container: Container) -> Any | ProbeFailure:
    try:
        info = await asyncio.to_thread(_mediainfo, path)
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


def _mkv_tracks(data: dict[str, Any], mediainfo_audio: int) -> ProbeInfo | ProbeFailure:
    container = data.get("container") or {}
    if not container.get("recognized"):
        return ProbeFailure(ReasonCode.CORRUPT, "mkvmerge does not recognize the file as media")
    if container.get("type") not in {"Matroska", "WebM"}:
        return ProbeFailure(ReasonCode.UNSUPPORTED, f"file content is {container.get('type')}, not Matroska")
    if data.get("errors"):
        return ProbeFailure(ReasonCode.CORRUPT, "mkvmerge: " + "; ".join(map(str, data["errors"]))[:500])
    tracks: list[AudioTrack] = []
    all_tracks = data.get("tracks") or []
    for track in all_tracks:
        if track.get("type") != "audio":
            continue
        props = track.get("properties") or {}
        # Spec defaults (mkvmerge applies them, but be explicit): Language "eng", FlagDefault 1.
        raw_lang = props.get("language", "eng")
        ietf = props.get("language_ietf")
        tracks.append(
            AudioTrack(
                index=len(tracks),
                track_id=int(track.get("id", len(tracks))),
                language=normalize(ietf) or normalize(raw_lang),
                ietf=_ietf_of(ietf),
                title=props.get("track_name") or None,
                codec=track.get("codec"),
                channels=props.get("audio_channels"),
                default=bool(props.get("default_track", True)),
                forced=bool(props.get("forced_track", False)),
                commentary=bool(props.get("flag_commentary", False)),
                visual_impaired=bool(props.get("flag_visual_impaired", False)),
            )
        )
    if len(tracks) != mediainfo_audio:
        return ProbeFailure(
            ReasonCode.CORRUPT,
            f"readers disagree on the audio tracks (mkvmerge {len(tracks)}, MediaInfo {mediainfo_audio})",
        )
    chapters = sum(int(entry.get("num_entries", 0)) for entry in data.get("chapters") or [])
    return ProbeInfo(
        container=Container.MKV, tracks=tuple(tracks), stream_count=len(all_tracks), chapters=chapters
    )


async def probe(
    path: Path,
    container: Container,
    *,
    mkvmerge: str = "mkvmerge",
    timeout: float = 60.0,
) -> ProbeInfo | ProbeFailure:
    """Read ``path``'s audio tracks (see the module doc for which reader and why)."""
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

    info = await _read_mediainfo(path, container)
    if isinstance(info, ProbeFailure):
        return info
    if container is Container.MP4:
        return _mp4_tracks(info)

    result = await run_tool([mkvmerge, "-J", path], timeout=timeout)
    if result.returncode not in (0, 1) or result.error or result.timed_out:
        return ProbeFailure(
            ReasonCode.TIMEOUT if result.timed_out else ReasonCode.TOOL_FAILED, result.describe()
        )
    try:
        data = json.loads(result.stdout or b"{}")
    except json.JSONDecodeError:
        return ProbeFailure(ReasonCode.TOOL_FAILED, "mkvmerge -J returned invalid JSON")
    return _mkv_tracks(data, len(info.audio_tracks))
