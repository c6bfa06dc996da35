"""Counters only this process knows, for ``GET /metrics`` (see :mod:`.metrics`).

Kept in a registry of their own (not prometheus_client's global one), so tests and several
in-process servers never see each other's default collectors twice.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

REGISTRY = CollectorRegistry(auto_describe=True)

WEBHOOK_DELIVERIES = Counter(
    "arrtheaudio_webhook_deliveries",
    "Sonarr/Radarr deliveries this instance answered, by source and outcome "
    "(accepted, ignored, rejected, unauthenticated).",
    labelnames=["source", "outcome"],
    registry=REGISTRY,
)
