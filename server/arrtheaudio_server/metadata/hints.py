"""What the caller already knows about a file's series or movie.

A webhook from Sonarr/Radarr carries the title, the ids and often the original
language; a manual batch carries nothing. The resolver chain uses whatever is set.
Plain data so the queue can store it (as JSON on the webhook row) and hand it back.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal


@dataclass(frozen=True, slots=True)
class MediaHints:
    kind: Literal["series", "movie"] | None = None
    title: str | None = None
    original_language: str | None = None  # as the Arr sent it, e.g. "Japanese", "Portuguese (Brazil)"
    tmdb_id: int | None = None
    tvdb_id: int | None = None
    imdb_id: str | None = None  # "tt0123456"

    def to_dict(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self).items() if value is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> MediaHints:
        if not data:
            return cls()
        return cls(**{key: data[key] for key in cls.__dataclass_fields__ if key in data})
