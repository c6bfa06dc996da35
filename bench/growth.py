"""growth: status reads and the claim at a small and a large history, same run, both backends.

For each backend (``--db``), the real server runs against a database this script fills
through the store's own bulk path (``Store.enqueuer.insert_history``: the rows and their
rollups, as finishes write them) with ``--sizes`` finished jobs (default 10,000 then
1,000,000; the larger size adds to the smaller). The history spans 25 days, four outcomes,
two containers, three sources, batches of 1,000, one job in ten from a webhook (three jobs
each) — the same mix from the first row on, so both sizes have every rollup key. Besides
the history: one finished batch of ``--batch-files`` (10,000) files, and 200 queued jobs. At each size, ``--samples`` calls
of each read through the Python client, and of the claim through the store, give p50/p95:

* GetStats; GetQueue;
* ListJobs: no filter, each filter (status, batch, webhook, source, container), a deep
  offset (``--deep-offset``, 5,000: a fixed depth, so the offset's own cost is the same at
  both sizes);
* GetJobStats: no filter and each filter (source, container, created_after 36 h ago: a
  partial day then whole days, batch, webhook);
* GetBatch of the 10,000-file batch; the claim (claimed and released again, so the queue
  stays the same).

The yardstick of each figure is the same figure at the smallest size: the target is
p50(largest) ≤ 1.5 × p50(smallest) for every one.

    .venv/bin/python -m bench.growth [--sizes 10000,1000000] [--db sqlite|postgres|both]
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._harness import base_parser, emit, percentiles, running_stack, say, target, workdir

TARGET_RATIO = 1.5
DAYS = 25
QUEUED = 200
SEED_CHUNK = 20_000
BIG_BATCH = "b" * 32
WEBHOOK = f"{7:032x}".replace("0", "e", 1)  # one of the seeded webhooks (see history_rows)
SOURCES = ("sonarr", "radarr", "sonarr", "radarr", "manual")
OUTCOMES = (  # (status, result, reason_code, track_changed), by weight 80/8/7/5
    *([("completed", "success", "changed", True)] * 16),
    ("completed", "skipped", "already_correct", False),
    ("completed", "skipped", "already_correct", False),
    ("failed", "failed", "tool_failed", False),
    ("cancelled", None, "cancelled", False),
)


def webhook_of(i: int) -> str | None:
    """Every tenth job of the history came from a webhook, three jobs a webhook."""
    return f"{i // 30:032x}".replace("0", "e", 1) if i % 10 == 0 else None


def history_rows(start: int, stop: int, now: datetime) -> Iterator[dict[str, Any]]:
    for i in range(start, stop):
        status, result, reason, changed = OUTCOMES[i % len(OUTCOMES)]
        created = now - timedelta(days=i % DAYS, minutes=(i * 7) % 1440)
        yield _row(
            job_id=f"{i:032x}",
            path=f"/media/history/{i // 1000}/{i}.mkv",
            status=status,
            result=result,
            reason=reason,
            changed=changed,
            container="mp4" if i % 10 in (3, 7, 9) else "mkv",
            source=SOURCES[i % len(SOURCES)],
            webhook_id=webhook_of(i),
            batch_id=None if i % 10 == 0 else f"{i // 1000:031x}a",
            created=created,
            duration=120 + i % 50,
        )


def big_batch_rows(files: int, now: datetime) -> list[dict[str, Any]]:
    """The finished 10,000-file batch GetBatch reads (the same at every size)."""
    return [
        _row(
            job_id=f"f{i:031x}",
            path=f"/media/big/{i:06}.mkv",
            status="completed",
            result="success",
            reason="changed",
            changed=True,
            container="mkv",
            source="manual",
            webhook_id=None,
            batch_id=BIG_BATCH,
            created=now - timedelta(days=1),
            duration=100,
        )
        for i in range(files)
    ]


def _row(
    *,
    job_id: str,
    path: str,
    status: str,
    result: str | None,
    reason: str,
    changed: bool,
    container: str,
    source: str,
    webhook_id: str | None,
    batch_id: str | None,
    created: datetime,
    duration: int,
) -> dict[str, Any]:
    return {
        "job_id": job_id,
        "file_path": path,
        "status": status,
        "priority": 1,
        "container": container,
        "source": source,
        "webhook_id": webhook_id,
        "batch_id": batch_id,
        "hints": None,
        "dry_run": False,
        "created_at": created,
        "next_attempt_at": created,
        "started_at": created,
        "completed_at": created + timedelta(minutes=1),
        "attempts": 1,
        "result": result,
        "reason": reason,
        "reason_code": reason,
        "duration_ms": duration if result else None,
        "track_changed": changed,
        "cancel_requested": False,
    }


def batch_row(batch_id: str, files: int, now: datetime) -> dict[str, Any]:
    return {
        "batch_id": batch_id,
        "path": f"/media/history/{batch_id}",
        "recursive": True,
        "pattern": None,
        "exclude_patterns": [],
        "dry_run": False,
        "priority": 1,
        "min_size_mb": None,
        "max_age_days": None,
        "status": "completed",
        "created_at": now - timedelta(days=DAYS),
        "completed_at": now,
        "estimated_files": files,
        "error": None,
    }


def batch_rows(start: int, stop: int, now: datetime) -> list[dict[str, Any]]:
    """The history batches (1,000 jobs each) whose first job is in [start, stop)."""
    return [batch_row(f"{k:031x}a", 1000, now) for k in range((start + 999) // 1000, (stop + 999) // 1000)]


async def seed(url: str, start: int, stop: int, now: datetime, batch_files: int, db: str) -> float:
    """Rows [start, stop) of the history through the store's bulk path; returns the seconds."""
    from arrtheaudio_server.queue.store import Store

    began = time.perf_counter()
    store = await Store.open(url, instance_id="bench-seed")
    try:
        if start == 0:
            await store.enqueuer.insert_history(
                big_batch_rows(batch_files, now), batches=[batch_row(BIG_BATCH, batch_files, now)]
            )
        for lo in range(start, stop, SEED_CHUNK):
            hi = min(stop, lo + SEED_CHUNK)
            await store.enqueuer.insert_history(
                list(history_rows(lo, hi, now)), batches=batch_rows(lo, hi, now)
            )
        if db == "postgres":
            # What autovacuum does on a live server after a bulk load: statistics, visibility map.
            async with store.db.writer.connect() as conn:
                auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
                await auto.exec_driver_sql("VACUUM ANALYZE")
    finally:
        await store.close()
    return time.perf_counter() - began


