"""Scheduled scans: runs every second, never two batches at once for one path, and with two
instances on one PostgreSQL each run started exactly once."""

from __future__ import annotations

import asyncio
import itertools
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from arrtheaudio_server.config import Settings
from arrtheaudio_server.media.result import ProcessResult
from arrtheaudio_server.metadata.hints import MediaHints
from arrtheaudio_server.queue.domain import BatchStatus
from arrtheaudio_server.queue.scheduler import next_due
from arrtheaudio_server.queue.store.schedule_runs import RunOutcome
from tests.queue.conftest import make_settings, ok, touch, wait_for

EVERY_SECOND = "* * * * * *"  # six fields: seconds last (croniter)


class SlowPipeline:
    """Takes ``seconds`` per file, so a batch outlives the schedule's interval."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.calls = 0

    async def process(
        self, path: Path, hints: MediaHints | None = None, *, dry_run: bool | None = None
    ) -> ProcessResult:
        self.calls += 1
        await asyncio.sleep(self.seconds)
        return ok(path)


def with_schedules(url: str, media_root: Path, *schedules: dict[str, Any], **processing: Any) -> Settings:
    base = make_settings(url, media_root, **processing)
    return base.model_copy(update={"schedules": Settings(schedules=list(schedules)).schedules})


async def batches_of(manager: Any) -> list[Any]:
    batches, _ = await manager.list_batches(limit=100)
    return sorted(batches, key=lambda b: b.created_at)


def test_next_due_understands_five_and_six_fields() -> None:
    from datetime import UTC, datetime

    start = datetime(2026, 1, 1, 3, 0, 0, tzinfo=UTC)
    assert next_due("0 3 * * *", start) == datetime(2026, 1, 2, 3, 0, tzinfo=UTC)
    # Six fields: seconds last (croniter's form), so this is "every 5 seconds".
    assert next_due("* * * * * */5", start) == start + timedelta(seconds=5)
    with pytest.raises(ValueError, match="not a valid cron"):
        Settings(schedules=[{"name": "x", "path": "/m", "cron": "every day"}])
    with pytest.raises(ValueError, match="repeated: x"):
        Settings(schedules=[{"name": "x", "path": "/m", "cron": "* * * * *"}] * 2)


async def test_a_schedule_starts_batches_but_never_two_at_once(
    manager_factory: Any, media_root: Path, storage_url: str
) -> None:
    show = media_root / "Show"
    for n in range(3):
        touch(show, f"S01E0{n}.mkv")
    schedule = {"name": "often", "path": str(show), "cron": EVERY_SECOND, "dry_run": True}
    settings = with_schedules(storage_url, media_root, schedule, worker_count=1)
    # 3 files × 0.7 s: each batch lasts ~2 s, so about every other run finds it still active.
    manager = await manager_factory(SlowPipeline(0.7), settings=settings)

    async def enough() -> bool:
        runs = await manager.scheduler._runs.all_runs("often")
        started = [r for r in runs if r.outcome == RunOutcome.STARTED]
        skipped = [r for r in runs if r.outcome == RunOutcome.SKIPPED]
        return len(started) >= 2 and len(skipped) >= 1

    await wait_for(enough, timeout=30, interval=0.2)
    await manager.scheduler.stop()
    runs = await manager.scheduler._runs.all_runs("often")
    skipped = [r for r in runs if r.outcome == RunOutcome.SKIPPED]
    assert all("already active" in (r.message or "") for r in skipped)
    # Never two batches for the path at once: each starts after the previous one ended.
    batches = await batches_of(manager)
    assert len(batches) == sum(1 for r in runs if r.outcome == RunOutcome.STARTED)
    for earlier, later in itertools.pairwise(batches):
        assert earlier.completed_at is not None and earlier.completed_at <= later.created_at
    assert {b.request.path for b in batches} == {str(show)} and all(b.request.dry_run for b in batches)
    # Due times are whole seconds, one run each.
    assert len({r.due_at for r in runs}) == len(runs) and all(r.due_at.microsecond == 0 for r in runs)

    listed = {info.schedule.name: info for info in await manager.list_schedules()}
    info = listed["often"]
    assert info.last_run is not None and info.last_run.due_at == runs[-1].due_at
    assert info.last_batch_id == next(r.batch_id for r in reversed(runs) if r.batch_id)
    assert info.next_run_at > info.last_run.due_at


async def test_a_schedule_with_a_bad_path_records_the_failure(
    manager_factory: Any, media_root: Path, storage_url: str, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    settings = with_schedules(
        storage_url, media_root, {"name": "bad", "path": str(outside), "cron": EVERY_SECOND}, worker_count=1
    )
    manager = await manager_factory(SlowPipeline(0), settings=settings)

    async def failed() -> Any:
        runs = await manager.scheduler._runs.all_runs("bad")
        return [r for r in runs if r.outcome == RunOutcome.FAILED]

    (first, *_) = await wait_for(failed, timeout=15, interval=0.2)
    assert "outside the configured media roots" in (first.message or "")
    assert (await batches_of(manager)) == []


@pytest.mark.postgres
@pytest.mark.parametrize("storage_url", ["postgres"], indirect=True)
async def test_two_instances_on_one_postgres_start_each_run_once(
    storage_url: str, manager_factory: Any, media_root: Path
) -> None:
    pg_url = storage_url  # set up before the managers, so the database outlives them
    show = media_root / "Show"
    touch(show, "S01E01.mkv")
    schedule = {"name": "shared", "path": str(show), "cron": EVERY_SECOND}
    settings = with_schedules(pg_url, media_root, schedule, worker_count=1)
    pipelines = [SlowPipeline(0.0), SlowPipeline(0.0)]
    first = await manager_factory(
        pipelines[0], settings=settings, url=pg_url, instance_id="inst-a", start=False
    )
    second = await manager_factory(
        pipelines[1], settings=settings, url=pg_url, instance_id="inst-b", start=False
    )
    attempts = {"inst-a": 0, "inst-b": 0}
    winners: list[tuple[str, Any]] = []
    for name, manager in (("inst-a", first), ("inst-b", second)):
        runs_table = manager.scheduler._runs
        original = runs_table.claim

        async def counted(
            schedule: str, due_at: Any, *, _name: str = name, _orig: Any = original, **kw: Any
        ) -> Any:
            attempts[_name] += 1
            seq = await _orig(schedule, due_at, **kw)
            if seq is not None:
                winners.append((_name, due_at))
            return seq

        runs_table.claim = counted  # type: ignore[method-assign]
    await first.start()
    await second.start()

    async def enough() -> bool:
        return len(await first.scheduler._runs.all_runs("shared")) >= 5

    await wait_for(enough, timeout=30, interval=0.2)
    await first.scheduler.stop()
    await second.scheduler.stop()
    runs = await first.scheduler._runs.all_runs("shared")
    assert len({r.due_at for r in runs}) == len(runs)  # one row per due time, whoever won it
    started = [r for r in runs if r.outcome == RunOutcome.STARTED]
    batches = await batches_of(first)
    assert sorted(b.batch_id for b in batches) == sorted(r.batch_id for r in started)  # each run once
    assert all(r.outcome in (RunOutcome.STARTED, RunOutcome.SKIPPED) for r in runs)
    # Both instances tried runs (a loaded machine may make one skip a due time it woke too late
    # for): the runs were really contested, and each has exactly one winner.
    assert min(attempts.values()) >= 2 and sum(attempts.values()) > len(runs)
    assert len(winners) == len(runs) and len({due for _name, due in winners}) == len(runs)
    assert len(await second.scheduler._runs.all_runs("shared")) == len(runs)
    assert all(b.status in (BatchStatus.COMPLETED, BatchStatus.RUNNING) for b in batches)
