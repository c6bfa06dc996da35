"""What the resolver decides about a file's language, and where that knowledge came from.

The types the metadata layer hands to the media pipeline (and the pipeline records in its
``ProcessResult``). They live here, beside ``hints.py`` (what the caller knew), so the
dependency runs one way: media imports metadata, metadata never imports media.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from enum import StrEnum

from arrtheaudio_server.languages import Lang


class LanguageSource(StrEnum):
    """Where the chosen language came from, in the order the resolver tries them."""

    ARR = "arr"
    # The user's own Sonarr/Radarr library: the title whose folder holds the file.
    ARR_LIBRARY = "arr_library"
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

    @property
    def decision_key(self) -> str:
        """What the decision rests on besides the file itself, as a short stable fingerprint.

        A rescan compares it with the one stored at the last check: a new original language,
        a changed priority list or another override in force means the file is checked again.
        """
        inputs = [str(self.original) if self.original else None, list(self.priority), self.priority_pattern]
        return hashlib.sha256(json.dumps(inputs).encode()).hexdigest()[:32]