async def queue_some(url: str) -> None:
    from arrtheaudio_server.media.result import Container
    from arrtheaudio_server.queue.domain import Priority, Source
    from arrtheaudio_server.queue.store import NewJob, Store

    store = await Store.open(url, instance_id="bench-seed")
    try:
        jobs = [
            NewJob(
                path=f"/media/queued/{n}.mkv",
                container=Container.MKV,
                priority=Priority.HIGH if n % 4 == 0 else Priority.NORMAL,
                source=Source.SONARR,
            )
            for n in range(QUEUED)
        ]
        await store.enqueuer.enqueue(jobs, max_active=None)
    finally:
        await store.close()


async def time_claims(url: str, samples: int) -> dict[str, float]:
    """The claim through the store (there is no claim RPC), each claim released again."""
    from arrtheaudio_server.queue.store import Store

    store = await Store.open(url, instance_id="bench-claim")
    took = []
    try:
        for _ in range(samples + 1):
            start = time.perf_counter()
            claimed = await store.transitions.claim(worker_id="bench-w", lease_seconds=60)
            took.append(time.perf_counter() - start)
            assert claimed is not None, "the bench queued jobs to claim"
            await store.transitions.release(claimed.job.job_id, worker_id="bench-w")
    finally:
        await store.close()
    return percentiles(took[1:])


def time_calls(call: Callable[[], Any], samples: int) -> dict[str, float]:
    call()  # warm: connection, statement caches
    took = []
    for _ in range(samples):
        start = time.perf_counter()
        call()
        took.append(time.perf_counter() - start)
    return percentiles(took)


