"""The one way to run an external tool (ffmpeg, mkvpropedit, mkvmerge, ffprobe).

Every tool runs as an asyncio subprocess so the event loop keeps serving while it works,
with a hard timeout. A timeout or a cancellation of the awaiting task kills the process
(SIGKILL: these tools hold no state worth a graceful stop, and a half-written temp file is
removed by the caller) and reaps it, so no orphan keeps writing after we gave up on it.
A missing binary or a non-zero exit is a value (``ToolResult``), not an exception.

Two ways a tool could outlive that promise, both closed:
- the server itself is SIGKILLed: the kernel kills the tool with it (parent-death signal,
  set by ``setpriv`` which then execs the tool);
- the tool started children of its own (a wrapper script): the tool runs in a new session,
  its own process group, and a timeout or cancel kills the whole group. Without that, a
  child holding the tool's stdout would also keep ``run_tool`` waiting past its timeout
  (asyncio reaps a process only once its pipes are closed).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import structlog

from arrtheaudio_server import observability

log = structlog.get_logger(__name__)

# Enough to explain a failure; a runaway tool cannot fill memory with its chatter.
_MAX_CAPTURE = 1 << 20


@dataclass(frozen=True, slots=True)
class ToolResult:
    argv: tuple[str, ...]
    returncode: int | None  # None when the tool never ran or was killed on timeout
    stdout: bytes
    stderr: bytes
    duration_ms: int
    timed_out: bool = False
    error: str | None = None  # e.g. "executable not found"

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out and self.error is None

    @property
    def outcome(self) -> str:
        """ok, failed (non-zero exit), timeout or missing (could not be started): a metrics label."""
        if self.error:
            return "missing"
        if self.timed_out:
            return "timeout"
        return "ok" if self.returncode == 0 else "failed"

    @property
    def stdout_text(self) -> str:
        return self.stdout.decode("utf-8", errors="replace")

    @property
    def stderr_text(self) -> str:
        return self.stderr.decode("utf-8", errors="replace")

    def describe(self) -> str:
        """One line for a result's reason: what failed and the tool's own last words."""
        name = Path(self.argv[0]).name if self.argv else "tool"
        if self.error:
            return f"{name}: {self.error}"
        if self.timed_out:
            return f"{name} timed out after {self.duration_ms} ms"
        # mkvtoolnix writes its errors to stdout, ffmpeg to stderr.
        tail = (self.stderr_text.strip() or self.stdout_text.strip()).splitlines()[-3:]
        detail = " | ".join(tail) if tail else "no output"
        return f"{name} exited with {self.returncode}: {detail}"


# A tool must not outlive a server that was SIGKILLed (an orphaned ffmpeg would go on writing
# a temp file for a job that another attempt now owns). setpriv (util-linux) sets the
# parent-death signal and then execs the tool in the same process, so the kernel kills the
# tool with its server; preexec_fn could do it too but is unsafe in a threaded (gRPC) process.
# The death signal fires when the *thread* that forked exits: run_tool forks from the event
# loop's thread (asyncio starts subprocesses there), which lives as long as the server.
_SETPRIV = shutil.which("setpriv") if sys.platform.startswith("linux") else None


def _dies_with_us(args: tuple[str, ...]) -> tuple[str, ...]:
    executable = shutil.which(args[0]) if _SETPRIV else None
    if executable is None:  # not found / not executable: let the exec report it as before
        return args
    return (_SETPRIV, "--pdeathsig", "KILL", "--", executable, *args[1:])  # type: ignore[return-value]


async def _kill(proc: asyncio.subprocess.Process) -> None:
    # The whole process group (the tool leads it: start_new_session), also when the tool itself
    # is gone but its children are not. The group's id cannot be reused while a member lives.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
    # Reap it so it never lingers as a zombie; shielded so a second cancel cannot skip this.
    with contextlib.suppress(Exception):
        await asyncio.shield(proc.wait())


async def run_tool(
    argv: Sequence[str | Path],
    *,
    timeout: float,
    cwd: Path | None = None,
) -> ToolResult:
    """Run ``argv`` to completion or until ``timeout`` seconds; never leaves the process running.

    ``asyncio.CancelledError`` propagates (after the process is killed and reaped), so a
    caller's own timeout or shutdown works as expected. Every finished run is counted for
    /metrics (tool, outcome, duration).
    """
    result = await _run(argv, timeout=timeout, cwd=cwd)
    observability.record_tool(
        result.argv[0] if result.argv else "", outcome=result.outcome, seconds=result.duration_ms / 1000
    )
    return result


async def _run(argv: Sequence[str | Path], *, timeout: float, cwd: Path | None) -> ToolResult:
    args = tuple(str(part) for part in argv)
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        proc = await asyncio.create_subprocess_exec(
            *_dies_with_us(args),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=cwd,
            start_new_session=True,  # its own process group, killed as one (see _kill)
        )
    except FileNotFoundError:
        return ToolResult(args, None, b"", b"", elapsed(), error="executable not found")
    except PermissionError:
        return ToolResult(args, None, b"", b"", elapsed(), error="executable not permitted")

    try:
        async with asyncio.timeout(timeout):
            stdout, stderr = await proc.communicate()
    except TimeoutError:
        await _kill(proc)
        log.warning("tool.timeout", argv=args, timeout_s=timeout)
        return ToolResult(args, None, b"", b"", elapsed(), timed_out=True)
    except BaseException:
        # Cancelled (or anything else unexpected): the process must not outlive us.
        await _kill(proc)
        raise
    return ToolResult(args, proc.returncode, stdout[-_MAX_CAPTURE:], stderr[-_MAX_CAPTURE:], elapsed())
