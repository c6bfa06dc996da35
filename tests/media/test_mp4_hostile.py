"""The MP4 reader (and writer) on hostile files: hand-made ones — absurd declared sizes,
boxes that would loop or overlap, truncation at every box boundary, garbage, a zip bomb of
a compressed index, a flood of tiny boxes — and hypothesis-mutated real files. Every one
gives a ``ProbeFailure`` (corrupt) or a consistent probe quickly: never a hang, a crash or a
traceback, and the file is never changed by reading it."""

from __future__ import annotations

import os
import struct
import tempfile
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arrtheaudio_server.media import mp4_boxes
from arrtheaudio_server.media.mp4_inplace import set_default_in_place
from arrtheaudio_server.media.mp4_read import Mp4Probe, read_mp4
from arrtheaudio_server.media.probe_types import ProbeFailure
from arrtheaudio_server.media.result import ReasonCode
from arrtheaudio_server.media.write import WriteFailure
from tests.support.mp4_files import Node, parse

Mp4 = Callable[[str], Path]
pytestmark = pytest.mark.timeout(300)


def _read(path: Path) -> Mp4Probe | ProbeFailure:
    before = (path.read_bytes(), os.stat(path).st_mtime_ns)
    result = read_mp4(path)
    assert (path.read_bytes(), os.stat(path).st_mtime_ns) == before, "reading changed the file"
    assert isinstance(result, Mp4Probe | ProbeFailure)
    return result


def _corrupt(path: Path, *words: str) -> str:
    result = _read(path)
    assert isinstance(result, ProbeFailure), result
    assert result.reason_code is ReasonCode.CORRUPT, result
    for word in words:
        assert word in result.reason, result.reason
    return result.reason


def _corrupt_or_fallback(path: Path) -> None:
    result = _read(path)
    if isinstance(result, ProbeFailure):
        assert result.reason_code is ReasonCode.CORRUPT, result
    else:
        assert result.fallback_reason and "don't add up" in result.fallback_reason, result


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _ftyp() -> bytes:
    return struct.pack(">I4s4sI4s", 20, b"ftyp", b"isom", 512, b"isom")


def test_absurd_top_level_sizes(tmp_path: Path, mp4: Mp4) -> None:
    data = mp4("faststart.mp4").read_bytes()
    cases = {
        "huge32": struct.pack(">I", 0xFFFFFFFF) + data[4:],
        "huge64": struct.pack(">I4sQ", 1, b"ftyp", 1 << 63) + data[16:],
        "below_header": struct.pack(">I", 4) + data[4:],
        "64bit_below_header": struct.pack(">I4sQ", 1, b"ftyp", 12) + data[16:],
    }
    for name, payload in cases.items():
        _corrupt(_write(tmp_path, f"{name}.mp4", payload))
    _corrupt(
        _write(tmp_path, "cut64.mp4", _ftyp() + struct.pack(">I4s", 1, b"mdat") + b"\x00\x00"), "cut off"
    )


def test_garbage_and_other_formats(tmp_path: Path, media_library: Path) -> None:
    _corrupt(_write(tmp_path, "zeros.mp4", bytes(4096)), "not an MP4 box")
    _corrupt(_write(tmp_path, "text.mp4", b"this is not a movie at all, just text\n" * 50))
    _corrupt(_write(tmp_path, "binary.mp4", bytes(range(256)) * 16))
    _corrupt(_write(tmp_path, "tiny.mp4", b"\x00\x00"), "no movie index")
    _corrupt(_write(tmp_path, "ftyp_only.mp4", _ftyp()), "no movie index")
    _corrupt(_write(tmp_path, "empty_moov.mp4", _ftyp() + struct.pack(">I4s", 8, b"moov")), "no trak")
    mkv = _read(media_library / "multi.mkv")
    assert isinstance(mkv, ProbeFailure) and mkv.reason_code is ReasonCode.UNSUPPORTED


