"""Which language a file's default audio track should have, and how we know.

The chain, first answer wins, each recording its ``LanguageSource``:
1. ARR — the webhook's original language (Sonarr v4 ``series.originalLanguage``,
   Radarr ``movie.originalLanguage``), passed in ``MediaHints.original_language``;
2. ARR_LIBRARY — the user's Sonarr/Radarr library (``arr.sonarr`` / ``arr.radarr``): the
   title whose folder holds the file (longest path), else one with the webhook's ids; a
   title without a language (Sonarr v3) still lends its ids to the TMDB step;
3. TMDB — by the ids the webhook (or the Arr title) gave (tmdbId, imdbId, tvdbId via ``/find``);
4. HEURISTIC — ids found in folder/file names (``{tmdb-123}``, ``[tvdbid-123]``, ...) looked up on TMDB;
5. PRIORITY — the configured list: the first ``path_overrides`` glob that matches the path
   (``**`` crosses directories), else the global ``language_priority``.
The original language is only a wish: when the file has no track of it, the track chooser
falls back to the priority list (and the result then says PRIORITY).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import structlog
from wcmatch import glob

from arrtheaudio_server.config import Settings
from arrtheaudio_server.languages import Lang, parse_language
from arrtheaudio_server.metadata.arr_catalog import ArrCatalog
from arrtheaudio_server.metadata.heuristics import ids_from_path
from arrtheaudio_server.metadata.hints import MediaHints
from arrtheaudio_server.metadata.plan import LanguagePlan, LanguageSource
from arrtheaudio_server.metadata.tmdb import TmdbClient

log = structlog.get_logger(__name__)

_GLOB_FLAGS = glob.GLOBSTAR | glob.BRACE | glob.DOTGLOB


class LanguageResolver:
    def __init__(
        self, settings: Settings, tmdb: TmdbClient | None = None, arr: ArrCatalog | None = None
    ) -> None:
        self._settings = settings
        self._tmdb = tmdb
        self._arr = arr

    def priority_for(self, path: Path) -> tuple[tuple[str, ...], str | None]:
        """The priority list for ``path``: first matching override, else the global list."""
        text = str(path)
        for override in self._settings.path_overrides:
            if glob.globmatch(text, override.pattern, flags=_GLOB_FLAGS):
                return tuple(override.languages), override.pattern
        return tuple(self._settings.language_priority), None

    async def original_language(
        self, path: Path, hints: MediaHints | None
    ) -> tuple[Lang | None, LanguageSource]:
        hints = hints or MediaHints()
        lang = parse_language(hints.original_language)
        if lang is not None:
            return lang, LanguageSource.ARR
        if self._arr is not None and self._arr.enabled:
            title = await self._arr.lookup(path, hints)
            if title is not None:
                lang = parse_language(title.original_language)
                if lang is not None:
                    return lang, LanguageSource.ARR_LIBRARY
                # No language in the Arr (Sonarr v3): its ids still let TMDB answer.
                hints = replace(
                    hints,
                    kind=hints.kind or title.kind,
                    tmdb_id=hints.tmdb_id or title.tmdb_id,
                    tvdb_id=hints.tvdb_id or title.tvdb_id,
                    imdb_id=hints.imdb_id or title.imdb_id,
                )
        if self._tmdb is None or not self._tmdb.enabled:
            return None, LanguageSource.NONE
        if hints.tmdb_id is not None or hints.imdb_id or hints.tvdb_id is not None:
            found = parse_language(
                await self._tmdb.original_language(
                    kind=hints.kind, tmdb_id=hints.tmdb_id, imdb_id=hints.imdb_id, tvdb_id=hints.tvdb_id
                )
            )
            if found is not None:
                return found, LanguageSource.TMDB
        ids = ids_from_path(path)
        if not ids.empty:
            found = parse_language(
                await self._tmdb.original_language(
                    kind=hints.kind or ids.kind, tmdb_id=ids.tmdb_id, imdb_id=ids.imdb_id, tvdb_id=ids.tvdb_id
                )
            )
            if found is not None:
                return found, LanguageSource.HEURISTIC
        return None, LanguageSource.NONE

    async def resolve(self, path: Path, hints: MediaHints | None = None) -> LanguagePlan:
        original, source = await self.original_language(path, hints)
        priority, pattern = self.priority_for(path)
        return LanguagePlan(
            original=original, original_source=source, priority=priority, priority_pattern=pattern
        )
