"""Path mapping and the media-roots guard, on a real directory tree with symlinks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from arrtheaudio_server.config import Settings
from arrtheaudio_server.paths import PathPolicy, PathRejected


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "media"
    (root / "tv" / "Show").mkdir(parents=True)
    (root / "tv" / "Show" / "e1.mkv").write_bytes(b"x")
    outside = tmp_path / "secret"
    outside.mkdir()
    (outside / "passwd").write_text("root")
    os.symlink(outside / "passwd", root / "tv" / "escape.mkv")
    os.symlink(outside, root / "tv" / "escape-dir")
    return tmp_path


def policy(tree: Path, **extra: object) -> PathPolicy:
    settings = Settings(
        media_roots=[tree / "media"],
        path_mappings={"/tv": str(tree / "media" / "tv"), "/tv/anime": "/elsewhere/anime"},
        **extra,  # type: ignore[arg-type]
    )
    return PathPolicy.from_settings(settings)


def test_longest_mapping_prefix_wins(tree: Path) -> None:
    pol = policy(tree)
    assert pol.map_arr_path("/tv/anime/x.mkv") == "/elsewhere/anime/x.mkv"
    assert pol.map_arr_path("/tv/Show/e1.mkv") == str(tree / "media" / "tv" / "Show" / "e1.mkv")
    assert pol.map_arr_path("/tv") == str(tree / "media" / "tv")
    # A prefix only matches whole path components.
    assert pol.map_arr_path("/tvshows/x.mkv") == "/tvshows/x.mkv"


def test_file_inside_roots_resolves(tree: Path) -> None:
    resolved = policy(tree).resolve_arr_file("/tv/Show/e1.mkv")
    assert resolved == (tree / "media" / "tv" / "Show" / "e1.mkv").resolve()


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        ("/tv/../../secret/passwd", "outside_roots"),
        ("/tv/Show/../../../secret/passwd", "outside_roots"),
        ("/etc/passwd", "outside_roots"),
        ("/tv/escape.mkv", "outside_roots"),
        ("/tv/escape-dir/passwd", "outside_roots"),
        ("/tv/Show/missing.mkv", "not_found"),
        ("/tv/Show", "not_a_file"),
        ("relative/path.mkv", "invalid"),
        ("/tv/Show/e1\x00.mkv", "invalid"),
        ("", "invalid"),
    ],
)
def test_rejections_name_their_kind(tree: Path, raw: str, kind: str) -> None:
    with pytest.raises(PathRejected) as info:
        policy(tree).resolve_arr_file(raw)
    assert info.value.kind == kind


def test_directory_expectation(tree: Path) -> None:
    pol = policy(tree)
    assert pol.resolve(str(tree / "media" / "tv"), expect="dir").is_dir()
    with pytest.raises(PathRejected) as info:
        pol.resolve(str(tree / "media" / "tv" / "Show" / "e1.mkv"), expect="dir")
    assert info.value.kind == "not_a_directory"


def test_no_roots_means_nothing_is_touched(tree: Path) -> None:
    pol = PathPolicy.from_settings(Settings())
    with pytest.raises(PathRejected) as info:
        pol.resolve(str(tree / "media" / "tv" / "Show" / "e1.mkv"))
    assert info.value.kind == "outside_roots"


def test_root_itself_and_missing_paths_when_existence_not_required(tree: Path) -> None:
    pol = policy(tree)
    assert pol.resolve(str(tree / "media"), expect="dir") == (tree / "media").resolve()
    assert pol.resolve(str(tree / "media" / "new.mkv"), must_exist=False).name == "new.mkv"


@pytest.mark.parametrize(
    ("name", "kind"),
    [("A" * 300 + ".mkv", "invalid"), ("A" * 300 + "/e1.mkv", "invalid"), ("e1.mkv/inner.mkv", "not_found")],
)
def test_unusable_names_are_rejected_not_crashed(tree: Path, name: str, kind: str) -> None:
    """ENAMETOOLONG / ENOTDIR from the stat are a bad request, never an internal error."""
    with pytest.raises(PathRejected) as info:
        policy(tree).resolve_arr_file(f"/tv/Show/{name}")
    assert info.value.kind == kind
    if kind == "invalid":
        assert "too long" in str(info.value)
