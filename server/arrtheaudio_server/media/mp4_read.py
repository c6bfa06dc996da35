"""Read an MP4's tracks in-process, and where its audio tkhd boxes sit for the in-place writer.

What is read, and from where (FFmpeg's mov demuxer is the reference every test checks against):

* every ``trak`` of the first ``moov`` is one stream, numbered in file order as ffmpeg does;
  audio tracks are those whose ``mdia/hdlr`` handler is ``soun``;
* default = the tkhd ``track_enabled`` flag (0x1) — what ffmpeg maps to the default
  disposition; ``alternate_group`` from the same tkhd;
* language = ``mdia/elng`` (an IETF tag, kept in ``AudioTrack.ietf`` when it carries a region)
  or else the packed ISO 639-2/T code of ``mdhd`` (codes below 0x400 are old Macintosh
  language numbers, mapped as ffmpeg maps them);
* title = ``udta/name`` (what ``ffmpeg -metadata:s:a:N title=`` writes) or QuickTime ``©nam``;
* commentary / hearing impaired / visual impaired / forced = ``udta/kind`` boxes with the
  DASH role scheme, which is where ffmpeg writes and reads those dispositions (``caption``,
  ``commentary``, ``description``, ``forced-subtitle``); MP4 has no "original" flag;
* chapters = the samples of the text track that a ``tref/chap`` points at (how ffmpeg writes
  chapters), else the entries of a Nero ``moov/udta/chpl`` box.

The reader also decides whether the file may be edited in place. It may not — and
``fallback_reason`` says why — when there are several ``moov`` boxes, the index is
compressed (``cmov``), a trak has no tkhd, a tkhd has an unknown version, or
box sizes inside ``moov`` do not add up (each is a layout ffmpeg still reads and a remux
rewrites cleanly). A trak with two tkhd boxes is corrupt: ffmpeg refuses it too. An
unreadable file is a ``ProbeFailure``; nothing here raises for a bad file (the bounds are
in ``mp4_boxes``).
"""

from __future__ import annotations

import contextlib
import os
import stat
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from arrtheaudio_server.languages import normalize, parse_language
from arrtheaudio_server.media.mp4_boxes import Box, Budget, Corrupt, Source, children, iter_boxes, read_body
from arrtheaudio_server.media.mp4_codecs import sample_entry
from arrtheaudio_server.media.probe_types import ProbeFailure, ProbeInfo
from arrtheaudio_server.media.result import AudioTrack, Container, ReasonCode

_SMALL = 64 * 1024  # tkhd, mdhd, hdlr, name, kind, elng, tref: far smaller in any real file
_STSD_LIMIT = 1024 * 1024
_CMOV_LIMIT = 64 * 1024 * 1024  # a decompressed movie index larger than this is not a film's
_EBML_MAGIC = b"\x1a\x45\xdf\xa3"
_DASH_ROLE = "urn:mpeg:dash:role:2011"

# Macintosh language codes (mdhd values below 0x400), as FFmpeg's isom.c maps them; only the
# entries with an ISO code are listed. normalize() turns them into ISO 639-2/T.
_MAC_LANGUAGES = dict(
    enumerate(
        [
            "eng",
            "fra",
            "ger",
            "ita",
            "dut",
            "swe",
            "spa",
            "dan",
            "por",
            "nor",
            "heb",
            "jpn",
            "ara",
            "fin",
            "gre",
            "ice",
            "mlt",
            "tur",
            "hr",
            "chi",
            "urd",
            "hin",
            "tha",
            "kor",
            "lit",
            "pol",
            "hun",
            "est",
            "lav",
            "-",
            "fo",
            "-",
            "rus",
            "chi",
            "-",
            "gle",
            "alb",
            "ron",
            "ces",
            "slk",
            "slv",
            "yid",
            "sr",
            "mac",
            "bul",
            "ukr",
            "bel",
            "uzb",
            "kaz",
            "aze",
            "aze",
            "arm",
            "geo",
            "mol",
            "kir",
            "tgk",
            "tuk",
            "mon",
            "-",
            "pus",
            "kur",
            "kas",
            "snd",
            "tib",
            "nep",
            "san",
            "mar",
            "ben",
            "asm",
            "guj",
            "pa",
            "ori",
            "mal",
            "kan",
            "tam",
            "tel",
            "-",
            "bur",
            "khm",
            "lao",
            "vie",
            "ind",
            "tgl",
            "may",
            "may",
            "amh",
            "tir",
            "orm",
            "som",
            "swa",
            "-",
            "run",
            "-",
            "mlg",
            "epo",
        ]
    )
)


