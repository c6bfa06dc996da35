"""The client distribution installed alone, as a user would: ``pip install <repo>`` into a fresh venv.

A real, isolated venv (no ``--system-site-packages``, so nothing of the test environment's
server leaks in); pip takes grpcio & co. from its cache. In it: ``arrtheaudio --help`` and
every command's ``--help`` work, no module of the client fails to import, the server's
commands are absent, ``import arrtheaudio_server`` fails, and the remote commands talk to a
real server (started from the test environment, where the server is installed).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.media_files import AudioSpec, make_mkv, tools_available
from tests.support.server import REPO_ROOT, ServerProcess, running_server

# Never copied into the source tree we install from: environments, build output, caches.
_NOT_SOURCE = {
    ".venv",
    ".git",
    ".build",
    "build",
    "dist",
    "__pycache__",
    ".ruff_cache",
    ".pytest_cache",
    ".mypy_cache",
    "htmlcov",
    "node_modules",
}
_SERVER_COMMANDS = {"process", "scan", "serve"}

# Run inside the client-only venv: import every client module, then `--help` of every command.
_PROBE = r"""
import importlib, json, pkgutil
import click
from click.testing import CliRunner
import arrtheaudio, arrtheaudio_proto

modules = {}
for package in (arrtheaudio, arrtheaudio_proto):
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        try:
            importlib.import_module(info.name)
            modules[info.name] = None
        except Exception as exc:
            modules[info.name] = repr(exc)

from arrtheaudio.cli.main import cli

def walk(command, path):
    yield path
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from walk(sub, [*path, name])

helps = {}
for path in walk(cli, []):
    result = CliRunner().invoke(cli, [*path, "--help"])
    failure = None if result.exception is None or isinstance(result.exception, SystemExit) else repr(result.exception)
    helps[" ".join(path)] = [result.exit_code, failure]
