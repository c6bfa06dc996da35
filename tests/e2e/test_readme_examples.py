"""The README's "HTTP/JSON and gRPC examples" block, run as-is with bash against real Envoy
and the real server, so the documented commands cannot rot."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import API_KEY, Stack, tool
from tests.support.arr_library import fixture_bytes

pytestmark = pytest.mark.envoy

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_block(marker: str) -> str:
    text = README.read_text(encoding="utf-8")
    match = re.search(rf"<!-- {re.escape(marker)} -->\s*```sh\n(.*?)```", text, re.DOTALL)
    assert match, f"README has no block marked {marker}"
    return match.group(1)


def test_readme_http_and_grpc_examples_run(stack: Stack, tmp_path: Path) -> None:
    script = readme_block("readme-example:http")
    (tmp_path / "download.json").write_bytes(fixture_bytes("sonarr/download.json"))
    tools = {str(Path(tool(name)).parent) for name in ("curl", "grpcurl")}
    env = {
        **os.environ,
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), *tools, os.environ.get("PATH", "")]),
        "KEY": API_KEY,
        "API": stack.url,
        "G": stack.envoy.grpc_target,
    }
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    out = result.stdout
    assert "Test received" in out
    watch_lines = [json.loads(line) for line in out.splitlines() if line.startswith('{"sequence"')]
    assert watch_lines and watch_lines[-1]["final"] is True, out
    assert watch_lines[-1]["job"]["status"] == "JOB_STATUS_COMPLETED"
    assert '"workers"' in out and '"lifetime"' in out
    # grpcurl's stream: the finished job's single final snapshot
    assert '"type": "EVENT_TYPE_SNAPSHOT"' in out and '"final": true' in out
