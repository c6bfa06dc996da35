"""Start the real ``arrtheaudio-server`` as a subprocess, the way users and CI run it.

Tests that crash, kill or restart the server need a real process; this keeps the start
(config file, port, readiness by gRPC health check) in one place.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import grpc
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.support.child_process import LoggedChild
from tests.support.ports import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class ServerProcess(LoggedChild):
    name: ClassVar[str] = "server"
    poll_interval: ClassVar[float] = 0.1
    stop_timeout: ClassVar[float] = 30.0

    config_path: Path
    port: int
    api_key: str
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    extra_args: list[str] = field(default_factory=list)

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0, *, port_attempts: int = 3) -> None:
        """Start and wait until SERVING. ``free_port()`` can race with another process taking
        the same port before the server binds it; the server then refuses to start (it does
        not share ports), and we retry on a fresh port."""
        for attempt in range(1, port_attempts + 1):
            self.spawn(
                [
                    sys.executable,
                    "-m",
                    "arrtheaudio_server.app",
                    "--config",
                    str(self.config_path),
                    *self.extra_args,
                ],
                cwd=REPO_ROOT,
                env=self.env,
            )
            try:
                self.wait_ready(timeout)
                return
            except RuntimeError as exc:
                if "cannot listen on" not in str(exc) or attempt == port_attempts:
                    raise
            self._move_to_port(free_port())

    def _move_to_port(self, port: int) -> None:
        config = yaml.safe_load(self.config_path.read_text(encoding="utf-8"))
        config["server"]["port"] = self.port = port
        write_config(self.config_path, config)

    def serving(self, timeout: float = 1.0) -> bool:
        """One gRPC health check; raises ``grpc.RpcError`` when the server does not answer."""
        with grpc.insecure_channel(self.target) as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=timeout
            )
        return reply.status == health_pb2.HealthCheckResponse.SERVING

    def ready(self) -> bool:
        try:
            return self.serving()
        except grpc.RpcError:
            return False

    def kill9(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)


def write_config(path: Path, settings: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
    return path


def make_server(tmp_path: Path, settings: dict[str, Any], *, api_key: str = "test-key") -> ServerProcess:
    """A not-yet-started server with its own config dir under ``tmp_path``."""
    port = free_port()
    config = {
        "media_roots": [],
        "logging": {"format": "json", "level": "INFO"},
        **settings,
    }
    config.setdefault("api", {}).setdefault("api_key", api_key)
    config.setdefault("server", {}).update({"host": "127.0.0.1", "port": port})
    config_path = write_config(tmp_path / "config" / "config.yaml", config)
    env = dict(os.environ)
    env.pop("ARRTHEAUDIO_CONFIG", None)
    return ServerProcess(
        config_path=config_path,
        port=port,
        api_key=config["api"]["api_key"],
        env=env,
        log_path=tmp_path / "server.log",
    )


@contextmanager
def running_server(tmp_path: Path, settings: dict[str, Any], **kwargs: Any) -> Iterator[ServerProcess]:
    server = make_server(tmp_path, settings, **kwargs)
    server.start()
    try:
        yield server
    finally:
        server.stop()
