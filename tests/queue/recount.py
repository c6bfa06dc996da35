"""The reference the rollup tests hold the store to: every figure recomputed in Python from a
full read of the ``jobs`` table (the slow, obviously right way)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from arrtheaudio_server.queue.domain import (
    TERMINAL_STATUSES,
    Counts,
    JobStats,
    JobStatus,
    PeriodStats,
    ReasonCount,
)
from arrtheaudio_server.queue.store import Store
from arrtheaudio_server.queue.store.schema import DAILY_STATS, JOB_COUNTS, JOBS, LIFETIME_STATS

Row = Mapping[str, Any]
_TERMINAL = {s.value for s in TERMINAL_STATUSES}


async def all_jobs(store: Store) -> list[Row]:
    async with store.db.read() as conn:
        return [dict(r._mapping) for r in await conn.execute(select(JOBS))]


def counts(rows: Iterable[Row]) -> Counts:
    rows = list(rows)

    def n(pred: Callable[[Row], bool]) -> int:
        return sum(1 for r in rows if pred(r))

    return Counts(
        total=len(rows),
        queued=n(lambda r: r["status"] == "queued"),
        running=n(lambda r: r["status"] == "running"),
        waiting_for_space=n(lambda r: r["status"] == "waiting_for_space"),
        completed=n(lambda r: r["status"] == "completed"),
        failed=n(lambda r: r["status"] == "failed"),
        cancelled=n(lambda r: r["status"] == "cancelled"),
        success=n(lambda r: r["result"] == "success"),
        skipped=n(lambda r: r["result"] == "skipped"),
        result_failed=n(lambda r: r["result"] == "failed"),
        track_changes=n(lambda r: bool(r["track_changed"])),
    )


def period(rows: Iterable[Row]) -> PeriodStats:
    rows = [r for r in rows if r["result"]]
    total = len(rows)
    duration = sum(int(r["duration_ms"] or 0) for r in rows)
    return PeriodStats(
        total=total,
        success=sum(r["result"] == "success" for r in rows),
        failed=sum(r["result"] == "failed" for r in rows),
        skipped=sum(r["result"] == "skipped" for r in rows),
        track_changes=sum(bool(r["track_changed"]) for r in rows),
        avg_duration_ms=duration / total if total else 0.0,
    )


def _by(rows: Iterable[Row], key: Callable[[Row], str]) -> dict[str, PeriodStats]:
    groups: dict[str, list[Row]] = {}
    for r in rows:
        if r["result"]:
            groups.setdefault(key(r), []).append(r)
    return {k: period(v) for k, v in groups.items()}


def job_stats(rows: Iterable[Row]) -> JobStats:
    rows = list(rows)
    reasons: dict[str, int] = {}
    for r in rows:
        if r["reason_code"] and r["status"] in _TERMINAL:
            reasons[r["reason_code"]] = reasons.get(r["reason_code"], 0) + 1
    return JobStats(
        counts=counts(rows),
        outcomes=period(rows),
        per_container=_by(rows, lambda r: r["container"] or "unknown"),
        per_source=_by(rows, lambda r: r["source"]),
        reasons=tuple(
            ReasonCount(reason_code=code, count=n)
            for code, n in sorted(reasons.items(), key=lambda i: (-i[1], i[0]))
        ),
    )


def matching(
    rows: Iterable[Row],
    *,
    source: str | None = None,
    container: str | None = None,
    batch_id: str | None = None,
    webhook_id: str | None = None,
    created_after: datetime | None = None,
    status: JobStatus | None = None,
) -> list[Row]:
    return [
        r
        for r in rows
        if (source is None or r["source"] == source)
        and (container is None or r["container"] == container)
        and (batch_id is None or r["batch_id"] == batch_id)
        and (webhook_id is None or r["webhook_id"] == webhook_id)
        # GetJobStats' created_after works by UTC day: the jobs created on its day or later.
        and (created_after is None or r["created_at"].date() >= created_after.date())
        and (status is None or r["status"] == status.value)
    ]


def job_count_rollup(rows: Iterable[Row]) -> dict[tuple[Any, ...], tuple[int, int, int]]:
    """What ``job_counts`` must hold: the GROUP BY of the terminal rows."""
    sums: dict[tuple[Any, ...], list[int]] = {}
    for r in rows:
        if r["status"] not in _TERMINAL:
            continue
        key = (
            r["created_at"].date(),
            r["container"] or "unknown",
            r["source"],
            r["status"],
            r["result"] or "",
            r["reason_code"] or "",
        )
        agg = sums.setdefault(key, [0, 0, 0])
        agg[0] += 1
        agg[1] += int(bool(r["track_changed"]))
        agg[2] += int(r["duration_ms"] or 0)
    return {k: (a, b, c) for k, (a, b, c) in sums.items()}


def finishes_by_day(rows: Iterable[Row]) -> dict[tuple[date, str, str, str], tuple[int, int, int]]:
    """``daily_stats`` as the rows still present would give it (finishes with a result)."""
    sums: dict[tuple[date, str, str, str], list[int]] = {}
    for r in rows:
        if r["status"] not in _TERMINAL or not r["result"] or r["completed_at"] is None:
            continue
        key = (r["completed_at"].date(), r["container"] or "unknown", r["source"], r["result"])
        agg = sums.setdefault(key, [0, 0, 0])
        agg[0] += 1
        agg[1] += int(bool(r["track_changed"]))
        agg[2] += int(r["duration_ms"] or 0)
    return {k: (a, b, c) for k, (a, b, c) in sums.items()}


async def rollup_tables(store: Store) -> tuple[dict[Any, Any], dict[Any, Any], dict[Any, Any]]:
    """``job_counts`` (rows with n > 0), ``daily_stats`` and ``lifetime_stats`` as stored."""
    async with store.db.read() as conn:
        job_counts = {
            (r.day, r.container, r.source, r.status, r.result, r.reason_code): (
                r.n,
                r.track_changes,
                r.duration_ms_sum,
            )
            for r in await conn.execute(select(JOB_COUNTS))
            if r.n
        }
        daily = {
            (r.day, r.container, r.source, r.result): (r.n, r.track_changes, r.duration_ms_sum)
            for r in await conn.execute(select(DAILY_STATS))
        }
        lifetime = {
            (r.container, r.source): (
                r.total,
                r.success,
                r.failed,
                r.skipped,
                r.track_changes,
                r.duration_ms_sum,
            )
            for r in await conn.execute(select(LIFETIME_STATS))
        }
    return job_counts, daily, lifetime
