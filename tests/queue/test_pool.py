"""Worker-pool rules: MP4 slots, free space, graceful shutdown, events, several instances."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from arrtheaudio_server.media.result import ProcessResult, ReasonCode
from arrtheaudio_server.metadata.hints import MediaHints
from arrtheaudio_server.queue.domain import JobStatus, Source
from tests.queue.conftest import FakePipeline, failed, ok, touch, wait_for, wait_terminal


async def webhook(manager: Any, files: list[Path]) -> list[str]:
    _, enqueued = await manager.enqueue_webhook(
        source=Source.RADARR, event_type="Download", title=None, hints=MediaHints(kind="movie"), files=files
    )
    return [e.job_id for e in enqueued]


async def test_mp4_jobs_are_not_held_back_by_the_remux_limit(manager_factory: Any, media_root: Path) -> None:
    # MP4s are edited in place (a few bytes), so the queue runs them like MKVs; only the
    # remux fallback is bounded by max_mp4_concurrent, inside the pipeline
    # (tests/media/test_mp4_safety.py: test_waiting_for_a_remux_slot_...).
    gates = {"a.mp4": asyncio.Event(), "b.mp4": asyncio.Event()}
    pipeline = FakePipeline(gates=gates)
    manager = await manager_factory(pipeline, worker_count=3, max_mp4_concurrent=1)
    names = ["a.mp4", "b.mp4", "c.mkv", "d.mkv", "e.mkv"]
    ids = await webhook(manager, [touch(media_root, n) for n in names])
    await wait_terminal(manager, ids[2:])
    assert pipeline.running == {"a.mp4", "b.mp4"} and pipeline.max_mp4_seen == 2
    snapshot = await manager.queue_snapshot()
    assert {job.job_id for job in snapshot.current_jobs} == set(ids[:2]) and snapshot.workers_active == 2
    gates["a.mp4"].set()
    gates["b.mp4"].set()
    jobs = await wait_terminal(manager, ids)
    assert all(job.status == JobStatus.COMPLETED for job in jobs)


async def test_waiting_for_space_is_rechecked_until_there_is_room(
    manager_factory: Any, media_root: Path
) -> None:
    # The pipeline says when a write needs room it does not have (a remux, a hard-link copy);
    # the queue parks the job without using up an attempt and asks again periodically.
    free = {"bytes": 1500}

    def big_result(path: Path) -> ProcessResult:
        if free["bytes"] < 2000:
            return failed(
                path, ReasonCode.INSUFFICIENT_SPACE, f"insufficient space: {free['bytes']} free, 2000 needed"
            )
        return ok(path)

    pipeline = FakePipeline(results={"big.mp4": big_result})
    manager = await manager_factory(pipeline, worker_count=1, space_recheck_seconds=0.1)
    big = touch(media_root, "big.mp4", size=1000)
    small = touch(media_root, "small.mkv", size=1000)
    big_id, small_id = await webhook(manager, [big, small])

    async def waiting() -> Any:
        job = await manager.get_job(big_id)
        return job if job.status == JobStatus.WAITING_FOR_SPACE else None

    job = await wait_for(waiting)
    assert job.reason_code == ReasonCode.INSUFFICIENT_SPACE.value and "2000" in (job.reason or "")
    assert job.attempts == 0  # waiting is not a failed attempt
    (small_job,) = await wait_terminal(manager, [small_id])  # the MKV job is not held up
    assert small_job.status == JobStatus.COMPLETED
    stats = await manager.stats()
    # Only the big job is active; caught mid re-check it may be queued or even claimed (running).
    assert stats.queue.waiting_for_space + stats.queue.queued + stats.queue.running == 1
    assert stats.queue.completed == 1
    await wait_for(lambda: pipeline.calls.count("big.mp4") >= 3)  # re-checked periodically
    free["bytes"] = 10**9
    (done,) = await wait_terminal(manager, [big_id])
    assert done.status == JobStatus.COMPLETED and done.attempts == 1


async def test_graceful_shutdown_hands_running_jobs_back(
    manager_factory: Any, media_root: Path, storage_url: str
) -> None:
    pipeline = FakePipeline(gate=asyncio.Event())
    first = await manager_factory(pipeline, worker_count=2, instance_id="inst-1")
    ids = await webhook(first, [touch(media_root, f"{n}.mkv") for n in range(3)])
    await wait_for(lambda: len(pipeline.running) == 2)
    await first.stop(grace=0.1)
    assert sorted(pipeline.cancelled) == sorted(pipeline.calls)  # interrupted, not abandoned
    jobs = [await first.get_job(job_id) for job_id in ids]
    assert [job.status for job in jobs] == [JobStatus.QUEUED] * 3
    assert all(job.attempts == 0 and job.worker_id is None for job in jobs)
    # The next start picks them up at once (no lease to wait for).
    second_pipeline = FakePipeline()
    second = await manager_factory(second_pipeline, worker_count=2, instance_id="inst-2", lease_seconds=600)
    finished = await wait_terminal(second, ids)
    assert all(job.status == JobStatus.COMPLETED and job.attempts == 1 for job in finished)
    assert sorted(second_pipeline.calls) == ["0.mkv", "1.mkv", "2.mkv"]


async def test_graceful_shutdown_lets_jobs_finish_within_grace(
    manager_factory: Any, media_root: Path
) -> None:
    pipeline = FakePipeline(gate=asyncio.Event())
    manager = await manager_factory(pipeline, worker_count=1)
    (job_id,) = await webhook(manager, [touch(media_root, "a.mkv")])
    await wait_for(lambda: pipeline.running)
    stopping = asyncio.create_task(manager.stop(grace=30))
    await asyncio.sleep(0.05)
    assert not stopping.done()
    pipeline.gate.set()
    await stopping
    assert (await manager.get_job(job_id)).status == JobStatus.COMPLETED
    assert not pipeline.cancelled


async def test_every_state_change_is_published(manager_factory: Any, media_root: Path) -> None:
    manager = await manager_factory(FakePipeline(), worker_count=1)
    everything = manager.subscribe()
    path = touch(media_root, "a.mkv")
    (job_id,) = await webhook(manager, [path])
    statuses = []
    while JobStatus.COMPLETED not in statuses:
        event = await asyncio.wait_for(everything.__anext__(), 10)
        if event.job is not None and event.job.job_id == job_id:
            statuses.append(event.job.status)
    assert statuses[0] == JobStatus.QUEUED and JobStatus.RUNNING in statuses
    everything.close()


@pytest.mark.postgres
@pytest.mark.parametrize("storage_url", ["postgres"], indirect=True)
async def test_two_instances_share_one_postgres_queue(
    manager_factory: Any, media_root: Path, pg_url: str
) -> None:
    one, two = FakePipeline(), FakePipeline()
    a = await manager_factory(one, url=pg_url, worker_count=4, instance_id="inst-a")
    b = await manager_factory(two, url=pg_url, worker_count=4, instance_id="inst-b")
    watcher = b.subscribe()
    ids = await webhook(a, [touch(media_root, f"{n:02}.mkv") for n in range(40)])
    jobs = await wait_terminal(a, ids)
    assert all(job.status == JobStatus.COMPLETED for job in jobs)
    assert sorted(one.calls + two.calls) == sorted(f"{n:02}.mkv" for n in range(40))  # each exactly once
    assert {job.worker_id.rsplit("-w", 1)[0] for job in jobs} <= {"inst-a", "inst-b"}
    # b hears of a's changes (LISTEN/NOTIFY) even for jobs it never touched.
    heard = set()
    while len(heard) < 40:
        event = await asyncio.wait_for(watcher.__anext__(), 10)
        if event.job is not None and event.job.status == JobStatus.COMPLETED:
            heard.add(event.job.job_id)
    watcher.close()


@pytest.mark.postgres
@pytest.mark.parametrize("storage_url", ["postgres"], indirect=True)
async def test_cancel_reaches_a_job_running_on_another_instance(
    manager_factory: Any, media_root: Path, pg_url: str
) -> None:
    pipeline = FakePipeline(gate=asyncio.Event())
    a = await manager_factory(pipeline, url=pg_url, worker_count=1, instance_id="inst-a")
    b = await manager_factory(FakePipeline(), url=pg_url, worker_count=0, instance_id="inst-b")
    (job_id,) = await webhook(a, [touch(media_root, "a.mkv")])
    await wait_for(lambda: pipeline.running)
    answer = await b.cancel_job(job_id)
    assert answer.status == JobStatus.RUNNING  # a stops it at its next heartbeat
    (job,) = await wait_terminal(b, [job_id])
    assert job.status == JobStatus.CANCELLED and pipeline.cancelled == ["a.mkv"]
