"""Language codes, tags and names, and when a track "is" a wanted language.

Built on ``langcodes`` (CLDR/IANA data) instead of a hand table: ISO 639-1 (``en``),
639-2/B (``ger``, ``fre``, ``chi``, ``rum``), 639-2/T (``deu``), IETF tags (``pt-BR``)
and English names (``"Japanese"``, ``"Portuguese (Brazil)"`` as Sonarr/Radarr send them)
all reduce to one ``Lang``: the ISO 639-2/T code plus an optional region.
``und``, ``mul``, ``zxx``, ``mis`` and missing values are "unknown" (None).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import langcodes

_UNKNOWN = frozenset({"und", "mul", "zxx", "mis"})
_TAG = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*$")
_NAME_WITH_REGION = re.compile(r"^\s*(?P<name>[^()]+?)\s*\((?P<region>[^()]+)\)\s*$")
# Words Arr applications use for "we don't know" rather than a language.
_NOT_A_LANGUAGE = frozenset({"unknown", "any", "original", "none", "undefined", "undetermined"})


@dataclass(frozen=True, slots=True)
class Lang:
    """A normalized language: ISO 639-2/T code (``por``) and optional region (``BR``)."""

    code: str
    region: str | None = None

    def __str__(self) -> str:
        return f"{self.code}-{self.region}" if self.region else self.code


def _from_language(language: langcodes.Language) -> Lang | None:
    if not language.language or language.language in _UNKNOWN:
        return None
    try:
        code = language.to_alpha3()
    except LookupError:
        return None
    if code in _UNKNOWN or ("qaa" <= code <= "qtz"):
        return None
    return Lang(code=code, region=language.territory or None)


@lru_cache(maxsize=2048)
def parse_language(value: str | None) -> Lang | None:
    """Any code, tag or English name -> ``Lang``; None for unknown/undetermined/unparseable."""
    if value is None:
        return None
    text = value.strip()
    if not text or text.lower() in _NOT_A_LANGUAGE:
        return None
    if _TAG.match(text):
        try:
            # macro=True folds individual languages into their macrolanguage (cmn -> zh),
            # the level at which media files are tagged.
            language = langcodes.Language.get(langcodes.standardize_tag(text.replace("_", "-"), macro=True))
        except (LookupError, ValueError):
            language = None
        if language is not None and language.is_valid():
            result = _from_language(language)
            if result is not None or language.language in _UNKNOWN:
                return result
    # An English name, possibly with a region: "Portuguese (Brazil)", "Spanish (Latin America)".
    region: str | None = None
    name = text
    match = _NAME_WITH_REGION.match(text)
    if match:
        name = match.group("name")
        try:
            region = langcodes.find_name("territory", match.group("region"), "en").territory
        except LookupError:
            region = None
    try:
        found = langcodes.find(name)
    except LookupError:
        return None
    result = _from_language(found)
    if result is not None and region:
        result = Lang(result.code, region)
    return result


def normalize(value: str | None) -> str | None:
    """The ISO 639-2/T code for anything ``parse_language`` understands (``"ger"`` -> ``"deu"``)."""
    lang = parse_language(value)
    return lang.code if lang else None


def match_score(wanted: Lang, language: str | None, ietf: str | None = None) -> int:
    """How well a track's language fits ``wanted``: 0 no match, higher is better.

    3: same language and the wanted region (a ``pt-BR`` track for ``pt-BR``);
    2: same language, no region on one side (a ``por`` track for ``pt-BR``, or any
       Portuguese for plain ``pt``);
    1: same language, a different explicit region (``pt-PT`` for ``pt-BR``) — still the
       language, but only if nothing closer exists.
    """
    track = parse_language(ietf) if ietf else None
    if track is None:
        track = parse_language(language)
    if track is None or track.code != wanted.code:
        return 0
    if wanted.region is None or track.region is None:
        return 2
    return 3 if track.region == wanted.region else 1
