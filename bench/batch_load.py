"""batch-load: the service end to end against the bare tools, on the same files, in one run.

Three ways to do the same work on N fresh copies of one small real file each:

1. **bare** — a plain loop (W threads, no queue, no server), the floor the issue sets:
   for an MKV that needs a change, ``mkvpropedit`` alone (the pipeline's own argument
   builder; the target track decided once, outside the clock); for an MP4 that needs a
   change, the in-place flag write alone (``mp4_read`` + ``mp4_inplace``, no tool); with
   ``--already-correct``, the in-process track reader alone (``probe.read_tracks``).
2. **pipeline** — ``media.pipeline.Pipeline.process`` in-process, W at a time (no queue,
   no gRPC): separates the pipeline's own overhead from the queue's.
3. **service** — the real server (W workers): ``StartBatch`` over gRPC, then the batch
   watched through ``WatchBatch`` (a stream, not polling) until its final event.

Then, on the same server, the enqueue time alone for ``--enqueue-files`` (10,000) files:
``StartBatch`` (discovery + one-transaction insert) with a dry run, cancelled right after.

    .venv/bin/python -m bench.batch_load --files 200 --workers 2
    .venv/bin/python -m bench.batch_load --files 200 --workers 2 --already-correct
    .venv/bin/python -m bench.batch_load --files 40 --workers 2 --container mp4 --db postgres
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._harness import (
    LANGUAGE_PRIORITY,
    CpuMeter,
    Deadline,
    base_parser,
    copy_to,
    emit,
    library_paths,
    log_to_file,
    make_template,
    profiled,
    run_quiet,
    running_stack,
    say,
    target,
    workdir,
)

TARGET_RATIO = 0.85  # service ≥ 0.85 × the bare yardstick (mkvpropedit alone / the reader alone)
TARGET_ENQUEUE_S = 1.0  # 10,000 files queued < 1 s
JAPANESE = "jpn"


# --------------------------------------------------------------------------------------
# 1. bare loop
# --------------------------------------------------------------------------------------


def _target(path: Path, container: str) -> int:
    from arrtheaudio_server.media.probe import read_tracks
    from arrtheaudio_server.media.result import Container

    info = read_tracks(path, Container(container))
    return [t.language for t in info.tracks].index(JAPANESE)  # type: ignore[union-attr]


def bare_read(path: Path, container: str, target_index: int) -> bool:
    """The in-process reader alone: what an already-correct file must cost at least."""
    from arrtheaudio_server.media.probe import read_tracks
    from arrtheaudio_server.media.result import Container

    info = read_tracks(path, Container(container))
    return getattr(info, "default_indexes", None) == [target_index]


def bare_mkv(path: Path, target_index: int, audio_count: int) -> bool:
    """mkvpropedit alone, as the pipeline calls it (mtime kept), nothing else."""
    from arrtheaudio_server.media.mkv import mkvpropedit_args

    before = os.stat(path)
    proc = run_quiet(mkvpropedit_args(path, audio_count, target_index))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    return proc.returncode in (0, 1)


def bare_mp4(path: Path, target_index: int) -> bool:
    """The in-place flag write alone: read the layout, write the tkhd flags, fsync."""
    from arrtheaudio_server.media.mp4_inplace import set_default_in_place
    from arrtheaudio_server.media.mp4_read import read_mp4

    probe = read_mp4(path)
    return set_default_in_place(path, probe, target_index) is None  # type: ignore[arg-type]


def run_bare(paths: list[Path], workers: int, container: str, already_correct: bool) -> tuple[float, int]:
    # Decided once outside the clock (imports warm too: the server is warm).
    from arrtheaudio_server.media.probe import read_tracks
    from arrtheaudio_server.media.result import Container

    target_index = _target(paths[0], container)
    audio_count = len(read_tracks(paths[0], Container(container)).tracks)  # type: ignore[union-attr]

    def one(path: Path) -> bool:
        if already_correct:
            return bare_read(path, container, target_index)
        if container == "mkv":
            return bare_mkv(path, target_index, audio_count)
        return bare_mp4(path, target_index)

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        ok = sum(pool.map(one, paths))
    return time.perf_counter() - start, ok


# --------------------------------------------------------------------------------------
# 2. the pipeline in-process
# --------------------------------------------------------------------------------------


def run_pipeline(
    paths: list[Path], workers: int, media_root: Path, log_path: Path
) -> tuple[float, dict[str, int]]:
    from arrtheaudio_server.config import Settings
    from arrtheaudio_server.media.pipeline import Pipeline

    log_to_file(log_path)
    settings = Settings(
        media_roots=[media_root],
        language_priority=LANGUAGE_PRIORITY,
        processing={"max_mp4_concurrent": max(1, workers)},
    )

    async def main() -> tuple[float, dict[str, int]]:
        pipeline = Pipeline(settings)
        slots = asyncio.Semaphore(workers)
        codes: dict[str, int] = {}

        async def one(path: Path) -> None:
            async with slots:
                result = await pipeline.process(path)
            codes[result.reason_code.value] = codes.get(result.reason_code.value, 0) + 1

        start = time.perf_counter()
        await asyncio.gather(*(one(p) for p in paths))
        elapsed = time.perf_counter() - start
        await pipeline.aclose()
        return elapsed, codes

    return asyncio.run(main())


# --------------------------------------------------------------------------------------
# 3. the service
# --------------------------------------------------------------------------------------


def run_service(stack: Any, directory: Path, expected: int, timeout: float) -> dict[str, Any]:
    from arrtheaudio_proto.v1 import common_pb2

    with stack.client(timeout=max(60.0, timeout)) as client:
        start = time.perf_counter()
        reply = client.start_batch(str(directory))
        accepted = time.perf_counter()
        final = None
        for event in client.watch_batch(reply.batch_id, timeout=timeout):
            if event.final:
                final = event.batch
                break
        done = time.perf_counter()
    if final is None or final.status != common_pb2.BATCH_STATUS_COMPLETED:
        raise RuntimeError(f"batch did not complete: {final}")
    rows = stack.query(
        "SELECT result, reason_code, track_changed, duration_ms FROM jobs "
        f"WHERE batch_id = '{reply.batch_id}'"
    )
    codes: dict[str, int] = {}
    for _result, code, _changed, _ms in rows:
        codes[str(code)] = codes.get(str(code), 0) + 1
    durations = sorted(int(ms) for *_rest, ms in rows if ms not in (None, ""))
    return {
        "batch_id": reply.batch_id,
        "seconds": done - start,
        "start_batch_rpc_s": accepted - start,
        "jobs": len(rows),
        "total": final.progress.total,
        "success": final.results.success,
        "skipped": final.results.skipped,
        "failed": final.results.failed,
        "track_changes": final.results.track_changes,
        "reason_codes": codes,
        "job_duration_ms_median": durations[len(durations) // 2] if durations else 0,
        "expected": expected,
    }


def _merge(services: list[dict[str, Any]]) -> dict[str, Any]:
    """The rounds' batches as one: times and counts added, the slowest StartBatch kept."""
    merged: dict[str, Any] = {"batches": len(services), "reason_codes": {}}
    for item in services:
        for key in ("seconds", "jobs", "total", "success", "skipped", "failed", "track_changes", "expected"):
            merged[key] = merged.get(key, 0) + item[key]
        merged["start_batch_rpc_s"] = max(merged.get("start_batch_rpc_s", 0.0), item["start_batch_rpc_s"])
        for code, n in item["reason_codes"].items():
            merged["reason_codes"][code] = merged["reason_codes"].get(code, 0) + n
    merged["job_duration_ms_median"] = sorted(i["job_duration_ms_median"] for i in services)[
        len(services) // 2
    ]
    return merged


