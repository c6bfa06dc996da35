"""The server never shares its port, and the test launcher copes with a port taken under it."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from tests.support.server import REPO_ROOT, make_server, running_server


def test_a_second_server_on_the_same_port_refuses_to_start(tmp_path: Path) -> None:
    with running_server(tmp_path / "first", {}) as first:
        second = make_server(tmp_path / "second", {})
        second._move_to_port(first.port)
        result = subprocess.run(
            [sys.executable, "-m", "arrtheaudio_server.app", "--config", str(second.config_path)],
            cwd=REPO_ROOT,
            env=second.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        # gRPC would share the port by default (SO_REUSEPORT) and split the connections.
        assert result.returncode == 2, result.stderr[-2000:]
        assert f"cannot listen on 127.0.0.1:{first.port}" in result.stderr
        assert first.serving()


def test_launcher_moves_to_a_free_port_when_its_port_was_taken(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()  # another program won the race for the port
        taken = squatter.getsockname()[1]
        late = make_server(tmp_path, {})
        late._move_to_port(taken)
        late.start()
        try:
            assert late.port != taken and late.serving()
            assert f"cannot listen on 127.0.0.1:{taken}" in late.log_text()
        finally:
            late.stop()
