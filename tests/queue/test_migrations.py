"""Schema migrations (Alembic) on both backends: a database 0.1 wrote is upgraded in place with
every figure exact, a fresh one gets the same schema as the models, a newer one is refused,
and several instances starting together on one PostgreSQL upgrade it once."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from arrtheaudio_server import clock
from arrtheaudio_server.media.result import Container
from arrtheaudio_server.queue.domain import JobFilter, JobStatus, PeriodStats, Source
from arrtheaudio_server.queue.store import SchemaTooNew, Store, migrate
from arrtheaudio_server.queue.store.dialect import normalize_url
from arrtheaudio_server.queue.store.schema import SQLModel, UtcDateTime
from tests.queue import recount
from tests.queue.conftest import open_storage

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
REPO_ROOT = Path(__file__).resolve().parents[2]
NOW = clock.utcnow()

# 0.1's jobs columns, typed where the driver needs it (the current table may have more).
JOBS_0_1 = sa.table(
    "jobs",
    *(
        sa.column(name)
        for name in [
            "job_id",
            "file_path",
            "status",
            "priority",
            "container",
            "source",
            "webhook_id",
            "batch_id",
            "attempts",
            "result",
            "reason",
            "reason_code",
            "duration_ms",
            "selected_index",
            "selected_language",
            "language",
            "language_source",
            "worker_id",
        ]
    ),
    sa.column("hints", sa.JSON()),
    sa.column("dry_run", sa.Boolean()),
    sa.column("track_changed", sa.Boolean()),
    sa.column("cancel_requested", sa.Boolean()),
    *(
        sa.column(name, UtcDateTime())
        for name in ("created_at", "next_attempt_at", "started_at", "completed_at")
    ),
)
LIFETIME_0_1 = sa.table(
    "lifetime_stats",
    *(
        sa.column(n)
        for n in [
            "container",
            "source",
            "total",
            "success",
            "failed",
            "skipped",
            "track_changes",
            "duration_ms_sum",
        ]
    ),
)


def ddl_0_1(backend: str) -> list[str]:
    text = (FIXTURES / f"schema_0_1_{'sqlite' if backend == 'sqlite' else 'postgres'}.sql").read_text()
    lines = [line for line in text.splitlines() if not line.startswith("--")]
    return [statement.strip() for statement in "\n".join(lines).split(";") if statement.strip()]


def history_rows() -> list[dict[str, Any]]:
    """Three days of 0.1 history: every terminal status and result, three containers (one
    unknown), three sources, reason codes; plus live jobs (queued, waiting for space)."""
    rows = []
    outcomes = [
        ("completed", "success", "changed", True),
        ("completed", "skipped", "already_correct", False),
        ("failed", "failed", "tool_failed", False),
        ("cancelled", None, "cancelled", False),
    ]
    containers = ["mkv", "mp4", None]
    sources = ["sonarr", "radarr", "manual"]
    for n in range(90):
        status, result, reason, changed = outcomes[n % 4]
        created = NOW - timedelta(days=n % 3, minutes=n)
        rows.append(
            {
                "job_id": f"{n:032x}",
                "file_path": f"/media/old/{n}.mkv",
                "status": status,
                "priority": n % 3,
                "container": containers[n % 3],
                "source": sources[(n // 3) % 3],
                "batch_id": "b-old" if n % 2 else None,
                "webhook_id": "w-old" if n % 5 == 0 else None,
                "hints": None,
                "dry_run": False,
                "created_at": created,
                "next_attempt_at": created,
                "started_at": created,
                "completed_at": created + timedelta(seconds=30),
                "attempts": 1,
                "result": result,
                "reason": reason,
                "reason_code": reason,
                "duration_ms": 100 + n if result else None,
                "track_changed": changed,
                "cancel_requested": False,
            }
        )
    for n, status in enumerate(["queued", "queued", "waiting_for_space"]):
        rows.append(
            {
                "job_id": f"live{n:028x}",
                "file_path": f"/media/live/{n}.mkv",
                "status": status,
                "priority": 1,
                "container": "mkv",
                "source": "sonarr",
                "batch_id": "b-old",
                "webhook_id": None,
                "hints": None,
                "dry_run": False,
                "created_at": NOW,
                "next_attempt_at": NOW + timedelta(days=1),  # nobody claims them during the test
                "attempts": 0,
                "track_changed": False,
                "cancel_requested": False,
            }
        )
    return rows


def lifetime_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """0.1's totals: what the present rows ran to, plus 1000 jobs its retention deleted since."""
    totals: dict[tuple[str, str], dict[str, int]] = {}
    for r in rows:
        if not r.get("result"):
            continue
        agg = totals.setdefault(
            (r["container"] or "unknown", r["source"]),
            {"total": 0, "success": 0, "failed": 0, "skipped": 0, "track_changes": 0, "duration_ms_sum": 0},
        )
        agg["total"] += 1
        agg[r["result"]] += 1
        agg["track_changes"] += int(r["track_changed"])
        agg["duration_ms_sum"] += r["duration_ms"] or 0
    totals[("mkv", "sonarr")]["total"] += 1000
    totals[("mkv", "sonarr")]["success"] += 1000
    totals[("mkv", "sonarr")]["duration_ms_sum"] += 1000 * 50
    return [{"container": c, "source": s, **agg} for (c, s), agg in totals.items()]


