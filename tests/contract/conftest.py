"""Shared helpers for the contract tests: the repo root and the venv's tools."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    """A CLI from the venv (buf, grpcurl, envoy), falling back to PATH."""
    beside = VENV_BIN / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if not found:
        pytest.fail(f"{name} not installed: pip install -e '.[dev]'")
    return found


def tool_env() -> dict[str, str]:
    """Environment for scripts that call `buf` / `python` by name."""
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHON"] = sys.executable
    return env


def load_script(name: str) -> ModuleType:
    """Import scripts/<name>.py as a fresh module (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location(f"script_{name}", REPO_ROOT / "scripts" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
