"""What the resolver decides about a file's language, and where that knowledge came from.

The types the metadata layer hands to the media pipeline (and the pipeline records in its
``ProcessResult``). They live here, beside ``hints.py`` (what the caller knew), so the
dependency runs one way: media imports metadata, metadata never imports media.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from arrtheaudio_server.languages import Lang


class LanguageSource(StrEnum):
    """Where the chosen language came from, in the order the resolver tries them."""

    ARR = "arr"
    TMDB = "tmdb"
    HEURISTIC = "heuristic"
    PRIORITY = "priority"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class LanguagePlan:
    original: Lang | None
    original_source: LanguageSource  # ARR / TMDB / HEURISTIC, or NONE when unknown
    priority: tuple[str, ...]
    priority_pattern: str | None = None  # the path_overrides glob that supplied ``priority``
