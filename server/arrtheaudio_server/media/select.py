"""Choose the audio track that should be the file's only default.

Order of preference for a wanted language (see the issue's "Choosing the track"):
1. a regular track over a commentary or descriptive-audio one (by flag, or by a title such
   as "Commentary" / "Audio Description"), as long as a regular track of the language exists;
2. the closer language match (a ``pt-BR`` track for a ``pt-BR`` wish over plain ``por``);
3. more channels; 4. the track that is already default; 5. the lowest index.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from arrtheaudio_server.languages import Lang, match_score, parse_language
from arrtheaudio_server.media.result import AudioTrack

# Titles that mark a track as commentary or audio description, in the languages
# Arr users' releases most often carry. Word-boundary matches, case-insensitive.
_ACCESSORY_TITLE = re.compile(
    r"\b("
    r"commentary|commentaries|comments?|director'?s? comment|"
    r"audio ?description|audio[- ]described|descriptive|described video|"
    r"visually impaired|(?-i:AD)|"
    r"kommentar|audiodeskription|h[öo]rfilm|"
    r"commentaire|audiodescription|"
    r"comentario|comentarios|audiodescripci[oó]n|"
    r"commento|audiodescrizione|"
    r"commentaar|audiobeschrijving"
    r")\b",
    re.IGNORECASE,
)


def is_accessory(track: AudioTrack) -> bool:
    """Commentary or descriptive audio: never the default while a regular track exists."""
    if track.commentary or track.visual_impaired:
        return True
    return bool(track.title and _ACCESSORY_TITLE.search(track.title))


@dataclass(frozen=True, slots=True)
class Choice:
    track: AudioTrack
    wanted: Lang  # the wish that this track satisfied
    wanted_position: int  # 0 = the first entry of the list given to choose_track


def best_track_for(tracks: Sequence[AudioTrack], wanted: Lang) -> AudioTrack | None:
    """The best track of one wanted language, or None when the file has none."""
    scored = [(match_score(wanted, t.language, t.ietf), t) for t in tracks]
    candidates = [(score, t) for score, t in scored if score > 0]
    if not candidates:
        return None
    candidates.sort(
        key=lambda item: (
            is_accessory(item[1]),
            -item[0],
            -(item[1].channels or 0),
            not item[1].default,
            item[1].index,
        )
    )
    return candidates[0][1]


def choose_track(tracks: Sequence[AudioTrack], wishes: Sequence[str | Lang]) -> Choice | None:
    """The best track for the first wish that the file can satisfy; None if none can."""
    for position, wish in enumerate(wishes):
        lang = wish if isinstance(wish, Lang) else parse_language(wish)
        if lang is None:
            continue
        track = best_track_for(tracks, lang)
        if track is not None:
            return Choice(track=track, wanted=lang, wanted_position=position)
    return None


def is_already_correct(tracks: Sequence[AudioTrack], chosen: AudioTrack) -> bool:
    """Exactly one default audio track, and it is the chosen one."""
    return [t.index for t in tracks if t.default] == [chosen.index]
