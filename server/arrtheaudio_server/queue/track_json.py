"""The jobs table's ``tracks`` column: a job's audio tracks as JSON, and back.

One small codec so the storage backends (and the migration to come) share one shape:
a list of objects with the ``AudioTrack`` fields plus ``default_after``. Unknown keys are
ignored and missing ones take the dataclass defaults, so rows written by an older or newer
version still read.
"""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any

from arrtheaudio_server.media.result import AudioTrack, TrackChange

_TRACK_FIELDS = {f.name for f in fields(AudioTrack)}


def tracks_to_json(changes: tuple[TrackChange, ...]) -> list[dict[str, Any]] | None:
    if not changes:
        return None
    return [{**asdict(change.track), "default_after": change.default_after} for change in changes]


def tracks_from_json(value: Any) -> tuple[TrackChange, ...]:
    if not isinstance(value, list):
        return ()
    changes = []
    for item in value:
        if not isinstance(item, dict) or "index" not in item:
            continue
        known = {key: val for key, val in item.items() if key in _TRACK_FIELDS}
        track = AudioTrack(**({"track_id": 0, "language": None} | known))
        changes.append(TrackChange(track=track, default_after=bool(item.get("default_after", track.default))))
    return tuple(changes)