async def build_0_1(url: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A database exactly as 0.1 left it: its DDL, its rows, its lifetime totals."""
    engine = create_async_engine(normalize_url(url))
    lifetime = lifetime_rows(rows)
    try:
        async with engine.begin() as conn:
            for statement in ddl_0_1(engine.dialect.name):
                await conn.exec_driver_sql(statement)
            for row in rows:  # one by one: the live rows lack some columns
                await conn.execute(sa.insert(JOBS_0_1).values(**row))
            await conn.execute(sa.insert(LIFETIME_0_1), lifetime)
            await conn.execute(
                sa.text(
                    "INSERT INTO batches (batch_id, path, recursive, exclude_patterns, dry_run, priority, status, "
                    "created_at, estimated_files) VALUES ('b-old', '/media/old', true, '[]', false, 1, 'running', "
                    ":now, 48)"
                ).bindparams(sa.bindparam("now", type_=UtcDateTime())),
                {"now": NOW},
            )
    finally:
        await engine.dispose()
    return lifetime


def schema_differences(conn: sa.Connection) -> list[Any]:
    context = MigrationContext.configure(conn, opts={"compare_type": True})
    diffs = compare_metadata(context, SQLModel.metadata)
    return [
        d
        for d in diffs
        if not (isinstance(d, tuple) and d[0] == "remove_table" and d[1].name == "alembic_version")
    ]


async def differences(store: Store) -> list[Any]:
    async with store.db.read() as conn:
        return await conn.run_sync(schema_differences)


async def revision(store: Store) -> tuple[str, ...]:
    async with store.db.read() as conn:
        return await conn.run_sync(migrate.current_revision)


async def test_a_fresh_database_gets_the_models_schema(storage_url: str) -> None:
    store = await open_storage(storage_url)
    try:
        assert await revision(store) == (migrate.head(),)
        assert await differences(store) == []
    finally:
        await store.close()
    # Opening again is a no-op.
    store = await open_storage(storage_url)
    try:
        assert await revision(store) == (migrate.head(),)
    finally:
        await store.close()


async def test_a_0_1_database_is_upgraded_in_place_with_exact_figures(
    storage_url: str, manager_factory: Any
) -> None:
    rows = history_rows()
    lifetime = await build_0_1(storage_url, rows)
    manager = await manager_factory(start=False)  # the real start-up path: QueueManager.create
    store = manager.store
    assert await revision(store) == (migrate.head(),)
    assert await differences(store) == []
    present = await recount.all_jobs(store)
    assert len(present) == len(rows)  # nothing lost

    stats = await manager.stats()
    assert stats.queue == recount.counts(present)
    midnight = clock.utc_midnight(NOW)
    assert stats.today == recount.period(
        r for r in present if r["completed_at"] and r["completed_at"] >= midnight
    )
    expected_total = sum(r["total"] for r in lifetime)
    assert stats.lifetime.total == expected_total and stats.lifetime.success == sum(
        r["success"] for r in lifetime
    )
    assert stats.per_container["mkv"].total == sum(r["total"] for r in lifetime if r["container"] == "mkv")
    assert stats.per_source["sonarr"] == PeriodStats(
        total=sum(r["total"] for r in lifetime if r["source"] == "sonarr"),
        success=sum(r["success"] for r in lifetime if r["source"] == "sonarr"),
        failed=sum(r["failed"] for r in lifetime if r["source"] == "sonarr"),
        skipped=sum(r["skipped"] for r in lifetime if r["source"] == "sonarr"),
        track_changes=sum(r["track_changes"] for r in lifetime if r["source"] == "sonarr"),
        avg_duration_ms=sum(r["duration_ms_sum"] for r in lifetime if r["source"] == "sonarr")
        / sum(r["total"] for r in lifetime if r["source"] == "sonarr"),
    )

    # Every GetJobStats filter, and list totals, against a recount of the rows.
    filters: list[dict[str, Any]] = [
        {},
        {"source": Source.RADARR},
        {"container": Container.MP4},
        {"batch_id": "b-old"},
        {"webhook_id": "w-old"},
        {"created_after": midnight - timedelta(days=1)},  # a midnight: rollup days only
        {"created_after": NOW - timedelta(hours=30)},  # a partial day, then whole days
        {"source": Source.MANUAL, "created_after": NOW - timedelta(days=2)},
    ]
    for f in filters:
        plain = {k: (v.value if hasattr(v, "value") else v) for k, v in f.items()}
        assert await manager.job_stats(**f) == recount.job_stats(recount.matching(present, **plain)), f
    for job_filter, expected in [
        (JobFilter(), len(present)),
        (JobFilter(status=JobStatus.FAILED), len(recount.matching(present, status=JobStatus.FAILED))),
        (JobFilter(status=JobStatus.QUEUED), 2),
        (JobFilter(source=Source.RADARR), len(recount.matching(present, source="radarr"))),
        (JobFilter(batch_id="b-old"), len(recount.matching(present, batch_id="b-old"))),
    ]:
        assert (await manager.list_jobs(job_filter)).total == expected
    # The rollups are exactly the GROUP BY of the rows they summarize.
    job_counts, daily, stored_lifetime = await recount.rollup_tables(store)
    assert job_counts == recount.job_count_rollup(present)
    assert daily == recount.finishes_by_day(present)
    assert len(stored_lifetime) == len(lifetime)
    series = await manager.daily_counts(3)
    assert [d.day for d in series] == [midnight.date() - timedelta(days=k) for k in (2, 1, 0)]
    assert sum(d.total for d in series) == sum(1 for r in present if r["result"])


async def test_a_newer_database_is_refused_and_left_alone(storage_url: str) -> None:
    store = await open_storage(storage_url)
    async with store.db.write() as conn:
        await conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
    await store.close()
    with pytest.raises(SchemaTooNew, match=r"9999_from_the_future.*newer version"):
        await Store.open(storage_url)
    store = await Store.open(storage_url, migrate_schema=False)
    try:
        assert await revision(store) == ("9999_from_the_future",)
    finally:
        await store.close()


MIGRATOR = """
import asyncio, sys
from arrtheaudio_server.queue.store import Store

async def main():
    store = await Store.open(sys.argv[1], instance_id=sys.argv[2])
    await store.close()
    print("migrated", flush=True)

asyncio.run(main())
"""


async def _advisory_waiters(conn: AsyncConnection) -> int:
    return (
        await conn.execute(
            sa.text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
        )
    ).scalar_one()


@pytest.mark.postgres
async def test_two_instances_starting_at_once_upgrade_one_postgres_once(pg_url: str) -> None:
    rows = history_rows()
    await build_0_1(pg_url, rows)
    engine = create_async_engine(normalize_url(pg_url))
    try:
        # Hold the schema lock ourselves, start two instances, and see both wait for it.
        async with engine.connect() as holder:
            await holder.begin()
            await holder.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": 0x61727274})
            processes = [
                subprocess.Popen(  # noqa: ASYNC220 - starting them is instant
                    [sys.executable, "-c", MIGRATOR, pg_url, f"instance-{n}"],
                    cwd=REPO_ROOT,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                )
                for n in range(2)
            ]
            async with engine.connect() as probe:
                for _ in range(300):
                    if await _advisory_waiters(probe) == 2:
                        break
                    await asyncio.sleep(0.05)
                assert await _advisory_waiters(probe) == 2
            await holder.rollback()  # let them go: one upgrades, the other then finds nothing to do
        outputs = [await asyncio.to_thread(p.communicate, timeout=60) for p in processes]
        for process, (out, err) in zip(processes, outputs, strict=True):
            assert process.returncode == 0, err.decode()
            assert out.decode().strip() == "migrated"
    finally:
        await engine.dispose()
    store = await open_storage(pg_url)
    try:
        assert await revision(store) == (migrate.head(),)
        present = await recount.all_jobs(store)
        job_counts, daily, _ = await recount.rollup_tables(store)
        # Built once: a second backfill would have doubled every count (or failed on the keys).
        assert job_counts == recount.job_count_rollup(present)
        assert daily == recount.finishes_by_day(present)
    finally:
        await store.close()


def test_the_server_refuses_a_newer_database_with_a_clear_message(tmp_path: Path) -> None:
    db = tmp_path / "queue.db"
    url = f"sqlite:///{db}"

    async def future() -> None:
        store = await Store.open(url)
        async with store.db.write() as conn:
            await conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
        await store.close()

    asyncio.run(future())
    media = tmp_path / "media"
    media.mkdir()
    config = tmp_path / "config.yaml"
    config.write_text(f"media_roots: [{str(media)!r}]\nstorage:\n  url: {url!r}\n")
    proc = subprocess.run(
        [sys.executable, "-m", "arrtheaudio_server.app", "--config", str(config)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert "9999_from_the_future" in proc.stderr and "newer version" in proc.stderr
    assert "Traceback" not in proc.stderr
