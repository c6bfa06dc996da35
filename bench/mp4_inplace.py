"""mp4-inplace: time of the in-place MP4 default change on a 2 GiB file vs a 2 MiB one, same run.

One real MP4 is made with ffmpeg (moov first, English default + Japanese), then copied
twice and each copy's ``mdat`` grown by a sparse hole — to ``--small-mib`` and to
``--big-mib`` — so both files have the very same index and differ only in size (moov
first, so no sample offset moves; ffprobe must read both). Each of ``--repeat`` rounds
(order alternating) times, per file, what the pipeline's in-place path does:
``read_mp4`` + ``set_default_in_place`` flipping the default to the other track (a real
change every time: two byte writes, fdatasync, fsync, mtime put back), and separately the
reader alone (the already-correct case). Disk use is measured as the files' ``st_blocks``
and the filesystem's free blocks before and after: an in-place edit allocates nothing.

    .venv/bin/python -m bench.mp4_inplace --big-mib 2048 --small-mib 2 --repeat 20
"""

from __future__ import annotations

import json
import os
import statistics
import struct
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._harness import base_parser, emit, run_quiet, say, target, workdir

TARGET_RATIO = 1.2
MIB = 1024 * 1024


def make_source(path: Path) -> Path:
    argv = ["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-y"]
    argv += ["-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=4"]
    argv += ["-f", "lavfi", "-i", "sine=frequency=300:duration=4"]
    argv += ["-f", "lavfi", "-i", "sine=frequency=500:duration=4"]
    argv += ["-map", "0:v", "-map", "1:a", "-map", "2:a", "-c:v", "libx264", "-preset", "ultrafast"]
    argv += [
        "-c:a",
        "aac",
        "-b:a",
        "64k",
        "-metadata:s:a:0",
        "language=eng",
        "-metadata:s:a:1",
        "language=jpn",
    ]
    argv += ["-disposition:a:0", "default", "-disposition:a:1", "0", "-movflags", "+faststart"]
    run_quiet([*argv, "-f", "mp4", str(path)])
    return path


def grow_sparse(src: Path, dst: Path, size: int) -> Path:
    """A copy of ``src`` whose last box (mdat, 32-bit size) reaches ``size`` bytes through a hole."""
    data = src.read_bytes()
    offset = 0
    last = (0, 0)
    while offset + 8 <= len(data):
        box_size, _kind = struct.unpack_from(">I4s", data, offset)
        last = (offset, box_size)
        if box_size < 8:
            raise RuntimeError("unexpected box layout")
        offset += box_size
    at, _ = last
    if data[at + 4 : at + 8] != b"mdat" or size - at >= 1 << 32 or size < len(data):
        raise RuntimeError("the last box must be a 32-bit mdat and the target size fit it")
    with dst.open("wb") as handle:
        handle.write(data[:at] + struct.pack(">I", size - at) + data[at + 4 :])
        handle.truncate(size)  # the rest is a hole: no blocks allocated
    return dst


def ffprobe_defaults(path: Path) -> tuple[int, list[int]]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-of", "json", "-show_streams", str(path)],
        capture_output=True,
        check=True,
    ).stdout
    streams = json.loads(out)["streams"]
    audio = [s for s in streams if s["codec_type"] == "audio"]
    return len(streams), [i for i, s in enumerate(audio) if s["disposition"]["default"]]


def time_change(path: Path, target_index: int) -> tuple[float, float]:
    """(wall, CPU) seconds of one read + in-place change; the wall time includes two flushes."""
    from arrtheaudio_server.media.mp4_inplace import set_default_in_place
    from arrtheaudio_server.media.mp4_read import Mp4Probe, read_mp4

    start, cpu = time.perf_counter(), time.process_time()
    probe = read_mp4(path)
    if not isinstance(probe, Mp4Probe) or probe.fallback_reason is not None:
        raise RuntimeError(f"not editable in place: {probe}")
    failure = set_default_in_place(path, probe, target_index)
    took, cpu_took = time.perf_counter() - start, time.process_time() - cpu
    if failure is not None:
        raise RuntimeError(failure.reason)
    return took, cpu_took


def time_read(path: Path) -> float:
    from arrtheaudio_server.media.mp4_read import read_mp4

    start = time.perf_counter()
    read_mp4(path)
    return time.perf_counter() - start


def free_bytes(directory: Path) -> int:
    st = os.statvfs(directory)
    return st.f_bfree * st.f_frsize


