"""What a container reader returns: the tracks it read, or why it could not.

In a module of their own so that the readers (``mkv_read``, ``mp4_read``) and the
dispatcher (``probe``) can all import them without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass

from arrtheaudio_server.media.result import AudioTrack, Container, ReasonCode


@dataclass(frozen=True, slots=True)
class ProbeInfo:
    container: Container
    tracks: tuple[AudioTrack, ...]
    stream_count: int  # every stream the container holds (video, audio, subtitles, chapter text, ...)
    chapters: int = 0
    # MP4 only: stream indexes (as ffmpeg numbers them) of chapter text tracks, which a remux
    # must not copy as data streams, and every stream's title, which a remux would drop.
    chapter_streams: tuple[int, ...] = ()
    stream_titles: tuple[tuple[int, str], ...] = ()
    # Why the file can be read but not edited (MKV: Clusters of unknown size, which mkvpropedit
    # refuses to edit); None when it can be.
    not_editable: str | None = None

    @property
    def default_indexes(self) -> list[int]:
        return [track.index for track in self.tracks if track.default]


@dataclass(frozen=True, slots=True)
class ProbeFailure:
    reason_code: ReasonCode
    reason: str
