"""Reads of jobs, batches and webhooks: each one read transaction (one snapshot), each bounded
by what it returns — a page through the index that orders it, the live queue, one batch's or
one webhook's jobs. Totals that would need a count of the history come from the rollups
(:class:`.stats.Stats`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from arrtheaudio_server.clock import utcnow
from arrtheaudio_server.media.result import Container
from arrtheaudio_server.queue.domain import (
    BatchList,
    BatchPage,
    BatchStatus,
    Counts,
    InvalidRequest,
    Job,
    JobFilter,
    JobPage,
    JobStatus,
    NotFound,
    Source,
    WebhookDetail,
    WebhookInfo,
    WebhookList,
    WebhookSummary,
)
from arrtheaudio_server.queue.store.database import Database
from arrtheaudio_server.queue.store.rows import batch_info, row_to_job, webhook_info
from arrtheaudio_server.queue.store.schema import BATCHES, JOBS, WEBHOOKS
from arrtheaudio_server.queue.store.stats import Stats, StatsFilter, fold_counts, row_counts_query
from arrtheaudio_server.queue.store.transitions import claim_order

J = JOBS
_CHUNK = 500
_ORDERABLE = {"created_at", "completed_at", "priority", "duration_ms"}


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The live queue in one snapshot: counts, running jobs, the next ones in claim order."""

    counts: Counts
    running: list[Job]
    upcoming: list[Job]


def parse_order(order_by: str) -> tuple[Any, ...]:
    parts = (order_by or "created_at desc").strip().lower().split()
    if (
        not parts
        or len(parts) > 2
        or parts[0] not in _ORDERABLE
        or (len(parts) == 2 and parts[1] not in ("asc", "desc"))
    ):
        raise InvalidRequest(
            "order_by", f"order_by must be '<{'|'.join(sorted(_ORDERABLE))}> [asc|desc]', not {order_by!r}"
        )
    descending = len(parts) == 1 or parts[1] == "desc"
    if parts[0] == "priority":
        # Priority order is the claim order: high first, then FIFO.
        return claim_order() if descending else (J.c.priority.asc(), J.c.seq.desc())
    if parts[0] == "created_at":
        # Creation order is ``seq`` order (ties of one bulk insert broken the same way), and
        # every per-column index ends in seq: no sort, whatever the filter.
        return (J.c.seq.desc(),) if descending else (J.c.seq.asc(),)
    column = J.c[parts[0]]
    return (column.desc(), J.c.seq.desc()) if descending else (column.asc(), J.c.seq.asc())


def _stats_filter(job_filter: JobFilter) -> StatsFilter:
    return StatsFilter(
        status=JobStatus(job_filter.status) if job_filter.status is not None else None,
        batch_id=job_filter.batch_id or None,
        webhook_id=job_filter.webhook_id or None,
        source=job_filter.source,
        container=Container(job_filter.container) if job_filter.container is not None else None,
    )


def list_jobs_query(job_filter: JobFilter) -> Any:
    return (
        select(J)
        .where(*_stats_filter(job_filter).row_conditions())
        .order_by(*parse_order(job_filter.order_by))
        .limit(job_filter.limit)
        .offset(job_filter.offset)
    )


def next_jobs_query(limit: int) -> Any:
    return select(J).where(J.c.status == JobStatus.QUEUED.value).order_by(*claim_order()).limit(limit)


def list_batches_query(*, limit: int = 50, offset: int = 0, status: BatchStatus | None = None) -> Any:
    conditions = [] if status is None else [BATCHES.c.status == BatchStatus(status).value]
    return (
        select(BATCHES).where(*conditions).order_by(BATCHES.c.created_at.desc()).limit(limit).offset(offset)
    )


