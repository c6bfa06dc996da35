"""Sonarr / Radarr webhook bodies: parsed leniently, reduced to what a job needs.

The Arr applications add fields between versions, so the models ignore unknown keys and
read only what we use: the event type, the imported file paths, and the series/movie
facts that feed language resolution (title, ids, original language). A body we cannot
use raises :class:`PayloadError` naming the field, which the API answers with HTTP 400.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from arrtheaudio_server.metadata.hints import MediaHints

ArrKind = Literal["sonarr", "radarr"]

# Events whose body carries newly imported files. Sonarr v4 names the season-pack import
# "Download" in some versions and "ImportComplete" in others; the shape (episodeFile vs
# episodeFiles) tells them apart, not the name.
FILE_EVENTS = frozenset({"Download", "ImportComplete"})
TEST_EVENT = "Test"


class PayloadError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class _Language(_Lenient):
    id: int | None = None
    name: str | None = None


class _MediaFile(_Lenient):
    path: str | None = None


class _Series(_Lenient):
    title: str | None = None
    tvdb_id: int | None = Field(None, alias="tvdbId")
    tmdb_id: int | None = Field(None, alias="tmdbId")
    imdb_id: str | None = Field(None, alias="imdbId")
    original_language: _Language | None = Field(None, alias="originalLanguage")


class _Movie(_Series):
    pass


class _ArrBody(_Lenient):
    event_type: str = Field(alias="eventType", min_length=1)
    series: _Series | None = None
    movie: _Movie | None = None
    episode_file: _MediaFile | None = Field(None, alias="episodeFile")
    episode_files: list[_MediaFile] | None = Field(None, alias="episodeFiles")
    movie_file: _MediaFile | None = Field(None, alias="movieFile")


@dataclass(frozen=True, slots=True)
class ArrWebhook:
    """What one webhook call asks of us."""

    kind: ArrKind
    event_type: str
    title: str | None
    hints: MediaHints
    files: tuple[str, ...]  # the Arr's view of each path, in payload order, no duplicates

    @property
    def is_test(self) -> bool:
        return self.event_type == TEST_EVENT

    @property
    def carries_files(self) -> bool:
        return self.event_type in FILE_EVENTS


def _positive(value: int | None) -> int | None:
    # Arr sends 0 for "unknown id" (see the Test payloads).
    return value if value and value > 0 else None


def _hints(kind: ArrKind, subject: _Series | None) -> MediaHints:
    if subject is None:
        return MediaHints(kind="series" if kind == "sonarr" else "movie")
    language = subject.original_language.name if subject.original_language else None
    return MediaHints(
        kind="series" if kind == "sonarr" else "movie",
        title=subject.title or None,
        original_language=language or None,
        tmdb_id=_positive(subject.tmdb_id),
        tvdb_id=_positive(subject.tvdb_id),
        imdb_id=subject.imdb_id or None,
    )


def parse_arr_webhook(kind: ArrKind, raw: bytes) -> ArrWebhook:
    """Parse and check one webhook body; raises PayloadError for anything unusable."""
    try:
        data: Any = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PayloadError("body", f"body is not valid JSON: {exc}") from exc
    except RecursionError as exc:  # e.g. "[[[[...]]]]" a thousand deep: hostile, not an internal error
        raise PayloadError("body", "body is nested too deeply to be a Sonarr/Radarr webhook") from exc
    if not isinstance(data, dict):
        raise PayloadError("body", "body must be a JSON object")
    try:
        body = _ArrBody.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "body"
        raise PayloadError(field, f"{field}: {first['msg']}") from exc

    subject = body.series if kind == "sonarr" else body.movie
    hints = _hints(kind, subject)
    files: list[str] = []
    if body.event_type in FILE_EVENTS:
        if kind == "sonarr":
            candidates = [body.episode_file] if body.episode_file else []
            candidates += body.episode_files or []
            field = "episodeFile"
        else:
            candidates = [body.movie_file] if body.movie_file else []
            field = "movieFile"
        for item in candidates:
            if item.path and item.path not in files:
                files.append(item.path)
        if not files:
            raise PayloadError(
                field, f"a {body.event_type} event must carry at least one file path ({field}.path)"
            )
    return ArrWebhook(
        kind=kind, event_type=body.event_type, title=hints.title, hints=hints, files=tuple(files)
    )
