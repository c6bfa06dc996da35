"""The figures: queue counts, GetStats, GetJobStats, list totals and the jobs-per-day series.

None of them reads the finished history row by row. Every answer is the sum of

* the **active** jobs — an index range over ``status IN (active)``, as big as the live queue,
  never as the history. With a source, container or created_after filter the active rows
  are grouped by those columns (and their UTC day) under that one range, and the filter is
  applied to the groups: no other index can tempt a planner into reading the history; and
* the **finished** jobs — from the ``job_counts`` rollup (one row per day × container ×
  source × status × result × reason: as big as the number of days kept, not of jobs);

except where a filter names a batch or a webhook: then the ``batch_id``/``webhook_id`` index
range is exactly the jobs asked about, so it is read and grouped directly. ``created_after``
works at UTC-day granularity (the issue's contract): it selects the jobs created on its
day or later. Lifetime and per-day figures come from ``lifetime_stats`` and ``daily_stats``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Integer, cast, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncConnection

from arrtheaudio_server.clock import utcnow
from arrtheaudio_server.media.result import Container
from arrtheaudio_server.queue.domain import (
    ACTIVE_STATUSES,
    TERMINAL_STATUSES,
    Counts,
    DailyCount,
    FinishedTotal,
    InvalidRequest,
    JobStats,
    JobStatus,
    MetricsFigures,
    PeriodStats,
    ReasonCount,
    Source,
)
from arrtheaudio_server.queue.store.database import Database
from arrtheaudio_server.queue.store.dialect import Dialect
from arrtheaudio_server.queue.store.schema import (
    BATCHES,
    DAILY_STATS,
    JOB_COUNTS,
    JOBS,
    LIFETIME_STATS,
    UNKNOWN,
)

J = JOBS
C = JOB_COUNTS
_ACTIVE = [s.value for s in ACTIVE_STATUSES]
_TERMINAL = [s.value for s in TERMINAL_STATUSES]
# The jobs-per-day series goes back at most this far (the chart's widest range).
MAX_DAYS = 3660


@dataclass(frozen=True, slots=True)
class StatsFilter:
    """Which jobs a figure is about; None matches everything. ANDed."""

    status: JobStatus | None = None
    batch_id: str | None = None
    webhook_id: str | None = None
    source: Source | None = None
    container: Container | None = None
    created_after: datetime | None = None

    @property
    def by_group(self) -> bool:
        """A batch or a webhook: its index range is the answer's own rows."""
        return bool(self.batch_id or self.webhook_id)

    def row_conditions(self) -> list[Any]:
        conditions: list[Any] = []
        if self.status is not None:
            conditions.append(J.c.status == JobStatus(self.status).value)
        if self.batch_id:
            conditions.append(J.c.batch_id == self.batch_id)
        if self.webhook_id:
            conditions.append(J.c.webhook_id == self.webhook_id)
        if self.source is not None:
            conditions.append(J.c.source == Source(self.source).value)
        if self.container is not None:
            conditions.append(J.c.container == Container(self.container).value)
        if self.created_after is not None:
            conditions.append(J.c.created_at >= self.created_after)
        return conditions

    def rollup_conditions(self) -> list[Any]:
        """For ``job_counts``: the same filters, ``created_after`` by its UTC day."""
        conditions: list[Any] = []
        if self.status is not None:
            conditions.append(C.c.status == JobStatus(self.status).value)
        if self.source is not None:
            conditions.append(C.c.source == Source(self.source).value)
        if self.container is not None:
            conditions.append(C.c.container == Container(self.container).value)
        if self.created_after is not None:
            conditions.append(C.c.day >= self.created_after.date())
        return conditions

    @property
    def needs_active_groups(self) -> bool:
        """Filters the active rows' status index cannot apply (they are applied to groups)."""
        return self.source is not None or self.container is not None or self.created_after is not None

    def keeps(self, group: ActiveGroup) -> bool:
        return (
            (self.status is None or group.status == JobStatus(self.status).value)
            and (self.source is None or group.source == Source(self.source).value)
            and (self.container is None or group.container == Container(self.container).value)
            and (self.created_after is None or group.day >= self.created_after.date())
        )