def main(argv: list[str] | None = None) -> int:
    parser = base_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--big-mib", type=float, default=2048.0)
    parser.add_argument("--small-mib", type=float, default=2.0)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.small_mib <= 0 or args.big_mib <= args.small_mib:
        parser.error("--repeat ≥ 1 and 0 < --small-mib < --big-mib")

    with workdir("mp4-inplace", keep=args.keep) as root:
        source = make_source(root / "source.mp4")
        files = {
            "small": grow_sparse(source, root / "small.mp4", int(args.small_mib * MIB)),
            "big": grow_sparse(source, root / "big.mp4", int(args.big_mib * MIB)),
        }
        streams = {name: ffprobe_defaults(path) for name, path in files.items()}
        if streams["small"] != streams["big"] or streams["big"][1] != [0]:
            raise RuntimeError(f"ffprobe does not read the grown files alike: {streams}")
        say(
            f"mp4-inplace: {source.stat().st_size / MIB:.2f} MiB of real media grown to "
            f"{args.small_mib:g} MiB and {args.big_mib:g} MiB (sparse), {args.repeat} round(s)"
        )
        blocks_before = {name: os.stat(path).st_blocks for name, path in files.items()}
        free_before = free_bytes(root)
        change: dict[str, list[float]] = {"small": [], "big": []}
        change_cpu: dict[str, list[float]] = {"small": [], "big": []}
        read: dict[str, list[float]] = {"small": [], "big": []}
        for index in range(args.repeat):
            order = ["small", "big"] if index % 2 == 0 else ["big", "small"]
            for name in order:
                wall, cpu = time_change(files[name], (index + 1) % 2)
                change[name].append(wall)
                change_cpu[name].append(cpu)
                read[name].append(time_read(files[name]))
        free_after = free_bytes(root)
        blocks_after = {name: os.stat(path).st_blocks for name, path in files.items()}
        final = {name: ffprobe_defaults(path) for name, path in files.items()}
        expected = [args.repeat % 2]
        if any(defaults != expected for _, defaults in final.values()):
            raise RuntimeError(f"after the rounds the defaults are {final}, expected {expected}")

        med = {f"change_{n}": statistics.median(v) for n, v in change.items()}
        med |= {f"change_cpu_{n}": statistics.median(v) for n, v in change_cpu.items()}
        med |= {f"read_{n}": statistics.median(v) for n, v in read.items()}
        ratio = med["change_big"] / med["change_small"]
        cpu_ratio = med["change_cpu_big"] / med["change_cpu_small"]
        read_ratio = med["read_big"] / med["read_small"]
        say(f"  {'what':<18} {'median ms':>10} {'min ms':>8} {'max ms':>8}")
        for key, values in (
            *((f"change_{n}", v) for n, v in change.items()),
            *((f"change_cpu_{n}", v) for n, v in change_cpu.items()),
            *((f"read_{n}", v) for n, v in read.items()),
        ):
            say(f"  {key:<18} {med[key] * 1000:10.3f} {min(values) * 1000:8.3f} {max(values) * 1000:8.3f}")
        say(
            f"  change big / small = {ratio:.3f}x (CPU {cpu_ratio:.3f}x); read big / small = {read_ratio:.3f}x"
        )
        extra_blocks = {n: blocks_after[n] - blocks_before[n] for n in files}
        say(
            f"  st_blocks change: {extra_blocks} (512-byte blocks); filesystem free bytes "
            f"{free_before - free_after:+d} during the rounds (a shared disk: other writers count too)"
        )
        results = {
            "bytes": {n: p.stat().st_size for n, p in files.items()},
            "allocated_bytes": {n: blocks_after[n] * 512 for n in files},
            "seconds": {
                **{f"change_{n}": [round(x, 6) for x in v] for n, v in change.items()},
                **{f"change_cpu_{n}": [round(x, 6) for x in v] for n, v in change_cpu.items()},
                **{f"read_{n}": [round(x, 6) for x in v] for n, v in read.items()},
            },
            "median_ms": {k: round(v * 1000, 3) for k, v in med.items()},
            "change_big_over_small": round(ratio, 4),
            "change_cpu_big_over_small": round(cpu_ratio, 4),
            "read_big_over_small": round(read_ratio, 4),
            "extra_st_blocks": extra_blocks,
            "fs_free_bytes_delta": free_before - free_after,
            "final_default": final["big"][1],
        }
        targets = [
            target(
                "in-place change 2 GiB / 2 MiB time", ratio, TARGET_RATIO, higher_is_better=False, unit="x"
            ),
            target(
                "extra disk (st_blocks) for the changes",
                float(sum(abs(b) for b in extra_blocks.values())),
                0.0,
                higher_is_better=False,
            ),
        ]
        params = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
        emit("mp4_inplace", params, results, targets)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
