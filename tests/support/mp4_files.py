"""MP4 files for the in-process reader and the in-place writer, made with ffmpeg and edited here.

ffmpeg writes the common layouts itself (``make_mp4(..., movflags="+faststart")`` for moov
first, ``"frag_keyframe+empty_moov"`` for a fragmented file). The layouts it does not write
for small files are crafted from its output, each one checked with ffprobe by the tests:

* ``with_64bit_mdat``: the 8-byte ``free`` box ffmpeg puts before ``mdat`` is the room it
  keeps for a 64-bit size — the two headers become one 16-byte ``mdat`` header, so no
  sample moves (exactly what ffmpeg does for files over 4 GiB);
* ``with_mdat_to_eof``: the last box's size becomes 0 ("to the end of the file");
* ``edit_moov``: rebuild the ``moov`` of a moov-last file with a changed tree (tkhd version 1,
  ``elng`` / ``kind`` boxes, other alternate groups or flags, a duplicated or missing tkhd,
  a ``cmov``-compressed index); nothing after the moov, so no sample offset changes.

This module parses boxes on its own (a few lines, no bounds) instead of using the code under
test, so a reader bug cannot hide in the test's own view of the file.
"""

from __future__ import annotations

import itertools
import json
import struct
import subprocess
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.media_files import AudioSpec, SubtitleSpec, make_mp4

__all__ = [
    "AudioSpec",
    "Node",
    "SubtitleSpec",
    "add_elng",
    "add_kind",
    "audio_tkhds",
    "edit_moov",
    "ffprobe_json",
    "make_mp4",
    "parse",
    "set_tkhd",
    "tkhd_to_v1",
    "top_level",
    "traks",
    "with_64bit_mdat",
    "with_compressed_moov",
    "with_mdat_to_eof",
    "with_second_moov",
]

CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"udta", b"edts", b"dinf", b"tref", b"mvex"}
DASH_ROLE = b"urn:mpeg:dash:role:2011"


@dataclass
class Node:
    type: bytes
    body: bytes = b""  # leaves only
    children: list[Node] | None = None  # containers only
    offset: int = 0
    header: int = 8
    size: int = 0  # as found in the file (serialize() recomputes it)

    def find(self, kind: bytes) -> Node | None:
        return next((c for c in self.children or [] if c.type == kind), None)

    def all(self, kind: bytes) -> list[Node]:
        return [c for c in self.children or [] if c.type == kind]

    def serialize(self) -> bytes:
        payload = b"".join(c.serialize() for c in self.children) if self.children is not None else self.body
        return struct.pack(">I4s", 8 + len(payload), self.type) + payload


def parse(data: bytes, start: int = 0, end: int | None = None) -> list[Node]:
    end = len(data) if end is None else end
    nodes: list[Node] = []
    offset = start
    while offset + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, offset)
        header = 8
        if size == 1:
            size, header = struct.unpack_from(">Q", data, offset + 8)[0], 16
        elif size == 0:
            size = end - offset
        if kind in CONTAINERS:
            kids = parse(data, offset + header, offset + size)
            node = Node(kind, children=kids, offset=offset, header=header, size=size)
        else:
            body = data[offset + header : offset + size]
            node = Node(kind, body=body, offset=offset, header=header, size=size)
        nodes.append(node)
        offset += size
    return nodes


def top_level(path: Path) -> list[Node]:
    return parse(Path(path).read_bytes())


def traks(moov: Node) -> list[Node]:
    return moov.all(b"trak")


def handler(trak: Node) -> bytes:
    hdlr = trak.find(b"mdia").find(b"hdlr")  # type: ignore[union-attr]
    return hdlr.body[8:12]  # type: ignore[union-attr]


def _tkhd_group_at(version: int) -> int:
    return 34 if version == 0 else 46  # in the body: version/flags, times/id/duration, reserved, layer


