"""Group commit of enqueues, on SQLite and on the real PostgreSQL: concurrent requests share
one transaction, yet each is answered (and fails) on its own, dedup holds across them, and no
caller is ever told "accepted" about a job that is not in the database."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select

from arrtheaudio_server.clock import utcnow
from arrtheaudio_server.media.result import Container
from arrtheaudio_server.metadata.hints import MediaHints
from arrtheaudio_server.queue.domain import (
    ACTIVE_STATUSES,
    BatchRequest,
    JobStatus,
    Priority,
    QueueFull,
    Source,
    WebhookInfo,
)
from arrtheaudio_server.queue.store import NewBatch, NewJob, Store
from arrtheaudio_server.queue.store.group_commit import GroupCommit
from arrtheaudio_server.queue.store.schema import JOBS, WEBHOOKS
from tests.queue.conftest import open_storage

REPO_ROOT = Path(__file__).resolve().parents[2]


def webhook_files(*paths: str) -> list[NewJob]:
    return [
        NewJob(
            path=path,
            container=Container.MKV,
            priority=Priority.HIGH,
            source=Source.SONARR,
            hints=MediaHints(kind="series", title="Show"),
        )
        for path in paths
    ]


def webhook(webhook_id: str) -> WebhookInfo:
    return WebhookInfo(
        webhook_id=webhook_id,
        source=Source.SONARR,
        event_type="Download",
        title="Show",
        hints=MediaHints(kind="series", title="Show"),
        created_at=utcnow(),
    )


def count_commits(storage: Store) -> list[int]:
    """How many write transactions commit from now on (the real engine's commit events)."""
    seen = [0]

    def on_commit(_conn: Any) -> None:
        seen[0] += 1

    event.listen(storage.db.writer.sync_engine, "commit", on_commit)
    return seen


async def send(storage: Store, webhook_id: str, *paths: str, max_active: int | None = None) -> Any:
    return await storage.enqueuer.enqueue(
        webhook_files(*paths), max_active=max_active, webhook=webhook(webhook_id)
    )


async def rows(storage: Store) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Every job (by id) and every webhook's job ids, straight from the database."""
    async with storage.db.read() as conn:
        jobs = {r.job_id: r for r in await conn.execute(select(JOBS))}
        hooks = {r.webhook_id: list(r.job_ids) for r in await conn.execute(select(WEBHOOKS))}
    return jobs, hooks


async def test_concurrent_webhooks_share_one_transaction_and_each_gets_its_own_answer(
    storage_url: str,
) -> None:
    storage = await open_storage(storage_url)
    try:
        commits = count_commits(storage)
        answers = await asyncio.gather(
            *(send(storage, f"w{n:02}", *(f"/m/s{n:02}e{e}.mkv" for e in range(3))) for n in range(20))
        )
        # All 20 were pending when the writer ran: one transaction, not twenty.
        assert commits == [1]
        jobs, hooks = await rows(storage)
        assert len(jobs) == 60 and len(hooks) == 20
        for n, (enqueued, changes) in enumerate(answers):
            assert [item.path for item in enqueued] == [f"/m/s{n:02}e{e}.mkv" for e in range(3)]
            assert not any(item.deduplicated for item in enqueued)
            assert hooks[f"w{n:02}"] == [item.job_id for item in enqueued]
            for item in enqueued:
                assert jobs[item.job_id].file_path == item.path and jobs[item.job_id].webhook_id == f"w{n:02}"
            # The events announce exactly this request's jobs, equal to what the database holds.
            assert changes.webhook_ids == {f"w{n:02}"}
            assert [job.job_id for job in changes.jobs] == [item.job_id for item in enqueued]
            for job in changes.jobs:
                assert job == await storage.reads.get_job(job.job_id)
        # FIFO across the group: creation order is the order the requests came in.
        async with storage.db.read() as conn:
            in_seq = [r.file_path for r in await conn.execute(select(JOBS.c.file_path).order_by(JOBS.c.seq))]
        assert in_seq == [f"/m/s{n:02}e{e}.mkv" for n in range(20) for e in range(3)]
    finally:
        await storage.close()


async def test_queue_full_refuses_exactly_the_requests_that_do_not_fit(storage_url: str) -> None:
    storage = await open_storage(storage_url)
    try:
        await send(storage, "first", "/m/a.mkv", max_active=5)
        results = await asyncio.gather(
            send(storage, "fits", "/m/b.mkv", "/m/c.mkv", max_active=5),  # 3 active
            send(storage, "too-big", "/m/d.mkv", "/m/e.mkv", "/m/f.mkv", max_active=5),  # 6 > 5
            send(storage, "dedup-only", "/m/a.mkv", "/m/b.mkv", max_active=5),  # no new job: fits
            send(storage, "fills", "/m/g.mkv", "/m/h.mkv", max_active=5),  # 5 active
            send(storage, "one-more", "/m/i.mkv", max_active=5),  # 6 > 5
            return_exceptions=True,
        )
        assert [type(r).__name__ for r in results] == [
            "Enqueued",
            "QueueFull",
            "Enqueued",
            "Enqueued",
            "QueueFull",
        ]
        assert isinstance(results[1], QueueFull) and "Nothing was queued" in str(results[1])
        jobs, hooks = await rows(storage)
        # Never a partial request: none of the refused requests' files has a job or a webhook row.
        assert sorted(Path(r.file_path).name for r in jobs.values()) == [
            "a.mkv",
            "b.mkv",
            "c.mkv",
            "g.mkv",
            "h.mkv",
        ]
        assert set(hooks) == {"first", "fits", "dedup-only", "fills"}
        assert sum(1 for r in jobs.values() if JobStatus(r.status) in ACTIVE_STATUSES) == 5
        dedup, _ = results[2]
        assert all(item.deduplicated for item in dedup)
    finally:
        await storage.close()


async def test_a_file_in_two_coalesced_requests_makes_one_job(storage_url: str) -> None:
    storage = await open_storage(storage_url)
    try:
        batch = [
            NewJob(
                path="/m/shared.mkv", container=Container.MKV, priority=Priority.LOW, source=Source.MANUAL
            ),
            NewJob(
                path="/m/batch-only.mkv", container=Container.MKV, priority=Priority.LOW, source=Source.MANUAL
            ),
        ]
        commits = count_commits(storage)
        (in_batch, _), (first, _), (second, changes) = await asyncio.gather(
            storage.enqueuer.enqueue(
                batch, max_active=None, batch=NewBatch("b1", BatchRequest(path="/m"), 2)
            ),
            send(storage, "w1", "/m/shared.mkv", "/m/one.mkv"),
            send(storage, "w2", "/m/two.mkv", "/m/shared.mkv", "/m/two.mkv"),
        )
        assert commits == [1]
        shared = in_batch[0].job_id
        assert not in_batch[0].deduplicated
        assert (first[0].job_id, first[0].deduplicated) == (shared, True)
        assert (second[1].job_id, second[1].deduplicated) == (shared, True)
        assert second[2].job_id == second[0].job_id and second[2].deduplicated  # repeated inside one request
        jobs, hooks = await rows(storage)
        assert sorted(r.file_path for r in jobs.values()) == [
            "/m/batch-only.mkv",
            "/m/one.mkv",
            "/m/shared.mkv",
            "/m/two.mkv",
        ]
        assert hooks["w1"] == [shared, first[1].job_id] and hooks["w2"] == [item.job_id for item in second]
        # A webhook raises the job it is linked to to its own priority, inside the group too.
        assert jobs[shared].priority == int(Priority.HIGH) and jobs[shared].batch_id == "b1"
        assert (await storage.reads.get_job(shared)).priority == Priority.HIGH
        assert [job.file_path for job in changes.jobs] == ["/m/two.mkv"]
        # The unique index stays the source of truth: a later request links to the same job.
        (again, _) = await send(storage, "w3", "/m/shared.mkv")
        assert again[0].job_id == shared and again[0].deduplicated
    finally:
        await storage.close()


async def test_a_failed_commit_acknowledges_nothing_and_a_bad_request_fails_alone(
    storage_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = await open_storage(storage_url)
    try:
        real = storage.enqueuer._write

        async def crash_before_commit(conn: Any, requests: Any) -> Any:
            outcome = await real(conn, requests)  # every statement ran ...
            poisoned = select(JOBS.c.job_id).where(JOBS.c.file_path.like("%poison%"))
            if (await conn.execute(poisoned)).first() is not None:
                raise RuntimeError("lost the database before COMMIT")  # ... and is rolled back
            return outcome

        monkeypatch.setattr(storage.enqueuer, "_write", crash_before_commit)
        results = await asyncio.gather(
            send(storage, "w1", "/m/a.mkv"),
            send(storage, "bad", "/m/poison.mkv"),
            send(storage, "w2", "/m/b.mkv", "/m/a.mkv"),
            return_exceptions=True,
        )
        # The group's transaction failed; each request was then written alone: only the bad one fails.
        assert isinstance(results[1], RuntimeError)
        (one, _), (two, _) = results[0], results[2]
        jobs, hooks = await rows(storage)
        assert set(hooks) == {"w1", "w2"}
        assert sorted(r.file_path for r in jobs.values()) == ["/m/a.mkv", "/m/b.mkv"]
        assert two[1].job_id == one[0].job_id and two[1].deduplicated

        alone = await asyncio.gather(send(storage, "bad2", "/m/poison2.mkv"), return_exceptions=True)
        assert isinstance(alone[0], RuntimeError)
        jobs, hooks = await rows(storage)
        assert len(jobs) == 2 and "bad2" not in hooks
    finally:
        await storage.close()


async def test_cancelled_caller_still_gets_its_write_and_close_waits_for_pending(storage_url: str) -> None:
    storage = await open_storage(storage_url)
    try:
        first = asyncio.ensure_future(send(storage, "w1", "/m/a.mkv"))
        second = asyncio.ensure_future(send(storage, "w2", "/m/b.mkv"))
        await asyncio.sleep(0)  # both submitted, nothing written yet
        first.cancel()
        (enqueued, _) = await second
        jobs, hooks = await rows(storage)
        # Cancelling the caller does not tear the request out of a group already on its way.
        assert set(hooks) == {"w1", "w2"} and len(jobs) == 2
        assert enqueued[0].job_id in jobs
        pending = asyncio.ensure_future(send(storage, "w3", "/m/c.mkv"))
        await asyncio.sleep(0)
    finally:
        await storage.close()
    assert pending.done() and not pending.cancelled()
    assert pending.result()[0][0].path == "/m/c.mkv"


async def test_group_sizes_are_bounded_and_a_big_request_goes_alone() -> None:
    groups: list[list[int]] = []

    async def write(requests: list[int]) -> list[int | Exception]:
        groups.append(list(requests))
        await asyncio.sleep(0)
        return [ValueError(n) if n == 7 else n * 10 for n in requests]

    commit: GroupCommit[int, int] = GroupCommit(write, max_group_size=10)
    results = await asyncio.gather(
        *(commit.submit(n, size=4) for n in range(6)),
        commit.submit(7, size=50),
        commit.submit(8, size=1),
        return_exceptions=True,
    )
    assert results[:6] == [0, 10, 20, 30, 40, 50] and isinstance(results[6], ValueError) and results[7] == 80
    assert groups == [[0, 1], [2, 3], [4, 5], [7], [8]]
    await commit.close()


CRASHER = textwrap.dedent("""
    import asyncio, sys
    from arrtheaudio_server.clock import utcnow
    from arrtheaudio_server.media.result import Container
    from arrtheaudio_server.metadata.hints import MediaHints
    from arrtheaudio_server.queue.domain import Priority, Source, WebhookInfo
    from arrtheaudio_server.queue.store import NewBatch, NewJob, Store

    async def one(storage, n):
        hints = MediaHints(kind="series", title="Show")
        info = WebhookInfo(webhook_id=f"w{n:05}", source=Source.SONARR, event_type="Download", title="Show",
                           hints=hints, created_at=utcnow())
        files = [NewJob(path=f"/m/{n:05}-{e}.mkv", container=Container.MKV, priority=Priority.HIGH,
                        source=Source.SONARR, hints=hints) for e in range(3)]
        enqueued, _ = await storage.enqueuer.enqueue(files, max_active=None, webhook=info)
        print(" ".join([info.webhook_id] + [item.job_id for item in enqueued]), flush=True)

    async def main():
        storage = await Store.open(sys.argv[1], migrate_schema=False)
        n = 0
        while True:
            await asyncio.gather(*(one(storage, n + k) for k in range(16)))
            n += 16

    asyncio.run(main())
""")


@pytest.mark.slow
async def test_sigkill_mid_flood_never_acknowledged_an_unwritten_job(
    storage_url: str, tmp_path: Path
) -> None:
    storage = await open_storage(storage_url)
    try:
        process = subprocess.Popen(  # noqa: ASYNC220 - starting it is instant
            [sys.executable, "-c", CRASHER, storage_url],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(os.environ),
            start_new_session=True,
        )
        try:
            assert process.stdout is not None
            acknowledged: list[list[str]] = []
            loop = asyncio.get_running_loop()
            while len(acknowledged) < 150:
                line = await loop.run_in_executor(None, process.stdout.readline)
                if not line:
                    raise AssertionError(process.stderr.read().decode() if process.stderr else "child died")
                acknowledged.append(line.decode().split())
            os.killpg(process.pid, signal.SIGKILL)  # mid-flood: groups pending and in flight
            # Read the rest through the same buffered reader: communicate() reads the pipe's
            # descriptor directly and would miss what readline() had already buffered.
            rest = await loop.run_in_executor(None, process.stdout.read)
            process.wait()
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        acknowledged += [line.split() for line in rest.decode().splitlines() if line.strip()]
        jobs, hooks = await rows(storage)
        for webhook_id, *job_ids in acknowledged:
            assert hooks[webhook_id] == job_ids  # every acknowledged webhook is there, whole
            assert [Path(jobs[job_id].file_path).name for job_id in job_ids] == [
                f"{webhook_id[1:]}-{e}.mkv" for e in range(3)
            ]
        # What the crash cut off is absent as a whole, never half a webhook.
        for job_ids in hooks.values():
            assert len(job_ids) == 3 and all(job_id in jobs for job_id in job_ids)
        assert len(jobs) == 3 * len(hooks)
    finally:
        await storage.close()