print(json.dumps({"modules": modules, "helps": helps, "top": sorted(cli.commands)}))
"""


def _clean_env(**extra: str) -> dict[str, str]:
    # No coverage hooks or our own settings leaking into the user's environment.
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("COVERAGE_", "ARRTHEAUDIO_", "PYTHON"))
    }
    env.update(extra)
    return env


def _ignore_non_source(directory: str, names: list[str]) -> set[str]:
    ignored = {name for name in names if name in _NOT_SOURCE or name.endswith(".egg-info")}
    if Path(directory) == REPO_ROOT:
        ignored |= {name for name in names if name in {"config", "data"} or name.startswith(".coverage")}
    return ignored


@pytest.fixture(scope="module")
def client_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("client-only")
    # A copy of the repository (the server's folder included, as in a clone) so a build
    # never reuses a stale build/ directory of the working tree.
    source = root / "repo"
    shutil.copytree(REPO_ROOT, source, ignore=_ignore_non_source)
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q", str(source)],
        capture_output=True,
        text=True,
        timeout=600,
        env=_clean_env(),
        check=False,
    )
    assert install.returncode == 0, install.stderr[-4000:]
    return venv


def _run(venv: Path, *argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(argv),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=venv,
        env=_clean_env(PATH=f"{venv / 'bin'}:{os.environ['PATH']}", **env),
        check=False,
    )


def test_the_server_is_not_installed(client_venv: Path) -> None:
    result = _run(client_venv, "python", "-c", "import arrtheaudio_server")
    assert result.returncode != 0
    assert "No module named 'arrtheaudio_server'" in result.stderr
    dists = _run(
        client_venv, "python", "-c", "import importlib.metadata as m; print(m.version('arrtheaudio'))"
    )
    assert dists.stdout.strip() == "0.1.0"


def test_help_works_and_offers_only_client_commands(client_venv: Path) -> None:
    result = _run(client_venv, "arrtheaudio", "--help")
    assert result.returncode == 0, result.stderr
    assert "jobs" in result.stdout and "batch" in result.stdout
    listed = {line.split()[0] for line in result.stdout.split("Commands:")[1].splitlines() if line.strip()}
    assert "jobs" in listed and not listed & _SERVER_COMMANDS
    assert result.stderr == ""  # no plugin warning


def test_every_module_imports_and_every_command_has_help(client_venv: Path) -> None:
    result = _run(client_venv, "python", "-c", _PROBE)
    assert result.returncode == 0, result.stderr
    probe = json.loads(result.stdout)
    assert (
        "arrtheaudio.cli.remote" in probe["modules"]
        and "arrtheaudio_proto.v1.job_service_pb2" in probe["modules"]
    )
    assert {name: error for name, error in probe["modules"].items() if error} == {}
    assert len(probe["helps"]) > 15
    assert {path: outcome for path, outcome in probe["helps"].items() if outcome != [0, None]} == {}
    assert set(probe["top"]) >= {"jobs", "batch", "webhook", "queue", "stats", "health", "admin"}
    assert not set(probe["top"]) & _SERVER_COMMANDS


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    if not tools_available():  # pragma: no cover - the dev and CI images have them
        pytest.skip("ffmpeg/mkvtoolnix not installed")
    media = tmp_path_factory.mktemp("client-only-media")
    make_mkv(media / "Show" / "S01E01.mkv", [AudioSpec(lang="eng", default=True), AudioSpec(lang="jpn")])
    settings = {
        "media_roots": [str(media)],
        "language_priority": ["jpn"],
        "processing": {"worker_count": 1, "poll_interval_seconds": 0.05},
        "logging": {"format": "json", "level": "WARNING"},
    }
    with running_server(tmp_path_factory.mktemp("client-only-server"), settings) as process:
        process.media = media  # type: ignore[attr-defined]
        yield process


def test_remote_commands_against_a_real_server(client_venv: Path, server: ServerProcess) -> None:
    env = {"ARRTHEAUDIO_TARGET": server.target, "ARRTHEAUDIO_API_KEY": server.api_key, "COLUMNS": "80"}
    media: Path = server.media  # type: ignore[attr-defined]
    started = _run(
        client_venv, "arrtheaudio", "--json", "batch", "start", str(media), "--dry-run", "--watch", **env
    )
    assert started.returncode == 0, started.stderr
    batch_id = json.loads(started.stdout.splitlines()[0])["batch_id"]
    listed = _run(client_venv, "arrtheaudio", "jobs", "list", "--batch", batch_id, **env)
    assert listed.returncode == 0, listed.stderr
    assert "Jobs (1 total)" in listed.stdout and "completed" in listed.stdout
    assert max(len(line) for line in listed.stdout.splitlines()) <= 80
    as_json = _run(client_venv, "arrtheaudio", "--json", "jobs", "list", **env)
    jobs = json.loads(as_json.stdout)["jobs"]
    assert [job["batch_id"] for job in jobs] == [batch_id]
    assert jobs[0]["file_path"] == str(media / "Show" / "S01E01.mkv")
    # The table shows 8 characters of the id, and that is all a command needs.
    job_id = jobs[0]["job_id"]
    assert job_id not in listed.stdout and f" {job_id[:8]} " in listed.stdout
    shown = _run(client_venv, "arrtheaudio", "jobs", "show", job_id[:8], **env)
    assert shown.returncode == 0, shown.stderr
    assert job_id in shown.stdout
    batch = _run(client_venv, "arrtheaudio", "--json", "batch", "status", batch_id[:6].upper(), **env)
    assert json.loads(batch.stdout)["batch"]["batch_id"] == batch_id
    unknown = _run(client_venv, "arrtheaudio", "jobs", "show", "0000000", **env)
    if not job_id.startswith("0000000"):
        assert unknown.returncode == 3 and "NOT_FOUND" in unknown.stderr
    denied = _run(client_venv, "arrtheaudio", "jobs", "list", **{**env, "ARRTHEAUDIO_API_KEY": "wrong"})
    assert denied.returncode == 5 and denied.stderr.startswith("Error: UNAUTHENTICATED")
