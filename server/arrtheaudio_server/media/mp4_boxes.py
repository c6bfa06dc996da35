"""A small, bounded ISO BMFF (MP4/QuickTime) box walker.

Why hand-written (see README's libraries table): the in-place writer needs the exact byte
offset of every audio track's tkhd flags and alternate_group, and the walker must stay
bounded on hostile files. ``mutagen``'s atom reader parses the whole tree (every ``moof``
fragment too) without a box-count or depth limit and does not check that children fit their
parent; PyAV (FFmpeg) reports dispositions but no offsets. What is needed here is only box
headers plus a few small boxes, so the parser stays small.

Bounds, all enforced here:

* every header is read with ``os.pread`` (16 bytes); box bodies are never read unless the
  caller asks for a small one, and ``read_body`` refuses any body above its ``limit``;
* a box smaller than its header, a top-level box reaching past the end of the file, and
  more than ``MAX_BOXES`` headers in one walk are ``Corrupt``;
* boxes are visited strictly forward (a size is at least its header) and children only
  inside their parent, so loops and overlaps cannot happen; a child that claims to reach
  past its parent is clamped to it (as FFmpeg's demuxer does) and recorded in ``problems``
  so the caller can refuse to edit such a layout in place;
* nesting beyond ``MAX_DEPTH`` is ``Corrupt``.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

MAX_BOXES = 200_000  # headers per file: a 3-hour film in 1 s fragments has ~22,000 top-level boxes
MAX_DEPTH = 12
_PRINTABLE = frozenset(range(0x20, 0x7F)) | {0xA9}  # QuickTime uses the © sign (0xA9) in types


class Corrupt(Exception):
    """The file is not a consistent box tree; ``str(exc)`` says where and why."""


@dataclass(frozen=True, slots=True)
class Box:
    type: bytes
    offset: int  # absolute offset of the box's first header byte
    header: int  # 8, or 16 with a 64-bit size (plus 16 for a 'uuid' user type)
    size: int  # whole box, header included (a size-0 box: to the end of its parent)

    @property
    def body(self) -> int:
        return self.offset + self.header

    @property
    def end(self) -> int:
        return self.offset + self.size

    @property
    def body_size(self) -> int:
        return self.size - self.header

    @property
    def name(self) -> str:
        return self.type.decode("latin-1")


@dataclass(slots=True)
class Budget:
    """Counts headers read across one whole walk of one file."""

    remaining: int = field(default_factory=lambda: MAX_BOXES)
    problems: list[str] = field(default_factory=list)

    def take(self) -> None:
        self.remaining -= 1
        if self.remaining < 0:
            raise Corrupt("too many boxes (more than any real MP4 holds)")


class Source:
    """Positional reads over an open file descriptor or an in-memory buffer (decompressed cmov)."""

    def __init__(self, *, fd: int | None = None, data: bytes | None = None, size: int) -> None:
        self._fd = fd
        self._data = data
        self.size = size

    def read(self, offset: int, length: int) -> bytes:
        if offset < 0 or length < 0 or offset + length > self.size:
            raise Corrupt(f"read of {length} bytes at {offset} past the end ({self.size})")
        if self._data is not None:
            return self._data[offset : offset + length]
        assert self._fd is not None
        chunks: list[bytes] = []
        got = 0
        while got < length:
            chunk = os.pread(self._fd, length - got, offset + got)
            if not chunk:
                raise Corrupt(f"the file ended at {offset + got} while reading (was it truncated?)")
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)


def _type_ok(box_type: bytes) -> bool:
    return all(byte in _PRINTABLE for byte in box_type)


def iter_boxes(
    src: Source,
    start: int,
    end: int,
    budget: Budget,
    *,
    depth: int,
    parent: str = "file",
) -> Iterator[Box]:
    """The boxes in ``[start, end)``, in order; ``depth`` 0 is the top level of the file."""
    if depth > MAX_DEPTH:
        raise Corrupt(f"boxes nested deeper than {MAX_DEPTH} levels")
    offset = start
    while end - offset >= 8:
        budget.take()
        head = src.read(offset, min(16, end - offset))
        size, box_type = struct.unpack_from(">I4s", head)
        header = 8
        if size == 1:
            if len(head) < 16:
                raise Corrupt(f"box '{box_type.decode('latin-1')}' at {offset}: 64-bit size cut off")
            size = struct.unpack_from(">Q", head, 8)[0]
            header = 16
        elif size == 0:
            size = end - offset  # "to the end": of the file at the top level, of the parent inside
        if box_type == b"uuid":
            header += 16
        label = box_type.decode("latin-1")
        if depth == 0 and not _type_ok(box_type):
            raise Corrupt(f"not an MP4 box at {offset} (type bytes {box_type!r})")
        if size < header:
            raise Corrupt(f"box '{label}' at {offset} declares {size} bytes, less than its header")
        if offset + size > end:
            if depth == 0:
                raise Corrupt(
                    f"box '{label}' at {offset} declares {size} bytes but the file ends at {end} (truncated?)"
                )
            budget.problems.append(
                f"box '{label}' at {offset} declares {size} bytes, past the end of its '{parent}' at {end}"
            )
            size = end - offset
            if size < header:
                raise Corrupt(f"box '{label}' at {offset} is cut off by its '{parent}'")
        yield Box(type=box_type, offset=offset, header=header, size=size)
        offset += size
    # Fewer than 8 bytes left inside a parent: QuickTime's 4-byte zero terminator, or padding.


def children(src: Source, box: Box, budget: Budget, *, depth: int, skip: int = 0) -> Iterator[Box]:
    """The boxes inside ``box`` (``skip``: bytes before the first child, e.g. a FullBox header)."""
    return iter_boxes(src, box.body + skip, box.end, budget, depth=depth, parent=box.name)


def read_body(src: Source, box: Box, *, limit: int, at_least: int = 0) -> bytes:
    """The body of a small box; ``Corrupt`` when it is larger than ``limit`` or shorter than ``at_least``."""
    if box.body_size > limit:
        raise Corrupt(f"box '{box.name}' at {box.offset} declares {box.body_size} bytes (limit {limit})")
    if box.body_size < at_least:
        raise Corrupt(f"box '{box.name}' at {box.offset} is {box.body_size} bytes, needs {at_least}")
    return src.read(box.body, box.body_size)
