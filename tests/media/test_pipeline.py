"""The pipeline on real files, checked by reading them back with mkvmerge -J / ffprobe."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from arrtheaudio_server.media.pipeline import Pipeline, container_of
from arrtheaudio_server.media.result import Container, LanguageSource, ReasonCode, ResultStatus
from arrtheaudio_server.metadata.hints import MediaHints
from tests.support.media_files import file_fingerprint, read_back

BOTH = pytest.mark.parametrize("ext", ["mkv", "mp4"])
Media = Callable[..., Path]


async def run(settings, path: Path, hints: MediaHints | None = None, **kw):
    pipeline = Pipeline(settings)
    try:
        return await pipeline.process(path, hints, **kw)
    finally:
        await pipeline.aclose()


def assert_intact_except_default(before, after) -> None:
    """Same streams in the same order with the same languages/titles; chapters kept."""
    assert after.kinds() == before.kinds()
    assert after.chapters == before.chapters
    for old, new in zip(before.streams, after.streams, strict=True):
        assert (new.language, new.ietf, new.title, new.channels) == (
            old.language,
            old.ietf,
            old.title,
            old.channels,
        )
        if new.kind != "audio":
            assert new.default == old.default


@BOTH
async def test_original_language_from_arr_becomes_the_only_default(
    media: Media, settings_factory, ext: str
) -> None:
    path = media(f"multi.{ext}")
    before = read_back(path)
    result = await run(
        settings_factory(language_priority=["eng"]), path, MediaHints(original_language="Japanese")
    )
    assert result.status is ResultStatus.SUCCESS and result.reason_code is ReasonCode.CHANGED, result.reason
    assert result.track_changed and result.selected is not None
    assert (result.selected.index, result.selected.language) == (1, "jpn")
    assert result.language == "jpn" and result.language_source is LanguageSource.ARR
    assert result.container is Container(ext)
    after = read_back(path)
    assert after.default_audio_indexes == [1]
    assert_intact_except_default(before, after)
    assert [s.kind for s in after.streams].count("subtitles") == 2 and after.chapters == 2


@BOTH
async def test_priority_list_is_used_when_the_original_is_absent(
    media: Media, settings_factory, ext: str
) -> None:
    path = media(f"multi.{ext}")
    result = await run(
        settings_factory(language_priority=["fre", "it", "eng"]), path, MediaHints(original_language="Korean")
    )
    assert result.status is ResultStatus.SUCCESS, result.reason
    assert result.language_source is LanguageSource.PRIORITY and result.language == "ita"
    assert read_back(path).default_audio_indexes == [2]


@BOTH
async def test_commentary_first_in_the_original_language_is_not_chosen(
    media: Media, settings_factory, ext: str
) -> None:
    path = media(f"commentary_first.{ext}")
    result = await run(settings_factory(language_priority=["jpn"]), path)
    assert result.selected is not None and result.selected.index == 1, result.reason
    assert read_back(path).default_audio_indexes == [1]


async def test_commentary_flag_without_title_is_avoided(media: Media, settings_factory) -> None:
    path = media("commentary_flag.mkv")
    result = await run(settings_factory(language_priority=["jpn"]), path)
    assert result.status is ResultStatus.SUCCESS and result.selected.index == 1  # type: ignore[union-attr]
    assert read_back(path).default_audio_indexes == [1]


async def test_audio_description_with_more_channels_loses(media: Media, settings_factory) -> None:
    path = media("described.mkv")
    result = await run(settings_factory(language_priority=["eng"]), path)
    assert result.selected.index == 1  # type: ignore[union-attr]
    assert read_back(path).default_audio_indexes == [1]


@BOTH
async def test_more_channels_win_among_equal_tracks(media: Media, settings_factory, ext: str) -> None:
    path = media(f"channels.{ext}")
    result = await run(settings_factory(language_priority=["en"]), path)
    assert result.selected.index == 1 and result.track_changed  # type: ignore[union-attr]
    after = read_back(path)
    assert after.default_audio_indexes == [1] and [s.title for s in after.audio] == ["Stereo", "Surround"]


async def test_pt_br_priority_prefers_the_brazilian_track_and_plain_pt_takes_any(
    media: Media, settings_factory
) -> None:
    path = media("ptbr.mkv")
    result = await run(settings_factory(language_priority=["pt-BR"]), path)
    assert result.selected.index == 1 and result.track_changed  # type: ignore[union-attr]
    after = read_back(path)
    assert after.default_audio_indexes == [1] and after.audio[1].ietf == "pt-BR"
    # A plain "por" wish is satisfied by either; the current default (now pt-BR) stays.
    again = await run(settings_factory(language_priority=["por"]), path)
    assert again.reason_code is ReasonCode.ALREADY_CORRECT


async def test_arr_portuguese_brazil_name_selects_the_ietf_track(media: Media, settings_factory) -> None:
    path = media("ptbr.mkv")
    result = await run(settings_factory(), path, MediaHints(original_language="Portuguese (Brazil)"))
    assert result.selected.index == 1 and result.language_source is LanguageSource.ARR  # type: ignore[union-attr]


@BOTH
async def test_und_track_is_never_a_match(media: Media, settings_factory, ext: str) -> None:
    path = media(f"und.{ext}")
    result = await run(settings_factory(language_priority=["eng", "jpn"]), path)
    assert result.tracks[0].language is None
    assert result.selected.index == 1  # type: ignore[union-attr]
    assert read_back(path).default_audio_indexes == [1]


@BOTH
async def test_no_preferred_language_leaves_the_file_alone(media: Media, settings_factory, ext: str) -> None:
    path = media(f"multi.{ext}")
    before = file_fingerprint(path)
    result = await run(settings_factory(language_priority=["kor", "fre"]), path)
    assert result.status is ResultStatus.SKIPPED and result.reason_code is ReasonCode.NO_PREFERRED_LANGUAGE
    assert "no preferred language" in result.reason and result.language_source is LanguageSource.NONE
    assert file_fingerprint(path) == before


@BOTH
async def test_already_correct_file_keeps_bytes_and_mtime(media: Media, settings_factory, ext: str) -> None:
    path = media(f"correct.{ext}")
    os.utime(path, ns=(1_600_000_000_000_000_000, 1_600_000_000_000_000_000))
    before = file_fingerprint(path)
    result = await run(settings_factory(language_priority=["eng"]), path)
    assert result.status is ResultStatus.SKIPPED and result.reason_code is ReasonCode.ALREADY_CORRECT
    assert not result.track_changed
    assert file_fingerprint(path) == before


@BOTH
async def test_dry_run_decides_and_changes_nothing(media: Media, settings_factory, ext: str) -> None:
    path = media(f"multi.{ext}")
    before = file_fingerprint(path)
    result = await run(settings_factory(language_priority=["jpn"]), path, dry_run=True)
    assert (
        result.status is ResultStatus.SKIPPED and result.reason_code is ReasonCode.DRY_RUN and result.dry_run
    )
    assert result.selected.index == 1 and not result.track_changed  # type: ignore[union-attr]
    assert file_fingerprint(path) == before
    # The setting is the default when the caller does not say.
    configured = await run(settings_factory(language_priority=["jpn"], execution={"dry_run": True}), path)
    assert configured.reason_code is ReasonCode.DRY_RUN and file_fingerprint(path) == before


@BOTH
async def test_single_track_becomes_default_and_two_defaults_become_one(
    media: Media, settings_factory, ext: str
) -> None:
    path = media(f"one.{ext}")
    result = await run(settings_factory(language_priority=["jpn"]), path)
    assert read_back(path).default_audio_indexes == [0]
    assert result.status is ResultStatus.SUCCESS or result.reason_code is ReasonCode.ALREADY_CORRECT


async def test_two_defaults_become_exactly_one(media: Media, settings_factory) -> None:
    path = media("two_defaults.mkv")
    assert read_back(path).default_audio_indexes == [0, 1]
    result = await run(settings_factory(language_priority=["jpn"]), path)
    assert result.reason_code is ReasonCode.CHANGED
    assert read_back(path).default_audio_indexes == [1]
    # eng first in the list: the default flag must move even though eng already had one.
    path2 = media("two_defaults.mkv", "again/two_defaults.mkv")
    result2 = await run(settings_factory(language_priority=["eng"]), path2)
    assert result2.reason_code is ReasonCode.CHANGED and read_back(path2).default_audio_indexes == [0]


@BOTH
async def test_no_audio_is_skipped(media: Media, settings_factory, ext: str) -> None:
    path = media(f"noaudio.{ext}")
    before = file_fingerprint(path)
    result = await run(settings_factory(), path)
    assert result.status is ResultStatus.SKIPPED and result.reason_code is ReasonCode.NO_AUDIO
    assert file_fingerprint(path) == before


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("empty.mkv", ReasonCode.CORRUPT),
        ("empty.mp4", ReasonCode.CORRUPT),
        ("truncated.mkv", ReasonCode.CORRUPT),
        ("truncated.mp4", ReasonCode.CORRUPT),
        ("garbage.mkv", ReasonCode.CORRUPT),
        ("garbage.mp4", ReasonCode.CORRUPT),
        ("misnamed.mkv", ReasonCode.UNSUPPORTED),
    ],
)
async def test_broken_files_fail_cleanly_and_stay_untouched(
    media: Media, settings_factory, name: str, code: ReasonCode
) -> None:
    path = media(name)
    before = file_fingerprint(path)
    result = await run(settings_factory(), path)
    assert result.status is ResultStatus.FAILED and result.reason_code is code and result.reason
    assert file_fingerprint(path) == before


async def test_missing_unsupported_disabled_and_outside_roots(
    media: Media, settings_factory, tmp_path: Path
) -> None:
    settings = settings_factory()
    missing = await run(settings, tmp_path / "nope.mkv")
    assert missing.status is ResultStatus.FAILED and missing.reason_code is ReasonCode.NOT_FOUND
    other = tmp_path / "notes.avi"
    other.write_bytes(b"x")
    unsupported = await run(settings, other)
    assert unsupported.status is ResultStatus.SKIPPED and unsupported.reason_code is ReasonCode.UNSUPPORTED
    folder = tmp_path / "folder.mkv"
    folder.mkdir()
    assert (await run(settings, folder)).reason_code is ReasonCode.UNSUPPORTED
    path = media("multi.mp4")
    disabled = await run(settings_factory(containers={"mp4": False}), path)
    assert disabled.status is ResultStatus.SKIPPED and disabled.reason_code is ReasonCode.CONTAINER_DISABLED
    elsewhere = await run(settings_factory(media_roots=[tmp_path / "library"]), path)
    assert elsewhere.status is ResultStatus.FAILED and elsewhere.reason_code is ReasonCode.OUTSIDE_MEDIA_ROOTS
    inside = await run(settings_factory(media_roots=[tmp_path], language_priority=["jpn"]), path)
    assert inside.status is ResultStatus.SUCCESS


async def test_mkv_tool_failure_is_reported(media: Media, settings_factory) -> None:
    path = media("multi.mkv")
    result = await run(
        settings_factory(language_priority=["jpn"], tools={"mkvpropedit": "/nonexistent/mkvpropedit"}), path
    )
    assert result.status is ResultStatus.FAILED and result.reason_code is ReasonCode.TOOL_FAILED
    assert read_back(path).default_audio_indexes == [0]


async def test_mkv_verify_can_be_switched_off(media: Media, settings_factory) -> None:
    path = media("multi.mkv")
    result = await run(
        settings_factory(language_priority=["ita"], execution={"verify_after_write": False}), path
    )
    assert result.reason_code is ReasonCode.CHANGED and read_back(path).default_audio_indexes == [2]


async def test_skip_if_correct_off_rewrites_flags(media: Media, settings_factory) -> None:
    path = media("correct.mkv")
    result = await run(
        settings_factory(language_priority=["eng"], execution={"skip_if_correct": False}), path
    )
    assert result.reason_code is ReasonCode.CHANGED and read_back(path).default_audio_indexes == [0]


def test_container_of() -> None:
    assert container_of(Path("/a/b.MKV")) is Container.MKV
    assert container_of("x.m4v") is Container.MP4
    assert container_of("x.avi") is None


async def test_one_structured_log_line_per_file(media: Media, settings_factory) -> None:
    from structlog.testing import capture_logs

    path = media("multi.mkv")
    with capture_logs() as logs:
        await run(settings_factory(language_priority=["jpn"]), path)
    lines = [entry for entry in logs if entry["event"] == "media.processed"]
    assert len(lines) == 1
    line = lines[0]
    assert line["path"] == str(path) and line["status"] == "success" and line["language_source"] == "priority"
    assert line["selected_index"] == 1 and isinstance(line["duration_ms"], int)
    json.dumps(line)  # every field is plain JSON: the production renderer needs nothing special


async def test_an_unexpected_error_is_an_internal_failure_not_an_exception(
    media: Media, settings_factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    import arrtheaudio_server.media.pipeline as pipeline_module

    def broken_read(*_args, **_kwargs):
        raise RuntimeError("bug in the probe")

    monkeypatch.setattr(pipeline_module, "read_file", broken_read)
    result = await run(settings_factory(), media("multi.mkv"))
    assert result.status is ResultStatus.FAILED and result.reason_code is ReasonCode.INTERNAL
    assert "bug in the probe" in result.reason and result.reason_code.retryable


def test_verify_names_every_difference() -> None:
    from arrtheaudio_server.media.pipeline import _verify
    from arrtheaudio_server.media.probe import ProbeFailure, ProbeInfo
    from arrtheaudio_server.media.result import AudioTrack

    tracks = (AudioTrack(0, 1, "eng", default=True), AudioTrack(1, 2, "jpn"))
    before = ProbeInfo(Container.MKV, tracks, stream_count=3, chapters=2)
    good = ProbeInfo(Container.MKV, (AudioTrack(0, 1, "eng"), AudioTrack(1, 2, "jpn", default=True)), 3, 2)
    assert _verify(before, good, 1) is None
    unreadable = _verify(before, ProbeFailure(ReasonCode.CORRUPT, "gone"), 1)
    assert unreadable is not None and unreadable.reason_code is ReasonCode.VERIFY_FAILED
    bad = _verify(
        before,
        ProbeInfo(Container.MKV, (AudioTrack(0, 1, "eng", default=True), AudioTrack(1, 2, "ita")), 4, 1),
        1,
    )
    assert bad is not None
    for words in ("default audio tracks are [0]", "streams/chapters changed", "languages, titles"):
        assert words in bad.reason
