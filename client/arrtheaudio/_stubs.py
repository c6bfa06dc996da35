"""The generated stubs of every service, bound to one channel."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from arrtheaudio_proto.v1 import (
    admin_service_pb2_grpc,
    batch_service_pb2_grpc,
    job_service_pb2_grpc,
    stats_service_pb2_grpc,
    webhook_service_pb2_grpc,
)


@dataclass(frozen=True)
class Stubs:
    jobs: job_service_pb2_grpc.JobServiceStub
    batches: batch_service_pb2_grpc.BatchServiceStub
    stats: stats_service_pb2_grpc.StatsServiceStub
    webhooks: webhook_service_pb2_grpc.WebhookServiceStub
    admin: admin_service_pb2_grpc.AdminServiceStub

    @classmethod
    def bind(cls, channel: Any) -> Stubs:
        """``channel`` is a ``grpc.Channel`` or a ``grpc.aio.Channel``: the stubs work over both."""
        return cls(
            jobs=job_service_pb2_grpc.JobServiceStub(channel),
            batches=batch_service_pb2_grpc.BatchServiceStub(channel),
            stats=stats_service_pb2_grpc.StatsServiceStub(channel),
            webhooks=webhook_service_pb2_grpc.WebhookServiceStub(channel),
            admin=admin_service_pb2_grpc.AdminServiceStub(channel),
        )
