from __future__ import annotations

import asyncio
import os
import sys

import pytest

from arrtheaudio_server.media.tools import run_tool


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


async def test_captures_output_and_exit_code() -> None:
    result = await run_tool(
        [sys.executable, "-c", "import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)"],
        timeout=10,
    )
    assert result.returncode == 3 and not result.ok
    assert result.stdout_text.strip() == "out" and result.stderr_text.strip() == "err"
    assert "exited with 3" in result.describe() and "err" in result.describe()


async def test_success() -> None:
    result = await run_tool(["true"], timeout=10)
    assert result.ok and result.returncode == 0


async def test_missing_executable_is_a_value() -> None:
    result = await run_tool(["/nonexistent/arrtheaudio-tool"], timeout=10)
    assert not result.ok and result.error == "executable not found"
    assert "not found" in result.describe()


async def test_timeout_kills_the_process(tmp_path) -> None:
    pidfile = tmp_path / "pid"
    code = f"import os, time; open({str(pidfile)!r}, 'w').write(str(os.getpid())); time.sleep(30)"
    result = await run_tool([sys.executable, "-c", code], timeout=0.5)
    assert result.timed_out and not result.ok and "timed out" in result.describe()
    assert not _alive(int(pidfile.read_text()))


async def test_cancellation_kills_the_process_and_propagates(tmp_path) -> None:
    pidfile = tmp_path / "pid"
    code = f"import os, time; open({str(pidfile)!r}, 'w').write(str(os.getpid())); time.sleep(30)"
    task = asyncio.create_task(run_tool([sys.executable, "-c", code], timeout=60))
    for _ in range(500):
        if pidfile.exists() and pidfile.read_text():
            break
        await asyncio.sleep(0.01)
    pid = int(pidfile.read_text())
    assert _alive(pid)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not _alive(pid)
    assert os.getpid() != pid
