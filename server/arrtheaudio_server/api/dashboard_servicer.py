"""DashboardService: the web dashboard's files and the Prometheus scrape, as raw HTTP bodies.

Both answer ``google.api.HttpBody``, which Envoy's transcoder sends as the HTTP body with the
given content type, so the dashboard and /metrics live on the API's own port and origin
without a second HTTP server. GetAsset is open (the files hold no data); GetMetrics goes
through the API-key interceptor like every other RPC.
"""

from __future__ import annotations

import grpc
from google.api import httpbody_pb2

from arrtheaudio_proto.v1 import dashboard_service_pb2, dashboard_service_pb2_grpc
from arrtheaudio_server.api import metrics
from arrtheaudio_server.api.assets import Assets
from arrtheaudio_server.api.errors import translates_errors
from arrtheaudio_server.queue.domain import NotFound
from arrtheaudio_server.queue.facade import QueueFacade


class DashboardServicer(dashboard_service_pb2_grpc.DashboardServiceServicer):
    def __init__(self, queue: QueueFacade, assets: Assets, *, workers_total: int) -> None:
        self._queue = queue
        self._assets = assets
        self._workers_total = workers_total

    @translates_errors
    async def GetAsset(
        self, request: dashboard_service_pb2.GetAssetRequest, context: grpc.aio.ServicerContext
    ) -> httpbody_pb2.HttpBody:
        asset = self._assets.get(request.path)
        if asset is None:
            raise NotFound(f"no dashboard file {request.path!r}")
        return httpbody_pb2.HttpBody(content_type=asset.content_type, data=asset.body)

    @translates_errors
    async def GetMetrics(
        self, request: dashboard_service_pb2.GetMetricsRequest, context: grpc.aio.ServicerContext
    ) -> httpbody_pb2.HttpBody:
        figures = await self._queue.metrics_figures()
        body = metrics.render(
            figures, workers_total=self._workers_total, workers_busy=self._queue.workers_busy
        )
        return httpbody_pb2.HttpBody(content_type=metrics.CONTENT_TYPE, data=body)
