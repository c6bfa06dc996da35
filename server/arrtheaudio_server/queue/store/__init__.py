"""The queue's store: every byte the queue keeps, behind one object cut by concern.

=====================  ==================================================================
``store.enqueuer``     files → queued jobs with their webhook/batch row (group commit)
``store.transitions``  every status change: claim, heartbeat, release, finish, recovery,
                       wake, cancel, retry, batch completion (rollups kept in the same
                       transaction)
``store.reads``        jobs, pages, the live queue, batches, webhooks
``store.stats``        counts, GetStats, GetJobStats, the jobs-per-day series
``store.retention``    deleting old finished jobs (rollups kept exact)
``store.cache``        the TMDB answer cache
``store.file_checks``  each file's last lasting check (incremental rescans)
``store.schedule_runs`` one row per scheduled scan's due time (which instance runs it)
=====================  ==================================================================

One way to run SQL on both backends (:class:`.database.Database`: an async read or write
transaction); what differs per backend lives in one :class:`.dialect.Dialect` object; the
schema is migrated by Alembic at :meth:`Store.open` (:mod:`.migrate`). Everything returns
the plain values of :mod:`arrtheaudio_server.queue.domain` or the named types of
:mod:`.rows`.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from arrtheaudio_server.queue.store import migrate
from arrtheaudio_server.queue.store.database import Database
from arrtheaudio_server.queue.store.enqueue import Enqueued, Enqueuer
from arrtheaudio_server.queue.store.file_checks import FileChecks
from arrtheaudio_server.queue.store.metadata_cache import DatabaseMetadataCache
from arrtheaudio_server.queue.store.migrate import SchemaTooNew
from arrtheaudio_server.queue.store.reads import Reads, Snapshot
from arrtheaudio_server.queue.store.retention import Retention, cleanup_rules
from arrtheaudio_server.queue.store.rows import (
    BatchCancelOutcome,
    CancelOutcome,
    Changes,
    Claimed,
    Finished,
    JobOutcome,
    NewBatch,
    NewJob,
)
from arrtheaudio_server.queue.store.schedule_runs import ScheduleRuns
from arrtheaudio_server.queue.store.stats import Stats, StatsFigures
from arrtheaudio_server.queue.store.transitions import Transitions


class Store:
    """One database's queue data; build it with :meth:`open`, end it with :meth:`close`."""

    def __init__(self, db: Database, *, instance_id: str = "") -> None:
        self.db = db
        self.instance_id = instance_id
        self.enqueuer = Enqueuer(db, instance_id=instance_id)
        self.transitions = Transitions(db, instance_id=instance_id)
        self.stats = Stats(db)
        self.reads = Reads(db, self.stats)
        self.retention = Retention(db)
        self.cache = DatabaseMetadataCache(db)
        self.file_checks = FileChecks(db)
        self.schedule_runs = ScheduleRuns(db)

    @classmethod
    async def open(cls, url: str, *, instance_id: str = "", migrate_schema: bool = True) -> Store:
        """Connect, and bring the schema up to date (Alembic) unless told not to."""
        store = cls(Database.open(url), instance_id=instance_id)
        if migrate_schema:
            try:
                await migrate.upgrade(store.db)
            except BaseException:
                await store.db.dispose()
                raise
        return store

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql`` (GetHealth's storage field)."""
        return self.db.dialect.name

    @property
    def single_instance(self) -> bool:
        return self.db.dialect.single_instance

    async def ping(self, timeout: float = 5.0) -> bool:
        """Storage answers a trivial query, within a timeout generous enough that a busy (not
        broken) database still counts as up."""

        async def probe() -> bool:
            async with self.db.read() as conn:
                return (await conn.execute(text("SELECT 1"))).scalar() == 1

        try:
            return await asyncio.wait_for(probe(), timeout)
        except Exception:  # noqa: BLE001 - any failure means "not healthy"
            return False

    async def close(self) -> None:
        await self.enqueuer.close()
        await self.db.dispose()


__all__ = [
    "BatchCancelOutcome",
    "CancelOutcome",
    "Changes",
    "Claimed",
    "DatabaseMetadataCache",
    "Enqueued",
    "Finished",
    "JobOutcome",
    "NewBatch",
    "NewJob",
    "SchemaTooNew",
    "Snapshot",
    "StatsFigures",
    "Store",
    "cleanup_rules",
]
