"""A library of real media files, generated once per test session and copied per test."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from arrtheaudio_server.config import Settings
from tests.support.media_files import AudioSpec as A
from tests.support.media_files import SubtitleSpec, make_corrupt, make_mkv, make_mp4, tools_available

if not tools_available():  # pragma: no cover - the dev and CI images have them
    pytest.skip("ffmpeg/mkvtoolnix not installed", allow_module_level=True)

SUBS = [SubtitleSpec(lang="eng", title="Full"), SubtitleSpec(lang="jpn", title="Signs")]

# name -> (maker, tracks, kwargs)
LIBRARY: dict[str, tuple[Callable[..., Path], list[A], dict[str, Any]]] = {}
for ext, maker in (("mkv", make_mkv), ("mp4", make_mp4)):
    LIBRARY.update(
        {
            f"multi.{ext}": (
                maker,
                [A("eng", "English", default=True), A("jpn", "Japanese"), A("ita", None)],
                {"subtitles": SUBS, "chapters": 2},
            ),
            f"commentary_first.{ext}": (
                maker,
                [A("jpn", "Commentary with the director", default=True), A("jpn", "Japanese"), A("eng")],
                {},
            ),
            f"channels.{ext}": (
                maker,
                [A("eng", "Stereo", channels=2, default=True), A("eng", "Surround", channels=6)],
                {},
            ),
            f"one.{ext}": (maker, [A("jpn")], {}),
            f"noaudio.{ext}": (maker, [], {}),
            f"correct.{ext}": (maker, [A("eng", default=True), A("jpn")], {"chapters": 2}),
            f"und.{ext}": (maker, [A(None, default=True), A("jpn")], {}),
        }
    )
LIBRARY.update(
    {
        "commentary_flag.mkv": (make_mkv, [A("jpn", commentary=True, default=True), A("jpn")], {}),
        "described.mkv": (
            make_mkv,
            [A("eng", "Audio Description", channels=6, default=True), A("eng", "English")],
            {},
        ),
        "ptbr.mkv": (make_mkv, [A("por", "Portugal", default=True), A("pt-BR", "Brasil"), A("eng")], {}),
        "two_defaults.mkv": (make_mkv, [A("eng", default=True), A("jpn", default=True)], {}),
    }
)


@pytest.fixture(scope="session")
def media_library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("media-library")

    def build(item: tuple[str, tuple[Callable[..., Path], list[A], dict[str, Any]]]) -> None:
        name, (maker, tracks, kwargs) = item
        maker(root / name, tracks, **kwargs)

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(build, LIBRARY.items()))
    for ext in ("mkv", "mp4"):
        make_corrupt(root / f"empty.{ext}", "empty")
        make_corrupt(root / f"garbage.{ext}", "garbage")
        make_corrupt(root / f"truncated.{ext}", "truncated", source=root / f"multi.{ext}")
    shutil.copyfile(root / "multi.mp4", root / "misnamed.mkv")
    return root


@pytest.fixture
def media(media_library: Path, tmp_path: Path) -> Callable[[str], Path]:
    """``media("multi.mkv")`` -> a private copy of that library file in this test's tmp dir."""

    def copy(name: str, dest_name: str | None = None) -> Path:
        dest = tmp_path / (dest_name or name)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(media_library / name, dest)
        return dest

    return copy


def make_settings(tmp_path: Path, **values: Any) -> Settings:
    values.setdefault("config_dir", tmp_path)
    return Settings.model_validate(values)


@pytest.fixture
def settings_factory(tmp_path: Path) -> Callable[..., Settings]:
    return lambda **values: make_settings(tmp_path, **values)


@pytest.fixture
def slow_ffmpeg(tmp_path: Path) -> Iterator[str]:
    """An ffmpeg that reads its input at native speed (-re): a 1 s file takes ≈1 s to remux.

    It ``exec``s the real ffmpeg, so the process the pipeline starts IS ffmpeg and can be
    killed like one in the crash tests.
    """
    script = tmp_path / "slow-ffmpeg"
    script.write_text('#!/bin/sh\nexec ffmpeg -re "$@"\n')
    script.chmod(0o755)
    yield str(script)


@pytest.fixture(scope="session")
def mp4_library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The MP4 layouts of tests/support/mp4_files.py, made once per session."""
    from tests.support.mp4_files import build_library

    return build_library(tmp_path_factory.mktemp("mp4-library"))


@pytest.fixture
def mp4(mp4_library: Path, tmp_path: Path) -> Callable[[str], Path]:
    """``mp4("faststart.mp4")`` -> a private copy of that MP4 layout in this test's tmp dir."""

    def copy(name: str) -> Path:
        dest = tmp_path / name
        shutil.copyfile(mp4_library / name, dest)
        return dest

    return copy
