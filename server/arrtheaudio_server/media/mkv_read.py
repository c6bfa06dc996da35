"""Read a Matroska file's tracks in-process: EBML header, Segment → SeekHead / Tracks / Chapters.

Only the header elements are read, never the media data: the top-level elements of the
Segment are walked up to the first Cluster (a few header reads), and a Tracks or Chapters
element stored after the Clusters is found through the SeekHead (also a SeekHead that
points at a second SeekHead, as mkvmerge writes them). Only a file without any SeekHead
is walked further, Cluster by Cluster, within the element budget. CRC-32 and Void
elements are skipped wherever they sit; a Segment or Cluster of unknown size (live
recordings) is handled.

The values follow the Matroska spec (and agree with ``mkvmerge -J``, which the tests check
on every file they generate): an absent FlagDefault is 1, an absent Language is ``eng``,
``LanguageBCP47`` wins over ``Language`` when present, absent flags are 0. ``track_id`` is
the track's position among all tracks, which is mkvmerge's track id and mkvpropedit's
``track:N`` minus one.

Blocking (file reads): the async dispatcher in ``probe.py`` calls it in a worker thread.
Every problem is a ``ProbeFailure`` value; nothing here raises for a bad file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from arrtheaudio_server.languages import normalize, parse_language
from arrtheaudio_server.media.ebml import (
    Budget,
    EbmlError,
    EbmlFile,
    Element,
    Limits,
    children,
    parse_header,
    text,
    uint,
)
from arrtheaudio_server.media.probe_types import ProbeFailure, ProbeInfo
from arrtheaudio_server.media.result import AudioTrack, Container, ReasonCode

EBML_HEADER, DOC_TYPE = 0x1A45DFA3, 0x4282
SEGMENT = 0x18538067
SEEK_HEAD, SEEK, SEEK_ID, SEEK_POSITION = 0x114D9B74, 0x4DBB, 0x53AB, 0x53AC
TRACKS, TRACK_ENTRY = 0x1654AE6B, 0xAE
CHAPTERS, EDITION_ENTRY, CHAPTER_ATOM = 0x1043A770, 0x45B9, 0xB6
CLUSTER = 0x1F43B675
VOID, CRC32 = 0xEC, 0xBF
# Children of a Cluster: an unknown-size Cluster ends where an element that is none of these starts.
CLUSTER_CHILDREN = {0xE7, 0x5854, 0xA7, 0xAB, 0xA3, 0xA0, 0xAF, VOID, CRC32}

TRACK_TYPE, TRACK_TYPE_AUDIO = 0x83, 2
FLAG_DEFAULT, FLAG_FORCED, FLAG_COMMENTARY = 0x88, 0x55AA, 0x55AF
FLAG_HEARING_IMPAIRED, FLAG_VISUAL_IMPAIRED, FLAG_ORIGINAL = 0x55AB, 0x55AC, 0x55AE
NAME, LANGUAGE, LANGUAGE_BCP47, CODEC_ID = 0x536E, 0x22B59C, 0x22B59D, 0x86
AUDIO, CHANNELS = 0xE1, 0x9F
_FLAGS = {
    FLAG_DEFAULT,
    FLAG_FORCED,
    FLAG_COMMENTARY,
    FLAG_HEARING_IMPAIRED,
    FLAG_VISUAL_IMPAIRED,
    FLAG_ORIGINAL,
}

MAX_SEEK_HEADS = 8  # SeekHeads followed per file (mkvmerge writes at most two)
_DOC_TYPES = {"matroska", "webm"}

# mkvmerge -J's codec names for the CodecIDs (the names the job result shows).
_CODEC_NAMES = {
    "A_AAC": "AAC",
    "A_AC3": "AC-3",
    "A_EAC3": "E-AC-3",
    "A_DTS": "DTS",
    "A_TRUEHD": "TrueHD",
    "A_MLP": "MLP",
    "A_FLAC": "FLAC",
    "A_OPUS": "Opus",
    "A_VORBIS": "Vorbis",
    "A_MPEG/L3": "MP3",
    "A_MPEG/L2": "MP2",
    "A_MPEG/L1": "MP2",
    "A_ALAC": "ALAC",
    "A_TTA1": "TTA",
    "A_WAVPACK4": "WavPack4",
}


def codec_name(codec_id: str | None) -> str | None:
    if not codec_id:
        return None
    if codec_id in _CODEC_NAMES:
        return _CODEC_NAMES[codec_id]
    if codec_id.startswith("A_AAC"):  # A_AAC/MPEG4/LC and friends
        return "AAC"
    if codec_id.startswith("A_PCM"):
        return "PCM"
    return codec_id


@dataclass
class _Found:
    """Where the elements we need are, as the walk and the SeekHeads find them."""

    tracks: Element | None = None
    chapters: Element | None = None
    seek_targets: list[tuple[int, int]] = field(default_factory=list)  # (element id, absolute offset)
    seek_heads_read: set[int] = field(default_factory=set)
    any_seek_head: bool = False
    unknown_size_cluster: bool = False


def _ietf_of(raw: str | None) -> str | None:
    lang = parse_language(raw)
    if lang is None or lang.region is None:
        return None
    return raw


def _doc_type(ebml: EbmlFile, header: Element) -> str:
    data = ebml.payload(header)
    for element in children(data, 0, len(data), ebml.budget):
        if element.id == DOC_TYPE:
            return text(data, element)
    return "matroska"  # the spec's default DocType


def _read_seek_head(ebml: EbmlFile, element: Element, segment_start: int, found: _Found) -> None:
    if element.offset in found.seek_heads_read:
        return  # a SeekHead pointing at itself or at one already read: no loop
    if len(found.seek_heads_read) >= MAX_SEEK_HEADS:
        raise EbmlError(f"more than {MAX_SEEK_HEADS} SeekHead elements")
    found.seek_heads_read.add(element.offset)
    found.any_seek_head = True
    data = ebml.payload(element)
    for seek in children(data, 0, len(data), ebml.budget):
        if seek.id != SEEK:
            continue
        target_id = position = None
        for item in children(data, seek.data_offset, seek.end, ebml.budget):
            if item.id == SEEK_ID and 1 <= item.size <= 4:
                target_id = int.from_bytes(data[item.data_offset : item.end], "big")
            elif item.id == SEEK_POSITION:
                position = uint(data, item)
        if target_id is not None and position is not None:
            found.seek_targets.append((target_id, segment_start + position))


def _note(ebml: EbmlFile, element: Element, segment_start: int, found: _Found) -> None:
    """Remember a top-level element of the Segment that we need (the first of each kind)."""
    if element.id == TRACKS and found.tracks is None:
        found.tracks = element
    elif element.id == CHAPTERS and found.chapters is None:
        found.chapters = element
    elif element.id == SEEK_HEAD:
        _read_seek_head(ebml, element, segment_start, found)


def _skip_unknown_cluster(ebml: EbmlFile, cluster: Element, segment_end: int) -> int:
    """Where an unknown-size Cluster ends: at the first element that cannot be its child."""
    pos = cluster.data_offset
    while pos < segment_end:
        element = ebml.header_at(pos, segment_end)
        if element.id not in CLUSTER_CHILDREN:
            return pos
        pos = element.end
    return pos


def _walk(
    ebml: EbmlFile, start: int, end: int, segment_start: int, found: _Found, *, past_clusters: bool
) -> int:
    """Walk top-level Segment elements from ``start``; stops at the first Cluster unless ``past_clusters``."""
    pos = start
    while pos < end:
        element = ebml.header_at(pos, end, unknown_ok=True)
        if element.id == CLUSTER:
            found.unknown_size_cluster |= element.size < 0
            if not past_clusters:
                return pos
            pos = _skip_unknown_cluster(ebml, element, end) if element.size < 0 else element.end
            continue
        if element.size < 0:
            raise EbmlError(f"element 0x{element.id:X} at {pos} has an unknown size where none is allowed")
        _note(ebml, element, segment_start, found)
        if found.tracks is not None and found.chapters is not None and past_clusters:
            return element.end
        pos = element.end
    return pos


def _follow_seeks(ebml: EbmlFile, segment_start: int, segment_end: int, found: _Found) -> None:
    """Read what the SeekHeads point at (Tracks, Chapters, further SeekHeads) until nothing new."""
    done = 0
    while done < len(found.seek_targets):
        target_id, offset = found.seek_targets[done]
        done += 1
        wanted = {
            TRACKS: found.tracks is None,
            CHAPTERS: found.chapters is None,
            SEEK_HEAD: offset not in found.seek_heads_read,
        }
        if not wanted.get(target_id, False):
            continue
        if not segment_start <= offset < segment_end:
            raise EbmlError(f"a SeekHead entry points outside the segment (to {offset})")
        element = ebml.header_at(offset, segment_end)
        if element.id != target_id:
            # Stale or overlapping: the entry points into the middle of something else.
            raise EbmlError(f"a SeekHead entry points at element 0x{element.id:X}, not 0x{target_id:X}")
        _note(ebml, element, segment_start, found)


def _audio_track(data: bytes, entry: Element, budget: Budget, index: int, track_id: int) -> AudioTrack:
    values: dict[int, int] = {}
    strings: dict[int, str] = {}
    channels: int | None = None
    for item in children(data, entry.data_offset, entry.end, budget):
        if item.id in _FLAGS:
            values[item.id] = uint(data, item)
        elif item.id in (NAME, LANGUAGE, LANGUAGE_BCP47, CODEC_ID):
            strings[item.id] = text(data, item)
        elif item.id == AUDIO:
            for sub in children(data, item.data_offset, item.end, budget):
                if sub.id == CHANNELS:
                    channels = uint(data, sub)
    bcp47 = strings.get(LANGUAGE_BCP47) or None
    legacy = strings.get(LANGUAGE) or "eng"  # the spec default when the element is absent
    return AudioTrack(
        index=index,
        track_id=track_id,
        language=normalize(bcp47) or normalize(legacy),
        ietf=_ietf_of(bcp47),
        title=strings.get(NAME) or None,
        codec=codec_name(strings.get(CODEC_ID)),
        channels=channels if channels is not None else 1,  # the spec default
        default=bool(values.get(FLAG_DEFAULT, 1)),
        forced=bool(values.get(FLAG_FORCED, 0)),
        commentary=bool(values.get(FLAG_COMMENTARY, 0)),
        visual_impaired=bool(values.get(FLAG_VISUAL_IMPAIRED, 0)),
        hearing_impaired=bool(values.get(FLAG_HEARING_IMPAIRED, 0)),
        original=bool(values.get(FLAG_ORIGINAL, 0)),
    )


def _tracks(ebml: EbmlFile, element: Element) -> tuple[list[AudioTrack], int]:
    data = ebml.payload(element)
    audio: list[AudioTrack] = []
    count = 0
    for entry in children(data, 0, len(data), ebml.budget):
        if entry.id != TRACK_ENTRY:
            continue  # CRC-32, Void
        track_type = None
        for item in children(data, entry.data_offset, entry.end, ebml.budget):
            if item.id == TRACK_TYPE:
                track_type = uint(data, item)
        if track_type == TRACK_TYPE_AUDIO:
            audio.append(_audio_track(data, entry, ebml.budget, len(audio), count))
        count += 1
    return audio, count


def _chapter_count(ebml: EbmlFile, element: Element | None) -> int:
    """Top-level ChapterAtoms over all editions (what mkvmerge -J reports as num_entries)."""
    if element is None:
        return 0
    data = ebml.payload(element)
    count = 0
    for edition in children(data, 0, len(data), ebml.budget):
        if edition.id == EDITION_ENTRY:
            count += sum(
                1
                for atom in children(data, edition.data_offset, edition.end, ebml.budget)
                if atom.id == CHAPTER_ATOM
            )
    return count


def _not_matroska(head: bytes) -> ProbeFailure:
    if head[4:8] == b"ftyp":
        return ProbeFailure(ReasonCode.UNSUPPORTED, "file content is MPEG-4, not MKV")
    return ProbeFailure(ReasonCode.CORRUPT, "not a recognizable media file (no EBML header)")


def _read(ebml: EbmlFile) -> ProbeInfo | ProbeFailure:
    header = ebml.header_at(0, ebml.size)
    doc_type = _doc_type(ebml, header)
    if doc_type not in _DOC_TYPES:
        return ProbeFailure(
            ReasonCode.UNSUPPORTED, f"file content is EBML of type {doc_type!r}, not Matroska"
        )
    pos = header.end
    while True:  # skip Void / CRC-32 between the EBML header and the Segment
        segment = ebml.header_at(pos, ebml.size, unknown_ok=True)
        if segment.id == SEGMENT:
            break
        if segment.id not in (VOID, CRC32) or segment.size < 0:
            raise EbmlError(f"expected the Segment at {pos}, found element 0x{segment.id:X}")
        pos = segment.end
    start = segment.data_offset
    if segment.size < 0:
        end = ebml.size
    elif segment.end > ebml.size:
        return ProbeFailure(
            ReasonCode.CORRUPT,
            f"the file is truncated (the segment declares {segment.size} bytes, the file ends at {ebml.size})",
        )
    else:
        end = segment.end

    found = _Found()
    stopped = _walk(ebml, start, end, start, found, past_clusters=False)
    _follow_seeks(ebml, start, end, found)
    if found.tracks is None and not found.any_seek_head and stopped < end:
        # No index at all: the headers may sit after the media data; walk on, within the budget.
        _walk(ebml, stopped, end, start, found, past_clusters=True)
    if found.tracks is None:
        return ProbeFailure(ReasonCode.CORRUPT, "not a valid Matroska file: no Tracks element")
    audio, count = _tracks(ebml, found.tracks)
    if count == 0:
        return ProbeFailure(ReasonCode.CORRUPT, "the file holds no readable streams")
    return ProbeInfo(
        container=Container.MKV,
        tracks=tuple(audio),
        stream_count=count,
        chapters=_chapter_count(ebml, found.chapters),
        not_editable=(
            "the file has Clusters of unknown size (a live recording), which mkvpropedit cannot edit; "
            "remux it once with mkvmerge"
            if found.unknown_size_cluster
            else None
        ),
    )


def read_mkv(path: Path, limits: Limits | None = None) -> ProbeInfo | ProbeFailure:
    """The audio tracks, stream count and chapter count of a Matroska file (blocking)."""
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size == 0:
                return ProbeFailure(ReasonCode.CORRUPT, "the file is empty (0 bytes)")
            head = handle.read(8)
            if parse_header_id(head) != EBML_HEADER:
                return _not_matroska(head)
            return _read(EbmlFile(handle, size, limits))
    except FileNotFoundError:
        return ProbeFailure(ReasonCode.NOT_FOUND, "the file does not exist")
    except PermissionError as exc:
        return ProbeFailure(ReasonCode.UNREADABLE, f"cannot read the file: {exc.strerror or exc}")
    except IsADirectoryError:
        return ProbeFailure(ReasonCode.UNSUPPORTED, "not a regular file")
    except EbmlError as exc:
        return ProbeFailure(ReasonCode.CORRUPT, f"not a valid Matroska file: {exc}")
    except OSError as exc:
        return ProbeFailure(ReasonCode.UNREADABLE, f"cannot read the file: {exc.strerror or exc}")


def parse_header_id(head: bytes) -> int | None:
    """The ID of the element at the start of ``head``, or None when it is not an element header."""
    try:
        return parse_header(head, 0).id
    except EbmlError:
        return None
