"""The typed outcome of running the media pipeline on one file.

These are the values that cross from the domain into the queue and the API: the queue
stores them on the job row, the servicers translate them into protobuf. Errors are values
here (a ``failed`` result with a reason), so nothing below the queue raises for a bad file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

# Where the aimed-for language came from: decided by the metadata layer, recorded here.
from arrtheaudio_server.metadata.plan import LanguageSource

__all__ = [
    "AudioTrack",
    "Container",
    "LanguageSource",
    "ProcessResult",
    "ReasonCode",
    "ResultStatus",
    "SelectedTrack",
    "WriteMethod",
]


class ResultStatus(StrEnum):
    SUCCESS = "success"
    SKIPPED = "skipped"
    FAILED = "failed"


class Container(StrEnum):
    MKV = "mkv"
    MP4 = "mp4"


class ReasonCode(StrEnum):
    """Machine-readable reason beside the human ``reason`` text.

    The queue branches on a few of these (``INSUFFICIENT_SPACE`` parks the job as
    waiting_for_space, ``TIMEOUT``/``TOOL_FAILED`` are retried, ``CORRUPT``/``UNSUPPORTED``
    are not worth retrying), so they are part of the contract between the layers.
    """

    CHANGED = "changed"
    ALREADY_CORRECT = "already_correct"
    DRY_RUN = "dry_run"
    NO_PREFERRED_LANGUAGE = "no_preferred_language"
    NO_AUDIO = "no_audio"
    UNSUPPORTED = "unsupported"
    CONTAINER_DISABLED = "container_disabled"
    HARDLINKED = "hardlinked"
    NOT_FOUND = "not_found"
    UNREADABLE = "unreadable"
    CORRUPT = "corrupt"
    INSUFFICIENT_SPACE = "insufficient_space"
    TIMEOUT = "timeout"
    TOOL_FAILED = "tool_failed"
    VERIFY_FAILED = "verify_failed"
    CANCELLED = "cancelled"
    INTERNAL = "internal"
    # Added by the media pipeline: the server may not write there (owner, directory
    # permissions), and a path outside settings.media_roots.
    PERMISSION_DENIED = "permission_denied"
    OUTSIDE_MEDIA_ROOTS = "outside_media_roots"

    @property
    def retryable(self) -> bool:
        return self in {
            ReasonCode.TIMEOUT,
            ReasonCode.TOOL_FAILED,
            ReasonCode.VERIFY_FAILED,
            ReasonCode.INTERNAL,
        }


@dataclass(frozen=True, slots=True)
class AudioTrack:
    """One audio track as the container describes it."""

    index: int  # position among the file's audio tracks, 0-based
    track_id: int  # the container's own id (mkvpropedit's track number - 1 / MP4 stream index)
    language: str | None  # normalized ISO 639-2/T (e.g. "deu"); None when und/missing
    ietf: str | None = None  # e.g. "pt-BR" when the container carries an IETF tag
    title: str | None = None
    codec: str | None = None
    channels: int | None = None
    default: bool = False
    forced: bool = False
    commentary: bool = False
    visual_impaired: bool = False
    hearing_impaired: bool = False
    original: bool = False  # MKV FlagOriginal: the track is in the content's original language
    alternate_group: int | None = None  # MP4 tkhd alternate_group (players enable one track per group)


class WriteMethod(StrEnum):
    """How a change reached the file (or would have, in a dry run)."""

    NONE = "none"  # nothing written: already correct, dry run, skipped or failed before writing
    IN_PLACE = "in_place"  # MP4: the tkhd flag bytes rewritten in the file itself
    MKVPROPEDIT = "mkvpropedit"  # MKV: one mkvpropedit run edits the header in place
    REMUX = "remux"  # MP4 fallback: an atomic ffmpeg -c copy remux (layout not safely editable)


@dataclass(frozen=True, slots=True)
class SelectedTrack:
    index: int
    language: str | None


@dataclass(frozen=True, slots=True)
class TrackChange:
    """One audio track as read before the change, and its default flag afterwards."""

    track: AudioTrack
    default_after: bool


@dataclass(frozen=True, slots=True)
class ProcessResult:
    status: ResultStatus
    reason_code: ReasonCode
    reason: str
    path: str
    container: Container | None = None
    tracks: tuple[AudioTrack, ...] = field(default_factory=tuple)
    selected: SelectedTrack | None = None
    track_changed: bool = False
    language: str | None = None  # the language we aimed for
    language_source: LanguageSource = LanguageSource.NONE
    dry_run: bool = False
    duration_ms: int = 0
    write_method: WriteMethod = WriteMethod.NONE
    write_note: str | None = None  # why the remux fallback was taken, or how hard links were handled
    # A fingerprint of what the decision rested on (original language, priority list in force);
    # a rescan skips a file whose stat and fingerprint are unchanged. None: not decided.
    decision_key: str | None = None

    @property
    def track_changes(self) -> tuple[TrackChange, ...]:
        """Every audio track with its default flag after the job (a dry run: as it would be)."""
        target = None
        if self.selected is not None and (self.track_changed or self.reason_code is ReasonCode.DRY_RUN):
            target = self.selected.index
        return tuple(
            TrackChange(track, track.index == target if target is not None else track.default)
            for track in self.tracks
        )
