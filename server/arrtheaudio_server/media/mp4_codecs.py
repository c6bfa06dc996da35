"""Codec name and channel count of an MP4 audio sample entry (the first entry of ``stsd``).

Names are the ones ``mkvmerge -J`` uses for the same codecs ("AAC", "AC-3", "E-AC-3",
"Opus", ...), so a track reads the same whichever container carries it. Channel counts
come from the codec configuration where the sample entry's own field is unreliable:
ISO muxers may write 2 there for any AAC layout, so the esds AudioSpecificConfig, dac3,
dec3, dOps, dfLa and alac boxes win when present. Everything is parsed from the bytes of
one bounded ``stsd`` body; a malformed configuration falls back to the entry's fields
rather than failing the file (FFmpeg, the reference, plays such files too).
"""

from __future__ import annotations

import struct

from arrtheaudio_server.media.mp4_boxes import Budget, Corrupt, Source, iter_boxes

_FOURCC_NAMES = {
    b"mp4a": "AAC",
    b"ac-3": "AC-3",
    b"sac3": "AC-3",
    b"ec-3": "E-AC-3",
    b"ac-4": "AC-4",
    b"Opus": "Opus",
    b"fLaC": "FLAC",
    b"alac": "ALAC",
    b"dtsc": "DTS",
    b"dtsh": "DTS",
    b"dtsl": "DTS",
    b"dtse": "DTS",
    b"dtsx": "DTS",
    b"mlpa": "TrueHD",
    b".mp3": "MP3",
    b".mp2": "MP2",
    b"lpcm": "PCM",
    b"sowt": "PCM",
    b"twos": "PCM",
    b"ipcm": "PCM",
    b"fpcm": "PCM",
    b"in24": "PCM",
    b"in32": "PCM",
    b"fl32": "PCM",
    b"fl64": "PCM",
}

# MPEG-4 objectTypeIndication (esds) -> name; mp4a entries carry more than AAC.
_OBJECT_TYPES = {
    0x40: "AAC",
    0x66: "AAC",
    0x67: "AAC",
    0x68: "AAC",
    0x69: "MP3",
    0x6B: "MP3",
    0xA5: "AC-3",
    0xA6: "E-AC-3",
    0xA9: "DTS",
    0xAD: "Opus",
    0xDD: "Vorbis",
}

# AudioSpecificConfig channelConfiguration -> channels (ISO/IEC 14496-3, 0 = in the PCE).
_AAC_CHANNELS = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 7: 8, 11: 7, 12: 8, 13: 24, 14: 8}
# AC-3 acmod -> full-bandwidth channels (ETSI TS 102 366 table 4.3).
_AC3_CHANNELS = (2, 1, 2, 3, 3, 4, 4, 5)


class _Bits:
    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def read(self, count: int) -> int:
        value = 0
        for _ in range(count):
            byte = self._pos >> 3
            if byte >= len(self._data):
                raise Corrupt("bit field runs past its box")
            value = (value << 1) | ((self._data[byte] >> (7 - (self._pos & 7))) & 1)
            self._pos += 1
        return value