def test_truncated_at_every_box_boundary_and_inside(tmp_path: Path, mp4: Mp4) -> None:
    for name in ("moov_last.mp4", "faststart.mp4", "fragmented.mp4"):
        data = mp4(name).read_bytes()
        boxes = parse(data)
        moov_end = next(n.offset + n.size for n in boxes if n.type == b"moov")
        whole = {n.offset for n in boxes if n.offset >= moov_end}  # e.g. a fragmented file minus fragments
        cuts = {n.offset + d for n in boxes for d in (0, 4, 8, 12)} | set(range(1, len(data), 997))
        for cut in sorted(c for c in cuts if 0 < c < len(data)):
            path = _write(tmp_path, "cut.mp4", data[:cut])
            if cut in whole:
                assert isinstance(_read(path), Mp4Probe), (name, cut)  # a shorter, complete file
            elif any(0 < cut - start < 8 for start in whole):
                # Under 8 bytes after the last whole box: padding to ffmpeg and to the reader.
                assert isinstance(_read(path), Mp4Probe), (name, cut)
            else:
                assert isinstance(_read(path), ProbeFailure), (name, cut)
                _corrupt(path)


def _patch_size(data: bytes, node: Node, size: int) -> bytes:
    out = bytearray(data)
    struct.pack_into(">I", out, node.offset, size)
    return bytes(out)


def test_children_that_overrun_their_parent(tmp_path: Path, mp4: Mp4) -> None:
    """A child reaching past its parent is clamped, as FFmpeg does; never edited in place."""
    data = mp4("moov_last.mp4").read_bytes()
    moov = parse(data)[-1]
    trak = moov.all(b"trak")[1]
    tkhd = trak.find(b"tkhd")
    mdia = trak.find(b"mdia")
    assert tkhd is not None and mdia is not None
    for node in (trak, tkhd, mdia, mdia.find(b"mdhd"), moov.find(b"mvhd")):
        assert node is not None
        for size in (0xFFFFFFF0, node.header + 1, 9):
            _corrupt_or_fallback(_write(tmp_path, "overrun.mp4", _patch_size(data, node, size)))
    # A moov that claims more than the file: truncated.
    _corrupt(_write(tmp_path, "moov.mp4", _patch_size(data, moov, len(data))), "truncated")


def test_size_zero_inside_a_parent_runs_to_its_end(tmp_path: Path, mp4: Mp4) -> None:
    data = mp4("moov_last.mp4").read_bytes()
    moov = parse(data)[-1]
    last_trak = moov.all(b"trak")[-1]
    result = _read(_write(tmp_path, "zero.mp4", _patch_size(data, last_trak, 0)))
    assert isinstance(result, Mp4Probe | ProbeFailure)


def test_box_count_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    many = _ftyp() + struct.pack(">I4s", 8, b"free") * 5000
    monkeypatch.setattr(mp4_boxes, "MAX_BOXES", 1000)
    _corrupt(_write(tmp_path, "many.mp4", many), "too many boxes")


def test_a_flood_of_tiny_boxes_ends_at_the_real_cap(tmp_path: Path) -> None:
    """The real bound: MAX_BOXES + 1 eight-byte boxes (1.6 MB). The timeout marker is the hang guard."""
    path = tmp_path / "flood.mp4"
    with path.open("wb") as handle:
        handle.write(_ftyp())
        handle.write(struct.pack(">I4s", 8, b"free") * (mp4_boxes.MAX_BOXES + 1))
    _corrupt(path, "too many boxes")


def test_compressed_index_bomb(tmp_path: Path, mp4: Mp4) -> None:
    bomb = zlib.compress(bytes(200 * 1024 * 1024), 9)
    cmov = Node(
        b"cmov",
        children=[Node(b"dcom", body=b"zlib"), Node(b"cmvd", body=struct.pack(">I", 1 << 30) + bomb)],
    )
    data = mp4("moov_last.mp4").read_bytes()
    moov = parse(data)[-1]
    path = _write(tmp_path, "bomb.mp4", data[: moov.offset] + Node(b"moov", children=[cmov]).serialize())
    _corrupt(path, "inflates to more than")
    garbage = Node(
        b"cmov", children=[Node(b"dcom", body=b"zlib"), Node(b"cmvd", body=b"\x00\x00\x00\x10nonsense")]
    )
    _corrupt(_write(tmp_path, "bad.mp4", data[: moov.offset] + Node(b"moov", children=[garbage]).serialize()))
    other = Node(b"cmov", children=[Node(b"dcom", body=b"lzma"), Node(b"cmvd", body=b"\x00\x00\x00\x10")])
    _corrupt(_write(tmp_path, "lzma.mp4", data[: moov.offset] + Node(b"moov", children=[other]).serialize()))


