"""One real ``arrtheaudio-server`` process (SQLite) behind one real Envoy for the e2e tests,
over a media root holding real generated files under the shared fixtures' names."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.arr_library import ArrLibrary, make_library
from tests.support.envoy import EnvoyProcess, running_envoy
from tests.support.media_files import tools_available
from tests.support.server import ServerProcess, running_server

if not tools_available():  # pragma: no cover - the dev and CI images have them
    pytest.skip("ffmpeg/mkvtoolnix not installed", allow_module_level=True)

API_KEY = "e2e-key-5f0c1d2e3b4a"
JSON = {"content-type": "application/json"}


def tool(name: str) -> str:
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        pytest.skip(f"{name} not installed")
    return found


@dataclass
class Stack:
    server: ServerProcess
    envoy: EnvoyProcess
    library: ArrLibrary

    @property
    def url(self) -> str:
        return self.envoy.base_url

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"x-api-key": API_KEY, **kwargs.pop("headers", {})}
        return httpx.get(f"{self.url}{path}", headers=headers, timeout=30, **kwargs)

    def curl_watch(self, path: str) -> list[dict[str, Any]]:
        """``curl -N`` a watch path to its end; one JSON object per line."""
        result = subprocess.run(
            [
                tool("curl"),
                "-sS",
                "-N",
                "--max-time",
                "60",
                "-H",
                f"x-api-key: {API_KEY}",
                f"{self.url}{path}",
            ],
            capture_output=True,
            text=True,
            timeout=90,
            check=True,
        )
        return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]

    def total_jobs(self) -> int:
        return int(self.get("/jobs").json()["total_size"])


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("e2e")
    library = make_library(tmp / "media", episodes=3, movie=True, movie_mp4=True, video=True)
    settings = {
        "media_roots": [str(library.root)],
        "path_mappings": {"/tv": str(library.tv), "/movies": str(library.movies)},
        "language_priority": ["eng"],
        "processing": {
            "worker_count": 1,
            "poll_interval_seconds": 0.05,
            "heartbeat_seconds": 1,
            "lease_seconds": 10,
        },
    }
    with running_server(tmp, settings, api_key=API_KEY) as server, running_envoy(tmp, server.port) as envoy:
        yield Stack(server=server, envoy=envoy, library=library)
