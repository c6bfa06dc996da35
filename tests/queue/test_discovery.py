"""Batch discovery on real directory trees: filters, symlinks, loops, temp files."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from arrtheaudio_server.config import ContainerSettings
from arrtheaudio_server.media.result import Container
from arrtheaudio_server.queue.discovery import (
    TEMP_MARKER,
    DiscoveredFile,
    discover,
    extensions_for,
    validate_patterns,
)
from arrtheaudio_server.queue.domain import InvalidRequest

ALL = extensions_for([Container.MKV, Container.MP4])
MIB = 1024 * 1024


def touch(path: Path, size: int = 10, mtime: float | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        handle.truncate(size)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def scan(root: Path, *, roots: list[Path] | None = None, **overrides: Any) -> list[DiscoveredFile]:
    kwargs: dict[str, Any] = {
        "roots": roots if roots is not None else [root],
        "recursive": True,
        "pattern": None,
        "exclude_patterns": (),
        "min_size_mb": None,
        "max_age_days": None,
        "extensions": ALL,
    }
    kwargs.update(overrides)
    return discover(root, **kwargs)


def rels(found: list[DiscoveredFile], base: Path) -> list[str]:
    real = os.path.realpath(base)
    return [os.path.relpath(item.path, real) for item in found]


@pytest.fixture
def library(tmp_path: Path) -> Path:
    root = tmp_path / "media"
    touch(root / "Show" / "Season 1" / "S01E01.mkv", 100)
    touch(root / "Show" / "Season 1" / "S01E02.MKV", 200)
    touch(root / "Show" / "Extras" / "Behind.mkv")
    touch(root / "Movie (2020)" / "Movie.mp4", 300)
    touch(root / "Movie (2020)" / "Movie.sample.mp4")
    touch(root / "Movie (2020)" / "Trailer.M4V")
    touch(root / "Movie (2020)" / "Movie.srt")
    touch(root / "Movie (2020)" / "poster.jpg")
    touch(root / "top.mkv")
    return root


def test_finds_media_by_case_insensitive_extension_with_container_and_size(library: Path) -> None:
    found = scan(library)
    assert rels(found, library) == [
        "Movie (2020)/Movie.mp4",
        "Movie (2020)/Movie.sample.mp4",
        "Movie (2020)/Trailer.M4V",
        "Show/Extras/Behind.mkv",
        "Show/Season 1/S01E01.mkv",
        "Show/Season 1/S01E02.MKV",
        "top.mkv",
    ]
    by_name = {Path(item.path).name: item for item in found}
    assert by_name["Trailer.M4V"].container is Container.MP4
    assert by_name["S01E02.MKV"].container is Container.MKV
    assert by_name["Movie.mp4"].size == 300
    assert all(os.path.isabs(item.path) for item in found)


def test_only_enabled_containers(library: Path) -> None:
    mkv_only = extensions_for(ContainerSettings(mkv=True, mp4=False))
    assert set(mkv_only) == {".mkv"}
    found = scan(library, extensions=mkv_only)
    assert {item.container for item in found} == {Container.MKV}
    assert len(found) == 4
    # Extension keys may come without the dot or in upper case.
    assert len(scan(library, extensions={"MP4": Container.MP4})) == 2


def test_not_recursive_stays_in_the_directory(library: Path) -> None:
    assert rels(scan(library, recursive=False), library) == ["top.mkv"]


def test_pattern_on_name_and_on_relative_path(library: Path) -> None:
    assert rels(scan(library, pattern="s01e0?.mkv"), library) == [
        "Show/Season 1/S01E01.mkv",
        "Show/Season 1/S01E02.MKV",
    ]
    assert rels(scan(library, pattern="Show/**/*.mkv"), library) == [
        "Show/Extras/Behind.mkv",
        "Show/Season 1/S01E01.mkv",
        "Show/Season 1/S01E02.MKV",
    ]
    # A name pattern with no '/' does not match directory parts.
    assert scan(library, pattern="Show*") == []
    assert rels(scan(library, pattern="*.{m4v,mp4}", exclude_patterns=["*sample*"]), library) == [
        "Movie (2020)/Movie.mp4",
        "Movie (2020)/Trailer.M4V",
    ]
    assert scan(library, pattern="") == scan(library)  # empty = every media file, as in the API


def test_excludes_prune_directories_and_files(library: Path) -> None:
    assert rels(
        scan(library, exclude_patterns=["extras", "*.sample.*", "Movie (2020)/Trailer.*"]), library
    ) == [
        "Movie (2020)/Movie.mp4",
        "Show/Season 1/S01E01.mkv",
        "Show/Season 1/S01E02.MKV",
        "top.mkv",
    ]
    assert rels(scan(library, exclude_patterns=["**/Season 1/**", "Movie*/**"]), library) == [
        "Show/Extras/Behind.mkv",
        "top.mkv",
    ]


def test_size_and_age_filters_read_the_stat(tmp_path: Path) -> None:
    now = time.time()
    touch(tmp_path / "big_new.mkv", 3 * MIB, mtime=now - 3600)
    touch(tmp_path / "small_new.mkv", MIB - 1, mtime=now - 3600)
    touch(tmp_path / "big_old.mkv", 3 * MIB, mtime=now - 10 * 86400)
    assert rels(scan(tmp_path, min_size_mb=1), tmp_path) == ["big_new.mkv", "big_old.mkv"]
    assert rels(scan(tmp_path, max_age_days=2, now=now), tmp_path) == ["big_new.mkv", "small_new.mkv"]
    assert rels(scan(tmp_path, min_size_mb=1, max_age_days=2, now=now), tmp_path) == ["big_new.mkv"]
    # 0 disables a filter (the API's "unset"), fractions work.
    assert len(scan(tmp_path, min_size_mb=0, max_age_days=0)) == 3
    assert len(scan(tmp_path, min_size_mb=2.5)) == 2
    # A later "now" makes the same files old.
    assert scan(tmp_path, max_age_days=1, now=now + 2 * 86400) == []


def test_skips_temp_files_hidden_entries_and_non_regular_files(tmp_path: Path) -> None:
    touch(tmp_path / "ok.mkv")
    touch(tmp_path / f"movie.mp4{TEMP_MARKER}-1234.mp4")
    touch(tmp_path / f".movie{TEMP_MARKER}.mp4")
    touch(tmp_path / "._ok.mkv")  # macOS resource fork
    touch(tmp_path / ".@__thumb" / "ok.mkv")
    touch(tmp_path / "@eaDir" / "ok.mkv")
    touch(tmp_path / ".hidden" / "a.mkv")
    os.mkfifo(tmp_path / "pipe.mkv")
    (tmp_path / "dir.mkv").mkdir()
    assert rels(scan(tmp_path), tmp_path) == ["ok.mkv"]


def test_symlinks_leaving_the_roots_are_ignored(tmp_path: Path) -> None:
    root = tmp_path / "media"
    outside = tmp_path / "outside"
    touch(root / "real.mkv")
    touch(outside / "secret.mkv")
    touch(outside / "dir" / "deep.mkv")
    (root / "link_to_secret.mkv").symlink_to(outside / "secret.mkv")
    (root / "link_to_dir").symlink_to(outside / "dir")
    (root / "dangling.mkv").symlink_to(tmp_path / "nope.mkv")
    assert rels(scan(root), root) == ["real.mkv"]
    # The same links are fine once their targets are inside a root.
    found = scan(root, roots=[root, outside])
    assert sorted(item.path for item in found) == sorted(
        os.path.realpath(p) for p in (root / "real.mkv", outside / "secret.mkv", outside / "dir" / "deep.mkv")
    )


def test_symlinks_inside_roots_give_real_paths_once(tmp_path: Path) -> None:
    root = tmp_path / "media"
    touch(root / "a" / "ep.mkv")
    touch(root / "blob.bin")
    (root / "b").mkdir()
    (root / "b" / "same.mkv").symlink_to(root / "a" / "ep.mkv")
    (root / "alias").symlink_to(root / "a")
    (root / "b" / "named.mkv").symlink_to(root / "blob.bin")  # target's extension counts
    found = scan(root)
    assert [item.path for item in found] == [os.path.realpath(root / "a" / "ep.mkv")]
    # The real directory is walked under its own name, so a path pattern sees "a/…".
    assert len(scan(root, pattern="a/*.mkv")) == 1
    assert scan(root, pattern="alias/*.mkv", exclude_patterns=["a"]) == []


def test_directory_symlink_loops_end(tmp_path: Path) -> None:
    root = tmp_path / "media"
    touch(root / "show" / "s1" / "e1.mkv")
    (root / "show" / "s1" / "up").symlink_to(root / "show")
    (root / "show" / "self").symlink_to(".")
    (root / "loop_a").symlink_to(root / "loop_b")
    (root / "loop_b").symlink_to(root / "loop_a")
    assert rels(scan(root), root) == ["show/s1/e1.mkv"]


def test_root_may_be_a_single_file_or_a_symlinked_directory(tmp_path: Path, library: Path) -> None:
    single = library / "Movie (2020)" / "Movie.mp4"
    assert [item.path for item in scan(single, roots=[library])] == [os.path.realpath(single)]
    assert scan(library / "Movie (2020)" / "poster.jpg", roots=[library]) == []
    assert scan(single, roots=[library], pattern="*.mkv") == []
    link = library / "movies_link"
    link.symlink_to(library / "Movie (2020)")
    assert len(scan(link, roots=[library])) == 3


def test_root_outside_roots_or_unreadable_is_refused(tmp_path: Path, library: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    with pytest.raises(InvalidRequest) as info:
        scan(other, roots=[library])
    assert info.value.field_name == "path"
    with pytest.raises(InvalidRequest) as info:
        scan(library / "missing", roots=[library])
    assert info.value.field_name == "path"


def test_unreadable_subdirectory_is_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    touch(tmp_path / "ok" / "a.mkv")
    touch(tmp_path / "locked" / "b.mkv")
    real_scandir = os.scandir
    locked = os.path.realpath(tmp_path / "locked")

    def scandir(path: str) -> Any:
        if path == locked:  # chmod does not stop root, so refuse the way the OS would
            raise PermissionError(13, "Permission denied", path)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    assert rels(scan(tmp_path), tmp_path) == ["ok/a.mkv"]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"pattern": "/abs/*.mkv"}, "pattern"),
        ({"pattern": "../*.mkv"}, "pattern"),
        ({"pattern": "x" * 2000}, "pattern"),
        ({"pattern": "a\x00b"}, "pattern"),
        ({"pattern": "{1..1000}{1..1000}"}, "pattern"),
        ({"exclude_patterns": [""]}, "exclude_patterns"),
        ({"exclude_patterns": ["ok", "  "]}, "exclude_patterns"),
        ({"exclude_patterns": "*.mkv"}, "exclude_patterns"),
        ({"exclude_patterns": ["a"] * 101}, "exclude_patterns"),
        ({"min_size_mb": -1}, "min_size_mb"),
        ({"min_size_mb": float("nan")}, "min_size_mb"),
        ({"max_age_days": -0.5}, "max_age_days"),
        ({"max_age_days": float("inf")}, "max_age_days"),
    ],
)
def test_bad_filters_name_the_field(kwargs: dict[str, Any], field: str, tmp_path: Path) -> None:
    args: dict[str, Any] = {"pattern": None, "exclude_patterns": ()}
    args.update(kwargs)
    with pytest.raises(InvalidRequest) as info:
        validate_patterns(args.pop("pattern"), args.pop("exclude_patterns"), **args)
    assert info.value.field_name == field
    assert str(info.value)
    # discover applies the same checks before touching the disk.
    with pytest.raises(InvalidRequest):
        scan(tmp_path, **{"pattern": None, "exclude_patterns": (), **kwargs})


def test_good_filters_pass_validation() -> None:
    validate_patterns(
        "**/*.{mkv,mp4}", ["Extras", "**/Sample/**", "@(a|b).mkv"], min_size_mb=0.5, max_age_days=7
    )
    validate_patterns(None, [], min_size_mb=0, max_age_days=0)


def test_many_files_sanity(tmp_path: Path) -> None:
    """A few thousand files in nested directories are all found, once, in path order."""
    for d in range(20):
        for f in range(100):
            touch(tmp_path / f"d{d:02}" / f"sub{f % 5}" / f"f{f:03}.{'mkv' if f % 2 else 'mp4'}", 1)
    found = scan(tmp_path)
    assert len(found) == 2000
    assert len({item.path for item in found}) == 2000
    assert [item.path for item in found] == sorted(item.path for item in found)