def _descriptor(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, body start, body end) of the MPEG-4 descriptor at ``pos``."""
    if pos >= len(data):
        raise Corrupt("descriptor missing")
    tag = data[pos]
    pos += 1
    length = 0
    for _ in range(4):  # the expandable size: at most four 7-bit groups
        if pos >= len(data):
            raise Corrupt("descriptor size cut off")
        byte = data[pos]
        pos += 1
        length = (length << 7) | (byte & 0x7F)
        if not byte & 0x80:
            break
    return tag, pos, min(len(data), pos + length)


def _esds(body: bytes) -> tuple[str | None, int | None]:
    """(codec name, channels) from an esds body (after its FullBox header)."""
    tag, pos, end = _descriptor(body, 4)
    if tag != 0x03:
        raise Corrupt("esds without an ES_Descriptor")
    if pos + 3 > end:
        raise Corrupt("ES_Descriptor cut off")
    flags = body[pos + 2]
    pos += 3
    if flags & 0x80:
        pos += 2
    if flags & 0x40:
        pos += 1 + (body[pos] if pos < end else 0)
    if flags & 0x20:
        pos += 2
    tag, pos, end = _descriptor(body, pos)
    if tag != 0x04 or pos + 13 > end:
        raise Corrupt("esds without a DecoderConfigDescriptor")
    name = _OBJECT_TYPES.get(body[pos])
    if name != "AAC":
        return name, None
    pos += 13
    if pos >= end:
        return name, None
    tag, pos, asc_end = _descriptor(body, pos)
    if tag != 0x05:
        return name, None
    bits = _Bits(body[pos:asc_end])
    object_type = bits.read(5)
    if object_type == 31:
        object_type = 32 + bits.read(6)
    if bits.read(4) == 15:
        bits.read(24)
    channels = _AAC_CHANNELS.get(bits.read(4))
    if object_type == 29 and channels == 1:
        channels = 2  # HE-AAC v2: parametric stereo turns the mono core into two channels
    return name, channels


def _dac3(body: bytes) -> int:
    bits = _Bits(body)
    bits.read(2 + 5 + 3)  # fscod, bsid, bsmod
    acmod = bits.read(3)
    return _AC3_CHANNELS[acmod] + bits.read(1)


def _dec3(body: bytes) -> int:
    bits = _Bits(body)
    bits.read(13 + 3)  # data_rate, num_ind_sub
    bits.read(2 + 5 + 1 + 1 + 3)  # fscod, bsid, reserved, asvc, bsmod of the first substream
    acmod = bits.read(3)
    return _AC3_CHANNELS[acmod] + bits.read(1)


def _config_box(kind: bytes, body: bytes) -> tuple[str | None, int | None]:
    if kind == b"esds":
        return _esds(body)
    if kind == b"dac3":
        return None, _dac3(body)
    if kind == b"dec3":
        return None, _dec3(body)
    if kind == b"dOps" and len(body) >= 2:
        return None, body[1] or None
    if kind == b"dfLa" and len(body) >= 4 + 4 + 13:
        return None, ((body[4 + 4 + 12] >> 1) & 0x07) + 1  # STREAMINFO's channels - 1
    if kind == b"alac" and len(body) >= 4 + 10:
        return None, body[4 + 9] or None
    return None, None


def sample_entry(entry_type: bytes, body: bytes) -> tuple[str, int | None]:
    """(codec, channels) of one audio sample entry given its type and body bytes."""
    codec = _FOURCC_NAMES.get(entry_type) or entry_type.decode("latin-1").strip() or "unknown"
    if len(body) < 28:
        return codec, None
    version = struct.unpack_from(">H", body, 8)[0]
    channels: int | None = struct.unpack_from(">H", body, 16)[0] or None
    start = 28
    if version == 1:
        start = 44
    elif version == 2 and len(body) >= 44:
        start = 64
        channels = struct.unpack_from(">I", body, 40)[0] or None
    if channels is not None and channels > 64:
        channels = None  # an absurd count is no count
    src = Source(data=body, size=len(body))
    budget = Budget(remaining=256)
    try:
        for box in iter_boxes(src, min(start, len(body)), len(body), budget, depth=1, parent="entry"):
            kind = box.type
            inner = src.read(box.body, box.body_size)
            if kind == b"wave":  # QuickTime wraps the esds of an mp4a entry in a 'wave' box
                for sub in iter_boxes(src, box.body, box.end, budget, depth=2, parent="wave"):
                    if sub.type == b"esds":
                        kind, inner = b"esds", src.read(sub.body, sub.body_size)
                        break
            name, count = _config_box(kind, inner)
            if name is not None and entry_type == b"mp4a":
                codec = name
            if count is not None:
                channels = count
                break
            if name is not None:
                break
    except (Corrupt, IndexError, struct.error):
        pass  # a broken codec configuration leaves the entry's own fields
    return codec, channels
