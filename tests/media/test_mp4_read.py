"""The in-process MP4 reader, cross-checked against ffprobe (and MediaInfo for titles) on
every MP4 the suite generates: stream count, chapters, and per audio track codec, channels,
language, default and the dispositions MP4 carries; plus the in-place / fallback decision."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from arrtheaudio_server.languages import normalize
from arrtheaudio_server.media.mp4 import remux_args
from arrtheaudio_server.media.mp4_read import Mp4Probe, read_mp4
from arrtheaudio_server.media.probe_types import ProbeFailure
from arrtheaudio_server.media.result import Container, ReasonCode
from tests.support.media_files import read_back
from tests.support.mp4_files import (
    CODECS,
    EDITABLE,
    FALLBACK,
    TWO_TKHD,
    Node,
    edit_moov,
    ffprobe_json,
    handler,
    traks,
)

Mp4 = Callable[[str], Path]
FFPROBE_CODECS = {
    "aac": "AAC",
    "ac3": "AC-3",
    "eac3": "E-AC-3",
    "opus": "Opus",
    "flac": "FLAC",
    "alac": "ALAC",
}
ALL_NAMES = [layout.name for layout in (*EDITABLE, *FALLBACK)] + sorted(CODECS)


def _probe(path: Path) -> Mp4Probe:
    result = read_mp4(path)
    assert isinstance(result, Mp4Probe), result
    return result


def assert_matches_ffprobe(path: Path, probe: Mp4Probe, *, titles: bool = True) -> None:
    """The reader says what ffprobe says about this file (titles: what MediaInfo says)."""
    data = ffprobe_json(path)
    streams = data["streams"]
    info = probe.info
    assert info.container is Container.MP4
    assert info.stream_count == len(streams)
    assert info.chapters == len(data.get("chapters", []))
    audio = [s for s in streams if s["codec_type"] == "audio"]
    assert len(info.tracks) == len(audio)
    media_titles = [s.title for s in read_back(path).audio]
    for track, stream, title in zip(info.tracks, audio, media_titles, strict=True):
        disposition = stream["disposition"]
        assert track.track_id == stream["index"]
        assert track.codec == FFPROBE_CODECS[stream["codec_name"]], (track, stream["codec_name"])
        assert track.channels == stream["channels"], track
        if track.ietf is None:
            assert track.language == normalize(stream.get("tags", {}).get("language")), track
        assert track.default == bool(disposition["default"]), track
        assert track.commentary == bool(disposition["comment"])
        assert track.hearing_impaired == bool(disposition["hearing_impaired"])
        assert track.visual_impaired == bool(disposition["visual_impaired"])
        assert track.forced == bool(disposition["forced"])
        if titles:
            assert track.title == title
    # The chapter text track is the stream a remux must not copy as data.
    data_streams = [s["index"] for s in streams if s["codec_type"] == "data"]
    assert list(info.chapter_streams) == data_streams


@pytest.mark.parametrize("name", ALL_NAMES)
def test_reader_agrees_with_ffprobe(mp4: Mp4, name: str) -> None:
    path = mp4(name)
    # MediaInfo skips the title of a trak without tkhd; the reader keeps it (a remux restores it).
    assert_matches_ffprobe(path, _probe(path), titles=name != "no_tkhd.mp4")


@pytest.mark.parametrize("layout", EDITABLE, ids=lambda layout: layout.name)
def test_ffmpeg_layouts_are_editable_in_place(mp4: Mp4, layout) -> None:
    probe = _probe(mp4(layout.name))
    assert probe.fallback_reason is None
    assert probe.layout is not None and len(probe.layout.audio) == len(layout.tracks)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("cmov.mp4", "compressed (cmov)"),
        ("two_moov.mp4", "2 moov boxes"),
        ("no_tkhd.mp4", "stream 2 has no tkhd box"),
    ],
)
def test_layouts_that_need_the_remux_fallback_say_why(mp4: Mp4, name: str, reason: str) -> None:
    probe = _probe(mp4(name))
    assert probe.fallback_reason is not None and reason in probe.fallback_reason
    assert probe.layout is None


def test_the_remux_fallback_works_from_the_readers_info(mp4: Mp4, tmp_path: Path) -> None:
    """media/mp4.py's remux, driven by this reader's ProbeInfo, keeps titles and chapters."""
    for name in ("cmov.mp4", "moov_last.mp4"):
        src = mp4(name)
        probe = _probe(src)
        out = tmp_path / f"out-{name}"
        subprocess.run(remux_args(src, out, probe.info, 1), check=True, capture_output=True)
        after = _probe(out)
        assert after.info.default_indexes == [1]
        assert after.info.stream_titles == probe.info.stream_titles
        assert (after.info.stream_count, after.info.chapters) == (
            probe.info.stream_count,
            probe.info.chapters,
        )
        assert_matches_ffprobe(out, after)


def test_fields_of_the_tagged_file(mp4: Mp4) -> None:
    tracks = _probe(mp4("tagged.mp4")).info.tracks
    assert (tracks[0].language, tracks[0].ietf) == ("por", "pt-BR")  # elng wins over mdhd "eng"
    assert tracks[1].commentary and not tracks[1].forced
    assert (
        tracks[2].forced and tracks[2].hearing_impaired and not tracks[2].commentary
    )  # other scheme ignored
    assert not any(t.original for t in tracks)  # MP4 has no carrier for it


def test_alternate_groups_and_titles(mp4: Mp4) -> None:
    info = _probe(mp4("groups.mp4")).info
    assert [t.alternate_group for t in info.tracks] == [1, 2, 2]
    assert [t.default for t in info.tracks] == [True, True, False]
    moov_last = _probe(mp4("moov_last.mp4")).info
    assert moov_last.stream_titles == ((1, "English"), (2, "Japanese"), (4, "Full"))
    assert [t.title for t in moov_last.tracks] == ["English", "Japanese", None]


def test_tkhd_version_1_offsets(mp4: Mp4) -> None:
    probe = _probe(mp4("tkhd_v1.mp4"))
    assert probe.layout is not None
    assert {t.version for t in probe.layout.audio} == {1}
    for tkhd in probe.layout.audio:
        assert len(tkhd.raw) == 8 + 96
        assert tkhd.group_offset - tkhd.offset == 8 + 46


def _mdhd_language(path: Path, code: int) -> Path:
    def edit(moov: Node) -> None:
        trak = next(t for t in traks(moov) if handler(t) == b"soun")
        mdhd = trak.find(b"mdia").find(b"mdhd")  # type: ignore[union-attr]
        body = bytearray(mdhd.body)  # type: ignore[union-attr]
        struct.pack_into(">H", body, 4 + 16, code)
        mdhd.body = bytes(body)  # type: ignore[union-attr]

    return edit_moov(path, edit)


@pytest.mark.parametrize(("code", "expected"), [(11, "jpn"), (2, "deu"), (0x7FFF, None), (0x55C4, None)])
def test_mdhd_language_codes_as_ffmpeg_reads_them(mp4: Mp4, code: int, expected: str | None) -> None:
    """Macintosh language numbers and the 'und'/unset values, checked against ffprobe too."""
    path = _mdhd_language(mp4("moov_last.mp4"), code)
    probe = _probe(path)
    assert probe.info.tracks[0].language == expected
    assert_matches_ffprobe(path, probe)


def test_library_files_of_the_media_suite(media_library: Path, tmp_path: Path) -> None:
    """The shared media library's MP4s read as ffprobe reads them; its broken ones are corrupt."""
    for path in sorted(media_library.glob("*.mp4")):
        result = read_mp4(path)
        if path.name in {"empty.mp4", "garbage.mp4", "truncated.mp4"}:
            assert isinstance(result, ProbeFailure) and result.reason_code is ReasonCode.CORRUPT, path
            continue
        assert isinstance(result, Mp4Probe), (path, result)
        assert result.fallback_reason is None
        assert_matches_ffprobe(path, result)
    misnamed = read_mp4(media_library / "misnamed.mkv")  # an MP4 by content
    assert isinstance(misnamed, Mp4Probe)
    mkv = read_mp4(media_library / "multi.mkv")
    assert isinstance(mkv, ProbeFailure) and mkv.reason_code is ReasonCode.UNSUPPORTED


