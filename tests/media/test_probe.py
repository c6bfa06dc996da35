"""The probe against independent readers (mkvmerge -J for MKV, ffprobe + MediaInfo for MP4).

The MKV reader's own tests (every layout, hostile files) are in test_mkv_read.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from arrtheaudio_server.languages import normalize
from arrtheaudio_server.media.probe import ProbeFailure, ProbeInfo, probe
from arrtheaudio_server.media.result import Container, ReasonCode
from tests.support.media_files import read_back

from .conftest import LIBRARY

GOOD = sorted(LIBRARY)


@pytest.mark.parametrize("name", GOOD)
async def test_probe_agrees_with_mkvmerge_and_ffprobe(media_library: Path, name: str) -> None:
    path = media_library / name
    container = Container.MKV if name.endswith(".mkv") else Container.MP4
    info = await probe(path, container)
    assert isinstance(info, ProbeInfo), info
    truth = read_back(path)
    assert len(info.tracks) == len(truth.audio)
    assert info.stream_count == len(truth.streams)
    assert info.chapters == truth.chapters
    for track, expected in zip(info.tracks, truth.audio, strict=True):
        assert track.language == normalize(expected.ietf or expected.language)
        assert track.title == expected.title
        assert track.channels == expected.channels
        assert track.default == expected.default
        if container is Container.MKV:  # MediaInfo does not read MP4 "kind" boxes (see probe.py)
            assert track.commentary == expected.commentary
            assert track.visual_impaired == expected.visual_impaired
    # The spec generated for the file, too (catches a reader and probe sharing one mistake).
    specs = LIBRARY[name][1]
    assert [t.title for t in info.tracks] == [s.title for s in specs]


async def test_ietf_tag_and_flags_are_read_from_matroska(media_library: Path) -> None:
    info = await probe(media_library / "ptbr.mkv", Container.MKV)
    assert isinstance(info, ProbeInfo)
    assert [(t.language, t.ietf) for t in info.tracks] == [("por", None), ("por", "pt-BR"), ("eng", None)]
    flagged = await probe(media_library / "commentary_flag.mkv", Container.MKV)
    assert (
        isinstance(flagged, ProbeInfo) and flagged.tracks[0].commentary and not flagged.tracks[1].commentary
    )


async def test_mp4_chapter_text_track_and_titles_are_reported_for_the_remux(media_library: Path) -> None:
    info = await probe(media_library / "multi.mp4", Container.MP4)
    assert isinstance(info, ProbeInfo)
    ffprobe_view = read_back(media_library / "multi.mp4")
    data_streams = [i for i, s in enumerate(ffprobe_view.streams) if s.kind == "data"]
    assert list(info.chapter_streams) == data_streams
    titles = dict(info.stream_titles)
    assert titles[1] == "English" and titles[2] == "Japanese" and "Full" in titles.values()


@pytest.mark.parametrize(
    ("name", "container", "code", "words"),
    [
        ("empty.mkv", Container.MKV, ReasonCode.CORRUPT, "empty"),
        ("empty.mp4", Container.MP4, ReasonCode.CORRUPT, "empty"),
        ("garbage.mkv", Container.MKV, ReasonCode.CORRUPT, "not a recognizable"),
        ("garbage.mp4", Container.MP4, ReasonCode.CORRUPT, "not a valid MP4"),
        ("truncated.mkv", Container.MKV, ReasonCode.CORRUPT, "truncated"),
        ("truncated.mp4", Container.MP4, ReasonCode.CORRUPT, "truncated"),
        ("misnamed.mkv", Container.MKV, ReasonCode.UNSUPPORTED, "MPEG-4"),
        ("missing.mkv", Container.MKV, ReasonCode.NOT_FOUND, "does not exist"),
    ],
)
async def test_bad_files_are_values_not_exceptions(
    media_library: Path, name: str, container: Container, code: ReasonCode, words: str
) -> None:
    result = await probe(media_library / name, container)
    assert isinstance(result, ProbeFailure)
    assert result.reason_code is code and words in result.reason


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
async def test_unreadable_file(
    media: object, tmp_path: Path
) -> None:  # pragma: no cover - not root in CI images
    path = media("one.mkv")  # type: ignore[operator]
    path.chmod(0)
    result = await probe(path, Container.MKV)
    assert isinstance(result, ProbeFailure) and result.reason_code is ReasonCode.UNREADABLE