@dataclass(frozen=True, slots=True)
class ActiveGroup:
    """Active jobs sharing status, result, container, source, reason and created day."""

    status: str
    result: str | None
    container: str | None
    source: str
    reason_code: str | None
    day: date
    n: int
    track_changes: int
    duration_ms_sum: int


@dataclass(frozen=True, slots=True)
class StatGroup:
    """Jobs sharing every grouped column, and their sums."""

    status: str
    result: str | None
    container: str
    source: str
    reason_code: str | None
    n: int
    track_changes: int
    duration_ms_sum: int


@dataclass(frozen=True, slots=True)
class StatsFigures:
    """What GetStats shows, read in one snapshot (the manager adds the worker figures)."""

    queue: Counts
    today: PeriodStats
    lifetime: PeriodStats
    per_container: dict[str, PeriodStats] = field(default_factory=dict)
    per_source: dict[str, PeriodStats] = field(default_factory=dict)


# --- statements (module level: tests/queue/test_explain.py plans them) ---------------------


def row_groups_query(*conditions: Any) -> Any:
    """One row per (status, result, container, source, reason_code) of the matching jobs.

    The GROUP BY starts with reason_code, which no index leads with: grouped by an indexed
    column first, SQLite would rather walk that whole index (rows in group order) than
    search the filter's own index.
    """
    return (
        select(
            J.c.status,
            J.c.result,
            J.c.container,
            J.c.source,
            J.c.reason_code,
            func.count(),
            func.sum(cast(J.c.track_changed, Integer)),
            func.sum(J.c.duration_ms),
        )
        .where(*conditions)
        .group_by(J.c.reason_code, J.c.status, J.c.result, J.c.container, J.c.source)
    )


def rollup_groups_query(*conditions: Any) -> Any:
    return (
        select(
            C.c.status,
            C.c.result,
            C.c.container,
            C.c.source,
            C.c.reason_code,
            func.sum(C.c.n),
            func.sum(C.c.track_changes),
            func.sum(C.c.duration_ms_sum),
        )
        .where(*conditions)
        .group_by(C.c.status, C.c.result, C.c.container, C.c.source, C.c.reason_code)
        # A key whose jobs all left (retried, deleted) keeps a zero row until retention drops it.
        .having(func.sum(C.c.n) != 0)
    )


def row_counts_query(*conditions: Any) -> Any:
    """Counts by (status, result); for the active set ``ix_jobs_status_result`` alone answers.

    Grouped by result first: grouped in ``ix_jobs_status_result``'s order, SQLite would rather
    walk that whole index (no sort needed) than search a batch's or webhook's own index.
    """
    return (
        select(J.c.status, J.c.result, func.count(), func.sum(cast(J.c.track_changed, Integer)))
        .where(*conditions)
        .group_by(J.c.result, J.c.status)
    )


def active_counts_query(*conditions: Any) -> Any:
    return row_counts_query(J.c.status.in_(_ACTIVE), *conditions)


def rollup_counts_query(*conditions: Any) -> Any:
    return (
        select(C.c.status, C.c.result, func.sum(C.c.n), func.sum(C.c.track_changes))
        .where(*conditions)
        .group_by(C.c.status, C.c.result)
    )


def active_groups_query(dialect: Dialect) -> Any:
    """The active jobs grouped by every column a filter may name, under ``status IN (active)``
    alone: the status index is the only one the planner can use."""
    day = literal_column(dialect.day_sql(J.c.created_at))
    return (
        select(
            J.c.status,
            J.c.result,
            J.c.container,
            J.c.source,
            J.c.reason_code,
            day,
            func.count(),
            func.sum(cast(J.c.track_changed, Integer)),
            func.sum(J.c.duration_ms),
        )
        .where(J.c.status.in_(_ACTIVE))
        .group_by(J.c.status, J.c.result, J.c.container, J.c.source, J.c.reason_code, day)
    )