def measure_enqueue(stack: Any, template: Path, count: int) -> dict[str, Any]:
    """StartBatch of ``count`` files (dry run, cancelled at once): discovery + insert, and discovery alone."""
    from arrtheaudio_server.config import ContainerSettings
    from arrtheaudio_server.queue.discovery import discover, extensions_for

    directory = stack.media_root / "enqueue"
    copy_to(template, library_paths(directory, count, template.suffix[1:], per_season=25), link=True)
    started = time.perf_counter()
    found = discover(
        directory,
        roots=[stack.media_root],
        recursive=True,
        pattern=None,
        exclude_patterns=(),
        min_size_mb=None,
        max_age_days=None,
        extensions=extensions_for(ContainerSettings()),
    )
    discover_s = time.perf_counter() - started
    with stack.client(timeout=120) as client:
        started = time.perf_counter()
        reply = client.start_batch(str(directory), dry_run=True)
        rpc_s = time.perf_counter() - started
        client.cancel_batch(reply.batch_id)
    queued = int(stack.query(f"SELECT count(*) FROM jobs WHERE batch_id = '{reply.batch_id}'")[0][0])
    return {
        "files": count,
        "discovered": len(found),
        "jobs": queued,
        "start_batch_s": rpc_s,
        "discover_only_s": discover_s,
        "insert_and_rpc_s": max(0.0, rpc_s - discover_s),
    }