def test_two_tkhd_boxes_are_corrupt_as_for_ffprobe(mp4: Mp4) -> None:
    path = mp4(TWO_TKHD.name)
    probe = subprocess.run(["ffprobe", "-v", "error", str(path)], capture_output=True, check=False)
    assert probe.returncode != 0
    result = read_mp4(path)
    assert isinstance(result, ProbeFailure) and result.reason_code is ReasonCode.CORRUPT
    assert "2 tkhd boxes" in result.reason


def test_missing_unreadable_and_odd_paths(tmp_path: Path, mp4: Mp4) -> None:
    missing = read_mp4(tmp_path / "nope.mp4")
    assert isinstance(missing, ProbeFailure) and missing.reason_code is ReasonCode.NOT_FOUND
    directory = read_mp4(tmp_path)
    assert isinstance(directory, ProbeFailure) and directory.reason_code is ReasonCode.UNREADABLE
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    result = read_mp4(empty)
    assert isinstance(result, ProbeFailure) and result.reason_code is ReasonCode.CORRUPT
    if os.geteuid() != 0:  # pragma: no cover - CI runs as root, where modes do not stop reads
        locked = mp4("moov_last.mp4")
        locked.chmod(0)
        result = read_mp4(locked)
        assert isinstance(result, ProbeFailure) and result.reason_code is ReasonCode.UNREADABLE


