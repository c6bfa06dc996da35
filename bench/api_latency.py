"""api-latency: status RPCs on an idle server vs the same calls while a batch keeps the workers busy.

GetQueue, GetStats, GetJob (a random finished job) and ListJobs (first page, 50) are
called round-robin over one gRPC channel, one call at a time, ``--calls`` times each:
first on the idle server (after a ``--history`` batch left finished jobs in the database),
then while a ``--load-files`` batch runs on ``--workers`` workers. Every GetQueue answer
during the load phase tells how many workers were busy, so the run reports whether the
load really held (``busy_fraction``); the phase stops when the batch finishes.

    .venv/bin/python -m bench.api_latency --calls 200 --workers 2
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import grpc
from grpc_health.v1 import health_pb2_grpc

from arrtheaudio import Client
from bench._harness import (
    API_KEY,
    CpuMeter,
    Deadline,
    base_parser,
    copy_to,
    emit,
    library_paths,
    make_template,
    percentiles,
    profiled,
    running_stack,
    say,
    target,
    workdir,
)

TARGET_P95_MS = 15.0
RPCS = ("GetQueue", "GetStats", "GetJob", "ListJobs")
# A control, not a target: grpc.health.v1 Check is answered from memory (no database, no
# queue), so its latency under load is what the machine's CPU contention alone costs.
CONTROL = "HealthCheck"


def wait_batch(client: Any, batch_id: str, timeout: float) -> Any:
    for event in client.watch_batch(batch_id, timeout=timeout):
        if event.final:
            return event.batch
    raise RuntimeError("batch stream ended without a final event")


def measure(
    client: Any,
    health: Any,
    job_ids: list[str],
    calls: int,
    deadline: Deadline,
    workers: int,
    stop: Any = None,
) -> tuple[dict[str, list[float]], int, int]:
    """``calls`` rounds of the four RPCs and the control; returns samples per RPC and (busy, seen) worker samples."""
    rng = random.Random(7)
    from grpc_health.v1 import health_pb2

    samples: dict[str, list[float]] = {name: [] for name in (*RPCS, CONTROL)}
    busy = seen = 0
    for _ in range(calls):
        if deadline.expired() or (stop is not None and stop()):
            break
        for name in (*RPCS, CONTROL):
            start = time.perf_counter()
            if name == "GetQueue":
                reply = client.get_queue()
                took = time.perf_counter() - start
                seen += 1
                busy += reply.workers.active >= workers
            elif name == "GetStats":
                client.get_stats()
                took = time.perf_counter() - start
            elif name == CONTROL:
                health.Check(health_pb2.HealthCheckRequest(), timeout=30)
                took = time.perf_counter() - start
            elif name == "GetJob":
                client.get_job(rng.choice(job_ids))
                took = time.perf_counter() - start
            else:
                client.list_jobs(limit=50)
                took = time.perf_counter() - start
            samples[name].append(took)
    return samples, busy, seen


def main(argv: list[str] | None = None) -> int:
    parser = base_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=200, help="rounds of the four RPCs per phase")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--history", type=int, default=200, help="files processed before measuring")
    parser.add_argument(
        "--load-files", type=int, default=600, help="files of the batch that keeps workers busy"
    )
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--max-seconds", type=float, default=120.0, help="time limit of each phase")
    args = parser.parse_args(argv)
    if args.calls < 1 or args.history < 1 or args.load_files < 1:
        parser.error("--calls, --history and --load-files must be ≥ 1")

    with workdir("api-latency", keep=args.keep) as root:
        template = make_template(root, "mkv")
        with running_stack(root, workers=args.workers, db=args.db) as stack:
            copy_to(template, library_paths(stack.media_root / "history", args.history, "mkv"))
            copy_to(template, library_paths(stack.media_root / "load", args.load_files, "mkv"))
            say(f"api-latency: {args.calls} rounds of {', '.join(RPCS)}; {args.workers} workers, {args.db}")
            channel = grpc.insecure_channel(stack.target)  # one connection for the API and the control
            health = health_pb2_grpc.HealthStub(channel)
            with Client(stack.target, api_key=API_KEY, timeout=60, channel=channel) as client:
                history = client.start_batch(str(stack.media_root / "history"))
                wait_batch(client, history.batch_id, 300)
                job_ids = [job.job_id for job in client.iter_batch_jobs(history.batch_id)]
                say(f"  history: {len(job_ids)} finished jobs")
                client.get_queue(), client.get_stats()  # warm the channel

                idle, _busy, _seen = measure(
                    client, health, job_ids, args.calls, Deadline(args.max_seconds), args.workers
                )

                load = client.start_batch(str(stack.media_root / "load"))
                time.sleep(0.3)  # let the workers claim their first jobs

                def finished() -> bool:
                    return client.get_batch(load.batch_id).batch.progress.queued == 0

                checks = {"n": 0}

                def batch_done() -> bool:
                    checks["n"] += 1  # look every 25 rounds: the check is an RPC too
                    return checks["n"] % 25 == 0 and finished()

                meter = CpuMeter(stack.server.process.pid).start()  # type: ignore[union-attr]
                with profiled(stack.server.process.pid, args.profile, "api_latency_load"):  # type: ignore[union-attr]
                    loaded, busy, seen = measure(
                        client,
                        health,
                        job_ids,
                        args.calls,
                        Deadline(args.max_seconds),
                        args.workers,
                        stop=batch_done,
                    )
                server_cpu = meter.stop()
                client.cancel_batch(load.batch_id)
            channel.close()

        results: dict[str, Any] = {
            "idle": {},
            "load": {},
            "busy_fraction": round(busy / seen, 3) if seen else 0.0,
            "server_cpu_under_load": server_cpu,
        }
        say(
            f"  {'rpc':<10} {'idle p50':>9} {'idle p95':>9} {'load p50':>9} {'load p95':>9} {'load p99':>9}  (ms)"
        )
        for name in (*RPCS, CONTROL):
            a, b = percentiles(idle[name]), percentiles(loaded[name])
            results["idle"][name], results["load"][name] = a, b
            say(
                f"  {name:<10} {a['p50_ms']:9.2f} {a['p95_ms']:9.2f} {b['p50_ms']:9.2f} {b['p95_ms']:9.2f} "
                f"{b['p99_ms']:9.2f}"
            )
        say(
            f"  server process used {server_cpu['cores_used']:.2f} cores under load "
            f"(+ {server_cpu['tool_cpu_s']:.1f} s CPU in the tools it ran)"
        )
        say(
            f"  workers busy in {results['busy_fraction'] * 100:.0f}% of the load phase's GetQueue answers "
            f"({seen} samples)"
        )
        worst = max(results["load"][name]["p95_ms"] for name in RPCS)
        results["load_rounds"] = len(loaded["GetQueue"])
        targets = [
            target(
                "worst status RPC p95 under load (ms)",
                worst,
                TARGET_P95_MS,
                higher_is_better=False,
                unit=" ms",
            )
        ]
        params = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
        emit("api_latency", params, results, targets)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