def fold_counts(rows: Iterable[Sequence[Any]]) -> Counts:
    """``(status, result, n, changed)`` rows → one Counts."""
    by_status: dict[str, int] = {}
    by_result: dict[str, int] = {}
    changed = total = 0
    for status, result, n, track_changes in rows:
        n = int(n or 0)
        total += n
        by_status[status] = by_status.get(status, 0) + n
        if result:
            by_result[result] = by_result.get(result, 0) + n
        changed += int(track_changes or 0)
    return Counts(
        total=total,
        queued=by_status.get(JobStatus.QUEUED.value, 0),
        running=by_status.get(JobStatus.RUNNING.value, 0),
        waiting_for_space=by_status.get(JobStatus.WAITING_FOR_SPACE.value, 0),
        completed=by_status.get(JobStatus.COMPLETED.value, 0),
        failed=by_status.get(JobStatus.FAILED.value, 0),
        cancelled=by_status.get(JobStatus.CANCELLED.value, 0),
        success=by_result.get("success", 0),
        skipped=by_result.get("skipped", 0),
        result_failed=by_result.get("failed", 0),
        track_changes=changed,
    )


def _groups(rows: Iterable[Sequence[Any]]) -> list[StatGroup]:
    return [
        StatGroup(
            status=status,
            result=result or None,
            container=container or UNKNOWN,
            source=source,
            reason_code=reason or None,
            n=int(n or 0),
            track_changes=int(changed or 0),
            duration_ms_sum=int(duration or 0),
        )
        for status, result, container, source, reason, n, changed, duration in rows
    ]


def _period(groups: Iterable[StatGroup]) -> PeriodStats:
    """Finished-with-a-result groups → PeriodStats."""
    total = success = failed = skipped = changes = duration = 0
    for g in groups:
        total += g.n
        success += g.n if g.result == "success" else 0
        failed += g.n if g.result == "failed" else 0
        skipped += g.n if g.result == "skipped" else 0
        changes += g.track_changes
        duration += g.duration_ms_sum
    return PeriodStats(
        total=total,
        success=success,
        failed=failed,
        skipped=skipped,
        track_changes=changes,
        avg_duration_ms=duration / total if total else 0.0,
    )


def _totals(total: int, success: int, failed: int, skipped: int, changes: int, duration: int) -> PeriodStats:
    return PeriodStats(
        total=total,
        success=success,
        failed=failed,
        skipped=skipped,
        track_changes=changes,
        avg_duration_ms=duration / total if total else 0.0,
    )