def test_reading_changes_nothing(mp4: Mp4) -> None:
    path = mp4("faststart.mp4")
    os.utime(path, ns=(1_600_000_000_000_000_000, 1_600_000_000_000_000_000))
    before = (path.read_bytes(), os.stat(path).st_mtime_ns)
    _probe(path)
    assert (path.read_bytes(), os.stat(path).st_mtime_ns) == before


def test_layout_records_the_file_identity(mp4: Mp4, tmp_path: Path) -> None:
    path = mp4("moov_last.mp4")
    probe = _probe(path)
    st = os.stat(path)
    assert probe.layout is not None
    assert (probe.layout.inode, probe.layout.size, probe.layout.mtime_ns) == (
        st.st_ino,
        st.st_size,
        st.st_mtime_ns,
    )
    shutil.copyfile(path, tmp_path / "copy.mp4")
    other = _probe(tmp_path / "copy.mp4")
    assert other.layout is not None and other.layout.inode != probe.layout.inode


# --- sample entries the generated files do not cover (hand-built; layouts from ISO 14496-12/-14,
# ETSI TS 102 366, the Opus/FLAC/ALAC mappings and Apple's QuickTime sound description v1/v2) ---


def _box(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(body), kind) + body


def _entry(*children: bytes, version: int = 0, channels: int = 2, extra: bytes = b"") -> bytes:
    head = (
        bytes(6)
        + struct.pack(">H", 1)
        + struct.pack(">HH4sHHHHI", version, 0, b"\0\0\0\0", channels, 16, 0, 0, 0)
    )
    return head + extra + b"".join(children)


def _bits(*fields: tuple[int, int]) -> bytes:
    value, count = 0, 0
    for width, field_value in fields:
        value, count = (value << width) | field_value, count + width
    count_bytes = (count + 7) // 8
    return (value << (count_bytes * 8 - count)).to_bytes(count_bytes, "big")


def _esds(oti: int, asc: bytes = b"", es_flags: int = 0, es_extra: bytes = b"") -> bytes:
    dsi = bytes([0x05, len(asc)]) + asc if asc else b""
    dcd = bytes([0x04, 13 + len(dsi), oti, 0x15]) + bytes(11) + dsi
    es = bytes([0x03, 3 + len(es_extra) + len(dcd)]) + b"\x00\x01" + bytes([es_flags]) + es_extra + dcd
    return _box(b"esds", b"\0\0\0\0" + es)