# --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = base_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--container", choices=("mkv", "mp4"), default="mkv")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--already-correct", action="store_true")
    parser.add_argument("--enqueue-files", type=int, default=10_000, help="0 skips the enqueue measurement")
    parser.add_argument("--no-pipeline", action="store_true", help="skip the in-process pipeline loop")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="split the files into rounds, rotating which approach goes first",
    )
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds the service may take")
    args = parser.parse_args(argv)
    if args.files < 1 or args.workers < 1:
        parser.error("--files and --workers must be ≥ 1")

    with workdir("batch-load", keep=args.keep) as root:
        say(
            f"batch-load: {args.files} {args.container} files, {args.workers} workers, {args.db}, "
            f"{'already correct' if args.already_correct else 'need a change'}"
        )
        template = make_template(root, args.container, already_correct=args.already_correct)
        with running_stack(root, workers=args.workers, db=args.db) as stack:
            media = stack.media_root
            rounds = max(1, min(args.rounds, args.files))
            sizes = [args.files // rounds + (1 if r < args.files % rounds else 0) for r in range(rounds)]
            approaches = ["bare", "service"] + ([] if args.no_pipeline else ["pipeline"])
            sets = {
                (name, r): copy_to(template, library_paths(media / f"{name}{r}", size, args.container))
                for r, size in enumerate(sizes)
                for name in approaches
            }
            say(
                f"  made {len(approaches) * args.files} copies of {template.stat().st_size} bytes; "
                f"{rounds} round(s) of {sizes}, order rotated each round (the machine is shared: noise)"
            )

            seconds = {name: 0.0 for name in approaches}
            cpu = {name: {"process": 0.0, "tools": 0.0} for name in approaches}
            per_round: list[dict[str, float]] = []
            bare_ok = 0
            pipeline_codes: dict[str, int] = {}
            services: list[dict[str, Any]] = []
            deadline = Deadline(args.timeout)
            with profiled(stack.server.process.pid, args.profile, "batch_load_service"):  # type: ignore[union-attr]
                for r, size in enumerate(sizes):
                    order = approaches[r % len(approaches) :] + approaches[: r % len(approaches)]
                    this_round: dict[str, float] = {}
                    for name in order:
                        pid = stack.server.process.pid if name == "service" else os.getpid()  # type: ignore[union-attr]
                        meter = CpuMeter(pid).start()
                        if name == "bare":
                            took, ok = run_bare(
                                sets[name, r], args.workers, args.container, args.already_correct
                            )
                            bare_ok += ok
                        elif name == "pipeline":
                            took, codes = run_pipeline(
                                sets[name, r], args.workers, media, root / "pipeline.log"
                            )
                            for code, n in codes.items():
                                pipeline_codes[code] = pipeline_codes.get(code, 0) + n
                        else:
                            service = run_service(stack, media / f"service{r}", size, max(1.0, deadline.left))
                            services.append(service)
                            took = service["seconds"]
                        used = meter.stop()
                        cpu[name]["process"] += used["cpu_s"]
                        cpu[name]["tools"] += used["tool_cpu_s"]
                        this_round[name] = took
                        seconds[name] += took
                    per_round.append(this_round)
                    say(
                        f"  round {r + 1}: "
                        + "  ".join(f"{name} {size / this_round[name]:6.1f} files/s" for name in approaches)
                    )

            bare_s, pipeline_s = seconds["bare"], seconds.get("pipeline", 0.0)
            service = _merge(services)
            say(
                f"  bare loop:  {bare_s:7.3f} s  {args.files / bare_s:8.1f} files/s  ({bare_ok}/{args.files} ok)"
            )
            if pipeline_s:
                say(
                    f"  pipeline:   {pipeline_s:7.3f} s  {args.files / pipeline_s:8.1f} files/s  {pipeline_codes}"
                )
            say(
                f"  service:    {service['seconds']:7.3f} s  {args.files / service['seconds']:8.1f} files/s  "
                f"(StartBatch {service['start_batch_rpc_s'] * 1000:.1f} ms, {service['reason_codes']})"
            )
            for name in approaches:
                say(
                    f"  CPU per file, {name:<8}: Python process {1000 * cpu[name]['process'] / args.files:6.1f} ms, "
                    f"tools {1000 * cpu[name]['tools'] / args.files:6.1f} ms"
                )

            enqueue = None
            if args.enqueue_files:
                enqueue = measure_enqueue(stack, template, args.enqueue_files)
                say(
                    f"  enqueue {enqueue['files']} files: StartBatch {enqueue['start_batch_s'] * 1000:.0f} ms "
                    f"(discovery alone {enqueue['discover_only_s'] * 1000:.0f} ms), {enqueue['jobs']} jobs"
                )

        bare_fps = args.files / bare_s
        service_fps = args.files / service["seconds"]
        ratio = service_fps / bare_fps
        round_ratios = sorted(rr["bare"] / rr["service"] for rr in per_round)
        say(f"  service / bare = {ratio:.3f}")
        results: dict[str, Any] = {
            "files": args.files,
            "bare_seconds": round(bare_s, 4),
            "bare_files_per_s": round(bare_fps, 2),
            "bare_ok": bare_ok,
            "pipeline_seconds": round(pipeline_s, 4),
            "pipeline_files_per_s": round(args.files / pipeline_s, 2) if pipeline_s else None,
            "pipeline_reason_codes": pipeline_codes,
            "service_seconds": round(service["seconds"], 4),
            "service_files_per_s": round(service_fps, 2),
            "service_over_bare": round(ratio, 4),
            "service_over_bare_per_round": [round(x, 4) for x in round_ratios],
            "rounds": len(per_round),
            "service": {k: (round(v, 4) if isinstance(v, float) else v) for k, v in service.items()},
            "cpu_ms_per_file": {
                name: {k: round(1000 * v / args.files, 2) for k, v in cpu[name].items()} for name in cpu
            },
            "per_file_ms": {
                "bare": round(1000 * bare_s / args.files, 2),
                "pipeline": round(1000 * pipeline_s / args.files, 2) if pipeline_s else None,
                "service": round(1000 * service["seconds"] / args.files, 2),
            },
        }
        # CPU per file (process + the tools it ran) is far steadier than wall time on a shared
        # machine; on a CPU-bound box, throughput goes as its inverse.
        total_cpu = {name: cpu[name]["process"] + cpu[name]["tools"] for name in cpu}
        results["cpu_bound_ratio"] = (
            round(total_cpu["bare"] / total_cpu["service"], 4) if total_cpu["service"] else None
        )
        say(f"  CPU-bound ratio (bare CPU / service CPU per file) = {results['cpu_bound_ratio']}")
        targets = []
        if args.already_correct:
            targets.append(
                target(
                    f"service / in-process reader loop (already-correct {args.container.upper()})",
                    ratio,
                    TARGET_RATIO,
                    higher_is_better=True,
                    unit="x",
                )
            )
        elif args.container == "mkv":
            targets.append(
                target(
                    "service / bare mkvpropedit loop (MKV needing a change, verification on)",
                    ratio,
                    TARGET_RATIO,
                    higher_is_better=True,
                    unit="x",
                )
            )
        if enqueue is not None:
            results["enqueue"] = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in enqueue.items()}
            if args.enqueue_files >= 10_000:
                targets.append(
                    target(
                        f"{args.enqueue_files} files queued (s)",
                        enqueue["start_batch_s"],
                        TARGET_ENQUEUE_S,
                        higher_is_better=False,
                        unit=" s",
                    )
                )
        params = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
        emit("batch_load", params, results, targets)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
