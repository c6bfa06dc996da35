"""Matroska files in the layouts real muxers write, and mkvmerge's view of them.

The in-process reader (``media/mkv_read.py``) must agree with ``mkvmerge -J`` on every MKV
the suite makes; ``mkvmerge_view`` is that reference, independent of the code under test.

Layouts (``make_layout``), each a real file a real tool wrote or a byte-exact rewrite of one:

* ``ffmpeg``: ffmpeg's muxer, CRC-32 as the first child of every level-1 element (its default);
* ``no_crc``: the same streams remuxed by ffmpeg with ``-write_crc32 0``;
* ``mkvmerge``: remuxed by mkvmerge (no CRC-32, a big Void after the SeekHead, Tags at the end);
* ``tracks_last``: mkvpropedit moved the grown Tracks element behind the Clusters and Cues
  (it does that whenever the new header no longer fits), found only through the SeekHead;
* ``no_seekhead``: ``tracks_last`` with the SeekHead overwritten by a Void of the same size,
  so only a walk over the Clusters finds Tracks;
* ``live``: ffmpeg writing to a pipe with ``-live 1`` (unknown-size Segment), with every
  Cluster's size field then overwritten by the "unknown size" marker of the same length.

Flags and IETF tags are set with ``mkvpropedit`` after muxing (``flags={audio index: {...}}``
with mkvpropedit property names, e.g. ``{"flag-hearing-impaired": "1", "language": "pt-BR"}``).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from arrtheaudio_server.languages import normalize
from tests.support.media_files import AudioSpec, SubtitleSpec, make_mkv

Layout = Literal["ffmpeg", "no_crc", "mkvmerge", "tracks_last", "no_seekhead", "live"]
LAYOUTS: tuple[Layout, ...] = ("ffmpeg", "no_crc", "mkvmerge", "tracks_last", "no_seekhead", "live")

SEEK_HEAD, TRACKS, CLUSTER, SEGMENT = (
    b"\x11\x4d\x9b\x74",
    b"\x16\x54\xae\x6b",
    b"\x1f\x43\xb6\x75",
    b"\x18\x53\x80\x67",
)


def _run(argv: Sequence[str], **kwargs: object) -> subprocess.CompletedProcess[bytes]:
    kwargs.setdefault("stdout", subprocess.PIPE)
    proc = subprocess.run(list(argv), stderr=subprocess.PIPE, check=False, **kwargs)  # type: ignore[call-overload]
    if proc.returncode not in (0, 1):  # mkvtoolnix: 1 = warnings
        raise RuntimeError(f"{argv[0]} failed ({proc.returncode}): {proc.stderr.decode(errors='replace')}")
    return proc


@dataclass(frozen=True)
class MkvmergeTrack:
    """One audio track as ``mkvmerge -J`` reports it, in the reader's terms."""

    track_id: int
    language: str | None
    ietf: str | None
    title: str | None
    codec: str | None
    channels: int | None
    default: bool
    forced: bool
    commentary: bool
    visual_impaired: bool
    hearing_impaired: bool
    original: bool


@dataclass(frozen=True)
class MkvmergeView:
    audio: tuple[MkvmergeTrack, ...]
    stream_count: int
    chapters: int
    recognized: bool
    errors: tuple[str, ...]