def test_oversized_small_boxes_are_refused(tmp_path: Path, mp4: Mp4) -> None:
    """A tkhd/name/kind claiming megabytes is not read into memory."""
    data = mp4("moov_last.mp4").read_bytes()
    moov = parse(data)[-1]
    trak = moov.all(b"trak")[3]  # the Italian track, which has no title yet
    assert trak.children is not None and trak.find(b"udta") is None
    trak.children.append(Node(b"udta", children=[Node(b"name", body=b"x" * (128 * 1024))]))
    path = _write(tmp_path, "bigname.mp4", data[: moov.offset] + moov.serialize())
    _corrupt(path, "limit")


# --- hypothesis: mutated real files -------------------------------------------------------

_SIZES = st.sampled_from([0, 1, 7, 8, 9, 16, 0x7FFFFFFF, 0xFFFFFFFF]) | st.integers(0, (1 << 32) - 1)


@pytest.fixture(scope="module")
def seeds(mp4_library: Path) -> list[bytes]:
    return [
        (mp4_library / name).read_bytes() for name in ("moov_last.mp4", "faststart.mp4", "fragmented.mp4")
    ]


def _check(data: bytes) -> None:
    with tempfile.TemporaryDirectory(prefix="mp4-fuzz-") as scratch:
        path = Path(scratch) / "fuzz.mp4"
        path.write_bytes(data)
        result = _read(path)
        if isinstance(result, ProbeFailure):
            assert result.reason_code in (ReasonCode.CORRUPT, ReasonCode.UNSUPPORTED), result
            return
        info = result.info
        assert info.stream_count >= len(info.tracks)
        assert [t.index for t in info.tracks] == list(range(len(info.tracks)))
        if result.fallback_reason is not None or not info.tracks:
            return
        target = len(info.tracks) - 1
        outcome = set_default_in_place(path, result, target)
        assert outcome is None or isinstance(outcome, WriteFailure)
        after = _read(path)
        if outcome is None and isinstance(after, Mp4Probe):
            assert after.info.default_indexes == [target]


@settings(max_examples=300, deadline=5000, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2),
    flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), max_size=24),
)
def test_fuzz_byte_flips(seeds: list[bytes], seed: int, flips: list[tuple[float, int]]) -> None:
    data = bytearray(seeds[seed])
    moov = next(n for n in parse(bytes(data)) if n.type == b"moov")
    for where, value in flips:  # mostly inside the movie index, where the structure is
        data[moov.offset + int(where * moov.size)] = value
    _check(bytes(data))


@settings(max_examples=300, deadline=5000, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2), which=st.lists(st.tuples(st.integers(0, 10_000), _SIZES), min_size=1, max_size=6)
)
def test_fuzz_box_sizes(seeds: list[bytes], seed: int, which: list[tuple[int, int]]) -> None:
    """Rewrite the size field of random boxes (any depth) with hostile values."""
    data = bytearray(seeds[seed])
    headers: list[int] = []

    def collect(nodes: list[Node]) -> None:
        for node in nodes:
            headers.append(node.offset)
            collect(node.children or [])

    collect(parse(bytes(data)))
    for pick, size in which:
        struct.pack_into(">I", data, headers[pick % len(headers)], size)
    _check(bytes(data))


@settings(max_examples=200, deadline=5000, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2),
    cut=st.floats(0, 1),
    insert=st.binary(max_size=64),
    at=st.floats(0, 1),
)
def test_fuzz_truncate_and_insert(
    seeds: list[bytes], seed: int, cut: float, insert: bytes, at: float
) -> None:
    data = seeds[seed]
    pos = int(at * len(data))
    data = data[:pos] + insert + data[pos:]
    _check(data[: max(1, int(cut * len(data)))] if cut < 1 else data)


@pytest.mark.parametrize("body_size", [4, 84, 200])
def test_unknown_tkhd_version_is_a_fallback_or_corrupt_never_a_crash(
    tmp_path: Path, mp4: Mp4, body_size: int
) -> None:
    data = mp4("moov_last.mp4").read_bytes()
    moov = parse(data)[-1]
    trak = moov.all(b"trak")[2]
    tkhd = trak.find(b"tkhd")
    assert tkhd is not None
    tkhd.body = (b"\x02" + tkhd.body[1:] + bytes(200))[:body_size]
    path = _write(tmp_path, "v2.mp4", data[: moov.offset] + moov.serialize())
    result = _read(path)
    assert isinstance(result, Mp4Probe), result
    assert result.fallback_reason is not None and "tkhd of version 2" in result.fallback_reason
    assert result.info.tracks[1].alternate_group is None
    assert result.layout is None
