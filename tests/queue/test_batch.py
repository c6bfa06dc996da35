"""Batches: discovery → one transaction → workers running the REAL pipeline on real files."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from arrtheaudio_server.media.pipeline import Pipeline
from arrtheaudio_server.queue.domain import AlreadyExists, BatchRequest, BatchStatus, JobStatus, NotFound
from tests.queue.conftest import FakePipeline, make_settings, touch, wait_for
from tests.support.media_files import AudioSpec, make_corrupt, make_mkv, make_mp4, read_back, tools_available

TRACKS = [AudioSpec(lang="eng", default=True), AudioSpec(lang="jpn")]


async def wait_batch_done(manager: Any, batch_id: str, timeout: float = 60) -> Any:
    async def done() -> Any:
        info, _, _ = await manager.get_batch(batch_id)
        return info if info.status != BatchStatus.RUNNING else None

    return await wait_for(done, timeout)


@pytest.mark.skipif(not tools_available(), reason="ffmpeg/mkvtoolnix missing")
async def test_batch_runs_the_real_pipeline(manager_factory: Any, media_root: Path, storage_url: str) -> None:
    show = media_root / "Show"
    for n in range(3):
        make_mkv(show / f"S01E0{n + 1}.mkv", TRACKS)
    make_mp4(show / "S01E04.mp4", TRACKS)
    make_mkv(show / "already.mkv", [AudioSpec(lang="jpn", default=True), AudioSpec(lang="eng")])
    make_corrupt(show / "broken.mkv", "garbage")
    (show / "notes.txt").write_text("not media")
    settings = make_settings(storage_url, media_root, worker_count=2, retry_attempts=0)
    settings = settings.model_copy(update={"language_priority": ["jpn", "eng"]})
    pipeline = Pipeline(settings)
    manager = await manager_factory(pipeline, settings=settings)
    info = await manager.start_batch(BatchRequest(path=str(show)))
    assert info.estimated_files == 6 and info.counts.total == 6 and info.status == BatchStatus.RUNNING
    with pytest.raises(AlreadyExists):
        await manager.start_batch(BatchRequest(path=str(show)))
    done = await wait_batch_done(manager, info.batch_id)
    assert done.status == BatchStatus.COMPLETED and done.completed_at is not None
    assert done.counts.completed == 5 and done.counts.failed == 1
    assert done.counts.success == 4 and done.counts.skipped == 1 and done.counts.track_changes == 4
    _, jobs, total = await manager.get_batch(info.batch_id, limit=10)
    assert total == 6 and [Path(job.file_path).name for job in jobs] == sorted(
        ["S01E01.mkv", "S01E02.mkv", "S01E03.mkv", "S01E04.mp4", "already.mkv", "broken.mkv"]
    )
    for name in ("S01E01.mkv", "S01E02.mkv", "S01E03.mkv", "S01E04.mp4", "already.mkv"):
        audio = read_back(show / name).audio
        assert [stream.language for stream in audio if stream.default] == ["jpn"], name
    broken = next(job for job in jobs if job.file_path.endswith("broken.mkv"))
    assert broken.status == JobStatus.FAILED and broken.result.value == "failed" and broken.reason
    page2 = (await manager.get_batch(info.batch_id, limit=2, offset=2))[1]
    assert [job.job_id for job in page2] == [job.job_id for job in jobs[2:4]]
    batches, count = await manager.list_batches()
    assert count == 1 and batches[0].batch_id == info.batch_id
    # A finished batch no longer blocks a new scan of the same path.
    again = await manager.start_batch(BatchRequest(path=str(show), pattern="*.mp4"))
    assert again.estimated_files == 1
    await wait_batch_done(manager, again.batch_id)


async def test_cancel_batch_cancels_queued_and_lets_running_finish(
    manager_factory: Any, media_root: Path
) -> None:
    pipeline = FakePipeline(gate=asyncio.Event())
    manager = await manager_factory(pipeline, worker_count=1)
    for n in range(5):
        touch(media_root / "lib", f"{n}.mkv")
    info = await manager.start_batch(BatchRequest(path=str(media_root / "lib")))
    await wait_for(lambda: pipeline.running)
    cancelled_info, count = await manager.cancel_batch(info.batch_id)
    assert count == 4 and cancelled_info.status == BatchStatus.CANCELLED
    assert cancelled_info.counts.cancelled == 4 and cancelled_info.counts.running == 1
    pipeline.gate.set()

    async def finished() -> Any:
        got, _, _ = await manager.get_batch(info.batch_id)
        return got if got.counts.completed == 1 else None

    final = await wait_for(finished)
    assert final.counts.cancelled == 4 and len(pipeline.calls) == 1
    with pytest.raises(NotFound):
        await manager.cancel_batch("missing")
    _, again = await manager.cancel_batch(info.batch_id)
    assert again == 0


async def test_empty_batch_is_complete_at_once(manager_factory: Any, media_root: Path) -> None:
    manager = await manager_factory(FakePipeline(), worker_count=1)
    (media_root / "empty").mkdir()
    info = await manager.start_batch(BatchRequest(path=str(media_root / "empty")))
    assert info.status == BatchStatus.COMPLETED and info.counts.total == 0


async def test_large_batch_is_queued_in_one_go(manager_factory: Any, media_root: Path) -> None:
    pipeline = FakePipeline(gate=asyncio.Event())
    manager = await manager_factory(pipeline, worker_count=1)
    lib = media_root / "big"
    lib.mkdir()
    for n in range(3000):
        (lib / f"{n:05}.mkv").write_bytes(b"x")
    info = await manager.start_batch(BatchRequest(path=str(lib)))
    assert info.counts.total == 3000 and info.estimated_files == 3000
    snapshot = await manager.queue_snapshot(next_limit=3)
    assert snapshot.counts.queued + snapshot.counts.running == 3000
    assert len(snapshot.next_jobs) == 3
    pipeline.gate.set()