def mkvmerge_view(path: Path | str) -> MkvmergeView:
    """What ``mkvmerge -J`` says about ``path`` (the reference the reader is checked against)."""
    data = json.loads(_run(["mkvmerge", "-J", str(path)]).stdout)
    audio = []
    tracks = data.get("tracks") or []
    for track in tracks:
        if track.get("type") != "audio":
            continue
        props = track.get("properties") or {}
        ietf = props.get("language_ietf")
        audio.append(
            MkvmergeTrack(
                track_id=int(track["id"]),
                language=normalize(ietf) or normalize(props.get("language", "eng")),
                ietf=ietf if ietf and "-" in ietf else None,
                title=props.get("track_name") or None,
                codec=track.get("codec"),
                channels=props.get("audio_channels"),
                default=bool(props.get("default_track", True)),
                forced=bool(props.get("forced_track", False)),
                commentary=bool(props.get("flag_commentary", False)),
                visual_impaired=bool(props.get("flag_visual_impaired", False)),
                hearing_impaired=bool(props.get("flag_hearing_impaired", False)),
                original=bool(props.get("flag_original", False)),
            )
        )
    return MkvmergeView(
        audio=tuple(audio),
        stream_count=len(tracks),
        chapters=sum(int(entry.get("num_entries", 0)) for entry in data.get("chapters") or []),
        recognized=bool((data.get("container") or {}).get("recognized")),
        errors=tuple(map(str, data.get("errors") or [])),
    )


def top_level_order(path: Path | str) -> list[str]:
    """The Segment's level-1 elements in file order, as ``mkvinfo -a`` names them."""
    out = _run(["mkvinfo", "-a", str(path)]).stdout.decode(errors="replace")
    return [line[3:].split(":")[0].strip() for line in out.splitlines() if line.startswith("|+ ")]


def set_properties(path: Path | str, flags: Mapping[int, Mapping[str, str]]) -> None:
    """mkvpropedit ``--set`` per audio track (0-based audio index -> {property: value})."""
    argv = ["mkvpropedit", "-q", str(path)]
    for index, props in sorted(flags.items()):
        argv += ["--edit", f"track:a{index + 1}"]
        for name, value in props.items():
            argv += ["--set", f"{name}={value}"]
    _run(argv)


def _vint_at(data: bytes | bytearray, pos: int) -> tuple[int, int]:
    length = 9 - data[pos].bit_length()
    value = int.from_bytes(data[pos : pos + length], "big") & ((1 << (7 * length)) - 1)
    return value, length


def _level1(data: bytes | bytearray) -> list[tuple[bytes, int, int, int]]:
    """(id bytes, offset, header length, payload size) of the Segment's children; sizes known."""
    start = data.index(SEGMENT) + 4
    _seg_size, seg_len = _vint_at(data, start)
    pos = start + seg_len
    found = []
    while pos < len(data):
        id_len = 9 - data[pos].bit_length()
        size, size_len = _vint_at(data, pos + id_len)
        found.append((bytes(data[pos : pos + id_len]), pos, id_len + size_len, size))
        pos += id_len + size_len + size
    return found


def _element(data: bytes | bytearray, eid: bytes) -> tuple[int, int, int]:
    for found, pos, header, size in _level1(data):
        if found == eid:
            return pos, header, size
    raise LookupError(f"no level-1 element {eid.hex()}")


def _replace_seek_head_with_void(path: Path) -> None:
    data = bytearray(path.read_bytes())
    pos, header, size = _element(data, SEEK_HEAD)
    size_len = header - 4
    total = 4 + size_len + size
    void_payload = total - 1 - 8
    data[pos : pos + total] = b"\xec" + (void_payload | (1 << 56)).to_bytes(8, "big") + bytes(void_payload)
    path.write_bytes(bytes(data))


def _unknown_size_clusters(path: Path) -> None:
    """Overwrite every Cluster's size with the all-ones (unknown) marker of the same length."""
    data = bytearray(path.read_bytes())
    changed = 0
    for eid, pos, header, _size in _level1(data):
        if eid == CLUSTER:
            size_len = header - 4
            data[pos + 4] = (1 << (8 - size_len)) | ((1 << (8 - size_len)) - 1)
            for i in range(1, size_len):
                data[pos + 4 + i] = 0xFF
            changed += 1
    if not changed:
        raise RuntimeError("no Cluster found to rewrite")
    path.write_bytes(bytes(data))