@dataclass(frozen=True, slots=True)
class TkhdLayout:
    """One audio track's tkhd as read: where its flag and group bytes are, and its bytes."""

    offset: int  # absolute offset of the tkhd box
    raw: bytes  # the whole box (header included), compared again right before writing
    header: int  # 8 or 16
    version: int  # 0 or 1

    @property
    def flags(self) -> int:
        return int.from_bytes(self.raw[self.header + 1 : self.header + 4], "big")

    @property
    def enabled(self) -> bool:
        return bool(self.flags & 0x1)

    @property
    def flag_byte_offset(self) -> int:
        """The last of the three flag bytes: the one holding track_enabled (0x1)."""
        return self.offset + self.header + 3

    @property
    def group_offset(self) -> int:
        # version(1) flags(3) times/id/reserved/duration (20 or 32) reserved(8) layer(2)
        return self.offset + self.header + (34 if self.version == 0 else 46)

    @property
    def alternate_group(self) -> int | None:
        """None for a tkhd version this reader does not know (its field offsets are unknown)."""
        if self.version not in (0, 1):
            return None
        at = self.group_offset - self.offset
        return struct.unpack_from(">H", self.raw, at)[0]


@dataclass(frozen=True, slots=True)
class Mp4Layout:
    """What the in-place writer needs: the file's identity and every audio tkhd, in audio order."""

    device: int
    inode: int
    size: int
    mtime_ns: int
    audio: tuple[TkhdLayout, ...]
    other_groups: tuple[int, ...]  # alternate groups of the non-audio tracks (never joined)


@dataclass(frozen=True, slots=True)
class Mp4Probe:
    info: ProbeInfo  # container=Container.MP4, tracks=AudioTrack tuple, ...
    fallback_reason: str | None  # None: editable in place; else why the remux fallback is needed
    layout: Mp4Layout | None = field(default=None, repr=False, compare=False)


@dataclass(slots=True)
class _Trak:
    index: int
    track_id: int | None = None
    tkhds: list[TkhdLayout] = field(default_factory=list)
    handler: bytes | None = None
    mdhd_language: str | None = None
    elng: str | None = None
    title: str | None = None
    roles: list[str] = field(default_factory=list)
    codec: str | None = None
    channels: int | None = None
    chapter_refs: list[int] = field(default_factory=list)
    sample_count: int | None = None
    tkhd_problem: str | None = None


def _mdhd_language(code: int) -> str | None:
    if code >= 0x400 and code != 0x7FFF:
        letters = "".join(chr(((code >> shift) & 0x1F) + 0x60) for shift in (10, 5, 0))
        return letters if letters.isalpha() and letters.isascii() else None
    mac = _MAC_LANGUAGES.get(code)
    return None if mac in (None, "-") else mac


def _text(raw: bytes) -> str | None:
    text = raw.split(b"\x00", 1)[0].decode("utf-8", errors="replace").strip()
    return text or None


def _qt_string(raw: bytes) -> str | None:
    """A QuickTime user-data string: 16-bit length, 16-bit language, text (else raw text)."""
    if len(raw) >= 4:
        length = struct.unpack_from(">H", raw)[0]
        if 4 + length <= len(raw):
            return _text(raw[4 : 4 + length])
    return _text(raw)


