"""Real, tiny media files for tests, made with ffmpeg (and mkvpropedit for IETF tags).

Every team's tests use these instead of checked-in binaries or mocks: the files are
≈1 s long, a few KiB, and take a few tens of milliseconds each to make, so a module can
build its set once in a fixture.

Making files::

    from tests.support.media_files import AudioSpec, SubtitleSpec, make_mkv, make_mp4, make_corrupt

    make_mkv(tmp / "a.mkv", tracks=[
        AudioSpec(lang="eng", title="Commentary", default=True),
        AudioSpec(lang="jpn", channels=6),
        AudioSpec(lang="pt-BR"),          # IETF tag (set with mkvpropedit, legacy "por" too)
        AudioSpec(lang=None),             # no language at all -> "und"
    ], subtitles=[SubtitleSpec(lang="eng")], chapters=2)
    make_mp4(tmp / "a.mp4", tracks=[...], subtitles=[...], chapters=2)   # mov_text subs, chapter text track
    make_corrupt(tmp / "bad.mkv", "empty" | "garbage" | "truncated", source=good_file)

Reading back with the tools the issue names (independent of the code under test)::

    info = read_back(path)          # MediaReadback: streams (kind, lang, ietf, title, default, ...), chapters
    info.audio                      # the audio streams only, in order
    info.default_audio_indexes      # e.g. [1]

``read_back`` uses ``mkvmerge -J`` for Matroska and ``ffprobe`` for MP4; ffprobe does not
return MP4 track titles, so those come from MediaInfo (the only reader here that has them).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

__all__ = [
    "AudioSpec",
    "MediaReadback",
    "StreamReadback",
    "SubtitleSpec",
    "file_fingerprint",
    "make_corrupt",
    "make_mkv",
    "make_mp4",
    "read_back",
]

_LAYOUTS = {1: "mono", 2: "stereo", 6: "5.1", 8: "7.1"}


@dataclass(frozen=True)
class AudioSpec:
    """One audio track to generate.

    ``lang``: ISO 639-2 code (``"eng"``), or an IETF tag with a region (``"pt-BR"``, MKV only:
    set with mkvpropedit so the file carries both LanguageIETF and the legacy code), or None
    for a track with no language (written as ``und``).
    """

    lang: str | None = "eng"
    title: str | None = None
    channels: int = 2
    default: bool = False
    forced: bool = False
    commentary: bool = False
    visual_impaired: bool = False


@dataclass(frozen=True)
class SubtitleSpec:
    lang: str | None = "eng"
    title: str | None = None
    default: bool = False


@dataclass(frozen=True)
class StreamReadback:
    kind: str  # "video" | "audio" | "subtitles" | "data"
    language: str | None
    ietf: str | None
    title: str | None
    default: bool
    channels: int | None = None
    commentary: bool = False
    visual_impaired: bool = False


@dataclass(frozen=True)
class MediaReadback:
    streams: tuple[StreamReadback, ...]
    chapters: int
    raw: dict = field(repr=False, compare=False, default_factory=dict)

    @property
    def audio(self) -> list[StreamReadback]:
        return [s for s in self.streams if s.kind == "audio"]

    @property
    def default_audio_indexes(self) -> list[int]:
        return [i for i, s in enumerate(self.audio) if s.default]

    def kinds(self) -> list[str]:
        return [s.kind for s in self.streams]


def _run(argv: Sequence[str]) -> subprocess.CompletedProcess[bytes]:
    proc = subprocess.run(list(argv), capture_output=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed ({proc.returncode}): {proc.stderr.decode(errors='replace')}")
    return proc


def _base_lang(lang: str | None) -> str:
    if not lang:
        return "und"
    if "-" in lang:
        import langcodes  # only needed for the IETF case

        return langcodes.Language.get(lang).to_alpha3()
    return lang


def _chapter_file(directory: Path, count: int, duration: float) -> Path:
    path = directory / "chapters.txt"
    step = int(duration * 1000 / count)
    lines = [";FFMETADATA1"]
    for i in range(count):
        lines += [
            "[CHAPTER]",
            "TIMEBASE=1/1000",
            f"START={i * step}",
            f"END={(i + 1) * step}",
            f"title=Chapter {i + 1}",
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _srt_file(directory: Path, duration: float) -> Path:
    path = directory / "subs.srt"
    end = (
        f"00:00:0{min(int(duration), 9)},{int((duration % 1) * 1000):03d}"
        if duration < 10
        else "00:00:09,000"
    )
    path.write_text(f"1\n00:00:00,000 --> {end}\nHello\n", encoding="utf-8")
    return path


def _make(
    path: Path,
    fmt: Literal["matroska", "mp4"],
    tracks: Sequence[AudioSpec],
    subtitles: Sequence[SubtitleSpec],
    chapters: int,
    video: bool,
    duration: float,
    movflags: str | None = None,
) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="atamedia-") as scratch_name:
        scratch = Path(scratch_name)
        argv: list[str] = ["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-y"]
        inputs = 0
        maps: list[str] = []
        if video:
            argv += ["-f", "lavfi", "-i", f"testsrc=size=64x48:rate=5:duration={duration}"]
            maps += ["-map", f"{inputs}:v"]
            inputs += 1
        for i, spec in enumerate(tracks):
            layout = _LAYOUTS.get(spec.channels)
            if layout is None:
                raise ValueError(f"unsupported channel count {spec.channels}")
            argv += [
                "-f",
                "lavfi",
                "-i",
                f"sine=frequency={300 + 110 * i}:duration={duration}:sample_rate=24000",
            ]
            maps += ["-map", f"{inputs}:a"]
            inputs += 1
        for _ in subtitles:
            argv += ["-i", str(_srt_file(scratch, duration))]
            maps += ["-map", f"{inputs}:s"]
            inputs += 1
        if chapters:
            argv += ["-i", str(_chapter_file(scratch, chapters, duration))]
            chapter_input = inputs
            inputs += 1
        argv += maps
        if chapters:
            argv += ["-map_chapters", str(chapter_input)]
        argv += ["-t", str(duration)]
        if video:
            argv += ["-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "5"]
        argv += ["-c:a", "aac", "-b:a", "24k"]
        argv += ["-c:s", "srt" if fmt == "matroska" else "mov_text"]
        for i, spec in enumerate(tracks):
            argv += [f"-filter:a:{i}", f"aformat=channel_layouts={_LAYOUTS[spec.channels]}"]
            argv += [f"-metadata:s:a:{i}", f"language={_base_lang(spec.lang)}"]
            if spec.title is not None:
                argv += [f"-metadata:s:a:{i}", f"title={spec.title}"]
            flags = [
                name
                for name, on in (
                    ("default", spec.default),
                    ("forced", spec.forced),
                    ("comment", spec.commentary),
                    ("visual_impaired", spec.visual_impaired),
                )
                if on
            ]
            argv += [f"-disposition:a:{i}", "+".join(flags) if flags else "0"]
        for i, sub in enumerate(subtitles):
            argv += [f"-metadata:s:s:{i}", f"language={_base_lang(sub.lang)}"]
            if sub.title is not None:
                argv += [f"-metadata:s:s:{i}", f"title={sub.title}"]
            argv += [f"-disposition:s:{i}", "default" if sub.default else "0"]
        if movflags:
            argv += ["-movflags", movflags]
        argv += ["-f", fmt, str(path)]
        _run(argv)
    if fmt == "matroska":
        edits: list[str] = []
        for i, spec in enumerate(tracks):
            if spec.lang and "-" in spec.lang:
                edits += ["--edit", f"track:a{i + 1}", "--set", f"language={spec.lang}"]
        if edits:
            _run(["mkvpropedit", "-q", str(path), *edits])
    return path


def make_mkv(
    path: Path | str,
    tracks: Sequence[AudioSpec] = (AudioSpec(default=True),),
    *,
    subtitles: Sequence[SubtitleSpec] = (),
    chapters: int = 0,
    video: bool = True,
    duration: float = 1.0,
) -> Path:
    """A Matroska file with a small H.264 video, the given AAC audio tracks, SRT subs and chapters."""
    return _make(Path(path), "matroska", tracks, subtitles, chapters, video, duration)


def make_mp4(
    path: Path | str,
    tracks: Sequence[AudioSpec] = (AudioSpec(default=True),),
    *,
    subtitles: Sequence[SubtitleSpec] = (),
    chapters: int = 0,
    video: bool = True,
    duration: float = 1.0,
    movflags: str | None = None,
) -> Path:
    """An MP4 file (mov_text subs; chapters become a chapter text track, as ffmpeg writes them).

    ``movflags`` is passed to ffmpeg's ``-movflags`` (``+faststart``: moov before mdat;
    ``frag_keyframe+empty_moov``: a fragmented file).
    """
    for spec in tracks:
        if spec.lang and "-" in spec.lang:
            raise ValueError("MP4 files carry ISO 639-2 codes only; IETF tags are an MKV feature here")
    return _make(Path(path), "mp4", tracks, subtitles, chapters, video, duration, movflags)


def make_corrupt(
    path: Path | str,
    kind: Literal["empty", "garbage", "truncated"],
    *,
    source: Path | str | None = None,
    keep_fraction: float = 0.4,
) -> Path:
    """A broken media file: zero bytes, random bytes, or the first part of ``source``.

    ``truncated`` needs ``source`` (a good file of the same container); ``keep_fraction`` of
    its bytes are kept. For an MP4 written by ffmpeg the index (moov) is at the end, so a
    truncated MP4 has no readable tracks; a truncated MKV keeps its headers but loses data.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "garbage":
        rng = random.Random(str(path.name))
        path.write_bytes(bytes(rng.getrandbits(8) for _ in range(8192)))
    elif kind == "truncated":
        if source is None:
            raise ValueError("truncated needs a source file")
        data = Path(source).read_bytes()
        path.write_bytes(data[: max(1, int(len(data) * keep_fraction))])
    else:
        raise ValueError(f"unknown corruption {kind!r}")
    return path