@pytest.mark.parametrize(
    ("kind", "body", "expected"),
    [
        # AAC LC, channel configuration 6 (5.1); ES_Descriptor with dependsOn, URL and OCR fields.
        (
            b"mp4a",
            _entry(_esds(0x40, _bits((5, 2), (4, 3), (4, 6)), 0xE0, b"\0\x01" + b"\x02ab" + b"\0\x02")),
            ("AAC", 6),
        ),
        # escaped object type (31 -> 32 + 10), explicit 24-bit sampling rate, 2 channels
        (b"mp4a", _entry(_esds(0x40, _bits((5, 31), (6, 10), (4, 15), (24, 44100), (4, 2)))), ("AAC", 2)),
        # HE-AAC v2 (object type 29): mono core, parametric stereo -> 2 channels
        (b"mp4a", _entry(_esds(0x40, _bits((5, 29), (4, 3), (4, 1))), channels=1), ("AAC", 2)),
        # channel configuration 7 -> 8 channels (7.1)
        (b"mp4a", _entry(_esds(0x40, _bits((5, 2), (4, 3), (4, 7)))), ("AAC", 8)),
        # MP3 in mp4a: the name from the object type, channels from the entry
        (b"mp4a", _entry(_esds(0x6B), channels=1), ("MP3", 1)),
        # QuickTime v1 entry: the esds inside a 'wave' box
        (
            b"mp4a",
            _entry(_box(b"wave", _esds(0x40, _bits((5, 2), (4, 3), (4, 6)))), version=1, extra=bytes(16)),
            ("AAC", 6),
        ),
        # QuickTime v2 entry: channels in numAudioChannels
        (
            b"lpcm",
            _entry(version=2, channels=3, extra=struct.pack(">IdI", 72, 48000.0, 8) + bytes(20)),
            ("PCM", 8),
        ),
        # AC-3: acmod 7 (3/2) + LFE; E-AC-3: acmod 2 (stereo), no LFE
        (
            b"ac-3",
            _entry(_box(b"dac3", _bits((2, 0), (5, 8), (3, 0), (3, 7), (1, 1), (5, 0), (5, 0)))),
            ("AC-3", 6),
        ),
        (
            b"ec-3",
            _entry(
                _box(
                    b"dec3",
                    _bits(
                        (13, 0),
                        (3, 0),
                        (2, 0),
                        (5, 16),
                        (1, 0),
                        (1, 0),
                        (3, 0),
                        (3, 2),
                        (1, 0),
                        (3, 0),
                        (4, 0),
                        (1, 0),
                    ),
                )
            ),
            ("E-AC-3", 2),
        ),
        (b"Opus", _entry(_box(b"dOps", bytes([0, 6]) + bytes(9))), ("Opus", 6)),
        (
            b"fLaC",
            _entry(
                _box(
                    b"dfLa", b"\0\0\0\0" + b"\x80\x00\x00\x22" + bytes(12) + bytes([0b0000_1010]) + bytes(21)
                ),
                channels=2,
            ),
            ("FLAC", 6),
        ),
        (b"alac", _entry(_box(b"alac", b"\0\0\0\0" + bytes(9) + bytes([4]) + bytes(14))), ("ALAC", 4)),
        # broken configurations fall back to the entry's own fields
        (b"mp4a", _entry(_box(b"esds", b"\0\0\0\0\x07\x01"), channels=1), ("AAC", 1)),
        (b"mp4a", _entry(_esds(0x40, b"\x10"), channels=1), ("AAC", 1)),
        (b"mp4a", _entry(_box(b"esds", b"\0\0\0\0\x03\x05\x00\x01\x00\x09\x01"), channels=2), ("AAC", 2)),
        # absurd or missing channel counts are no count; unknown codecs keep their fourcc
        (b"XYZ ", _entry(channels=200), ("XYZ", None)),
        (b"mp4a", _entry(channels=0), ("AAC", None)),
        (b"mp4a", b"short", ("AAC", None)),
    ],
)
def test_sample_entries(kind: bytes, body: bytes, expected: tuple[str, int | None]) -> None:
    from arrtheaudio_server.media.mp4_codecs import sample_entry

    assert sample_entry(kind, body) == expected


def test_other_suites_mp4_files(tmp_path: Path) -> None:
    """The reliability suite's templates (audio only, as its crash tests use them) and the
    library the Arr fakes serve read as ffprobe reads them."""
    from tests.reliability.harness import build_templates
    from tests.support.media_files import AudioSpec, make_mp4

    made = [p for p in build_templates(tmp_path / "templates") if p.suffix == ".mp4"]
    made.append(
        make_mp4(tmp_path / "arr.mp4", [AudioSpec("eng", default=True), AudioSpec("ita")], video=False)
    )
    assert made
    for path in made:
        probe = _probe(path)
        assert probe.fallback_reason is None
        assert_matches_ffprobe(path, probe)
