"""``execution.hardlinks`` on real hard-linked MKVs, and how the result reports the write.

edit: the shared inode is changed (every name sees it); skip: nothing happens, reason
``hardlinked``; copy: this name gets a new inode with the change, the other names keep
the old bytes (what a torrent client seeding them needs).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from arrtheaudio_server.config import Settings
from arrtheaudio_server.media.pipeline import Pipeline
from arrtheaudio_server.media.result import ReasonCode, ResultStatus, WriteMethod
from arrtheaudio_server.media.tempfiles import is_temp_file, temp_path_for
from tests.support.media_files import AudioSpec as A
from tests.support.media_files import file_fingerprint, read_back
from tests.support.mkv_files import LAYOUTS, Layout, crc32_valid, has_crc32, make_layout, mkvmerge_view

Media = Callable[..., Path]


async def run(settings: Settings, path: Path, **kw: object):
    pipeline = Pipeline(settings, **kw)  # type: ignore[arg-type]
    try:
        return await pipeline.process(path)
    finally:
        await pipeline.aclose()


def linked(media: Media, tmp_path: Path, name: str = "multi.mkv") -> tuple[Path, Path]:
    path = media(name)
    seed = tmp_path / "downloads" / name
    seed.parent.mkdir()
    os.link(path, seed)
    return path, seed


async def test_edit_keeps_the_inode_and_every_name_sees_the_change(
    media: Media, settings_factory: Callable[..., Settings], tmp_path: Path
) -> None:
    path, seed = linked(media, tmp_path)
    inode = path.stat().st_ino
    result = await run(settings_factory(language_priority=["jpn"]), path)
    assert result.reason_code is ReasonCode.CHANGED, result.reason
    assert result.write_method is WriteMethod.MKVPROPEDIT
    assert result.write_note == "hard links kept: all 2 names see the change"
    assert path.stat().st_ino == inode == seed.stat().st_ino and path.stat().st_nlink == 2
    assert read_back(seed).default_audio_indexes == [1]


async def test_skip_leaves_a_hard_linked_file_alone(
    media: Media, settings_factory: Callable[..., Settings], tmp_path: Path
) -> None:
    path, _seed = linked(media, tmp_path)
    before = file_fingerprint(path)
    result = await run(settings_factory(language_priority=["jpn"], execution={"hardlinks": "skip"}), path)
    assert result.status is ResultStatus.SKIPPED and result.reason_code is ReasonCode.HARDLINKED
    assert "2 hard links" in result.reason and result.write_method is WriteMethod.NONE
    assert file_fingerprint(path) == before


async def test_copy_breaks_the_link_and_the_other_name_keeps_the_old_bytes(
    media: Media, settings_factory: Callable[..., Settings], tmp_path: Path
) -> None:
    path, seed = linked(media, tmp_path)
    path.chmod(0o640)
    os.utime(path, ns=(1_600_000_000_000_000_000, 1_600_000_000_000_000_000))
    seed_before = file_fingerprint(seed)
    old = path.stat()
    result = await run(settings_factory(language_priority=["jpn"], execution={"hardlinks": "copy"}), path)
    assert result.reason_code is ReasonCode.CHANGED, result.reason
    assert result.write_method is WriteMethod.MKVPROPEDIT
    assert (
        result.write_note == "hard link broken: this name got a new file, the other name keeps the old bytes"
    )
    new = path.stat()
    assert new.st_ino != old.st_ino and new.st_nlink == 1 and seed.stat().st_nlink == 1
    assert (stat.S_IMODE(new.st_mode), new.st_mtime_ns, new.st_uid) == (0o640, old.st_mtime_ns, old.st_uid)
    assert read_back(path).default_audio_indexes == [1]
    assert file_fingerprint(seed) == seed_before  # the seeded bytes are untouched
    assert [p.name for p in path.parent.iterdir() if is_temp_file(p.name)] == []


async def test_copy_needs_room_for_one_copy(
    media: Media, settings_factory: Callable[..., Settings], tmp_path: Path
) -> None:
    path, _seed = linked(media, tmp_path)
    before = file_fingerprint(path)
    size = path.stat().st_size
    settings = settings_factory(language_priority=["jpn"], execution={"hardlinks": "copy"})
    short = await run(settings, path, free_space=lambda _d: size - 1)
    assert short.status is ResultStatus.FAILED and short.reason_code is ReasonCode.INSUFFICIENT_SPACE
    assert "hardlinks: copy" in short.reason and file_fingerprint(path) == before
    assert not temp_path_for(path).exists()
    enough = await run(settings, path, free_space=lambda _d: size)
    assert enough.reason_code is ReasonCode.CHANGED


async def test_copy_of_a_failed_edit_keeps_the_original(
    media: Media, settings_factory: Callable[..., Settings], tmp_path: Path
) -> None:
    path, seed = linked(media, tmp_path)
    before = file_fingerprint(path)
    broken = tmp_path / "broken-mkvpropedit"
    broken.write_text("#!/bin/sh\necho broken >&2\nexit 2\n")
    broken.chmod(0o755)
    settings = settings_factory(
        language_priority=["jpn"], execution={"hardlinks": "copy"}, tools={"mkvpropedit": str(broken)}
    )
    result = await run(settings, path)
    assert result.status is ResultStatus.FAILED and result.reason_code is ReasonCode.TOOL_FAILED
    assert result.write_method is WriteMethod.NONE
    assert file_fingerprint(path) == before and path.stat().st_ino == seed.stat().st_ino
    assert not temp_path_for(path).exists()


async def test_a_dry_run_says_how_it_would_write(
    media: Media, settings_factory: Callable[..., Settings], tmp_path: Path
) -> None:
    path, _seed = linked(media, tmp_path)
    before = file_fingerprint(path)
    result = await run(settings_factory(language_priority=["jpn"], execution={"dry_run": True}), path)
    assert result.reason_code is ReasonCode.DRY_RUN and result.write_method is WriteMethod.MKVPROPEDIT
    assert "(mkvpropedit; hard links kept: all 2 names see the change)" in result.reason
    assert file_fingerprint(path) == before


def test_the_old_setting_is_named_with_its_replacement(tmp_path: Path) -> None:
    from arrtheaudio_server.config import ConfigError, load_settings

    config = tmp_path / "config.yaml"
    config.write_text("execution:\n  allow_hardlinked_mp4: true\n")
    with pytest.raises(
        ConfigError, match=r"allow_hardlinked_mp4 is no longer a setting: use execution.hardlinks"
    ):
        load_settings(config, create_if_missing=False)
    config.write_text("execution:\n  hardlinks: maybe\n")
    with pytest.raises(ConfigError, match=r"execution.hardlinks: Input should be 'edit', 'skip' or 'copy'"):
        load_settings(config, create_if_missing=False)
    config.write_text("tools:\n  mkvmerge: /usr/bin/mkvmerge\n")
    with pytest.raises(ConfigError, match=r"tools.mkvmerge"):
        load_settings(config, create_if_missing=False)


@pytest.mark.parametrize("policy", ["edit", "copy"])
async def test_a_hard_linked_mp4_is_edited_in_place_or_copied(
    media: Media, settings_factory: Callable[..., Settings], tmp_path: Path, policy: str
) -> None:
    path, seed = linked(media, tmp_path, "multi.mp4")
    seed_before = file_fingerprint(seed)
    inode = path.stat().st_ino
    result = await run(settings_factory(language_priority=["jpn"], execution={"hardlinks": policy}), path)
    assert result.reason_code is ReasonCode.CHANGED and result.write_method is WriteMethod.IN_PLACE, result
    assert read_back(path).default_audio_indexes == [1]
    if policy == "edit":  # the Arr library's usual case: fixed, and the link kept
        assert path.stat().st_ino == inode and read_back(seed).default_audio_indexes == [1]
    else:
        assert path.stat().st_ino != inode and file_fingerprint(seed) == seed_before
        assert "hard link broken" in (result.write_note or "")


# --- every MKV layout through the pipeline ---------------------------------------------------

FOUR = [
    A("eng", "English", default=True),
    A("jpn", "Japanese"),
    A("pt-BR", "Brasil"),
    A("fra", commentary=True),
]


@pytest.mark.parametrize("layout", LAYOUTS)
async def test_every_layout_is_changed_with_one_edit_and_verified_in_process(
    settings_factory: Callable[..., Settings], tmp_path: Path, layout: Layout
) -> None:
    path = make_layout(
        tmp_path / f"{layout}.mkv", FOUR, layout, flags={1: {"flag-original": "1"}}, chapters=2
    )
    crc = has_crc32(path) if layout != "live" else False
    result = await run(settings_factory(language_priority=["pt-BR"]), path)
    if layout == "live":
        # mkvpropedit refuses Clusters of unknown size: said up front, no doomed tool run or retry.
        assert result.status is ResultStatus.SKIPPED and result.reason_code is ReasonCode.UNSUPPORTED
        assert "unknown size" in result.reason and mkvmerge_view(path).audio[0].default
        return
    assert result.reason_code is ReasonCode.CHANGED, result.reason
    view = mkvmerge_view(path)
    assert [t.default for t in view.audio] == [False, False, True, False] and not view.errors
    assert view.chapters == 2 and [t.original for t in view.audio] == [False, True, False, False]
    if crc:
        assert crc32_valid(path)  # mkvpropedit kept the header's checksum right
    again = await run(settings_factory(language_priority=["pt-BR"]), path)
    assert again.reason_code is ReasonCode.ALREADY_CORRECT


async def test_copy_that_cannot_be_made_keeps_the_original(
    media: Media, settings_factory: Callable[..., Settings], tmp_path: Path
) -> None:
    path, _seed = linked(media, tmp_path)
    before = file_fingerprint(path)
    temp_path_for(path).mkdir()  # something that is not a file sits where the copy must go
    result = await run(settings_factory(language_priority=["jpn"], execution={"hardlinks": "copy"}), path)
    assert result.status is ResultStatus.FAILED and result.reason_code is ReasonCode.TOOL_FAILED
    assert "cannot copy the hard-linked file" in result.reason and file_fingerprint(path) == before


async def test_copy_is_not_put_in_place_when_the_original_changed_meanwhile(
    media: Media, settings_factory: Callable[..., Settings], tmp_path: Path
) -> None:
    path, _seed = linked(media, tmp_path)
    # An mkvpropedit that edits the copy, while "Sonarr" rewrites the original meanwhile.
    tool = tmp_path / "mkvpropedit-and-touch"
    tool.write_text(f'#!/bin/sh\ntouch -d "2001-01-01" "{path}"\nexec mkvpropedit "$@"\n')
    tool.chmod(0o755)
    settings = settings_factory(
        language_priority=["jpn"], execution={"hardlinks": "copy"}, tools={"mkvpropedit": str(tool)}
    )
    inode = path.stat().st_ino
    result = await run(settings, path)
    assert result.status is ResultStatus.FAILED and "changed while its copy was being edited" in result.reason
    assert path.stat().st_ino == inode and read_back(path).default_audio_indexes == [0]
    assert not temp_path_for(path).exists()
