"""webhook-flood: Sonarr webhooks through Envoy — accept latency, requests/s, 0 lost / 0 duplicated.

Every webhook names its own real files (copies of one small MKV under the media root,
reached through the ``/tv`` path mapping, as Sonarr would send them): half are single-file
``Download`` events, half 3-file ``ImportComplete`` season packs. Two phases against one
server + Envoy:

1. **accept latency** — ``--latency-count`` 3-file webhooks one after the other (how Sonarr
   sends them): p50/p95/p99 of the HTTP round trip through Envoy.
2. **flood** — ``--count`` webhooks from ``--concurrency`` concurrent HTTP/1.1 keep-alive
   connections (aiohttp; ``--client-procs`` processes share them), then requests/s and
   latency, and afterwards the check in the database: every file an accepted answer named
   has exactly one job with the job id the answer gave (0 lost, 0 duplicated), and no
   job exists that no answer acknowledged.

The workers (``--workers``, default 2) process the files meanwhile, as in real life.

    .venv/bin/python -m bench.webhook_flood --count 2000 --concurrency 32
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._harness import (
    API_KEY,
    CpuMeter,
    base_parser,
    copy_to,
    emit,
    make_template,
    percentiles,
    profiled,
    running_stack,
    say,
    target,
    workdir,
)
from tests.support.arr_library import fixture_json, sonarr_payload_with_paths

TARGET_ACCEPT_P50_MS = 10.0
TARGET_RPS = 1000.0


def make_deliveries(
    media_tv: Path, template: Path, count: int, prefix: str, *, packs_only: bool = False
) -> list[dict[str, Any]]:
    """``count`` webhooks (even: 1 file Download, odd: 3-file ImportComplete), files created."""
    download = fixture_json("sonarr/download.json")
    deliveries = []
    local: list[Path] = []
    for index in range(count):
        size = 1 if index % 2 == 0 and not packs_only else 3
        show = f"{prefix} {index // 100:04d}"
        names = [f"{show}/Season 01/{show} - S01E{index % 100:02d}x{part}.mkv" for part in range(size)]
        arr_paths = [f"/tv/{name}" for name in names]
        local += [media_tv / name for name in names]
        if size == 1:
            body = dict(download)
            body["episodeFile"] = {**download["episodeFile"], "path": arr_paths[0]}
            raw = json.dumps(body).encode()
        else:
            raw = sonarr_payload_with_paths(arr_paths)
        deliveries.append(
            {"index": index, "files": size, "body": raw, "local": [str(media_tv / n) for n in names]}
        )
    copy_to(template, local)
    return deliveries


async def _send_all(
    url: str, bodies: list[tuple[int, bytes]], concurrency: int, seconds: float
) -> list[tuple[int, int, float, Any]]:
    import aiohttp

    results: list[tuple[int, int, float, Any]] = []
    position = 0
    deadline = time.monotonic() + seconds
    timeout = aiohttp.ClientTimeout(total=60)
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    headers = {"Content-Type": "application/json"}
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def worker() -> None:
            nonlocal position
            while position < len(bodies) and time.monotonic() < deadline:
                index, body = bodies[position]
                position += 1
                start = time.perf_counter()
                try:
                    async with session.post(url, data=body, headers=headers) as reply:
                        text = await reply.read()
                        status = reply.status
                except (TimeoutError, aiohttp.ClientError) as exc:
                    results.append((index, -1, time.perf_counter() - start, repr(exc)))
                    continue
                took = time.perf_counter() - start
                try:
                    answer = json.loads(text)
                except ValueError:
                    answer = text.decode(errors="replace")[:300]
                results.append((index, status, took, answer))

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return results


def _client_process(
    url: str, bodies: list[tuple[int, bytes]], concurrency: int, seconds: float, start_at: float, out: Any
) -> None:
    while time.time() < start_at:  # every client process starts together
        time.sleep(0.001)
    out.send(asyncio.run(_send_all(url, bodies, concurrency, seconds)))
    out.close()


def flood(
    url: str, deliveries: list[dict[str, Any]], concurrency: int, procs: int, seconds: float
) -> tuple[float, list[tuple[int, int, float, Any]]]:
    bodies = [(d["index"], d["body"]) for d in deliveries]
    if procs <= 1:
        start = time.perf_counter()
        results = asyncio.run(_send_all(url, bodies, concurrency, seconds))
        return time.perf_counter() - start, results
    context = multiprocessing.get_context("fork")
    pipes, children = [], []
    start_at = time.time() + 0.5
    for p in range(procs):
        parent, child = context.Pipe(duplex=False)
        share = bodies[p::procs]
        proc = context.Process(
            target=_client_process, args=(url, share, max(1, concurrency // procs), seconds, start_at, child)
        )
        proc.start()
        pipes.append(parent)
        children.append(proc)
    results = []
    for parent in pipes:
        results += parent.recv()
    elapsed = time.time() - start_at
    for proc in children:
        proc.join(timeout=30)
    return elapsed, results


def check_database(
    stack: Any, deliveries: list[dict[str, Any]], results: list[tuple[int, int, float, Any]]
) -> dict[str, Any]:
    """Every accepted file has exactly one job, the one its answer named; nothing unacknowledged."""
    accepted: dict[str, str] = {}  # real path -> job id from the answer
    accepted_webhooks = 0
    for _index, status, _took, answer in results:
        if status != 200 or not isinstance(answer, dict) or answer.get("status") != "WEBHOOK_STATUS_ACCEPTED":
            continue
        accepted_webhooks += 1
        for item in answer.get("files", []):
            if item.get("accepted"):
                accepted[item["path"]] = item["job_id"]
    sent_paths = {path for d in deliveries for path in d["local"]}
    rows = stack.query("SELECT file_path, job_id FROM jobs WHERE source = 'sonarr'")
    jobs_by_path: dict[str, list[str]] = {}
    for path, job_id in rows:
        jobs_by_path.setdefault(str(path), []).append(str(job_id))
    lost = [p for p in accepted if p not in jobs_by_path]
    duplicated = [p for p, ids in jobs_by_path.items() if len(ids) > 1]
    wrong_id = [p for p, job in accepted.items() if p in jobs_by_path and job not in jobs_by_path[p]]
    unacknowledged = [p for p in jobs_by_path if p not in accepted]
    stray = [p for p in jobs_by_path if p not in sent_paths]
    webhook_rows = int(stack.query("SELECT count(*) FROM webhooks")[0][0])
    return {
        "accepted_webhooks": accepted_webhooks,
        "webhook_rows": webhook_rows,
        "accepted_files": len(accepted),
        "job_rows": len(rows),
        "lost": len(lost),
        "duplicated": len(duplicated),
        "wrong_job_id": len(wrong_id),
        "unacknowledged": len(unacknowledged),
        "stray": len(stray),
        "examples": {
            "lost": lost[:3],
            "duplicated": duplicated[:3],
            "wrong_job_id": wrong_id[:3],
            "unacknowledged": unacknowledged[:3],
        },
    }


def latency_phase(
    url: str, deliveries: list[dict[str, Any]]
) -> tuple[list[float], int, list[tuple[int, int, float, Any]]]:
    """3-file webhooks one at a time over one keep-alive connection."""
    samples, failures = [], 0
    if not deliveries:
        return [], 0, []
    results = asyncio.run(_send_all(url, [(d["index"], d["body"]) for d in deliveries], 1, 120))
    for _index, status, took, answer in results:
        if status == 200 and isinstance(answer, dict) and answer.get("status") == "WEBHOOK_STATUS_ACCEPTED":
            samples.append(took)
        else:
            failures += 1
    return samples, failures, results


def main(argv: list[str] | None = None) -> int:
    parser = base_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=2000, help="webhooks in the flood")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--client-procs", type=int, default=1, help="load-generator processes")
    parser.add_argument("--latency-count", type=int, default=200, help="sequential 3-file webhooks (0 skips)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--max-seconds", type=float, default=120.0, help="the flood stops sending after this")
    args = parser.parse_args(argv)
    if args.count < 1 or args.concurrency < 1:
        parser.error("--count and --concurrency must be ≥ 1")

    with workdir("webhook-flood", keep=args.keep) as root:
        template = make_template(root, "mkv", video=False)
        media_tv = root / "media" / "tv"
        mapping = [{"remote": "/tv", "local": str(media_tv)}]
        with running_stack(
            root, workers=args.workers, db=args.db, envoy=True, path_mappings=mapping
        ) as stack:
            assert stack.envoy is not None
            url = f"{stack.envoy.base_url}/webhook/sonarr?apikey={API_KEY}"
            say(
                f"webhook-flood: {args.count} webhooks, concurrency {args.concurrency} "
                f"({args.client_procs} client process(es)), {args.workers} workers, {args.db}, through Envoy"
            )
            latency_deliveries = make_deliveries(
                media_tv, template, args.latency_count, "Latency", packs_only=True
            )
            flood_deliveries = make_deliveries(media_tv, template, args.count, "Flood")
            say(f"  made {sum(d['files'] for d in latency_deliveries + flood_deliveries)} files")

            accept_samples, accept_failures, latency_results = latency_phase(url, latency_deliveries)
            accept = percentiles(accept_samples)
            if accept_samples:
                say(
                    f"  3-file accept, one at a time: p50 {accept['p50_ms']:.2f} ms  p95 {accept['p95_ms']:.2f} ms  "
                    f"p99 {accept['p99_ms']:.2f} ms  ({accept_failures} failed)"
                )

            server_cpu = CpuMeter(stack.server.process.pid).start()  # type: ignore[union-attr]
            envoy_cpu = CpuMeter(stack.envoy.process.pid).start()  # type: ignore[union-attr]
            with profiled(stack.server.process.pid, args.profile, "webhook_flood"):  # type: ignore[union-attr]
                elapsed, results = flood(
                    url, flood_deliveries, args.concurrency, args.client_procs, args.max_seconds
                )
            cpu = {"server": server_cpu.stop(), "envoy": envoy_cpu.stop()}
            say(
                f"  CPU during the flood: server {cpu['server']['cores_used']:.2f} cores (+ tools "
                f"{cpu['server']['tool_cpu_s']:.1f} s), envoy {cpu['envoy']['cores_used']:.2f} cores"
            )
            statuses = Counter(status for _i, status, _t, _a in results)
            by_kind = {1: [], 3: []}  # type: dict[int, list[float]]
            files_of = {d["index"]: d["files"] for d in flood_deliveries}
            for index, status, took, _answer in results:
                if status == 200:
                    by_kind[files_of[index]].append(took)
            rps = len(results) / elapsed if elapsed else 0.0
            all_ok = [t for _i, s, t, _a in results if s == 200]
            say(
                f"  flood: {len(results)} requests in {elapsed:.2f} s = {rps:.0f} req/s; statuses {dict(statuses)}"
            )
            flood_lat = percentiles(all_ok)
            say(
                f"  flood latency: p50 {flood_lat['p50_ms']:.1f} ms  p95 {flood_lat['p95_ms']:.1f} ms  "
                f"p99 {flood_lat['p99_ms']:.1f} ms"
            )
            errors = [a for _i, s, _t, a in results if s != 200][:3]
            # The latency phase's answers acknowledge its files too.
            check = check_database(stack, flood_deliveries + latency_deliveries, results + latency_results)
            say(
                f"  database: {check['job_rows']} jobs for {check['accepted_files']} accepted files "
                f"(+ latency phase); lost {check['lost']}, duplicated {check['duplicated']}, "
                f"wrong id {check['wrong_job_id']}, unacknowledged {check['unacknowledged']}"
            )

        results_json = {
            "sent": len(results),
            "planned": args.count,
            "seconds": round(elapsed, 4),
            "requests_per_s": round(rps, 1),
            "statuses": {str(k): v for k, v in statuses.items()},
            "error_examples": [str(e)[:200] for e in errors],
            "flood_latency": flood_lat,
            "flood_latency_1_file": percentiles(by_kind[1]),
            "flood_latency_3_files": percentiles(by_kind[3]),
            "accept_latency_3_files_sequential": accept,
            "accept_failures": accept_failures,
            "db_check": check,
            "cpu": cpu,
        }
        targets = []
        if accept_samples:
            targets.append(
                target(
                    "3-file webhook accept p50 through Envoy (ms)",
                    accept["p50_ms"],
                    TARGET_ACCEPT_P50_MS,
                    higher_is_better=False,
                    unit=" ms",
                )
            )
        targets.append(target("webhook flood (req/s)", rps, TARGET_RPS, higher_is_better=True, unit=" req/s"))
        targets.append(
            target(
                "lost + duplicated jobs",
                check["lost"] + check["duplicated"] + check["wrong_job_id"],
                0,
                higher_is_better=False,
            )
        )
        targets[-1]["met"] = targets[-1]["measured"] == 0
        targets[-1]["target"] = "= 0"
        params = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
        emit("webhook_flood", params, results_json, targets)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
