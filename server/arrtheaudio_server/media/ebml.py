"""A small, bounded reader of EBML, the binary format Matroska is built on.

Why hand-written: the one maintained Python EBML library (``ebmlite``) reads whatever a
file declares — no limit on element count or nesting, no check that a child fits in its
parent, an unknown-size element is sized by walking the whole file, and EOF surfaces as a
``TypeError`` — so hostile files would need every bound below anyway. Matroska's track
headers need only a fraction of EBML: element headers, unsigned integers and strings.

Everything here is bounded: a header is at most 12 bytes, a master element is read into
memory only up to ``Limits.max_master_bytes``, every element visited counts against
``Limits.max_elements``, and every child must end inside its parent (and the file). There is
no recursion over nesting: the Matroska reader descends a fixed number of known levels. Any
violation is an ``EbmlError`` with a message that says what is wrong and where; callers
turn it into a ``corrupt`` result. Nothing here seeks outside ``[0, file size)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

UNKNOWN_SIZE = -1


class EbmlError(Exception):
    """The bytes are not well-formed EBML, or exceed a bound."""


@dataclass(frozen=True, slots=True)
class Limits:
    max_elements: int = 200_000  # element headers decoded per file, all levels together
    max_master_bytes: int = 16 * 1024 * 1024  # a master element (Tracks, Chapters, ...) read into memory


@dataclass(frozen=True, slots=True)
class Element:
    id: int
    offset: int  # where the element's header starts (absolute in the file or buffer)
    data_offset: int  # where its payload starts
    size: int  # payload size, or UNKNOWN_SIZE

    @property
    def end(self) -> int:
        if self.size == UNKNOWN_SIZE:
            raise EbmlError(f"element 0x{self.id:X} at {self.offset} has an unknown size")
        return self.data_offset + self.size


def _vint(buf: bytes | memoryview, pos: int, *, keep_marker: bool, base: int = 0) -> tuple[int, int]:
    """Decode the variable-length integer at ``pos``: (value, length in bytes).

    IDs keep their length marker (0x1A45DFA3 is the EBML ID as written); sizes drop it, and a
    size of all one bits means "unknown" (``UNKNOWN_SIZE``).
    """
    if pos >= len(buf):
        raise EbmlError("unexpected end of data in an element header")
    first = buf[pos]
    if first == 0:
        raise EbmlError(f"invalid variable-length integer at {base + pos} (first byte 0)")
    length = 9 - first.bit_length()  # 0b1xxxxxxx -> 1 ... 0b00000001 -> 8
    if pos + length > len(buf):
        raise EbmlError("unexpected end of data in an element header")
    value = int.from_bytes(buf[pos : pos + length], "big")
    if keep_marker:
        return value, length
    value &= (1 << (7 * length)) - 1
    if value == (1 << (7 * length)) - 1:
        return UNKNOWN_SIZE, length
    return value, length


def parse_header(buf: bytes | memoryview, pos: int, base: int = 0) -> Element:
    """The element header at ``pos`` of ``buf``; offsets in the result are ``base + pos``."""
    eid, id_len = _vint(buf, pos, keep_marker=True, base=base)
    if id_len > 4:
        raise EbmlError(f"element ID longer than 4 bytes at {base + pos}")
    size, size_len = _vint(buf, pos + id_len, keep_marker=False, base=base)
    return Element(eid, base + pos, base + pos + id_len + size_len, size)


class Budget:
    """Counts decoded element headers against ``Limits.max_elements`` (shared per file)."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.used = 0

    def spend(self) -> None:
        self.used += 1
        if self.used > self.limits.max_elements:
            raise EbmlError(f"more than {self.limits.max_elements} elements: refusing to read further")


class EbmlFile:
    """Bounded random access to one open file: element headers and master payloads."""

    def __init__(self, handle: BinaryIO, size: int, limits: Limits | None = None) -> None:
        self._handle = handle
        self.size = size
        self.limits = limits or Limits()
        self.budget = Budget(self.limits)

    def header_at(self, offset: int, parent_end: int, *, unknown_ok: bool = False) -> Element:
        """The element starting at ``offset``, which must end by ``parent_end``."""
        if not 0 <= offset < min(parent_end, self.size):
            raise EbmlError(f"element position {offset} is outside its parent (ends at {parent_end})")
        self.budget.spend()
        self._handle.seek(offset)
        raw = self._handle.read(12)
        try:
            element = parse_header(raw, 0, offset)
        except EbmlError as exc:
            if len(raw) < 12 and offset + len(raw) >= self.size:
                raise EbmlError(f"the file is truncated (an element header at {offset} is cut off)") from exc
            raise
        if element.size == UNKNOWN_SIZE:
            if not unknown_ok:
                raise EbmlError(
                    f"element 0x{element.id:X} at {offset} has an unknown size where none is allowed"
                )
        elif element.end > parent_end:
            if element.end > self.size and parent_end >= self.size:
                raise EbmlError(
                    f"the file is truncated (element 0x{element.id:X} at {offset} declares "
                    f"{element.size} bytes, the file ends at {self.size})"
                )
            raise EbmlError(
                f"element 0x{element.id:X} at {offset} ({element.size} bytes) overruns its parent "
                f"(ends at {parent_end})"
            )
        return element

    def payload(self, element: Element) -> bytes:
        """The whole payload of a (master) element, bounded by ``max_master_bytes``."""
        if element.size > self.limits.max_master_bytes:
            raise EbmlError(
                f"element 0x{element.id:X} at {element.offset} declares {element.size} bytes; "
                f"more than the {self.limits.max_master_bytes} a header element may have"
            )
        self._handle.seek(element.data_offset)
        data = self._handle.read(element.size)
        if len(data) != element.size:
            raise EbmlError(
                f"the file is truncated (element 0x{element.id:X} at {element.offset} is cut off)"
            )
        return data


def children(buf: bytes, start: int, end: int, budget: Budget) -> Iterator[Element]:
    """The child elements of an in-memory master payload ``buf[start:end]``, in order."""
    pos = start
    while pos < end:
        budget.spend()
        element = parse_header(buf, pos)
        if element.size == UNKNOWN_SIZE:
            raise EbmlError(f"element 0x{element.id:X} at {pos} has an unknown size inside a header element")
        if element.end > end:
            raise EbmlError(f"element 0x{element.id:X} at {pos} overruns its parent (ends at {end})")
        yield element
        pos = element.end


def uint(buf: bytes, element: Element) -> int:
    if element.size > 8:
        raise EbmlError(f"unsigned integer element 0x{element.id:X} is {element.size} bytes long")
    return int.from_bytes(buf[element.data_offset : element.end], "big")


def text(buf: bytes, element: Element) -> str:
    """A string or UTF-8 element; NUL padding is dropped, undecodable bytes are replaced."""
    raw = buf[element.data_offset : element.end].split(b"\0", 1)[0]
    return raw.decode("utf-8", errors="replace")
