"""What the test harness's long-running children share: a log file, a readiness wait, a stop.

``ServerProcess`` (arrtheaudio-server) and ``EnvoyProcess`` differ only in the command they
run and how they are asked whether they are ready; both start with output to a log file
that errors quote, wait for readiness while watching for an early exit, and stop with
SIGTERM, then SIGKILL.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar


class LoggedChild:
    """Mixed into a dataclass that has ``log_path`` and ``process`` fields."""

    name: ClassVar[str]
    poll_interval: ClassVar[float]
    stop_timeout: ClassVar[float]

    log_path: Path
    process: subprocess.Popen[bytes] | None

    def spawn(self, command: Sequence[str], **popen: Any) -> None:
        """Start ``command`` with stdout and stderr appended to the log (the child keeps its own handle)."""
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, **popen)

    def ready(self) -> bool:
        """One readiness probe; False while the child is still starting."""
        raise NotImplementedError

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log_text()}")
            if self.ready():
                return
            time.sleep(self.poll_interval)
        raise TimeoutError(f"{self.name} not ready after {timeout}s:\n{self.log_text()}")

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, timeout: float | None = None) -> int:
        """SIGTERM, then SIGKILL after ``timeout`` (default: the class's ``stop_timeout``); the exit code."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.terminate()
        try:
            return self.process.wait(timeout=self.stop_timeout if timeout is None else timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(timeout=10)