def audio_tkhds(path: Path) -> list[tuple[bool, int, int]]:
    """(enabled, alternate_group, version) of each audio track, from the file's own bytes."""
    moov = next(n for n in top_level(path) if n.type == b"moov")
    found = []
    for trak in traks(moov):
        if handler(trak) != b"soun":
            continue
        body = trak.find(b"tkhd").body  # type: ignore[union-attr]
        group = struct.unpack_from(">H", body, _tkhd_group_at(body[0]))[0]
        found.append((bool(body[3] & 1), group, body[0]))
    return found


def set_tkhd(trak: Node, *, enabled: bool | None = None, group: int | None = None) -> None:
    tkhd = trak.find(b"tkhd")
    assert tkhd is not None
    body = bytearray(tkhd.body)
    if enabled is not None:
        body[3] = (body[3] | 1) if enabled else (body[3] & ~1 & 0xFF)
    if group is not None:
        struct.pack_into(">H", body, _tkhd_group_at(body[0]), group)
    tkhd.body = bytes(body)


def tkhd_to_v1(trak: Node) -> None:
    """tkhd version 0 -> 1: creation/modification time and duration widened to 64 bits."""
    tkhd = trak.find(b"tkhd")
    assert tkhd is not None and tkhd.body[0] == 0
    b = tkhd.body
    created, modified, track_id, reserved, duration = struct.unpack_from(">IIIII", b, 4)
    tkhd.body = (
        b"\x01" + b[1:4] + struct.pack(">QQIIQ", created, modified, track_id, reserved, duration) + b[24:]
    )


def add_elng(trak: Node, tag: str) -> None:
    mdia = trak.find(b"mdia")
    assert mdia is not None and mdia.children is not None
    at = next(i for i, c in enumerate(mdia.children) if c.type == b"mdhd") + 1
    mdia.children.insert(at, Node(b"elng", body=b"\x00\x00\x00\x00" + tag.encode() + b"\x00"))


def add_kind(trak: Node, value: str, scheme: bytes = DASH_ROLE) -> None:
    udta = trak.find(b"udta")
    if udta is None:
        udta = Node(b"udta", children=[])
        assert trak.children is not None
        trak.children.append(udta)
    assert udta.children is not None
    udta.children.append(
        Node(b"kind", body=b"\x00\x00\x00\x00" + scheme + b"\x00" + value.encode() + b"\x00")
    )


def edit_moov(path: Path, edit: Callable[[Node], None]) -> Path:
    """Rebuild the moov of a moov-last file after ``edit(moov)`` changed its tree."""
    path = Path(path)
    data = path.read_bytes()
    nodes = parse(data)
    assert nodes[-1].type == b"moov", "edit_moov needs the moov last (sample offsets must not move)"
    moov = nodes[-1]
    edit(moov)
    path.write_bytes(data[: moov.offset] + moov.serialize())
    return path


def with_compressed_moov(path: Path) -> Path:
    """moov -> moov{cmov{dcom 'zlib', cmvd{uncompressed size, zlib(moov)}}}, as old QuickTime wrote."""
    path = Path(path)
    data = path.read_bytes()
    moov = parse(data)[-1]
    assert moov.type == b"moov"
    raw = moov.serialize()
    cmov = Node(
        b"cmov",
        children=[
            Node(b"dcom", body=b"zlib"),
            Node(b"cmvd", body=struct.pack(">I", len(raw)) + zlib.compress(raw)),
        ],
    )
    path.write_bytes(data[: moov.offset] + Node(b"moov", children=[cmov]).serialize())
    return path


def with_second_moov(path: Path) -> Path:
    path = Path(path)
    data = path.read_bytes()
    moov = next(n for n in parse(data) if n.type == b"moov")
    path.write_bytes(data + moov.serialize())
    return path


