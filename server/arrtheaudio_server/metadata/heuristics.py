"""Ids that Arr naming schemes put into folder and file names.

Sonarr/Radarr users commonly name folders like ``Show (2019) {tvdb-12345}``,
``Movie (2020) [tmdbid-603]`` or ``Film {imdb-tt0133093}`` so that re-imports match. Those
tokens let us ask TMDB for the original language of a file that arrived without a webhook
(a manual scan). The token nearest the file wins (file name, then its folder, upwards).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePath
from typing import Literal

_TOKEN = re.compile(
    r"[\[{]\s*(?P<kind>tmdb|tmdbid|tvdb|tvdbid|imdb|imdbid)\s*[-=:]\s*(?P<value>tt\d+|\d+)\s*[\]}]",
    re.IGNORECASE,
)
_EPISODE = re.compile(r"\bS\d{1,4}E\d{1,4}\b|\b\d{1,2}x\d{2,3}\b|\bSeason \d+\b|\bSpecials\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class NameIds:
    tmdb_id: int | None = None
    tvdb_id: int | None = None
    imdb_id: str | None = None
    kind: Literal["series", "movie"] | None = None  # a guess from the name (SxxEyy -> series)

    @property
    def empty(self) -> bool:
        return self.tmdb_id is None and self.tvdb_id is None and self.imdb_id is None


def ids_from_path(path: PurePath) -> NameIds:
    """Collect the nearest id of each kind from the file name and its parent folders."""
    tmdb_id: int | None = None
    tvdb_id: int | None = None
    imdb_id: str | None = None
    parts = [path.name, *(parent.name for parent in path.parents if parent.name)]
    for part in parts:
        for match in _TOKEN.finditer(part):
            kind = match.group("kind").lower().removesuffix("id")
            value = match.group("value")
            if kind == "tmdb" and tmdb_id is None and value.isdigit():
                tmdb_id = int(value)
            elif kind == "tvdb" and tvdb_id is None and value.isdigit():
                tvdb_id = int(value)
            elif kind == "imdb" and imdb_id is None and value.lower().startswith("tt"):
                imdb_id = value.lower()
    guess: Literal["series", "movie"] | None
    if tvdb_id is not None or any(_EPISODE.search(part) for part in parts[:3]):
        guess = "series"
    elif tmdb_id is not None or imdb_id is not None:
        guess = "movie"
    else:
        guess = None
    return NameIds(tmdb_id=tmdb_id, tvdb_id=tvdb_id, imdb_id=imdb_id, kind=guess)