class Reads:
    def __init__(self, db: Database, stats: Stats) -> None:
        self.db = db
        self.stats = stats

    async def ids_with_prefix(self, kind: str, prefix: str, limit: int) -> list[str]:
        """Up to ``limit`` ids of ``kind`` (job/batch/webhook) starting with ``prefix``, sorted.

        One range read on the id's unique index (``id >= prefix AND id < next(prefix)``)
        rather than ``LIKE``, which PostgreSQL cannot serve from a btree index under a
        non-C collation. ``prefix`` is lowercase hex (queue/short_ids.py), so bumping its last
        character gives the exclusive upper bound.
        """
        column = {"job": J.c.job_id, "batch": BATCHES.c.batch_id, "webhook": WEBHOOKS.c.webhook_id}[kind]
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        query = select(column).where(column >= prefix, column < upper).order_by(column).limit(limit)
        async with self.db.read() as conn:
            return [row[0] for row in await conn.execute(query)]

    async def get_job(self, job_id: str) -> Job:
        async with self.db.read() as conn:
            row = (await conn.execute(select(J).where(J.c.job_id == job_id))).first()
        if row is None:
            raise NotFound(f"job {job_id} not found")
        return row_to_job(row)

    async def list_jobs(self, job_filter: JobFilter) -> JobPage:
        """One page in the asked order, and the total of every matching job (one snapshot)."""
        if job_filter.limit < 0 or job_filter.offset < 0:
            raise InvalidRequest("limit", "limit and offset must not be negative")
        query = list_jobs_query(job_filter)
        async with self.db.read() as conn:
            jobs = [row_to_job(r) for r in await conn.execute(query)]
            total = (await self.stats.counts(_stats_filter(job_filter), conn=conn)).total
        return JobPage(jobs=jobs, total=total)

    async def snapshot(self, next_limit: int) -> Snapshot:
        running_query = select(J).where(J.c.status == JobStatus.RUNNING.value).order_by(J.c.seq)
        async with self.db.read() as conn:
            counts = await self.stats.counts(conn=conn)
            running = [row_to_job(r) for r in await conn.execute(running_query)]
            upcoming = (
                [row_to_job(r) for r in await conn.execute(next_jobs_query(next_limit))]
                if next_limit > 0
                else []
            )
        return Snapshot(counts=counts, running=running, upcoming=upcoming)

    async def jobs_by_id(self, conn: AsyncConnection, job_ids: Sequence[str]) -> list[Job]:
        found: dict[str, Job] = {}
        for start in range(0, len(job_ids), _CHUNK):
            for row in await conn.execute(select(J).where(J.c.job_id.in_(job_ids[start : start + _CHUNK]))):
                job = row_to_job(row)
                found[job.job_id] = job
        return [found[job_id] for job_id in job_ids if job_id in found]

    # --- batches --------------------------------------------------------------------------

    async def get_batch(self, batch_id: str, *, limit: int = 100, offset: int = 0) -> BatchPage:
        """The batch, one page of its jobs (path order: discovery inserts sorted), its total."""
        async with self.db.read() as conn:
            row = (await conn.execute(select(BATCHES).where(BATCHES.c.batch_id == batch_id))).first()
            if row is None:
                raise NotFound(f"batch {batch_id} not found")
            counts = await self.stats.counts(StatsFilter(batch_id=batch_id), conn=conn)
            jobs = [
                row_to_job(r)
                for r in await conn.execute(
                    select(J).where(J.c.batch_id == batch_id).order_by(J.c.seq).limit(limit).offset(offset)
                )
            ]
        return BatchPage(info=batch_info(row._mapping, counts, utcnow()), jobs=jobs, total=counts.total)

    async def list_batches(
        self, *, limit: int = 50, offset: int = 0, status: BatchStatus | None = None
    ) -> BatchList:
        """Newest first; with ``status`` only the batches in that state (ix_batches_status_created)."""
        now = utcnow()
        conditions = [] if status is None else [BATCHES.c.status == BatchStatus(status).value]
        async with self.db.read() as conn:
            rows = list(await conn.execute(list_batches_query(limit=limit, offset=offset, status=status)))
            infos = [
                batch_info(
                    row._mapping,
                    await self.stats.counts(StatsFilter(batch_id=row._mapping["batch_id"]), conn=conn),
                    now,
                )
                for row in rows
            ]
            total = (
                await conn.execute(select(func.count()).select_from(BATCHES).where(*conditions))
            ).scalar_one()
        return BatchList(batches=infos, total=total)

    # --- webhooks -------------------------------------------------------------------------

    async def get_webhook(self, webhook_id: str) -> WebhookDetail:
        """The webhook, the counts of every job it maps to (dedup links included), those jobs."""
        async with self.db.read() as conn:
            row = (await conn.execute(select(WEBHOOKS).where(WEBHOOKS.c.webhook_id == webhook_id))).first()
            if row is None:
                raise NotFound(f"webhook {webhook_id} not found")
            info = webhook_info(row._mapping)
            jobs = await self.jobs_by_id(conn, list(info.job_ids))
            counts = await self._webhook_counts(conn, info)
        return WebhookDetail(info=info, counts=counts, jobs=jobs)

    async def list_webhooks(
        self, *, limit: int = 50, offset: int = 0, source: Source | None = None
    ) -> WebhookList:
        """Deliveries newest first (ix_webhooks_created) with their jobs' counts, and how many match."""
        conditions = [] if source is None else [WEBHOOKS.c.source == Source(source).value]
        async with self.db.read() as conn:
            rows = list(
                await conn.execute(
                    select(WEBHOOKS)
                    .where(*conditions)
                    .order_by(WEBHOOKS.c.created_at.desc())
                    .limit(limit)
                    .offset(offset)
                )
            )
            found = []
            for row in rows:
                info = webhook_info(row._mapping)
                found.append(WebhookSummary(info=info, counts=await self._webhook_counts(conn, info)))
            total = (
                await conn.execute(select(func.count()).select_from(WEBHOOKS).where(*conditions))
            ).scalar_one()
        return WebhookList(webhooks=found, total=total)

    @staticmethod
    async def _webhook_counts(conn: AsyncConnection, info: WebhookInfo) -> Counts:
        """Every job the webhook maps to, dedup links included (a file named twice counts once)."""
        counts = Counts()
        ids = list(dict.fromkeys(info.job_ids))
        rows = []
        for start in range(0, len(ids), _CHUNK):
            rows += list(await conn.execute(row_counts_query(J.c.job_id.in_(ids[start : start + _CHUNK]))))
        return fold_counts(rows) if rows else counts
