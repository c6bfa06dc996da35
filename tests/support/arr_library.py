"""A media root holding real generated files under the names the webhook fixtures (tests/fixtures/webhooks) use.

The fixtures in ``tests/fixtures/webhooks`` name files as Sonarr/Radarr see them
(``/tv/...``, ``/movies/...``). Tests map ``/tv`` and ``/movies`` into a temporary media root
and put real small MKV/MP4 files at those places, with the wrong default audio track
(English default, the original language second), so a correct run visibly changes them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.media_files import AudioSpec, make_mkv, make_mp4

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = REPO_ROOT / "tests" / "fixtures" / "webhooks"

SERIES_DIR = "Kaiju Harbor/Season 01"
EPISODES = (
    "Kaiju Harbor - S01E01 - Landfall [WEBDL-1080p].mkv",
    "Kaiju Harbor - S01E02 - Tidewater [WEBDL-1080p].mkv",
    "Kaiju Harbor - S01E03 - Breakwater [WEBDL-1080p].mkv",
)
MOVIE_DIR = "The Quiet Orchard (2019)"
MOVIE = "The Quiet Orchard (2019) [Bluray-1080p].mkv"
MOVIE_MP4 = "The Quiet Orchard (2019) [Bluray-1080p].mp4"


def fixture_bytes(name: str) -> bytes:
    """``name`` like ``"sonarr/download.json"``."""
    return (FIXTURES / name).read_bytes()


def fixture_json(name: str) -> dict[str, Any]:
    return json.loads(fixture_bytes(name))


@dataclass(frozen=True)
class ArrLibrary:
    root: Path  # the media root (contains tv/ and movies/)

    @property
    def tv(self) -> Path:
        return self.root / "tv"

    @property
    def movies(self) -> Path:
        return self.root / "movies"

    def episode(self, index: int) -> Path:
        return self.tv / SERIES_DIR / EPISODES[index]

    @property
    def movie(self) -> Path:
        return self.movies / MOVIE_DIR / MOVIE

    @property
    def movie_mp4(self) -> Path:
        return self.movies / MOVIE_DIR / MOVIE_MP4

    def mappings(self) -> list[dict[str, str]]:
        return [{"remote": "/tv", "local": str(self.tv)}, {"remote": "/movies", "local": str(self.movies)}]


def make_library(
    root: Path, *, episodes: int = 3, movie: bool = True, movie_mp4: bool = False, video: bool = False
) -> ArrLibrary:
    """Episodes: English default + Japanese; the movie: English default + Italian."""
    library = ArrLibrary(root=root)
    library.tv.mkdir(parents=True, exist_ok=True)
    library.movies.mkdir(parents=True, exist_ok=True)
    for index in range(episodes):
        make_mkv(
            library.episode(index), tracks=[AudioSpec("eng", default=True), AudioSpec("jpn")], video=video
        )
    if movie:
        make_mkv(library.movie, tracks=[AudioSpec("eng", default=True), AudioSpec("ita")], video=video)
    if movie_mp4:
        make_mp4(library.movie_mp4, tracks=[AudioSpec("eng", default=True), AudioSpec("ita")], video=video)
    return library


def radarr_mp4_payload() -> bytes:
    """Radarr's Download fixture, pointing at the MP4 edition of the movie."""
    data = fixture_json("radarr/download.json")
    data["movieFile"]["path"] = f"/movies/{MOVIE_DIR}/{MOVIE_MP4}"
    data["movieFile"]["relativePath"] = MOVIE_MP4
    return json.dumps(data).encode()


def sonarr_payload_with_paths(paths: list[str]) -> bytes:
    """The season-pack fixture with its ``episodeFiles`` pointing at ``paths``."""
    data = fixture_json("sonarr/import-complete.json")
    template = data["episodeFiles"][0]
    data["episodeFiles"] = [{**template, "id": 9000 + i, "path": path} for i, path in enumerate(paths)]
    return json.dumps(data).encode()
