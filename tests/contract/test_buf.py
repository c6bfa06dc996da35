"""buf lint (STANDARD) on proto/, and the breaking-change check CI runs against the previous commit."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.contract.conftest import REPO_ROOT, tool, tool_env


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, capture_output=True, text=True, env=tool_env(), timeout=120, check=False
    )


@pytest.fixture(scope="module")
def buf_deps() -> None:
    result = _run(["python", "scripts/buf_deps.py"], REPO_ROOT)
    assert result.returncode == 0, result.stderr
    assert (REPO_ROOT / ".build" / "buf_deps" / "google" / "api" / "annotations.proto").is_file()


def test_buf_lint_passes(buf_deps: None) -> None:
    result = _run([tool("buf"), "lint"], REPO_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_buf_lint_catches_a_violation(buf_deps: None, tmp_path: Path) -> None:
    shutil.copytree(REPO_ROOT / "proto", tmp_path / "proto")
    shutil.copy(REPO_ROOT / "buf.yaml", tmp_path / "buf.yaml")
    shutil.copytree(REPO_ROOT / ".build" / "buf_deps", tmp_path / ".build" / "buf_deps")
    common = tmp_path / "proto" / "arrtheaudio" / "v1" / "common.proto"
    common.write_text(common.read_text().replace("JOB_RESULT_SKIPPED = 3;", "SKIPPED = 3;"))
    result = _run([tool("buf"), "lint"], tmp_path)
    assert result.returncode != 0
    assert "ENUM_VALUE_PREFIX" in result.stdout + result.stderr or "prefixed" in result.stdout


@pytest.fixture
def proto_repo(tmp_path: Path) -> Path:
    """A scratch git repo with our proto/, buf.yaml and scripts, one commit."""
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    shutil.copytree(REPO_ROOT / "proto", repo / "proto")
    shutil.copy(REPO_ROOT / "buf.yaml", repo / "buf.yaml")
    for script in ("buf_breaking.sh", "buf_deps.py"):
        shutil.copy(REPO_ROOT / "scripts" / script, repo / "scripts" / script)
    (repo / ".gitignore").write_text(".build/\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "contract"]):
        assert _run([*git, *args], repo).returncode == 0
    return repo


def _commit(repo: Path, message: str) -> None:
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    assert _run([*git, "commit", "-q", "-am", message], repo).returncode == 0


def _edit_job(repo: Path, old: str, new: str) -> None:
    common = repo / "proto" / "arrtheaudio" / "v1" / "common.proto"
    text = common.read_text()
    assert old in text
    common.write_text(text.replace(old, new))


def test_breaking_check_skips_without_a_previous_commit(proto_repo: Path) -> None:
    result = _run(["bash", "scripts/buf_breaking.sh"], proto_repo)
    assert result.returncode == 0, result.stderr
    assert "skipped (no commit HEAD~1" in result.stdout


def test_breaking_check_fails_on_a_removed_field_and_passes_an_added_one(proto_repo: Path) -> None:
    _edit_job(proto_repo, "  bool dry_run = 22;\n", "  bool dry_run = 22;\n  string note = 99;\n")
    _commit(proto_repo, "add a field")
    ok = _run(["bash", "scripts/buf_breaking.sh"], proto_repo)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "no breaking changes" in ok.stdout

    _edit_job(proto_repo, "  string reason_code = 15;\n", "")
    _commit(proto_repo, "remove a field")
    bad = _run(["bash", "scripts/buf_breaking.sh"], proto_repo)
    assert bad.returncode != 0
    assert "reason_code" in bad.stdout + bad.stderr


def test_breaking_check_on_this_repository_runs() -> None:
    result = _run(["bash", "scripts/buf_breaking.sh"], REPO_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "buf breaking:" in result.stdout