def reads(client: Any, deep_offset: int, now: datetime) -> dict[str, Callable[[], Any]]:
    after = now - timedelta(hours=36)
    return {
        "GetStats": client.get_stats,
        "GetQueue": lambda: client.get_queue(next_limit=10),
        "ListJobs": lambda: client.list_jobs(limit=50),
        "ListJobs status=failed": lambda: client.list_jobs(limit=50, status="failed"),
        "ListJobs batch": lambda: client.list_jobs(limit=50, batch_id=BIG_BATCH),
        "ListJobs webhook": lambda: client.list_jobs(limit=50, webhook_id=WEBHOOK),
        "ListJobs source=radarr": lambda: client.list_jobs(limit=50, source="radarr"),
        "ListJobs container=mp4": lambda: client.list_jobs(limit=50, container="mp4"),
        f"ListJobs offset={deep_offset}": lambda: client.list_jobs(limit=50, offset=deep_offset),
        "GetJobStats": client.get_job_stats,
        "GetJobStats source=radarr": lambda: client.get_job_stats(source="radarr"),
        "GetJobStats container=mp4": lambda: client.get_job_stats(container="mp4"),
        "GetJobStats created_after=36h": lambda: client.get_job_stats(created_after=after),
        "GetJobStats batch": lambda: client.get_job_stats(batch_id=BIG_BATCH),
        "GetJobStats webhook": lambda: client.get_job_stats(webhook_id=WEBHOOK),
        "GetBatch (10k files)": lambda: client.get_batch(BIG_BATCH),
    }


def check(client: Any, size: int, batch_files: int) -> dict[str, int]:
    """The answers are right, not only fast: totals against what was seeded."""
    stats = client.get_job_stats()
    batch = client.get_batch(BIG_BATCH)
    found = {
        "jobs": stats.counts.total,
        "batch_jobs": batch.total_jobs,
        "list_total": client.list_jobs(limit=1).total_size,
    }
    total = size + batch_files + QUEUED
    expected = {"jobs": total, "batch_jobs": batch_files, "list_total": total}
    if found != expected:
        raise RuntimeError(f"at {size} rows the server answered {found}, expected {expected}")
    return found


def run_backend(db: str, sizes: list[int], args: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    figures: dict[int, dict[str, Any]] = {}
    with workdir(f"growth-{db}", keep=args.keep) as root:
        extra = {"processing": {"job_history_days": 3650, "failed_job_days": 3650}}
        with running_stack(root, workers=0, db=db, **extra) as stack:
            asyncio.run(queue_some(stack.db_url))
            seeded = 0
            for size in sizes:
                seconds = asyncio.run(seed(stack.db_url, seeded, size, now, args.batch_files, db))
                say(f"  {db}: seeded {size - seeded:,} finished jobs in {seconds:.1f} s (total {size:,})")
                seeded = size
                with stack.client(timeout=120) as client:
                    counts = check(client, size, args.batch_files)
                    ops = {
                        name: time_calls(call, args.samples)
                        for name, call in reads(client, args.deep_offset, now).items()
                    }
                ops["claim (store)"] = asyncio.run(time_claims(stack.db_url, args.samples))
                figures[size] = {"seed_s": round(seconds, 1), "checked": counts, "ops": ops}
                for name, p in ops.items():
                    say(f"    {size:>9,}  {name:<32} p50 {p['p50_ms']:8.2f} ms   p95 {p['p95_ms']:8.2f} ms")
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = base_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,1000000", help="history sizes, ascending, comma-separated")
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--batch-files", type=int, default=10_000)
    parser.add_argument("--deep-offset", type=int, default=5_000)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    if len(sizes) < 2 or sizes != sorted(sizes) or sizes[0] < 1 or args.samples < 1:
        parser.error("--sizes needs two or more ascending sizes ≥ 1; --samples ≥ 1")
    backends = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    say(
        f"growth: {', '.join(f'{s:,}' for s in sizes)} finished jobs, {args.samples} samples, {', '.join(backends)}"
    )
    results: dict[str, Any] = {}
    targets = []
    for db in backends:
        figures = run_backend(db, sizes, args)
        small, large = figures[sizes[0]]["ops"], figures[sizes[-1]]["ops"]
        ratios = {name: round(large[name]["p50_ms"] / small[name]["p50_ms"], 3) for name in small}
        results[db] = {str(size): figures[size] for size in sizes} | {"p50_ratio": ratios}
        say(f"  {db}: p50 at {sizes[-1]:,} / p50 at {sizes[0]:,}")
        for name, ratio in ratios.items():
            say(f"    {name:<32} {ratio:6.2f}×  {'ok' if ratio <= TARGET_RATIO else 'MISS'}")
            targets.append(
                target(f"{db} {name} p50 ratio", ratio, TARGET_RATIO, higher_is_better=False, unit="×")
            )
    emit(
        "growth",
        {
            "sizes": sizes,
            "db": backends,
            "samples": args.samples,
            "batch_files": args.batch_files,
            "deep_offset": args.deep_offset,
        },
        results,
        targets,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
