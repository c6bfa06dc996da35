"""The running parts of one server instance, built from Settings and wired together.

Kept apart from ``app.py`` so tests can build a full in-process server (storage, pipeline,
queue, workers, servicers) on a random port without going through the CLI. Order matters:

* ``create``   — ``build_queue``: open the queue's storage, build the pipeline (TMDB answers
  cached in the queue's database) and the event bus; then the path policy and the
  credentials (nothing runs yet);
* ``register_services`` — one servicer per service of the contract, all over the same queue;
* ``start``    — remove temp files a crash left in the media roots, start the queue
  (recovery, workers, housekeeping), then let the health monitor report SERVING;
* ``stop``     — NOT_SERVING first (load balancers drain), then the workers finish or hand
  their jobs back; ``close`` releases the storage and the pipeline's HTTP client.

This module is the composition root: ``build_pipeline`` and ``build_queue`` are the only
code that constructs the pipeline, the queue's storage and the event bus (the local CLI
commands build their pipeline here too). tests/domain/test_layers.py holds it to that.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

import grpc
import structlog
from grpc_health.v1 import health

from arrtheaudio_proto.v1 import (
    admin_service_pb2,
    admin_service_pb2_grpc,
    batch_service_pb2,
    batch_service_pb2_grpc,
    dashboard_service_pb2,
    dashboard_service_pb2_grpc,
    job_service_pb2,
    job_service_pb2_grpc,
    stats_service_pb2,
    stats_service_pb2_grpc,
    webhook_service_pb2,
    webhook_service_pb2_grpc,
)
from arrtheaudio_server import ids
from arrtheaudio_server.api.admin_servicer import AdminServicer
from arrtheaudio_server.api.assets import Assets
from arrtheaudio_server.api.auth import ApiKeyInterceptor, Credentials
from arrtheaudio_server.api.batch_servicer import BatchServicer
from arrtheaudio_server.api.dashboard_servicer import DashboardServicer
from arrtheaudio_server.api.health_monitor import HealthMonitor
from arrtheaudio_server.api.job_servicer import JobServicer
from arrtheaudio_server.api.stats_servicer import StatsServicer
from arrtheaudio_server.api.watch import WatchConfig
from arrtheaudio_server.api.webhook_servicer import WebhookServicer
from arrtheaudio_server.config import Settings
from arrtheaudio_server.media.pipeline import Pipeline
from arrtheaudio_server.metadata.arr_catalog import ArrCatalog
from arrtheaudio_server.metadata.cache import MetadataCache
from arrtheaudio_server.paths import PathPolicy
from arrtheaudio_server.queue.events import EventBus
from arrtheaudio_server.queue.manager import EventPublisher, QueueManager
from arrtheaudio_server.queue.store import Store
from arrtheaudio_server.queue.workers import Pipeline as JobPipeline

log = structlog.get_logger(__name__)

# Every service of the contract, for reflection and grpc.health.v1.
API_SERVICE_NAMES: tuple[str, ...] = tuple(
    module.DESCRIPTOR.services_by_name[name].full_name
    for module, name in (
        (job_service_pb2, "JobService"),
        (batch_service_pb2, "BatchService"),
        (webhook_service_pb2, "WebhookService"),
        (stats_service_pb2, "StatsService"),
        (admin_service_pb2, "AdminService"),
        (dashboard_service_pb2, "DashboardService"),
    )
)


def build_pipeline(settings: Settings, cache: MetadataCache | None = None) -> Pipeline:
    """The media pipeline with its TMDB client; ``cache`` keeps TMDB answers (None: not kept)."""
    return Pipeline(settings, cache)


async def build_queue(
    settings: Settings,
    *,
    pipeline: JobPipeline | None = None,
    event_bus: EventPublisher | None = None,
    instance_id: str | None = None,
    timeout_margin_seconds: float = 5.0,
) -> QueueManager:
    """Open the queue's database (created, or migrated to this code's schema) and build the manager over it.

    Without ``pipeline`` the real media pipeline is built, with TMDB answers cached in the
    queue's database (shared by every instance); without ``event_bus`` a fresh ``EventBus``
    (which the manager then closes). Tests pass their own pipeline and bus. Call
    ``start()`` on the result next.
    """
    instance = instance_id or settings.server.instance_id or ids.instance_id()
    store = await Store.open(settings.database_url, instance_id=instance)
    try:
        return QueueManager(
            settings,
            store,
            pipeline if pipeline is not None else build_pipeline(settings, store.cache),
            event_bus if event_bus is not None else EventBus(),
            timeout_margin_seconds=timeout_margin_seconds,
            owns_event_bus=event_bus is None,
        )
    except BaseException:
        await store.close()
        raise


@dataclass
class Runtime:
    settings: Settings
    queue: QueueManager
    paths: PathPolicy
    credentials: Credentials
    assets: Assets = field(default_factory=lambda: Assets({}))
    storage_kind: str = "sqlite"
    watch: WatchConfig = field(default_factory=WatchConfig)
    health_interval_seconds: float = 5.0
    monitor: HealthMonitor | None = None
    _service_names: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    async def create(
        cls,
        settings: Settings,
        *,
        api_key: str,
        watch: WatchConfig | None = None,
        health_interval_seconds: float = 5.0,
    ) -> Runtime:
        queue = await build_queue(settings)
        assets = await asyncio.to_thread(Assets.load)
        credentials = Credentials(
            api_key=api_key,
            webhook_username=settings.api.webhook_username,
            webhook_password=settings.api.webhook_password,
            webhook_header=settings.api.webhook_header,
        )
        return cls(
            settings=settings,
            queue=queue,
            paths=PathPolicy.from_settings(settings),
            credentials=credentials,
            assets=assets,
            storage_kind=queue.store.dialect,
            watch=watch or WatchConfig(),
            health_interval_seconds=health_interval_seconds,
        )

    @property
    def arr(self) -> ArrCatalog | None:
        """The Sonarr/Radarr catalog the pipeline resolves with (None with a stand-in pipeline)."""
        catalog = getattr(self.queue.pipeline, "arr", None)
        return catalog if isinstance(catalog, ArrCatalog) else None

    @property
    def serving(self) -> bool:
        return self.monitor is not None and self.monitor.serving

    def interceptors(self) -> Sequence[grpc.aio.ServerInterceptor]:
        return (ApiKeyInterceptor(self.credentials),)

    def register_services(self, server: grpc.aio.Server) -> tuple[str, ...]:
        queue = self.queue
        job_service_pb2_grpc.add_JobServiceServicer_to_server(JobServicer(queue, self.watch), server)
        batch_service_pb2_grpc.add_BatchServiceServicer_to_server(
            BatchServicer(queue, self.paths, self.watch), server
        )
        webhook_service_pb2_grpc.add_WebhookServiceServicer_to_server(
            WebhookServicer(queue, self.paths, self.credentials, self.watch), server
        )
        stats_service_pb2_grpc.add_StatsServiceServicer_to_server(
            StatsServicer(queue, history_days=self.settings.processing.job_history_days), server
        )
        dashboard_service_pb2_grpc.add_DashboardServiceServicer_to_server(
            DashboardServicer(queue, self.assets, workers_total=self.settings.processing.worker_count), server
        )
        admin_service_pb2_grpc.add_AdminServiceServicer_to_server(
            AdminServicer(queue, is_serving=lambda: self.serving, storage=self.storage_kind, arr=self.arr),
            server,
        )
        self._service_names = API_SERVICE_NAMES
        return self._service_names

    async def start(self, health_servicer: health.aio.HealthServicer, service_names: Sequence[str]) -> None:
        await self._remove_stale_temp_files()
        await self.queue.start()
        if self.arr is not None:
            self.arr.start()  # fetch every Arr library now, then refresh in the background
        self.monitor = HealthMonitor(
            health_servicer, service_names, self.queue.healthy, interval_seconds=self.health_interval_seconds
        )
        await self.monitor.start()

    async def _remove_stale_temp_files(self) -> None:
        """A crash mid-remux leaves a temp file beside the original: remove it before work starts.

        With a shared PostgreSQL queue another live instance may be remuxing right now, so
        only files older than the longest a remux may run are touched.
        """
        from arrtheaudio_server.media.tempfiles import cleanup_stale_temp_files

        roots = self.settings.resolved_media_roots
        if not roots:
            return
        older = 0.0 if self.storage_kind == "sqlite" else self.settings.processing.timeout_seconds + 60
        try:
            removed = await asyncio.to_thread(cleanup_stale_temp_files, roots, older_than_seconds=older)
        except OSError as exc:
            log.warning("startup.temp_cleanup_failed", error=str(exc))
            return
        if removed:
            log.info("startup.temp_files_removed", files=[str(path) for path in removed])

    async def stop(self) -> None:
        if self.monitor is not None:
            await self.monitor.stop()
        # Watch streams end now, in-band ("shutting down"), instead of being cut at the grace period.
        close_events = getattr(self.queue.events, "close", None)
        if close_events is not None:
            close_events()
        await self.queue.stop()

    async def close(self) -> None:
        await self.queue.close()
        aclose = getattr(self.queue.pipeline, "aclose", None)
        if aclose is not None:
            await aclose()
