"""Servers for the client's tests.

Sync tests use pytest-grpc's fixtures (``grpc_add_to_server``, ``grpc_servicer``,
``grpc_stub_cls`` → ``grpc_server`` / ``grpc_addr``), which build a *sync* in-process server.
It cannot host ``grpc.aio`` servicers, so async tests start a real ``grpc.aio`` server
themselves (``aio_target``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

from arrtheaudio_proto.v1 import job_service_pb2_grpc
from tests.client.canned import AioCannedServicer, CannedBackend, CannedServicer, add_to_server


@pytest.fixture(scope="module")
def grpc_add_to_server() -> Any:
    return add_to_server


@pytest.fixture(scope="module")
def grpc_servicer() -> Any:
    return CannedServicer()


@pytest.fixture(scope="module")
def grpc_stub_cls() -> Any:
    return job_service_pb2_grpc.JobServiceStub


@pytest.fixture
def backend(grpc_servicer: Any, grpc_server: Any) -> CannedBackend:
    """A fresh in-memory state for every test, behind the module's running server."""
    grpc_servicer.backend = CannedBackend()
    return grpc_servicer.backend


@pytest.fixture
async def aio_server() -> AsyncIterator[tuple[str, CannedBackend]]:
    backend = CannedBackend()
    server = grpc.aio.server()
    add_to_server(AioCannedServicer(backend), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield f"127.0.0.1:{port}", backend
    finally:
        await server.stop(grace=None)