def _kind(body: bytes) -> str | None:
    """The role value of a DASH-scheme ``kind`` box (FullBox: scheme NUL value NUL)."""
    parts = body[4:].split(b"\x00")
    if len(parts) < 3:
        return None
    scheme, value = parts[0].decode("utf-8", "replace"), parts[1].decode("utf-8", "replace")
    return value if scheme.startswith(_DASH_ROLE) else None


def _read_tkhd(src: Source, box: Box, trak: _Trak) -> None:
    raw = src.read(box.offset, box.header) + read_body(src, box, limit=_SMALL, at_least=4)
    version = raw[box.header]
    if version not in (0, 1):
        trak.tkhd_problem = f"a tkhd of version {version}"
        trak.tkhds.append(TkhdLayout(box.offset, raw, box.header, version))
        return
    need = 84 if version == 0 else 96
    if box.body_size < need:
        raise Corrupt(f"tkhd at {box.offset} is {box.body_size} bytes, version {version} needs {need}")
    id_at = box.header + (12 if version == 0 else 20)
    trak.track_id = struct.unpack_from(">I", raw, id_at)[0]
    trak.tkhds.append(TkhdLayout(box.offset, raw, box.header, version))


def _read_stbl(src: Source, box: Box, trak: _Trak, budget: Budget, depth: int) -> None:
    for child in children(src, box, budget, depth=depth):
        if child.type == b"stsd" and trak.handler == b"soun":
            body = read_body(src, child, limit=_STSD_LIMIT, at_least=8)
            entries = iter_boxes(
                Source(data=body, size=len(body)), 8, len(body), Budget(256), depth=depth + 1
            )
            first = next(entries, None)
            if first is not None:
                trak.codec, trak.channels = sample_entry(first.type, body[first.body : first.end])
        elif child.type in (b"stsz", b"stz2") and child.body_size >= 12:
            # FullBox header, sample_size (stz2: reserved + field_size), then sample_count.
            trak.sample_count = struct.unpack(">I", src.read(child.body + 8, 4))[0]


def _read_mdia(src: Source, box: Box, trak: _Trak, budget: Budget, depth: int) -> None:
    kids = list(children(src, box, budget, depth=depth))
    # hdlr first: the handler decides what else is worth reading.
    for child in kids:
        if child.type == b"hdlr" and trak.handler is None:
            body = read_body(src, child, limit=_SMALL, at_least=12)
            trak.handler = body[8:12]
    for child in kids:
        if child.type == b"mdhd":
            body = read_body(src, child, limit=_SMALL, at_least=4)
            at = 4 + (16 if body[0] == 0 else 28)
            if len(body) < at + 2:
                raise Corrupt(f"mdhd at {child.offset} is cut off")
            trak.mdhd_language = _mdhd_language(struct.unpack_from(">H", body, at)[0] & 0x7FFF)
        elif child.type == b"elng":
            trak.elng = _text(read_body(src, child, limit=_SMALL, at_least=4)[4:])
        elif child.type == b"minf":
            for sub in children(src, child, budget, depth=depth + 1):
                if sub.type == b"stbl":
                    _read_stbl(src, sub, trak, budget, depth + 2)


def _read_udta(src: Source, box: Box, trak: _Trak, budget: Budget, depth: int) -> None:
    for child in children(src, box, budget, depth=depth):
        if child.type == b"name" and trak.title is None:
            trak.title = _text(read_body(src, child, limit=_SMALL))
        elif child.type == b"\xa9nam" and trak.title is None:
            trak.title = _qt_string(read_body(src, child, limit=_SMALL))
        elif child.type == b"kind":
            role = _kind(read_body(src, child, limit=_SMALL, at_least=4))
            if role:
                trak.roles.append(role)


