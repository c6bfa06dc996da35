"""Keeps grpc.health.v1 (and ``GET /health``) in step with the queue's storage.

A load balancer or Docker health check must see NOT_SERVING when the database is gone,
not only when the process is: so a background task asks ``queue.healthy()`` every few
seconds and flips every registered service name. ``serving`` is what GetHealth answers.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence

import structlog
from grpc_health.v1 import health, health_pb2

log = structlog.get_logger(__name__)

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class HealthMonitor:
    def __init__(
        self,
        servicer: health.aio.HealthServicer,
        service_names: Sequence[str],
        probe: Callable[[], Awaitable[bool]],
        *,
        interval_seconds: float = 5.0,
        failures_to_flip: int = 2,
    ) -> None:
        self._servicer = servicer
        self._names = ("", *service_names)
        self._probe = probe
        self._interval = interval_seconds
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        # One slow probe on a loaded machine is not an outage: a SERVING instance flips only
        # after this many failed probes in a row (recovery is reported at once).
        self._failures_to_flip = max(1, failures_to_flip)
        self._failures = 0
        self.serving = False

    async def check_once(self) -> bool:
        try:
            healthy = bool(await self._probe())
        except Exception as exc:  # noqa: BLE001 - an exploding probe means "not healthy"
            log.warning("health.probe_failed", error=str(exc))
            healthy = False
        self._failures = 0 if healthy else self._failures + 1
        if healthy or not self.serving or self._failures >= self._failures_to_flip:
            await self._set(healthy and not self._stopping)
        return healthy

    async def _set(self, healthy: bool) -> None:
        if healthy != self.serving:
            log.info("health.changed", serving=healthy)
        self.serving = healthy
        status = SERVING if healthy else NOT_SERVING
        for name in self._names:
            await self._servicer.set(name, status)

    async def start(self) -> None:
        await self.check_once()
        self._task = asyncio.create_task(self._run(), name="health-monitor")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self.check_once()

    async def stop(self) -> None:
        """NOT_SERVING from now on (shutdown has begun), and no more probes."""
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._set(False)
