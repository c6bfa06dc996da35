"""Both distributions' wheels ship every file of their packages, and only their packages.

Editable installs (the dev venv) read the source tree, so a data file missing from
``package-data`` (the dashboard's web/ files, the ``.pyi`` stubs) would only show in a real
install — the Docker image. Building the wheels here catches it. Built from a copy of the
tree (no stale build/ directory), without build isolation or dependencies: a few seconds.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.contract.conftest import REPO_ROOT

_NOT_SHIPPED = {"__pycache__", "build", "dist"}


def _ignore(directory: str, names: list[str]) -> set[str]:
    return {name for name in names if name in _NOT_SHIPPED or name.endswith((".egg-info", ".pyc"))}


def _package_files(root: Path) -> set[str]:
    """Every file of the package under ``root``, as a path relative to root's parent."""
    return {
        str(path.relative_to(root.parent))
        for path in root.rglob("*")
        if path.is_file() and not _ignore(str(path.parent), [path.name]) and "__pycache__" not in path.parts
    }


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[str]]:
    source = tmp_path_factory.mktemp("wheel-src")
    for name in ("pyproject.toml", "README.md", "client", "stubs", "server"):
        origin = REPO_ROOT / name
        if origin.is_dir():
            shutil.copytree(origin, source / name, ignore=_ignore)
        else:
            shutil.copy2(origin, source / name)
    out = tmp_path_factory.mktemp("wheels")
    for project in (source, source / "server"):
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "-q",
                "--no-deps",
                "--no-build-isolation",
                "-w",
                str(out),
                str(project),
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, result.stderr[-3000:]
    built: dict[str, set[str]] = {}
    for wheel in out.glob("*.whl"):
        with zipfile.ZipFile(wheel) as archive:
            built[wheel.name.split("-")[0]] = {
                name for name in archive.namelist() if ".dist-info/" not in name
            }
    assert set(built) == {"arrtheaudio", "arrtheaudio_server"}
    return built


def test_client_wheel_has_the_client_and_the_stubs_only(wheels: dict[str, set[str]]) -> None:
    expected = _package_files(REPO_ROOT / "client" / "arrtheaudio") | _package_files(
        REPO_ROOT / "stubs" / "arrtheaudio_proto"
    )
    assert wheels["arrtheaudio"] == expected
    assert "arrtheaudio_proto/v1/job_service_pb2.pyi" in expected and "arrtheaudio/py.typed" in expected


def test_server_wheel_has_every_module_and_data_file(wheels: dict[str, set[str]]) -> None:
    expected = _package_files(REPO_ROOT / "server" / "arrtheaudio_server")
    assert wheels["arrtheaudio_server"] == expected
    assert {name for name in expected if not name.endswith(".py")} >= {"arrtheaudio_server/py.typed"}
    assert any(name.startswith("arrtheaudio_server/web/") for name in expected)  # the dashboard


def test_server_wheel_declares_the_cli_plugins_and_needs_the_client() -> None:
    metadata = subprocess.run(
        [
            sys.executable,
            "-c",
            "import importlib.metadata as m; d = m.distribution('arrtheaudio-server');"
            "print(d.requires); print(sorted((e.group, e.name, e.value) for e in d.entry_points))",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert "'arrtheaudio==0.1.0'" in metadata
    for name in ("process", "scan", "serve"):
        assert f"('arrtheaudio.commands', '{name}', 'arrtheaudio_server.cli:{name}_command')" in metadata
    assert "('console_scripts', 'arrtheaudio-server', 'arrtheaudio_server.app:main')" in metadata
