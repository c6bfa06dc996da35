"""A tool never outlives the server that started it, nor the run_tool call that gave up on it.

Real processes throughout: a Python process running ``run_tool(["sleep", "30"])`` is SIGKILLed
and its ``sleep`` must die with it (the kernel's parent-death signal); a tool's own children
(``sh -c 'sleep 30 & ...'``) must go too when run_tool times out or is cancelled (the tool
runs in its own process group, and the whole group is killed). Waits are bounded polls of
/proc, never timing assertions.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from arrtheaudio_server.media.tools import run_tool

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc and prctl")


def _state(pid: int) -> str | None:
    """The process state letter, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            # comm (field 2) may contain spaces: the state follows the last ')'.
            return fh.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


def _alive(pid: int) -> bool:
    # A zombie is dead: it only waits for a parent (maybe a container's non-reaping init) to reap it.
    return _state(pid) not in (None, "Z", "X")


def _wait(predicate, timeout: float = 15.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return bool(predicate())


def _children(pid: int, comm: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                head, tail = fh.read().rsplit(")", 1)
        except (FileNotFoundError, ProcessLookupError):
            continue
        name = head.split("(", 1)[1]
        ppid = int(tail.split()[1])
        if ppid == pid and name == comm:
            found.append(int(entry))
    return found


RUNNER = """
import asyncio, sys
from arrtheaudio_server.media.tools import run_tool
print("running", flush=True)
asyncio.run(run_tool(["sleep", "30"], timeout=60))
"""


def test_the_tool_dies_when_its_server_is_sigkilled() -> None:
    server = subprocess.Popen([sys.executable, "-c", RUNNER], stdout=subprocess.PIPE)
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == b"running"
        assert _wait(lambda: _children(server.pid, "sleep")), "the tool never started"
        (tool,) = _children(server.pid, "sleep")
        assert _alive(tool)
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=10)
        assert _wait(lambda: not _alive(tool)), f"sleep {tool} outlived its SIGKILLed parent"
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=10)
        for pid in _children(server.pid, "sleep"):
            os.kill(pid, signal.SIGKILL)


def _grandchild_script(pidfile: Path) -> list[str]:
    # The tool starts a child of its own and waits for it, as a wrapper script would. The child
    # holds the tool's stdout/stderr: while it lives, the pipes stay open and run_tool could
    # not even finish reaping the tool (asyncio waits for the pipes too).
    return ["sh", "-c", f'sleep 600 & echo $! > "{pidfile}"; wait']


def _kill_leftover(pidfile: Path) -> None:
    if pidfile.exists() and pidfile.read_text().strip():
        pid = int(pidfile.read_text())
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)


# Far above what a kill and a reap take, far below the grandchild's 600 s: reaching it means
# run_tool waited for the tool's child instead of killing it.
BOUND = 60.0


async def _read_pid(pidfile: Path) -> int:
    for _ in range(1000):
        if pidfile.exists() and pidfile.read_text().strip():
            return int(pidfile.read_text())
        await asyncio.sleep(0.01)
    raise AssertionError("the tool never wrote its child's pid")


async def test_a_timeout_kills_the_tools_children_too(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    try:
        result = await asyncio.wait_for(run_tool(_grandchild_script(pidfile), timeout=1.0), BOUND)
        assert result.timed_out
        grandchild = await _read_pid(pidfile)
        assert await asyncio.to_thread(_wait, lambda: not _alive(grandchild)), (
            "the tool's child outlived the timeout"
        )
    finally:
        _kill_leftover(pidfile)


async def test_a_cancellation_kills_the_tools_children_too(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    try:
        task = asyncio.create_task(run_tool(_grandchild_script(pidfile), timeout=600))
        grandchild = await _read_pid(pidfile)
        assert _alive(grandchild)
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=BOUND)
        assert done, "run_tool did not return after its cancellation"
        with pytest.raises(asyncio.CancelledError):
            task.result()
        assert await asyncio.to_thread(_wait, lambda: not _alive(grandchild)), (
            "the tool's child outlived the cancel"
        )
    finally:
        _kill_leftover(pidfile)
