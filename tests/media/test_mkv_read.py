"""The in-process Matroska reader against ``mkvmerge -J``, on every layout real muxers write,
and on hostile files: always a value (tracks or ``corrupt``), never an exception or a hang."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arrtheaudio_server.media.ebml import Limits
from arrtheaudio_server.media.mkv_read import codec_name, read_mkv
from arrtheaudio_server.media.probe_types import ProbeFailure, ProbeInfo
from arrtheaudio_server.media.result import ReasonCode
from tests.support.media_files import AudioSpec as A
from tests.support.media_files import SubtitleSpec
from tests.support.mkv_files import (
    LAYOUTS,
    Layout,
    has_crc32,
    hostile_mkvs,
    make_layout,
    mkvmerge_view,
    top_level_order,
)

from .conftest import LIBRARY

TRACKS = [
    A("eng", "English", default=True),
    A("pt-BR", "Brasil", commentary=True),
    A("jpn", channels=6, forced=True),
    A(None, "Unknown", visual_impaired=True),
]
FLAGS = {2: {"flag-hearing-impaired": "1", "flag-original": "1"}, 1: {"flag-default": "0"}}


def assert_agrees_with_mkvmerge(path: Path) -> ProbeInfo:
    info = read_mkv(path)
    assert isinstance(info, ProbeInfo), info
    truth = mkvmerge_view(path)
    assert truth.recognized and not truth.errors
    assert (info.stream_count, info.chapters) == (truth.stream_count, truth.chapters)
    got = [
        (
            t.track_id,
            t.language,
            t.ietf,
            t.title,
            t.codec,
            t.channels,
            t.default,
            t.forced,
            t.commentary,
            t.visual_impaired,
            t.hearing_impaired,
            t.original,
        )
        for t in info.tracks
    ]
    want = [
        (
            m.track_id,
            m.language,
            m.ietf,
            m.title,
            m.codec,
            m.channels,
            m.default,
            m.forced,
            m.commentary,
            m.visual_impaired,
            m.hearing_impaired,
            m.original,
        )
        for m in truth.audio
    ]
    assert got == want
    assert [t.index for t in info.tracks] == list(range(len(info.tracks)))
    return info


@pytest.fixture(scope="module")
def layouts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("mkv-layouts")
    return {
        layout: make_layout(
            root / f"{layout}.mkv",
            TRACKS,
            layout,
            flags=FLAGS,
            subtitles=[SubtitleSpec("eng", "Full")],
            chapters=3,
            video=True,
        )
        for layout in LAYOUTS
    }


@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_layout_agrees_with_mkvmerge(layouts: dict[str, Path], layout: Layout) -> None:
    info = assert_agrees_with_mkvmerge(layouts[layout])
    # The flags the generator set are really there (not both sides reading the same nothing).
    assert [t.language for t in info.tracks] == ["eng", "por", "jpn", None]
    assert info.tracks[1].ietf == "pt-BR" and info.tracks[1].commentary and not info.tracks[1].default
    assert info.tracks[2].hearing_impaired and info.tracks[2].original and info.tracks[2].forced
    assert info.tracks[3].visual_impaired and info.stream_count == 6 and info.chapters == 3


def test_the_layouts_are_what_they_claim(layouts: dict[str, Path]) -> None:
    assert has_crc32(layouts["ffmpeg"]) and has_crc32(layouts["tracks_last"])
    assert not has_crc32(layouts["no_crc"]) and not has_crc32(layouts["mkvmerge"])
    for name in ("tracks_last", "no_seekhead", "live"):
        order = top_level_order(layouts[name])
        assert order.index("Tracks") > order.index("Cluster"), (name, order)
    assert "Seek head" not in top_level_order(layouts["no_seekhead"])
    assert "Seek head" in top_level_order(layouts["tracks_last"])
    with open(layouts["live"], "rb") as handle:
        head = handle.read(4096)
    segment = head.index(b"\x18\x53\x80\x67") + 4
    assert head[segment] == 0x01 and head[segment + 1 : segment + 8] == b"\xff" * 7  # unknown size


@pytest.mark.parametrize("name", sorted(n for n in LIBRARY if n.endswith(".mkv")))
def test_every_library_mkv_agrees_with_mkvmerge(media_library: Path, name: str) -> None:
    info = assert_agrees_with_mkvmerge(media_library / name)
    assert [t.title for t in info.tracks] == [s.title for s in LIBRARY[name][1]]


@pytest.mark.parametrize(
    "encoder", ["ac3", "eac3", "flac", "libopus", "libvorbis", "libmp3lame", "mp2", "pcm_s16le", "alac"]
)
def test_codec_names_are_mkvmerges(tmp_path: Path, encoder: str) -> None:
    path = tmp_path / f"{encoder}.mkv"
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "sine=duration=0.3:sample_rate=48000",
            "-c:a",
            encoder,
            "-metadata:s:a:0",
            "language=fra",
            str(path),
        ],
        check=True,
    )
    info = assert_agrees_with_mkvmerge(path)
    assert info.tracks[0].codec == mkvmerge_view(path).audio[0].codec
    assert info.tracks[0].language == "fra"


def test_codec_name_fallbacks() -> None:
    assert codec_name("A_AAC/MPEG4/LC/SBR") == "AAC" and codec_name("A_PCM/INT/BIG") == "PCM"
    assert codec_name("A_QUICKTIME/QDM2") == "A_QUICKTIME/QDM2" and codec_name(None) is None


def test_an_edit_with_mkvpropedit_is_read_back(layouts: dict[str, Path], tmp_path: Path) -> None:
    path = tmp_path / "edit.mkv"
    shutil.copyfile(layouts["ffmpeg"], path)
    subprocess.run(
        [
            "mkvpropedit",
            "-q",
            str(path),
            "--edit",
            "track:a1",
            "--set",
            "flag-default=0",
            "--edit",
            "track:a3",
            "--set",
            "flag-default=1",
            "--set",
            "language=de-CH",
        ],
        check=True,
    )
    info = assert_agrees_with_mkvmerge(path)
    assert info.default_indexes == [2] and (info.tracks[2].language, info.tracks[2].ietf) == ("deu", "de-CH")


def test_absent_elements_take_the_spec_defaults(tmp_path: Path) -> None:
    # mkvpropedit --delete removes the elements: FlagDefault absent = 1, Language absent = eng.
    path = make_layout(tmp_path / "bare.mkv", [A("jpn", default=False), A("fra")], "mkvmerge")
    subprocess.run(
        [
            "mkvpropedit",
            "-q",
            str(path),
            "--edit",
            "track:a1",
            "--delete",
            "flag-default",
            "--delete",
            "language",
            "--delete",
            "language-ietf",
        ],
        check=True,
    )
    info = assert_agrees_with_mkvmerge(path)
    assert (info.tracks[0].language, info.tracks[0].default) == ("eng", True)


# --- hostile input ---------------------------------------------------------------------------


HOSTILE = hostile_mkvs()


def _hostile(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_files_are_corrupt_or_unsupported_values(tmp_path: Path, name: str) -> None:
    path = _hostile(tmp_path, name, HOSTILE[name])
    before = path.read_bytes()
    result = read_mkv(path)
    assert isinstance(result, ProbeFailure), result
    assert result.reason_code in (ReasonCode.CORRUPT, ReasonCode.UNSUPPORTED), result
    assert result.reason and path.read_bytes() == before


def test_hostile_reasons_say_what_is_wrong(tmp_path: Path) -> None:
    def reason(name: str) -> str:
        result = read_mkv(_hostile(tmp_path, name, HOSTILE[name]))
        assert isinstance(result, ProbeFailure)
        return result.reason

    assert "more than 200000 elements" in reason("void_flood.mkv")
    assert "overruns its parent" in reason("child_overruns_parent.mkv")
    assert "outside the segment" in reason("seekhead_outside.mkv")
    assert "no Tracks element" in reason("seekhead_loop.mkv")
    assert "not 0x1654AE6B" in reason("seekhead_points_elsewhere.mkv")
    assert "EBML of type 'avi'" in reason("webm_garbage_doctype.mkv")


def test_a_master_bigger_than_the_limit_is_refused(layouts: dict[str, Path]) -> None:
    result = read_mkv(layouts["mkvmerge"], Limits(max_master_bytes=64))
    assert isinstance(result, ProbeFailure) and "more than the 64" in result.reason


@pytest.fixture(scope="module")
def seed_files(layouts: dict[str, Path]) -> list[bytes]:
    return [layouts[name].read_bytes() for name in ("ffmpeg", "mkvmerge", "live", "no_seekhead")]


def test_every_truncation_of_a_real_file_is_a_value(tmp_path: Path, seed_files: list[bytes]) -> None:
    path = tmp_path / "cut.mkv"
    data = seed_files[1]
    header_end = data.index(b"\x1f\x43\xb6\x75")  # the first Cluster: every cut in the headers
    for cut in list(range(1, header_end + 64)) + list(range(header_end, len(data), 997)):
        path.write_bytes(data[:cut])
        result = read_mkv(path)
        assert isinstance(result, (ProbeInfo, ProbeFailure))
        if cut < len(data):
            assert isinstance(result, ProbeFailure) and result.reason_code is ReasonCode.CORRUPT, (
                cut,
                result,
            )


@st.composite
def mutations(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    data = bytearray(draw(st.sampled_from(seeds)))
    header_end = data.index(b"\x1f\x43\xb6\x75") + 64
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["flip", "ff", "zero", "splice", "cut", "dup"]))
        pos = draw(st.integers(0, max(0, (header_end if draw(st.booleans()) else len(data)) - 1)))
        if kind == "flip":
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif kind == "ff":
            data[pos : pos + 8] = b"\xff" * len(data[pos : pos + 8])
        elif kind == "zero":
            data[pos : pos + 4] = bytes(len(data[pos : pos + 4]))
        elif kind == "splice":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "cut":
            del data[pos : pos + draw(st.integers(1, 64))]
        else:
            data[pos:pos] = data[pos : pos + draw(st.integers(1, 200))]
        if not data:
            data = bytearray(b"\x1a")
    return bytes(data)


@pytest.mark.timeout(600)
def test_mutated_real_files_never_raise(tmp_path: Path, seed_files: list[bytes]) -> None:
    path = tmp_path / "fuzz.mkv"

    @settings(
        max_examples=int(os.environ.get("ATA_FUZZ_EXAMPLES", "400")),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(mutations(seed_files))
    def check(data: bytes) -> None:
        path.write_bytes(data)
        result = read_mkv(path)
        assert isinstance(result, (ProbeInfo, ProbeFailure))
        if isinstance(result, ProbeFailure):
            assert result.reason_code in (ReasonCode.CORRUPT, ReasonCode.UNSUPPORTED), result
        else:
            assert result.stream_count >= len(result.tracks)

    check()
