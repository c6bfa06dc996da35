"""rescan: a second scan of an unchanged library against the first scan of it, same run.

``--files`` (1,000) fresh copies of one small real MKV (English default, Japanese second;
the priority list wants Japanese) in a Sonarr-like tree. Through the real server:

1. **first scan** — ``StartBatch`` then ``WatchBatch`` to the final event: every file is
   probed, changed and verified by the workers (the yardstick);
2. **rescan** — the same ``StartBatch`` again: every file is unchanged (size, mtime, inode,
   decision inputs), so the batch must queue no job at all — each file is a finished
   ``unchanged`` row — and end as soon as it is written;
3. **one touched** — one file's mtime moved, a third scan: exactly one file checked again.

The database is read to prove what happened (jobs claimed per batch, reason codes), not
only the API's counts.

    .venv/bin/python -m bench.rescan --files 1000 --workers 2 [--db postgres]
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._harness import (
    base_parser,
    copy_to,
    emit,
    library_paths,
    make_template,
    running_stack,
    say,
    target,
    workdir,
)

TARGET_SPEEDUP = 20.0  # the rescan ≥ 20 × faster than the first scan


def scan(stack: Any, directory: Path, timeout: float) -> dict[str, Any]:
    from arrtheaudio_proto.v1 import common_pb2

    with stack.client(timeout=max(60.0, timeout)) as client:
        start = time.perf_counter()
        reply = client.start_batch(str(directory))
        final = None
        for event in client.watch_batch(reply.batch_id, timeout=timeout):
            if event.final:
                final = event.batch
                break
        seconds = time.perf_counter() - start
    if final is None or final.status != common_pb2.BATCH_STATUS_COMPLETED:
        raise RuntimeError(f"batch did not complete: {final}")
    rows = stack.query(
        f"SELECT reason_code, started_at IS NOT NULL FROM jobs WHERE batch_id = '{reply.batch_id}'"
    )
    codes: dict[str, int] = {}
    for code, _claimed in rows:
        codes[str(code)] = codes.get(str(code), 0) + 1
    claimed = sum(1 for _code, was_claimed in rows if str(was_claimed) in ("1", "t", "True"))
    return {
        "batch_id": reply.batch_id,
        "seconds": seconds,
        "total": final.progress.total,
        "skipped": final.results.skipped,
        "track_changes": final.results.track_changes,
        "jobs_claimed": claimed,
        "reason_codes": codes,
    }


def main(argv: list[str] | None = None) -> int:
    parser = base_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--timeout", type=float, default=1200.0, help="seconds the first scan may take")
    args = parser.parse_args(argv)
    if args.files < 1 or args.workers < 1:
        parser.error("--files and --workers must be ≥ 1")

    with workdir("rescan", keep=args.keep) as root:
        say(f"rescan: {args.files} mkv files, {args.workers} workers, {args.db}")
        template = make_template(root, "mkv")
        with running_stack(root, workers=args.workers, db=args.db) as stack:
            library = stack.media_root / "tv"
            paths = copy_to(template, library_paths(library, args.files, "mkv"))
            say(f"  made {len(paths)} copies of {template.stat().st_size} bytes")
            first = scan(stack, library, args.timeout)
            say(
                f"  first scan: {first['seconds']:.2f} s, {first['jobs_claimed']} jobs run, "
                f"{first['track_changes']} changed"
            )
            second = scan(stack, library, args.timeout)
            say(
                f"  rescan:     {second['seconds']:.3f} s, {second['jobs_claimed']} jobs run, "
                f"{second['reason_codes'].get('unchanged', 0)} unchanged"
            )
            touched = paths[len(paths) // 2]
            st = os.stat(touched)
            os.utime(touched, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
            third = scan(stack, library, args.timeout)
            say(
                f"  one touched: {third['seconds']:.3f} s, {third['jobs_claimed']} job run, "
                f"{third['reason_codes'].get('unchanged', 0)} unchanged"
            )

    speedup = first["seconds"] / second["seconds"] if second["seconds"] > 0 else float("inf")
    say(f"  rescan is {speedup:.1f}× faster than the first scan (target ≥ {TARGET_SPEEDUP:g}×)")
    ok = (
        first["jobs_claimed"] == args.files
        and first["track_changes"] == args.files
        and second["jobs_claimed"] == 0
        and second["reason_codes"] == {"unchanged": args.files}
        and third["jobs_claimed"] == 1
    )
    emit(
        "rescan",
        {"files": args.files, "workers": args.workers, "db": args.db},
        {
            "first_scan_s": round(first["seconds"], 3),
            "rescan_s": round(second["seconds"], 4),
            "one_touched_s": round(third["seconds"], 4),
            "speedup": round(speedup, 1),
            "first": first,
            "rescan": second,
            "one_touched": third,
            "consistent": ok,
        },
        [
            target(
                "rescan speed-up over the first scan",
                speedup,
                TARGET_SPEEDUP,
                higher_is_better=True,
                unit="×",
            )
        ],
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
