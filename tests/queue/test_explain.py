"""The claim and the list/stat queries use indexes, also with 100k finished jobs of history.

Checked with the planners themselves: SQLite's EXPLAIN QUERY PLAN must show no full scan of
``jobs`` and no temporary B-tree for ORDER BY; PostgreSQL's EXPLAIN must show no
sequential scan of ``jobs`` (after ANALYZE, so the planner knows the table is big).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, text

from arrtheaudio_server import clock
from arrtheaudio_server.media.result import Container
from arrtheaudio_server.queue.domain import JobFilter, JobStatus, Priority, Source
from arrtheaudio_server.queue.store import NewJob, Store, reads, stats, transitions
from arrtheaudio_server.queue.store.schema import JOBS
from tests.queue.conftest import open_storage

HISTORY = 100_000

# One history job in ten came from a webhook, the rest from batches (so neither id column is
# all NULL, which would tell SQLite's ANALYZE that an id matches every row).
_COLUMNS = (
    "job_id, file_path, status, priority, container, source, batch_id, webhook_id, dry_run, created_at, "
    "next_attempt_at, started_at, completed_at, attempts, result, reason_code, duration_ms, "
    "track_changed, cancel_requested"
)

SQLITE_FILL = f"""
WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < {HISTORY})
INSERT INTO jobs ({_COLUMNS})
SELECT printf('%032x', x), '/media/history/' || x || '.mkv', 'completed', 1, 'mkv', 'manual',
       CASE WHEN x % 10 THEN 'b' || (x % 50) END, CASE WHEN x % 10 = 0 THEN 'w' || (x % 997) END, 0,
       '2026-01-01 00:00:00.000000', '2026-01-01 00:00:00.000000',
       '2026-01-01 00:00:00.000000', datetime('2026-01-01', '+' || (x % 300) || ' minutes'), 1, 'success',
       'changed', 100, 1, 0
FROM n
"""

POSTGRES_FILL = f"""
INSERT INTO jobs ({_COLUMNS})
SELECT lpad(to_hex(x), 32, '0'), '/media/history/' || x || '.mkv', 'completed', 1, 'mkv', 'manual',
       CASE WHEN x % 10 <> 0 THEN 'b' || (x % 50) END, CASE WHEN x % 10 = 0 THEN 'w' || (x % 997) END, false,
       now() - interval '30 days', now() - interval '30 days',
       now() - interval '30 days', now() - interval '30 days' + (x % 300) * interval '1 minute', 1, 'success',
       'changed', 100, true, false