class Stats:
    def __init__(self, db: Database) -> None:
        self.db = db

    # --- counts -----------------------------------------------------------------------------

    async def counts(self, f: StatsFilter = StatsFilter(), *, conn: AsyncConnection | None = None) -> Counts:
        """The matching jobs by status and result."""
        if conn is None:
            async with self.db.read() as own:
                return await self.counts(f, conn=own)
        if f.by_group:
            return fold_counts(await conn.execute(row_counts_query(*f.row_conditions())))
        rows: list[Sequence[Any]] = []
        if f.status is None or f.status in ACTIVE_STATUSES:
            if f.needs_active_groups:
                rows += [(g.status, g.result, g.n, g.track_changes) for g in await self._active(conn, f)]
            else:
                rows += list(await conn.execute(active_counts_query(*f.row_conditions())))
        if f.status is None or f.status in TERMINAL_STATUSES:
            rows += list(await conn.execute(rollup_counts_query(*f.rollup_conditions())))
        return fold_counts(rows)

    async def _active(self, conn: AsyncConnection, f: StatsFilter) -> list[ActiveGroup]:
        groups = [
            ActiveGroup(
                status=status,
                result=result,
                container=container,
                source=source,
                reason_code=reason,
                day=day if isinstance(day, date) else date.fromisoformat(str(day)),
                n=int(n or 0),
                track_changes=int(changed or 0),
                duration_ms_sum=int(duration or 0),
            )
            for status, result, container, source, reason, day, n, changed, duration in await conn.execute(
                active_groups_query(self.db.dialect)
            )
        ]
        return [g for g in groups if f.keeps(g)]

    async def groups(self, f: StatsFilter, *, conn: AsyncConnection) -> list[StatGroup]:
        """The matching jobs grouped by status, result, container, source and reason code."""
        if f.by_group:
            return _groups(await conn.execute(row_groups_query(*f.row_conditions())))
        found = [
            StatGroup(
                status=g.status,
                result=g.result or None,
                container=g.container or UNKNOWN,
                source=g.source,
                reason_code=g.reason_code or None,
                n=g.n,
                track_changes=g.track_changes,
                duration_ms_sum=g.duration_ms_sum,
            )
            for g in await self._active(conn, f)
        ]
        found += _groups(await conn.execute(rollup_groups_query(*f.rollup_conditions())))
        return found

    # --- GetJobStats ------------------------------------------------------------------------

    async def job_stats(
        self,
        *,
        batch_id: str | None = None,
        webhook_id: str | None = None,
        source: Source | None = None,
        container: Container | None = None,
        created_after: datetime | None = None,
    ) -> JobStats:
        """Figures over the matching jobs; one read snapshot, so they agree with each other."""
        f = StatsFilter(
            batch_id=batch_id,
            webhook_id=webhook_id,
            source=source,
            container=container,
            created_after=created_after,
        )
        async with self.db.read() as conn:
            groups = await self.groups(f, conn=conn)
        finished = [g for g in groups if g.result]
        per_container: dict[str, list[StatGroup]] = {}
        per_source: dict[str, list[StatGroup]] = {}
        reasons: dict[str, int] = {}
        for g in finished:
            per_container.setdefault(g.container, []).append(g)
            per_source.setdefault(g.source, []).append(g)
        for g in groups:
            # A retried job keeps its last failure's reason while queued again: only final reasons count.
            if g.reason_code and JobStatus(g.status) in TERMINAL_STATUSES:
                reasons[g.reason_code] = reasons.get(g.reason_code, 0) + g.n
        return JobStats(
            counts=fold_counts((g.status, g.result, g.n, g.track_changes) for g in groups),
            outcomes=_period(finished),
            per_container={key: _period(v) for key, v in per_container.items()},
            per_source={key: _period(v) for key, v in per_source.items()},
            reasons=tuple(
                ReasonCount(reason_code=code, count=n)
                for code, n in sorted(reasons.items(), key=lambda item: (-item[1], item[0]))
            ),
        )

    # --- GetStats ---------------------------------------------------------------------------

    async def figures(self, now: datetime | None = None) -> StatsFigures:
        """Queue counts, today's finishes (UTC day) and the lifetime totals, in one snapshot."""
        today = (now or utcnow()).date()
        async with self.db.read() as conn:
            queue = await self.counts(conn=conn)
            day_rows = await conn.execute(
                select(
                    DAILY_STATS.c.result,
                    func.sum(DAILY_STATS.c.n),
                    func.sum(DAILY_STATS.c.track_changes),
                    func.sum(DAILY_STATS.c.duration_ms_sum),
                )
                .where(DAILY_STATS.c.day == today)
                .group_by(DAILY_STATS.c.result)
            )
            today_groups = [
                StatGroup("", result, UNKNOWN, "", None, int(n or 0), int(c or 0), int(d or 0))
                for result, n, c, d in day_rows
            ]
            lifetime_rows = list(await conn.execute(select(LIFETIME_STATS)))
        overall = [0] * 6
        by_container: dict[str, list[int]] = {}
        by_source: dict[str, list[int]] = {}
        for row in lifetime_rows:
            m = row._mapping
            values = [
                int(m[k] or 0)
                for k in ("total", "success", "failed", "skipped", "track_changes", "duration_ms_sum")
            ]
            for sums in (
                overall,
                by_container.setdefault(m["container"], [0] * 6),
                by_source.setdefault(m["source"], [0] * 6),
            ):
                for i, value in enumerate(values):
                    sums[i] += value
        return StatsFigures(
            queue=queue,
            today=_period(today_groups),
            lifetime=_totals(*overall),
            per_container={k: _totals(*v) for k, v in by_container.items()},
            per_source={k: _totals(*v) for k, v in by_source.items()},
        )

    async def metrics_figures(self) -> MetricsFigures:
        """Queue counts, lifetime totals per (result, container, source) and batches by status:
        one snapshot, so a scrape's figures agree with each other (and across instances)."""
        async with self.db.read() as conn:
            queue = await self.counts(conn=conn)
            lifetime = [row._mapping for row in await conn.execute(select(LIFETIME_STATS))]
            batches = {
                status: int(n)
                for status, n in await conn.execute(
                    select(BATCHES.c.status, func.count()).group_by(BATCHES.c.status)
                )
            }
        finished = []
        durations: dict[str, tuple[int, int]] = {}
        for m in lifetime:
            for result in ("success", "failed", "skipped"):
                finished.append(
                    FinishedTotal(
                        result=result, container=m["container"], source=m["source"], count=int(m[result] or 0)
                    )
                )
            seen, summed = durations.get(m["container"], (0, 0))
            durations[m["container"]] = (seen + int(m["total"] or 0), summed + int(m["duration_ms_sum"] or 0))
        return MetricsFigures(queue=queue, finished=tuple(finished), durations=durations, batches=batches)

    async def daily_counts(self, days: int, *, now: datetime | None = None) -> list[DailyCount]:
        """Jobs finished per UTC day, the last ``days`` days (today included), oldest first.

        Every day is present (zeros where nothing finished), so a chart can plot it as is.
        """
        if days < 1 or days > MAX_DAYS:
            raise InvalidRequest("days", f"days must be between 1 and {MAX_DAYS}, not {days}")
        today = (now or utcnow()).date()
        first = today - timedelta(days=days - 1)
        D = DAILY_STATS
        async with self.db.read() as conn:
            rows = await conn.execute(
                select(
                    D.c.day,
                    D.c.result,
                    func.sum(D.c.n),
                    func.sum(D.c.track_changes),
                    func.sum(D.c.duration_ms_sum),
                )
                .where(D.c.day >= first, D.c.day <= today)
                .group_by(D.c.day, D.c.result)
            )
            sums: dict[date, dict[str, int]] = {}
            for day, result, n, changes, duration in rows:
                agg = sums.setdefault(
                    day,
                    {
                        "total": 0,
                        "success": 0,
                        "failed": 0,
                        "skipped": 0,
                        "track_changes": 0,
                        "duration_ms_sum": 0,
                    },
                )
                agg["total"] += int(n or 0)
                agg[result] = agg.get(result, 0) + int(n or 0)
                agg["track_changes"] += int(changes or 0)
                agg["duration_ms_sum"] += int(duration or 0)
        series = []
        for offset in range(days):
            day = first + timedelta(days=offset)
            agg = sums.get(day, {})
            series.append(
                DailyCount(
                    day=day,
                    total=agg.get("total", 0),
                    success=agg.get("success", 0),
                    failed=agg.get("failed", 0),
                    skipped=agg.get("skipped", 0),
                    track_changes=agg.get("track_changes", 0),
                    duration_ms_sum=agg.get("duration_ms_sum", 0),
                )
            )
        return series


__all__ = ["StatGroup", "Stats", "StatsFigures", "StatsFilter"]
