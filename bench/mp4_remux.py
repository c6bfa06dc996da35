"""mp4-remux: MB/s of the service's MP4 path on a ~200 MB file vs ``cp`` of the same file, same run.

One MP4 of ``--size-mb`` (lossless noise video, so it is big without a long encode;
English default + Japanese audio, so the Japanese track must become the default) is
made once. Each of ``--repeat`` rounds (order rotated) times, on fresh copies:

* ``cp`` of the file (page cache only, no fsync) — the target's yardstick;
* ``cp`` + fsync of the copy — the same durability the MP4 writer pays for its temp file;
* the bare remux: the pipeline's own ffmpeg command line (``media.mp4.remux_args``);
* the service: a one-file ``StartBatch`` on the real server, watched until final. MB/s is
  taken from the job's own ``duration_ms`` (read, remux, fsync, verify, rename) and, for
  the whole trip, from the wall time StartBatch → final event.

    .venv/bin/python -m bench.mp4_remux --size-mb 200
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._harness import (
    base_parser,
    emit,
    profiled,
    run_quiet,
    running_stack,
    say,
    target,
    workdir,
)

TARGET_RATIO = 0.5
MB = 1024 * 1024
_BYTES_PER_SECOND = 11.5 * MB  # what the generator below writes per second of video (measured)


def make_big_mp4(path: Path, size_mb: float) -> Path:
    seconds = max(0.4, size_mb * MB / _BYTES_PER_SECOND)
    run_quiet(
        [
            "ffmpeg",
            "-hide_banner",
            "-nostdin",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size=640x360:rate=25:duration={seconds:.2f}",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency=300:duration={seconds:.2f}",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency=500:duration={seconds:.2f}",
            "-map",
            "0:v",
            "-map",
            "1:a",
            "-map",
            "2:a",
            "-vf",
            "noise=alls=80:allf=t",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-qp",
            "0",
            "-c:a",
            "aac",
            "-b:a",
            "64k",
            "-metadata:s:a:0",
            "language=eng",
            "-metadata:s:a:1",
            "language=jpn",
            "-disposition:a:0",
            "default",
            "-disposition:a:1",
            "0",
            "-movflags",
            "+faststart",
            "-f",
            "mp4",
            str(path),
        ]
    )
    return path


def time_cp(src: Path, dst: Path, *, fsync: bool) -> float:
    start = time.perf_counter()
    subprocess.run(["cp", str(src), str(dst)], check=True)
    if fsync:
        fd = os.open(dst, os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)
    took = time.perf_counter() - start
    dst.unlink()
    return took


def time_bare_remux(src: Path, dst: Path) -> float:
    import asyncio

    from arrtheaudio_server.media.mp4 import remux_args
    from arrtheaudio_server.media.probe import probe
    from arrtheaudio_server.media.result import Container

    info = asyncio.run(probe(src, Container.MP4))
    assert not hasattr(info, "reason_code"), info
    target_index = [t.language for t in info.tracks].index("jpn")  # type: ignore[union-attr]
    argv = remux_args(src, dst, info, target_index)  # type: ignore[arg-type]
    start = time.perf_counter()
    run_quiet(argv)
    took = time.perf_counter() - start
    dst.unlink()
    return took


def time_service(stack: Any, directory: Path) -> tuple[float, float, str]:
    with stack.client(timeout=600) as client:
        start = time.perf_counter()
        reply = client.start_batch(str(directory))
        final = None
        for event in client.watch_batch(reply.batch_id, timeout=600):
            if event.final:
                final = event.batch
                break
        wall = time.perf_counter() - start
    row = stack.query(f"SELECT reason_code, duration_ms FROM jobs WHERE batch_id = '{reply.batch_id}'")
    if final is None or len(row) != 1:
        raise RuntimeError(f"the one-file batch did not finish: {final} {row}")
    code, duration_ms = row[0]
    return wall, int(duration_ms) / 1000, str(code)


def main(argv: list[str] | None = None) -> int:
    parser = base_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=float, default=200.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args(argv)
    if args.size_mb <= 0 or args.repeat < 1:
        parser.error("--size-mb must be > 0 and --repeat ≥ 1")

    with workdir("mp4-remux", keep=args.keep) as root:
        template = make_big_mp4(root / "source.mp4", args.size_mb)
        size = template.stat().st_size
        say(f"mp4-remux: {size / MB:.1f} MB file, {args.repeat} round(s), {args.db}")
        with running_stack(root, workers=1, db=args.db) as stack:
            times: dict[str, list[float]] = {
                "cp": [],
                "cp_fsync": [],
                "bare_remux": [],
                "service_job": [],
                "service_wall": [],
            }
            codes = []
            scratch = stack.media_root / "scratch"
            scratch.mkdir()
            kinds = ["cp", "cp_fsync", "bare_remux", "service"]
            with profiled(stack.server.process.pid, args.profile, "mp4_remux"):  # type: ignore[union-attr]
                for index in range(args.repeat):
                    for kind in kinds[index % len(kinds) :] + kinds[: index % len(kinds)]:
                        if kind == "cp":
                            times["cp"].append(time_cp(template, scratch / "copy.mp4", fsync=False))
                        elif kind == "cp_fsync":
                            times["cp_fsync"].append(time_cp(template, scratch / "copy.mp4", fsync=True))
                        elif kind == "bare_remux":
                            times["bare_remux"].append(time_bare_remux(template, scratch / "remux.mp4"))
                        else:
                            directory = stack.media_root / f"run{index}"
                            directory.mkdir()
                            shutil.copyfile(template, directory / "Movie (2020).mp4")
                            wall, job_s, code = time_service(stack, directory)
                            times["service_wall"].append(wall)
                            times["service_job"].append(job_s)
                            codes.append(code)
                            shutil.rmtree(directory)
            say(f"  {'path':<13} {'median s':>9} {'MB/s':>8}")
            mbps = {}
            for kind, values in times.items():
                med = statistics.median(values)
                mbps[kind] = size / MB / med
                say(f"  {kind:<13} {med:9.3f} {mbps[kind]:8.1f}")
        ratio = mbps["service_job"] / mbps["cp"]
        say(f"  service (job) / cp = {ratio:.3f}; reason codes {codes}")
        results = {
            "bytes": size,
            "mb": round(size / MB, 2),
            "seconds": {k: [round(x, 4) for x in v] for k, v in times.items()},
            "mb_per_s": {k: round(v, 1) for k, v in mbps.items()},
            "service_over_cp": round(ratio, 4),
            "service_wall_over_cp": round(mbps["service_wall"] / mbps["cp"], 4),
            "service_over_cp_fsync": round(mbps["service_job"] / mbps["cp_fsync"], 4),
            "reason_codes": codes,
        }
        targets = [target("MP4 path MB/s / cp MB/s", ratio, TARGET_RATIO, higher_is_better=True, unit="x")]
        params = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
        emit("mp4_remux", params, results, targets)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
