"""Counters only this process knows, for ``GET /metrics`` (see ``api/metrics.py``).

Kept in a registry of their own (not prometheus_client's global one), so the scrape shows only
ArrTheAudio's figures and several in-process servers in one test never register twice. A
top-level module so every layer may count (media's tool runner, the queue's workers, the API)
without importing a layer above it.
"""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

WEBHOOK_DELIVERIES = Counter(
    "arrtheaudio_webhook_deliveries",
    "Sonarr/Radarr deliveries this instance answered, by source and outcome "
    "(accepted, ignored, rejected, unauthenticated).",
    labelnames=["source", "outcome"],
    registry=REGISTRY,
)
TOOL_RUNS = Counter(
    "arrtheaudio_tool_runs",
    "External tool runs (ffmpeg, mkvmerge, mkvpropedit, ...) by tool and outcome (ok, failed, timeout, missing).",
    labelnames=["tool", "outcome"],
    registry=REGISTRY,
)
TOOL_SECONDS = Histogram(
    "arrtheaudio_tool_duration_seconds",
    "Wall time of external tool runs, by tool.",
    labelnames=["tool"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
    registry=REGISTRY,
)
STORAGE_ERRORS = Counter(
    "arrtheaudio_storage_errors",
    "Queue database operations that failed and were retried later (claim, heartbeat, housekeeping).",
    labelnames=["operation"],
    registry=REGISTRY,
)
RPC_INTERNAL_ERRORS = Counter(
    "arrtheaudio_rpc_internal_errors",
    "RPCs answered with INTERNAL (an unexpected failure, logged with its traceback), by method.",
    labelnames=["method"],
    registry=REGISTRY,
)


def record_tool(executable: str, *, outcome: str, seconds: float) -> None:
    """One finished tool run: ``outcome`` is ok, failed, timeout or missing (media/tools.py)."""
    tool = Path(executable).name or "unknown"
    TOOL_RUNS.labels(tool, outcome).inc()
    TOOL_SECONDS.labels(tool).observe(seconds)
