"""ListBatches filtered by status, on both backends: the filter, its total, paging, order."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text

from arrtheaudio_server import clock
from arrtheaudio_server.queue.domain import BatchRequest, BatchStatus, Priority, Source
from arrtheaudio_server.queue.store import NewBatch, NewJob, Store
from arrtheaudio_server.queue.store.reads import list_batches_query
from tests.queue.conftest import open_storage


@pytest.fixture
async def batches(storage_url: str) -> AsyncIterator[tuple[Store, dict[str, BatchStatus]]]:
    """Six batches a minute apart: three running, one cancelled, two completed (no files)."""
    storage = await open_storage(storage_url)
    start = clock.utcnow() - timedelta(hours=1)
    made: dict[str, BatchStatus] = {}
    for n, files in enumerate([2, 0, 1, 3, 0, 1]):
        batch_id = f"batch-{n}"
        jobs = [
            NewJob(path=f"/m/{n}/{i}.mkv", container=None, priority=Priority.NORMAL, source=Source.MANUAL)
            for i in range(files)
        ]
        await storage.enqueuer.enqueue(
            jobs,
            max_active=None,
            batch=NewBatch(batch_id, BatchRequest(path=f"/m/{n}"), files),
            now=start + timedelta(minutes=n),
        )
        made[batch_id] = BatchStatus.RUNNING if files else BatchStatus.COMPLETED
    await storage.transitions.cancel_batch("batch-3")
    made["batch-3"] = BatchStatus.CANCELLED
    try:
        yield storage, made
    finally:
        await storage.close()


async def test_status_filter_total_and_newest_first(batches: Any) -> None:
    storage, made = batches
    for status in BatchStatus:
        listed, total = await storage.reads.list_batches(status=status)
        expected = sorted((b for b, s in made.items() if s == status), reverse=True)  # newest first
        assert [info.batch_id for info in listed] == expected, status
        assert total == len(expected) and all(info.status == status for info in listed)
    everything, total = await storage.reads.list_batches()
    assert total == 6 and [info.batch_id for info in everything] == sorted(made, reverse=True)


async def test_status_filter_pages(batches: Any) -> None:
    storage, _ = batches
    first, total = await storage.reads.list_batches(status=BatchStatus.RUNNING, limit=2)
    rest, again = await storage.reads.list_batches(status=BatchStatus.RUNNING, limit=2, offset=2)
    assert total == again == 3
    assert [b.batch_id for b in first] == ["batch-5", "batch-2"] and [b.batch_id for b in rest] == ["batch-0"]
    assert first[0].counts.total == 1 and rest[0].counts.total == 2  # each with its own job counts


async def test_the_manager_passes_the_filter(manager_factory: Any, batches: Any) -> None:
    _storage, _made = batches  # the fixture fills the database the manager opens
    manager = await manager_factory(start=False)
    listed, total = await manager.list_batches(status=BatchStatus.CANCELLED)
    assert total == 1 and [b.batch_id for b in listed] == ["batch-3"]
    assert await manager.list_batches(status=BatchStatus.FAILED) == ([], 0)


async def test_the_status_filter_searches_its_index(batches: Any) -> None:
    storage, _ = batches
    statement = list_batches_query(status=BatchStatus.RUNNING)
    compiled = statement.compile(dialect=storage.db.reader.dialect, compile_kwargs={"literal_binds": True})
    async with storage.db.read() as conn:
        if storage.dialect == "sqlite":
            lines = [row[-1] for row in (await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}")).all()]
            assert any("ix_batches_status_created" in line and line.startswith("SEARCH") for line in lines), (
                lines
            )
            assert not any("TEMP B-TREE" in line for line in lines), lines
        else:
            # A six-row table is read whole by PostgreSQL whatever the indexes: show that the
            # index is there and usable when a scan is priced out.
            await conn.execute(text("SET LOCAL enable_seqscan = off"))
            lines = [row[0] for row in (await conn.exec_driver_sql(f"EXPLAIN {compiled}")).all()]
            assert "ix_batches_status_created" in "\n".join(lines), lines
