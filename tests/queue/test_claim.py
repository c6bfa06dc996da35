"""Claim order, atomicity and leases, on SQLite and on the real PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path

from arrtheaudio_server.media.result import Container
from arrtheaudio_server.queue.domain import JobFilter, JobStatus, Priority, Source
from arrtheaudio_server.queue.store import JobOutcome, NewJob, Store
from tests.queue.conftest import open_storage


def new(
    path: str, priority: Priority = Priority.NORMAL, container: Container | None = Container.MKV
) -> NewJob:
    return NewJob(path=path, container=container, priority=priority, source=Source.MANUAL)


async def test_priority_then_fifo(storage_url: str) -> None:
    storage = await open_storage(storage_url)
    try:
        await storage.enqueuer.enqueue(
            [new("/m/low1.mkv", Priority.LOW), new("/m/n1.mkv"), new("/m/n2.mkv")], max_active=None
        )
        await storage.enqueuer.enqueue(
            [new("/m/h1.mkv", Priority.HIGH), new("/m/low2.mkv", Priority.LOW)], max_active=None
        )
        await storage.enqueuer.enqueue([new("/m/h2.mkv", Priority.HIGH), new("/m/n3.mkv")], max_active=None)
        order = []
        while (claimed := await storage.transitions.claim(worker_id="w1", lease_seconds=30)) is not None:
            order.append(Path(claimed.job.file_path).name)
            assert claimed.job.status == JobStatus.RUNNING and claimed.job.attempts == 1
        assert order == ["h1.mkv", "h2.mkv", "n1.mkv", "n2.mkv", "n3.mkv", "low1.mkv", "low2.mkv"]
    finally:
        await storage.close()


async def test_eight_concurrent_claimers_never_share_a_job(storage_url: str) -> None:
    storage = await open_storage(storage_url)
    try:
        await storage.enqueuer.enqueue([new(f"/m/{i:03}.mkv") for i in range(120)], max_active=None)
        claimed: list[str] = []

        async def worker(n: int) -> None:
            while (got := await storage.transitions.claim(worker_id=f"w{n}", lease_seconds=30)) is not None:
                claimed.append(got.job.job_id)
                await asyncio.sleep(0)

        await asyncio.gather(*(worker(n) for n in range(8)))
        assert len(claimed) == 120 and len(set(claimed)) == 120
        jobs, total = await storage.reads.list_jobs(JobFilter(status=JobStatus.RUNNING, limit=500))
        assert total == 120
        assert {job.worker_id for job in jobs} <= {f"w{n}" for n in range(8)}
    finally:
        await storage.close()


async def test_two_engines_on_one_database_never_share_a_job(storage_url: str) -> None:
    """Two storages (two engines, as two instances have) claiming from one queue."""
    if storage_url.startswith("sqlite"):
        # SQLite serves one instance; two engines in one process still must not double-claim.
        pass
    a = await open_storage(storage_url, "inst-a")
    b = await open_storage(storage_url, "inst-b")
    try:
        await a.enqueuer.enqueue([new(f"/m/{i:03}.mkv") for i in range(100)], max_active=None)
        seen: list[tuple[str, str]] = []

        async def worker(storage: Store, n: int) -> None:
            while (
                got := await storage.transitions.claim(
                    worker_id=f"{storage.instance_id}-w{n}", lease_seconds=30
                )
            ) is not None:
                seen.append((storage.instance_id, got.job.job_id))

        await asyncio.gather(*(worker(s, n) for s in (a, b) for n in range(4)))
        ids = [job_id for _, job_id in seen]
        assert len(ids) == 100 and len(set(ids)) == 100
    finally:
        await a.close()
        await b.close()


async def test_expired_lease_is_recovered_live_one_is_not(storage_url: str) -> None:
    a = await open_storage(storage_url, "inst-a")
    b = await open_storage(storage_url, "inst-b")
    try:
        await a.enqueuer.enqueue([new("/m/dead.mkv"), new("/m/alive.mkv")], max_active=None)
        dead = await a.transitions.claim(worker_id="inst-a-w1", lease_seconds=0.05)
        alive = await b.transitions.claim(worker_id="inst-b-w1", lease_seconds=60)
        assert dead and alive
        await asyncio.sleep(0.1)
        changes = await b.transitions.recover(max_attempts=3)
        assert [job.job_id for job in changes.jobs] == [dead.job.job_id]
        recovered = await b.reads.get_job(dead.job.job_id)
        assert (
            recovered.status == JobStatus.QUEUED and recovered.attempts == 1 and recovered.worker_id is None
        )
        assert (await b.reads.get_job(alive.job.job_id)).status == JobStatus.RUNNING
        # The dead worker's late heartbeat and result are refused: it lost the lease.
        assert await a.transitions.heartbeat(dead.job.job_id, worker_id="inst-a-w1", lease_seconds=5) is None
        job, _ = await a.transitions.finish(
            dead.job.job_id, worker_id="inst-a-w1", outcome=JobOutcome(status=JobStatus.COMPLETED)
        )
        assert job is None
        # The live one's heartbeat keeps it.
        assert (
            await b.transitions.heartbeat(alive.job.job_id, worker_id="inst-b-w1", lease_seconds=60) is False
        )
        again = await b.transitions.claim(worker_id="inst-b-w2", lease_seconds=60)
        assert again is not None and again.job.job_id == dead.job.job_id and again.job.attempts == 2
    finally:
        await a.close()
        await b.close()


async def test_recovery_fails_a_job_that_keeps_losing_its_worker(storage_url: str) -> None:
    storage = await open_storage(storage_url)
    try:
        await storage.enqueuer.enqueue([new("/m/poison.mkv")], max_active=None)
        for _ in range(2):
            assert await storage.transitions.claim(worker_id="w", lease_seconds=0.01)
            await asyncio.sleep(0.03)
            await storage.transitions.recover(max_attempts=2)
        assert await storage.transitions.claim(worker_id="w", lease_seconds=0.01)
        await asyncio.sleep(0.03)
        changes = await storage.transitions.recover(max_attempts=2)
        (job,) = changes.jobs
        assert job.status == JobStatus.FAILED and job.attempts == 3 and job.reason_code == "internal"
        assert (await storage.stats.figures()).lifetime.failed == 1
    finally:
        await storage.close()


async def test_sqlite_startup_recovery_takes_every_running_job(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'q.db'}"
    storage = await open_storage(url)
    try:
        await storage.enqueuer.enqueue([new("/m/a.mkv")], max_active=None)
        assert await storage.transitions.claim(worker_id="old-w1", lease_seconds=3600)
        assert not (await storage.transitions.recover(max_attempts=3)).jobs  # lease still valid
        changes = await storage.transitions.recover(max_attempts=3, startup=True)
        assert [job.status for job in changes.jobs] == [JobStatus.QUEUED]
    finally:
        await storage.close()