def with_64bit_mdat(path: Path) -> Path:
    """free(8) + mdat(32-bit size) -> one mdat with a 64-bit size; every sample stays put."""
    path = Path(path)
    data = bytearray(path.read_bytes())
    nodes = parse(bytes(data))
    for free, mdat in itertools.pairwise(nodes):
        if free.type == b"free" and len(free.body) == 0 and mdat.type == b"mdat" and mdat.header == 8:
            size = 8 + len(mdat.body)
            data[free.offset : free.offset + 16] = struct.pack(">I4sQ", 1, b"mdat", size + 8)
            path.write_bytes(bytes(data))
            return path
    raise AssertionError("no 8-byte free box before mdat")


def with_mdat_to_eof(path: Path) -> Path:
    """The last box (the mdat of a moov-first file) gets size 0: it runs to the end of the file."""
    path = Path(path)
    data = bytearray(path.read_bytes())
    last = parse(bytes(data))[-1]
    assert last.type == b"mdat" and last.header == 8, last.type
    data[last.offset : last.offset + 4] = b"\x00\x00\x00\x00"
    path.write_bytes(bytes(data))
    return path


def ffprobe_json(path: Path) -> dict:
    proc = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-of",
            "json",
            "-show_streams",
            "-show_chapters",
            "-show_format",
            str(path),
        ],
        capture_output=True,
        check=True,
    )
    return json.loads(proc.stdout)


@dataclass(frozen=True)
class Layout:
    """A named MP4 the suites generate: how to make it and what its audio tracks are."""

    name: str
    tracks: tuple[AudioSpec, ...]
    subtitles: tuple[SubtitleSpec, ...] = ()
    chapters: int = 0
    movflags: str | None = None
    craft: Callable[[Path], Path] | None = None
    extra: dict = field(default_factory=dict)

    def make(self, directory: Path) -> Path:
        path = make_mp4(
            Path(directory) / self.name,
            self.tracks,
            subtitles=self.subtitles,
            chapters=self.chapters,
            movflags=self.movflags,
        )
        return self.craft(path) if self.craft else path


def _edit_audio(edit: Callable[[list[Node]], None]) -> Callable[[Path], Path]:
    def craft(path: Path) -> Path:
        return edit_moov(path, lambda moov: edit([t for t in traks(moov) if handler(t) == b"soun"]))

    return craft


def _groups(audio: list[Node]) -> None:
    # English enabled in group 1, French enabled in group 2 (an Apple player plays both), Japanese in 2.
    for trak, group, enabled in zip(audio, (1, 2, 2), (True, True, False), strict=True):
        set_tkhd(trak, group=group, enabled=enabled)


def _all_v1(path: Path) -> Path:
    def edit(moov: Node) -> None:
        for trak in traks(moov):
            tkhd_to_v1(trak)

    return edit_moov(path, edit)


def _tags(audio: list[Node]) -> None:
    add_elng(audio[0], "pt-BR")
    add_kind(audio[1], "commentary")
    add_kind(audio[2], "forced-subtitle")
    add_kind(audio[2], "caption")
    add_kind(audio[2], "commentary", scheme=b"urn:example:other")  # another scheme: ignored


def _none_enabled(audio: list[Node]) -> None:
    for trak in audio:
        set_tkhd(trak, enabled=False)


def _two_tkhd(audio: list[Node]) -> None:
    tkhd = audio[1].find(b"tkhd")
    assert tkhd is not None and audio[1].children is not None
    audio[1].children.insert(1, Node(b"tkhd", body=tkhd.body))


def _no_tkhd(audio: list[Node]) -> None:
    assert audio[1].children is not None
    audio[1].children = [c for c in audio[1].children if c.type != b"tkhd"]


_THREE = (
    AudioSpec("eng", "English", default=True),
    AudioSpec("jpn", "Japanese"),
    AudioSpec("ita", channels=6),
)
_SUBS = (SubtitleSpec("eng", "Full"),)