def make_layout(
    path: Path | str,
    tracks: Sequence[AudioSpec],
    layout: Layout = "ffmpeg",
    *,
    flags: Mapping[int, Mapping[str, str]] | None = None,
    subtitles: Sequence[SubtitleSpec] = (),
    chapters: int = 0,
    video: bool = False,
) -> Path:
    """An MKV with ``tracks`` in one of the layouts above; IETF tags / flags via mkvpropedit."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="atamkv-") as scratch:
        base = make_mkv(
            Path(scratch) / "base.mkv", tracks, subtitles=subtitles, chapters=chapters, video=video
        )
        if layout in ("ffmpeg", "tracks_last", "no_seekhead"):
            os.replace(base, path)
        elif layout == "no_crc":
            _run(
                [
                    "ffmpeg",
                    "-v",
                    "error",
                    "-y",
                    "-i",
                    str(base),
                    "-map",
                    "0",
                    "-c",
                    "copy",
                    "-write_crc32",
                    "0",
                    str(path),
                ]
            )
        elif layout == "mkvmerge":
            _run(["mkvmerge", "-q", "-o", str(path), str(base)])
        elif layout == "live":
            with open(path, "wb") as out:
                _run(
                    [
                        "ffmpeg",
                        "-v",
                        "error",
                        "-i",
                        str(base),
                        "-map",
                        "0",
                        "-c",
                        "copy",
                        "-f",
                        "matroska",
                        "-live",
                        "1",
                        "-",
                    ],
                    stdout=out,
                )
        else:  # pragma: no cover - Literal
            raise ValueError(layout)
    edits: dict[int, dict[str, str]] = {i: dict(v) for i, v in (flags or {}).items()}
    for i, spec in enumerate(tracks):
        if spec.lang and "-" in spec.lang and layout in ("no_crc", "live"):
            edits.setdefault(i, {}).setdefault("language", spec.lang)  # ffmpeg drops LanguageBCP47
    if layout in ("tracks_last", "no_seekhead"):
        # A name too long for the Void behind Tracks: mkvpropedit moves Tracks to the end.
        edits.setdefault(0, {}).setdefault("name", (tracks[0].title or "Track") + " " + "x" * 400)
    if edits:
        set_properties(path, edits)
    if layout == "no_seekhead":
        _replace_seek_head_with_void(path)
    elif layout == "live":
        _unknown_size_clusters(path)
    return path


def has_crc32(path: Path | str) -> bool:
    """True when the Tracks element starts with a CRC-32 child (as ffmpeg writes it)."""
    data = Path(path).read_bytes()
    pos, header, _size = _element(data, TRACKS)
    return data[pos + header : pos + header + 2] == b"\xbf\x84"


def crc32_valid(path: Path | str) -> bool:
    """The Tracks element's CRC-32 matches its payload (mkvpropedit must keep it right)."""
    import zlib

    data = Path(path).read_bytes()
    pos, header, size = _element(data, TRACKS)
    payload = data[pos + header : pos + header + size]
    stored = int.from_bytes(payload[2:6], "little")
    return zlib.crc32(payload[6:]) == stored


# --- hostile files ----------------------------------------------------------------------


def _segment(tracks_payload: bytes, seek_entries: bytes = b"") -> bytes:
    ebml = bytes.fromhex("1A45DFA3") + bytes([0x80 | 11]) + bytes.fromhex("4282") + b"\x88matroska"
    body = b""
    if seek_entries:
        body += bytes.fromhex("114D9B74") + _size(len(seek_entries)) + seek_entries
    body += tracks_payload
    return ebml + bytes.fromhex("18538067") + _size(len(body)) + body


def _size(n: int) -> bytes:
    return (n | (1 << 56)).to_bytes(8, "big")


def _seek(eid: bytes, position: int) -> bytes:
    entry = bytes.fromhex("53AB84") + eid + bytes.fromhex("53AC88") + position.to_bytes(8, "big")
    return bytes.fromhex("4DBB") + bytes([0x80 | len(entry)]) + entry