def _read_trak(src: Source, box: Box, index: int, budget: Budget, depth: int) -> _Trak:
    trak = _Trak(index=index)
    for child in children(src, box, budget, depth=depth):
        if child.type == b"tkhd":
            _read_tkhd(src, child, trak)
        elif child.type == b"mdia":
            _read_mdia(src, child, trak, budget, depth + 1)
        elif child.type == b"udta":
            _read_udta(src, child, trak, budget, depth + 1)
        elif child.type == b"tref":
            for ref in children(src, child, budget, depth=depth + 1):
                if ref.type == b"chap":
                    body = read_body(src, ref, limit=_SMALL)
                    trak.chapter_refs += [v for (v,) in struct.iter_unpack(">I", body[: len(body) // 4 * 4])]
    return trak


def _nero_chapters(src: Source, udta: Box, budget: Budget, depth: int) -> int:
    for child in children(src, udta, budget, depth=depth):
        if child.type == b"chpl":
            body = read_body(src, child, limit=_STSD_LIMIT, at_least=5)
            # FullBox header, then (version 1) 4 reserved bytes, then an 8-bit count.
            return body[8] if body[0] == 1 and len(body) > 8 else body[4]
    return 0


def _decompress_cmov(src: Source, cmov: Box, budget: Budget, depth: int) -> Source:
    method = None
    data = None
    for child in children(src, cmov, budget, depth=depth):
        if child.type == b"dcom":
            method = read_body(src, child, limit=16, at_least=4)[:4]
        elif child.type == b"cmvd":
            data = read_body(src, child, limit=_CMOV_LIMIT, at_least=4)
    if method != b"zlib" or data is None:
        raise Corrupt(f"compressed movie index with method {method!r}, not zlib")
    inflater = zlib.decompressobj()
    try:
        moov = inflater.decompress(data[4:], _CMOV_LIMIT)
    except zlib.error as exc:
        raise Corrupt(f"compressed movie index does not inflate: {exc}") from None
    if inflater.unconsumed_tail:
        raise Corrupt(f"compressed movie index inflates to more than {_CMOV_LIMIT} bytes")
    return Source(data=moov, size=len(moov))


def _audio_track(trak: _Trak, index: int) -> AudioTrack:
    tkhd = trak.tkhds[-1] if trak.tkhds else None
    ietf_lang = parse_language(trak.elng) if trak.elng else None
    roles = trak.roles
    return AudioTrack(
        index=index,
        track_id=trak.index,
        language=(ietf_lang.code if ietf_lang else None) or normalize(trak.mdhd_language),
        ietf=trak.elng if ietf_lang is not None and ietf_lang.region else None,
        title=trak.title,
        codec=trak.codec,
        channels=trak.channels,
        # ffmpeg ORs the flag of every tkhd it meets into the default disposition.
        default=any(t.enabled for t in trak.tkhds),
        forced=any(r.startswith("forced-subtitle") for r in roles),
        commentary=any(r.startswith("commentary") for r in roles),
        visual_impaired=any(r.startswith("description") for r in roles),
        hearing_impaired=any(r.startswith("caption") for r in roles),
        alternate_group=tkhd.alternate_group if tkhd is not None else None,
    )


def _walk(src: Source, st: os.stat_result) -> Mp4Probe | ProbeFailure:
    budget = Budget()
    moovs: list[Box] = []
    for box in iter_boxes(src, 0, src.size, budget, depth=0):
        if box.type == b"moov":
            moovs.append(box)
    if not moovs:
        return ProbeFailure(ReasonCode.CORRUPT, "no movie index (moov box): not a playable MP4")
    reasons: list[str] = []
    if len(moovs) > 1:
        reasons.append(f"the file has {len(moovs)} moov boxes")
    moov_src, moov = src, moovs[0]
    kids = list(children(src, moov, budget, depth=1))
    cmov = next((k for k in kids if k.type == b"cmov"), None)
    if cmov is not None:
        reasons.append("the movie index is compressed (cmov)")
        moov_src = _decompress_cmov(src, cmov, budget, depth=2)
        inner = next(iter_boxes(moov_src, 0, moov_src.size, budget, depth=1, parent="cmov"), None)
        if inner is None or inner.type != b"moov":
            raise Corrupt("the compressed movie index holds no moov box")
        kids = list(children(moov_src, inner, budget, depth=1))
    traks: list[_Trak] = []
    chapters = 0
    for child in kids:
        if child.type == b"trak":
            traks.append(_read_trak(moov_src, child, len(traks), budget, depth=2))
        elif child.type == b"udta":
            chapters = _nero_chapters(moov_src, child, budget, depth=2)
    if not traks:
        return ProbeFailure(ReasonCode.CORRUPT, "the file holds no readable streams (no trak)")
    for trak in traks:
        if len(trak.tkhds) > 1:
            # FFmpeg refuses such a file ("error reading header"), so a remux could not help.
            raise Corrupt(f"stream {trak.index} has {len(trak.tkhds)} tkhd boxes")
        if not trak.tkhds:
            reasons.append(f"stream {trak.index} has no tkhd box")
        elif trak.tkhd_problem:
            reasons.append(f"stream {trak.index} has {trak.tkhd_problem}")
    if budget.problems:
        reasons.append("box sizes inside moov don't add up: " + budget.problems[0])

    by_id = {t.track_id: t for t in traks if t.track_id is not None}
    chapter_ids = {ref for t in traks for ref in t.chapter_refs}
    chapter_traks = [
        by_id[i] for i in sorted(chapter_ids) if i in by_id and by_id[i].handler in (b"text", b"sbtl")
    ]
    if chapter_traks:
        # ffmpeg reads one chapter per sample of the chapter track, and the Nero list too, both
        # numbered from 0 into the same chapters (a fragmented file has an empty chapter track).
        chapters = max(chapters, chapter_traks[0].sample_count or 0)
    audio = [t for t in traks if t.handler == b"soun"]
    tracks = tuple(_audio_track(t, i) for i, t in enumerate(audio))
    info = ProbeInfo(
        container=Container.MP4,
        tracks=tracks,
        stream_count=len(traks),
        chapters=chapters,
        chapter_streams=tuple(t.index for t in chapter_traks),
        stream_titles=tuple((t.index, t.title) for t in traks if t.title),
    )
    if reasons:
        return Mp4Probe(info=info, fallback_reason="; ".join(reasons))
    layout = Mp4Layout(
        device=st.st_dev,
        inode=st.st_ino,
        size=st.st_size,
        mtime_ns=st.st_mtime_ns,
        audio=tuple(t.tkhds[0] for t in audio),
        other_groups=tuple(
            group for t in traks if t.handler != b"soun" if (group := t.tkhds[0].alternate_group) is not None
        ),
    )
    return Mp4Probe(info=info, fallback_reason=None, layout=layout)


def read_mp4(path: Path) -> Mp4Probe | ProbeFailure:
    """Read ``path``'s tracks and in-place layout. Blocking: call it with ``asyncio.to_thread``."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return ProbeFailure(ReasonCode.NOT_FOUND, "the file does not exist")
    except PermissionError:
        return ProbeFailure(ReasonCode.UNREADABLE, "the file is not readable (permission denied)")
    except OSError as exc:
        return ProbeFailure(ReasonCode.UNREADABLE, f"cannot open the file: {exc.strerror or exc}")
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return ProbeFailure(ReasonCode.UNREADABLE, "not a regular file")
        if st.st_size == 0:
            return ProbeFailure(ReasonCode.CORRUPT, "the file is empty (0 bytes)")
        src = Source(fd=fd, size=st.st_size)
        if src.read(0, min(4, st.st_size)) == _EBML_MAGIC:
            return ProbeFailure(ReasonCode.UNSUPPORTED, "file content is Matroska, not MP4")
        return _walk(src, st)
    except Corrupt as exc:
        return ProbeFailure(ReasonCode.CORRUPT, f"not a valid MP4: {exc}")
    except (struct.error, IndexError, ValueError) as exc:
        # A field shorter than its box promised that a bounds check above missed: still corrupt.
        return ProbeFailure(ReasonCode.CORRUPT, f"not a valid MP4: malformed box ({exc})")
    except OSError as exc:
        return ProbeFailure(ReasonCode.UNREADABLE, f"cannot read the file: {exc.strerror or exc}")
    finally:
        with contextlib.suppress(OSError):
            os.close(fd)