# Files the in-place writer must edit, and the files it must leave to the remux fallback.
EDITABLE: tuple[Layout, ...] = (
    Layout("moov_last.mp4", _THREE, _SUBS, chapters=2),
    Layout("faststart.mp4", _THREE, _SUBS, chapters=2, movflags="+faststart"),
    Layout("fragmented.mp4", _THREE, _SUBS, chapters=2, movflags="frag_keyframe+empty_moov"),
    Layout("mdat64.mp4", _THREE, craft=with_64bit_mdat),
    Layout("mdat64_faststart.mp4", _THREE, movflags="+faststart", craft=with_64bit_mdat),
    Layout("mdat_to_eof.mp4", _THREE, movflags="+faststart", craft=with_mdat_to_eof),
    Layout(
        "four_tracks.mp4",
        (
            AudioSpec("eng", default=True),
            AudioSpec("fra"),
            AudioSpec("jpn", "Japanese"),
            AudioSpec("deu", channels=6),
        ),
    ),
    Layout(
        "groups.mp4",
        (AudioSpec("eng", default=True), AudioSpec("fra"), AudioSpec("jpn")),
        _SUBS,
        craft=_edit_audio(_groups),
    ),
    Layout("chapters.mp4", _THREE[:2], chapters=3),
    Layout("tkhd_v1.mp4", _THREE, _SUBS, chapters=2, craft=_all_v1),
    Layout("tagged.mp4", _THREE, craft=_edit_audio(_tags)),
    Layout("none_enabled.mp4", _THREE, craft=_edit_audio(_none_enabled)),
)
FALLBACK: tuple[Layout, ...] = (
    Layout("cmov.mp4", _THREE, craft=with_compressed_moov),
    Layout("two_moov.mp4", _THREE, craft=with_second_moov),
    Layout("no_tkhd.mp4", _THREE, craft=_edit_audio(_no_tkhd)),
)
# ffprobe itself refuses this one ("error reading header"): corrupt, not a fallback.
TWO_TKHD = Layout("two_tkhd.mp4", _THREE, craft=_edit_audio(_two_tkhd))

# name -> (ffmpeg audio codec arguments, channels): one file per codec the reader names.
CODECS: dict[str, tuple[tuple[str, ...], int]] = {
    "ac3.mp4": (("-c:a", "ac3"), 6),
    "eac3.mp4": (("-c:a", "eac3"), 6),
    "opus.mp4": (("-c:a", "libopus"), 2),
    "flac.mp4": (("-c:a", "flac", "-strict", "-2"), 2),
    "alac.mp4": (("-c:a", "alac"), 1),
    "aac_mono.mp4": (("-c:a", "aac"), 1),
}


def make_codec_mp4(path: Path, codec_args: tuple[str, ...], channels: int) -> Path:
    """Two audio tracks (eng default, jpn) of one codec; the first one has ``channels``."""
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-y"]
        + ["-f", "lavfi", "-i", "sine=frequency=300:duration=1:sample_rate=48000"] * 2
        + ["-map", "0:a", "-map", "1:a", *codec_args, "-ac:a:0", str(channels)]
        + ["-metadata:s:a:0", "language=eng", "-metadata:s:a:1", "language=jpn"]
        + ["-disposition:a:0", "default", "-disposition:a:1", "0", "-f", "mp4", str(path)],
        check=True,
        capture_output=True,
    )
    return path


def build_library(directory: Path) -> Path:
    """Every MP4 above in ``directory`` (made in parallel: ffmpeg is the slow part)."""
    from concurrent.futures import ThreadPoolExecutor

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    jobs: list[Callable[[], Path]] = [
        (lambda layout=layout: layout.make(directory)) for layout in (*EDITABLE, *FALLBACK, TWO_TKHD)
    ]
    jobs += [
        (lambda name=name, spec=spec: make_codec_mp4(directory / name, *spec))
        for name, spec in CODECS.items()
    ]
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda job: job(), jobs))
    return directory