_AUDIO_ENTRY = bytes.fromhex("AE") + bytes([0x80 | 6]) + bytes.fromhex("D78101") + bytes.fromhex("838102")


def hostile_mkvs() -> dict[str, bytes]:
    """Hand-made hostile Matroska files (name -> bytes): loops, overlaps, absurd sizes, floods."""
    return {
        "seekhead_loop.mkv": _segment(b"", _seek(bytes.fromhex("114D9B74"), 0) * 3),
        "seekhead_into_the_middle.mkv": _segment(b"", _seek(bytes.fromhex("1654AE6B"), 5)),
        "seekhead_points_elsewhere.mkv": _segment(b"", _seek(bytes.fromhex("1654AE6B"), 0)),
        "seekhead_outside.mkv": _segment(b"", _seek(bytes.fromhex("1654AE6B"), 1 << 40)),
        "absurd_tracks_size.mkv": _segment(bytes.fromhex("1654AE6B") + _size((1 << 56) - 2) + _AUDIO_ENTRY),
        "child_overruns_parent.mkv": _segment(
            bytes.fromhex("1654AE6B") + _size(len(_AUDIO_ENTRY) - 3) + _AUDIO_ENTRY
        ),
        "void_flood.mkv": _segment(b"\xec\x80" * 300_000),
        "unknown_size_tracks.mkv": _segment(bytes.fromhex("1654AE6B01FFFFFFFFFFFFFF") + _AUDIO_ENTRY),
        "zero_vint.mkv": _segment(bytes.fromhex("1654AE6B00") + _AUDIO_ENTRY),
        "long_id.mkv": _segment(bytes.fromhex("0812345678") + _size(0)),
        "huge_uint.mkv": _segment(
            bytes.fromhex("1654AE6B")
            + _size(len(_AUDIO_ENTRY) + 11)
            + _AUDIO_ENTRY
            + bytes.fromhex("AE89")
            + b"\x83" * 0
            + bytes.fromhex("838A")
            + b"\x01" * 8
        ),
        "no_tracks.mkv": _segment(b"\xec\x82\x00\x00"),
        "not_a_segment.mkv": _segment(b"")[:-9] + bytes.fromhex("1549A96680"),
        "webm_garbage_doctype.mkv": bytes.fromhex("1A45DFA3")
        + bytes([0x80 | 7])
        + bytes.fromhex("4282")
        + b"\x84avi\x00",
        "only_ebml_magic.mkv": bytes.fromhex("1A45DFA3"),
    }


def mutate(data: bytes, rng: random.Random, *, edits: int = 4) -> bytes:
    """A real file damaged the ways storage and downloads damage files: flipped bits, runs of
    0xFF or zeros (absurd or zero sizes), spliced-in garbage, cut and duplicated spans; most
    edits land in the header region (before the first Cluster), where the reader works."""
    out = bytearray(data)
    header_end = data.find(CLUSTER)
    header_end = len(data) if header_end < 0 else header_end + 64
    for _ in range(edits):
        limit = header_end if rng.random() < 0.8 else len(out)
        pos = rng.randrange(max(1, min(limit, len(out))))
        kind = rng.choice(["flip", "ff", "zero", "splice", "cut", "dup"])
        if kind == "flip":
            out[pos] ^= 1 << rng.randrange(8)
        elif kind == "ff":
            out[pos : pos + 8] = b"\xff" * len(out[pos : pos + 8])
        elif kind == "zero":
            out[pos : pos + 4] = bytes(len(out[pos : pos + 4]))
        elif kind == "splice":
            out[pos:pos] = rng.randbytes(rng.randint(1, 16))
        elif kind == "cut":
            del out[pos : pos + rng.randint(1, 64)]
        else:
            out[pos:pos] = out[pos : pos + rng.randint(1, 200)]
        if not out:
            out = bytearray(b"\x1a")
    return bytes(out)