FROM generate_series(1, {HISTORY}) AS x
"""


@pytest.fixture
async def big_storage(storage_url: str) -> AsyncIterator[Store]:
    storage = await open_storage(storage_url)
    async with storage.db.write() as conn:
        await conn.execute(text(SQLITE_FILL if storage.dialect == "sqlite" else POSTGRES_FILL))
    jobs = [
        NewJob(
            path=f"/media/new/{n}.{'mp4' if n % 3 == 0 else 'mkv'}",
            container=Container.MP4 if n % 3 == 0 else Container.MKV,
            priority=Priority(n % 3),
            source=Source.SONARR,
        )
        for n in range(30)
    ]
    await storage.enqueuer.enqueue(jobs, max_active=None)
    if storage.dialect == "postgresql":
        # What autovacuum does on a live server after a bulk insert: statistics and the
        # visibility map (which makes index-only scans cheap).
        async with storage.db.writer.connect() as conn:
            autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.exec_driver_sql("VACUUM ANALYZE jobs")
    else:
        async with storage.db.write() as conn:
            await conn.execute(text("ANALYZE"))
    try:
        yield storage
    finally:
        await storage.close()


async def plan(storage: Store, statement: Any) -> list[str]:
    """Run ``statement`` in a rolled-back transaction to capture its SQL, then EXPLAIN that SQL."""
    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, sql: str, params: Any, _context: Any, _many: bool) -> None:
        captured.append((sql, params))

    async with storage.db.writer.connect() as conn:
        event.listen(conn.sync_connection, "before_cursor_execute", capture)
        transaction = await conn.begin()
        await conn.execute(statement)
        await transaction.rollback()
        event.remove(conn.sync_connection, "before_cursor_execute", capture)
        sql, params = next((s, p) for s, p in captured if "jobs" in s)
        prefix = "EXPLAIN QUERY PLAN " if storage.dialect == "sqlite" else "EXPLAIN "
        transaction = await conn.begin()
        rows = (await conn.exec_driver_sql(prefix + sql, params)).all()
        await transaction.rollback()
    return [str(row[-1]) for row in rows]


def assert_indexed(storage: Store, lines: list[str], what: str, *, rowid_walk: bool = False) -> None:
    """``rowid_walk``: the query reads the table in primary-key order and stops at its LIMIT,
    which SQLite shows as a bare ``SCAN jobs`` (the table B-tree is the index)."""
    shown = "\n".join(lines)
    if storage.dialect == "sqlite":
        if not rowid_walk:
            assert not any(line.strip() == "SCAN jobs" for line in lines), f"{what}: full scan\n{shown}"
            assert "USING" in shown, f"{what}\n{shown}"
        assert "TEMP B-TREE FOR ORDER BY" not in shown, f"{what}: sorts\n{shown}"
    else:
        assert "Seq Scan on jobs" not in shown, f"{what}: sequential scan\n{shown}"
        assert "Index" in shown, f"{what}\n{shown}"


async def test_claim_uses_the_claim_index(big_storage: Store) -> None:
    now = clock.utcnow()
    statement = transitions.claim_next_statement(
        big_storage.db.dialect, worker_id="w", instance_id="i", now=now, lease_seconds=30
    )
    lines = await plan(big_storage, statement)
    assert_indexed(big_storage, lines, "claim")
    assert "ix_jobs_claim" in "\n".join(lines), lines
    if big_storage.dialect == "postgresql":
        assert "Sort" not in "\n".join(lines), lines
    # ... and the claim still returns the right job: high priority first, FIFO.
    claimed = await big_storage.transitions.claim(worker_id="w", lease_seconds=30)
    assert claimed is not None and claimed.job.priority == Priority.HIGH
    assert claimed.job.file_path == "/media/new/2.mkv"


async def test_list_and_stat_queries_use_indexes(big_storage: Store) -> None:
    s = big_storage
    now = clock.utcnow()
    queries = {
        "next jobs": reads.next_jobs_query(10),
        "recent jobs": reads.list_jobs_query(JobFilter()),
        "by status": reads.list_jobs_query(JobFilter(status=JobStatus.COMPLETED)),
        "by batch": reads.list_jobs_query(JobFilter(batch_id="b7")),
        "by webhook": reads.list_jobs_query(JobFilter(webhook_id="w1")),
        "by source": reads.list_jobs_query(JobFilter(source=Source.SONARR)),
        "by container": reads.list_jobs_query(JobFilter(container=Container.MP4)),
        "by completion": reads.list_jobs_query(JobFilter(order_by="completed_at desc")),
        "by priority": reads.list_jobs_query(JobFilter(order_by="priority")),
        # The live queue's counts read the active rows only (the history is in the rollups).
        "active counts": stats.active_counts_query(),
        "batch counts": stats.row_counts_query(JOBS.c.batch_id == "b7"),
        "recovery": transitions.recover_to_queue_statement(now, max_attempts=3),
        "retention": transitions.recover_to_terminal_statement(now - timedelta(days=1), max_attempts=3),
    }
    for name, statement in queries.items():
        assert_indexed(s, await plan(s, statement), name, rowid_walk=name == "recent jobs")


async def test_filtered_job_stats_use_the_filters_indexes(big_storage: Store) -> None:
    """Batch and webhook: their own index range. Source, container, created_after: the rollup
    for the history, and the active set grouped under the status index alone."""
    s = big_storage
    queries: dict[str, Any] = {
        "batch": stats.row_groups_query(*stats.StatsFilter(batch_id="b7").row_conditions()),
        "webhook": stats.row_groups_query(*stats.StatsFilter(webhook_id="w1").row_conditions()),
        "active groups": stats.active_groups_query(s.db.dialect),
    }
    for name, statement in queries.items():
        lines = await plan(s, statement)
        shown = "\n".join(lines)
        if s.dialect == "sqlite":
            # GROUP BY may sort the matching rows (into a few groups); reading every row of the
            # 100k-row table (a SCAN, also one "USING INDEX") would be wrong: a SEARCH it must be.
            assert any(line.startswith("SEARCH jobs USING") for line in lines), f"{name}: full scan\n{shown}"
        else:
            assert "Seq Scan on jobs" not in shown, f"{name}: sequential scan\n{shown}"
        if name == "active groups":
            assert "ix_jobs_batch" not in shown and "ix_jobs_created" not in shown, shown