def file_fingerprint(path: Path | str) -> tuple[bytes, int]:
    """The file's bytes and mtime (ns): equal fingerprints mean the file was not touched."""
    path = Path(path)
    return path.read_bytes(), os.stat(path).st_mtime_ns


def _read_mkv(path: Path) -> MediaReadback:
    proc = _run(["mkvmerge", "-J", str(path)])
    data = json.loads(proc.stdout)
    streams = []
    for track in data.get("tracks", []):
        props = track.get("properties", {})
        language = props.get("language")
        streams.append(
            StreamReadback(
                kind=track["type"],
                language=None if language in (None, "und") else language,
                ietf=props.get("language_ietf"),
                title=props.get("track_name"),
                default=bool(props.get("default_track", False)),
                channels=props.get("audio_channels"),
                commentary=bool(props.get("flag_commentary", False)),
                visual_impaired=bool(props.get("flag_visual_impaired", False)),
            )
        )
    chapters = sum(entry.get("num_entries", 0) for entry in data.get("chapters", []))
    return MediaReadback(streams=tuple(streams), chapters=chapters, raw=data)


def _mp4_titles(path: Path) -> dict[int, str]:
    from pymediainfo import MediaInfo

    titles: dict[int, str] = {}
    for track in MediaInfo.parse(str(path), parse_speed=0).tracks:
        if track.streamorder is not None and track.title:
            titles[int(str(track.streamorder).split("-")[0])] = track.title
    return titles


