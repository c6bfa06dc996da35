"""Composition root: build every part from one Settings object, serve, stop gracefully.

This is the only module that knows all layers; each layer below gets what it needs passed
in, so tests can build any of them alone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grpc
import structlog
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from arrtheaudio_server.api_key import ensure_api_key
from arrtheaudio_server.config import ConfigError, Settings, load_settings
from arrtheaudio_server.logging_setup import configure_logging
from arrtheaudio_server.queue.store.migrate import SchemaTooNew

if TYPE_CHECKING:
    from arrtheaudio_server.runtime import Runtime

log = structlog.get_logger(__name__)

DEFAULT_CONFIG_PATH = Path("./config/config.yaml")


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="arrtheaudio-server", description="Run the ArrTheAudio gRPC server."
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=Path(os.environ.get("ARRTHEAUDIO_CONFIG", DEFAULT_CONFIG_PATH)),
        help="YAML config file (created with commented defaults if missing)",
    )
    return parser.parse_args(argv)


@dataclass
class RunningServer:
    """A started server: what tests and ``serve`` need to talk to it and stop it."""

    server: grpc.aio.Server
    runtime: Runtime
    health: health.aio.HealthServicer
    port: int
    api_key: str

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def stop(self, grace: float = 5.0) -> None:
        log.info("server.stopping")
        await self.health.enter_graceful_shutdown()
        # Workers first: running jobs finish (or are released) while RPCs can still be answered.
        await self.runtime.stop()
        await self.server.stop(grace=grace)
        await self.runtime.close()
        log.info("server.stopped")


async def start_server(settings: Settings, **runtime_options: Any) -> RunningServer:
    """Build every part from ``settings``, listen, start the workers; returns once serving.

    ``runtime_options`` go to :meth:`Runtime.create` (tests shorten heartbeats with them).
    """
    from arrtheaudio_server.runtime import Runtime  # imported late: pulls in the DB and media layers

    api_key, generated = ensure_api_key(settings.api.api_key, settings.config_dir)
    if generated:
        # Printed (not only logged) so a first-time user sees it on the console.
        print(
            f"ArrTheAudio generated an API key: {api_key} (stored in {settings.config_dir / 'api_key'})",
            file=sys.stderr,
            flush=True,
        )

    runtime = await Runtime.create(settings, api_key=api_key, **runtime_options)
    try:
        health_servicer = health.aio.HealthServicer()
        # grpc's servicer starts with "" SERVING; until the health monitor's first probe has
        # passed (runtime.start), a health check must not call the server ready.
        await health_servicer.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
        server = grpc.aio.server(
            interceptors=runtime.interceptors(),
            options=[
                ("grpc.max_receive_message_length", 16 * 1024 * 1024),
                # gRPC sets SO_REUSEPORT by default: a second server on the same port would then
                # start "fine" and take half the connections. It must fail instead.
                ("grpc.so_reuseport", 0),
            ],
        )
        service_names = runtime.register_services(server)
        health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
        reflection.enable_server_reflection(
            (
                *service_names,
                health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
                reflection.SERVICE_NAME,
            ),
            server,
        )
        address = f"{settings.server.host}:{settings.server.port}"
        try:
            bound = server.add_insecure_port(address)
        except RuntimeError as exc:  # grpc raises when the bind fails (e.g. the port is taken)
            raise ConfigError(f"server: cannot listen on {address}: address in use or not available") from exc
        if bound == 0:  # pragma: no cover - older grpc returned 0 instead of raising
            raise ConfigError(f"server: cannot listen on {address}")
        await server.start()
        await runtime.start(health_servicer, service_names)
    except BaseException:
        await runtime.close()
        raise
    log.info(
        "server.started",
        address=address,
        port=bound,
        workers=settings.processing.worker_count,
        storage=runtime.storage_kind,
    )
    return RunningServer(server=server, runtime=runtime, health=health_servicer, port=bound, api_key=api_key)


async def serve(settings: Settings, *, stop_event: asyncio.Event | None = None) -> None:
    """Run until ``stop_event`` is set (or SIGTERM/SIGINT), then shut down in order."""
    running = await start_server(settings)
    stop = stop_event or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not in the main thread
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await running.stop(grace=settings.processing.shutdown_grace_seconds + 5)


def main(argv: list[str] | None = None) -> None:
    args = _parse_args(argv)
    try:
        settings = load_settings(args.config)
        configure_logging(settings.logging.format, settings.logging.level)
        asyncio.run(serve(settings))
    except (ConfigError, SchemaTooNew) as exc:  # a bad config file, a port it names that cannot be
        # used, or a queue database a newer version migrated: say so and stop, changing nothing.
        print(f"arrtheaudio-server: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc


if __name__ == "__main__":
    main()
