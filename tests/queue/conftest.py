"""Queue test fixtures: a ``storage_url`` over BOTH backends, settings with tiny intervals,
a controllable stand-in pipeline for the worker-pool rules, and a manager factory.

The stand-in pipeline is only for the scheduling rules (priority, MP4 slots, timeouts,
retries); tests of real processing use the real ``media.pipeline.Pipeline`` on real files.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from arrtheaudio_server.config import Settings
from arrtheaudio_server.media.result import Container, ProcessResult, ReasonCode, ResultStatus
from arrtheaudio_server.metadata.hints import MediaHints
from arrtheaudio_server.queue.domain import JobStatus, QueueEvent
from arrtheaudio_server.queue.manager import QueueManager
from arrtheaudio_server.queue.store import Store
from arrtheaudio_server.runtime import build_queue

FAST = {
    "lease_seconds": 2.0,
    "heartbeat_seconds": 0.2,
    "recovery_interval_seconds": 0.3,
    "poll_interval_seconds": 0.05,
    "space_recheck_seconds": 0.2,
    "retry_delay_seconds": 0.0,
    "shutdown_grace_seconds": 0.5,
}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def storage_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'queue.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def media_root(tmp_path: Path) -> Path:
    root = tmp_path / "media"
    root.mkdir()
    return root


def make_settings(url: str, media_root: Path, **processing: Any) -> Settings:
    values = {**FAST, **processing}
    return Settings(
        config_dir=media_root.parent / "config",
        media_roots=[media_root],
        storage={"url": url},
        processing=values,
    )


def touch(root: Path, name: str, size: int = 16) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\0" * size)
    return path


@dataclass
class FakePipeline:
    """Answers per file name; ``gate`` holds every call until set; records concurrency."""

    results: dict[str, Callable[[Path], ProcessResult] | ProcessResult] = field(default_factory=dict)
    gate: asyncio.Event | None = None
    calls: list[str] = field(default_factory=list)
    running: set[str] = field(default_factory=set)
    max_mp4_seen: int = 0
    cancelled: list[str] = field(default_factory=list)
    hints_seen: dict[str, MediaHints | None] = field(default_factory=dict)
    started: asyncio.Event = field(default_factory=asyncio.Event)
    hang: set[str] = field(default_factory=set)
    gates: dict[str, asyncio.Event] = field(default_factory=dict)

    async def process(
        self, path: Path, hints: MediaHints | None = None, *, dry_run: bool | None = None
    ) -> ProcessResult:
        self.calls.append(path.name)
        self.hints_seen[path.name] = hints
        self.running.add(path.name)
        self.max_mp4_seen = max(self.max_mp4_seen, sum(1 for n in self.running if n.endswith(".mp4")))
        self.started.set()
        try:
            if path.name in self.hang:
                await asyncio.Event().wait()
            if self.gate is not None:
                await self.gate.wait()
            if path.name in self.gates:
                await self.gates[path.name].wait()
            await asyncio.sleep(0)
            answer = self.results.get(path.name)
            if callable(answer):
                return answer(path)
            if answer is not None:
                return answer
            return ok(path)
        except asyncio.CancelledError:
            self.cancelled.append(path.name)
            raise
        finally:
            self.running.discard(path.name)


def ok(path: Path, *, changed: bool = True) -> ProcessResult:
    container = Container.MP4 if path.suffix == ".mp4" else Container.MKV
    return ProcessResult(
        status=ResultStatus.SUCCESS,
        reason_code=ReasonCode.CHANGED,
        reason="default track set",
        path=str(path),
        container=container,
        track_changed=changed,
        duration_ms=7,
    )


def failed(
    path: Path, code: ReasonCode = ReasonCode.TOOL_FAILED, reason: str = "mkvpropedit exited 2"
) -> ProcessResult:
    return ProcessResult(status=ResultStatus.FAILED, reason_code=code, reason=reason, path=str(path))


def skipped(path: Path) -> ProcessResult:
    return ProcessResult(
        status=ResultStatus.SKIPPED,
        reason_code=ReasonCode.ALREADY_CORRECT,
        reason="already correct",
        path=str(path),
        container=Container.MKV,
    )


class RecordingBus:
    """Used only if the shared EventBus is not importable; records what is published."""

    def __init__(self) -> None:
        self.events: list[QueueEvent] = []
        self._seq = 0

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def publish(self, event: QueueEvent) -> None:
        self.events.append(event)

    def subscribe(self, **_: Any) -> Any:  # pragma: no cover
        raise NotImplementedError


def new_bus() -> Any:
    try:
        from arrtheaudio_server.queue.events import EventBus
    except ImportError:
        return RecordingBus()
    return EventBus()


@pytest.fixture
async def manager_factory(storage_url: str, media_root: Path) -> AsyncIterator[Callable[..., Any]]:
    made: list[QueueManager] = []

    async def make(
        pipeline: Any = None,
        *,
        start: bool = True,
        url: str | None = None,
        instance_id: str | None = None,
        timeout_margin_seconds: float = 0.2,
        settings: Settings | None = None,
        **processing: Any,
    ) -> QueueManager:
        settings = settings or make_settings(url or storage_url, media_root, **processing)
        manager = await build_queue(
            settings,
            pipeline=pipeline or FakePipeline(),
            event_bus=new_bus(),
            instance_id=instance_id,
            timeout_margin_seconds=timeout_margin_seconds,
        )
        made.append(manager)
        if start:
            await manager.start()
        return manager

    yield make
    for manager in made:
        await manager.close()


async def wait_for(predicate: Callable[[], Any], timeout: float = 20.0, interval: float = 0.02) -> Any:
    """Poll an async or sync predicate until truthy (a bound, never a timing assertion)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(interval)


async def wait_terminal(manager: QueueManager, job_ids: list[str], timeout: float = 30.0) -> list[Any]:
    async def done() -> Any:
        jobs = [await manager.get_job(job_id) for job_id in job_ids]
        return jobs if all(job.status.terminal for job in jobs) else None

    return await wait_for(done, timeout)


async def open_storage(url: str, instance_id: str = "test") -> Store:
    return await Store.open(url, instance_id=instance_id)


__all__ = [
    "FakePipeline",
    "JobStatus",
    "failed",
    "make_settings",
    "ok",
    "open_storage",
    "skipped",
    "touch",
    "wait_for",
    "wait_terminal",
]
