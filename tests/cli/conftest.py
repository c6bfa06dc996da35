"""The CLI tests run against the same pytest-grpc in-process server as the sync client tests."""

from tests.client.conftest import backend, grpc_add_to_server, grpc_servicer, grpc_stub_cls  # noqa: F401