def _read_mp4(path: Path) -> MediaReadback:
    proc = _run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_streams", "-show_chapters", str(path)]
    )
    data = json.loads(proc.stdout)
    titles = _mp4_titles(path)
    kinds = {"video": "video", "audio": "audio", "subtitle": "subtitles", "data": "data"}
    streams = []
    for stream in data.get("streams", []):
        tags = stream.get("tags", {})
        disposition = stream.get("disposition", {})
        language = tags.get("language")
        streams.append(
            StreamReadback(
                kind=kinds.get(stream.get("codec_type"), stream.get("codec_type", "?")),
                language=None if language in (None, "und") else language,
                ietf=None,
                title=titles.get(stream["index"]),
                default=bool(disposition.get("default")),
                channels=stream.get("channels"),
                commentary=bool(disposition.get("comment")),
                visual_impaired=bool(disposition.get("visual_impaired")),
            )
        )
    return MediaReadback(streams=tuple(streams), chapters=len(data.get("chapters", [])), raw=data)


def read_back(path: Path | str) -> MediaReadback:
    """Read a file's streams with mkvmerge -J (Matroska) or ffprobe (+ MediaInfo titles, MP4)."""
    path = Path(path)
    if path.suffix.lower() in {".mkv", ".mka", ".webm"}:
        return _read_mkv(path)
    return _read_mp4(path)


def tools_available() -> bool:
    return all(shutil.which(tool) for tool in ("ffmpeg", "ffprobe", "mkvmerge", "mkvpropedit"))
