"""Keeping the rollups exact: every statement that adds, ends or removes a finished job calls here
in its own transaction, so a rollup can never disagree with the rows it summarizes.

Two kinds of change:

* a job **becomes terminal** (finish, cancel, recovery out of attempts, batch cancel):
  ``job_counts`` +1 for its row, and — if it ran to a result — ``daily_stats`` and
  ``lifetime_stats`` record the finish;
* a terminal job **stops being one**: retention deletes it — ``job_counts`` −1, its finish
  stays recorded (the daily and lifetime figures outlive the rows); or a retry queues it
  again — ``job_counts`` −1 and its outcome withdrawn everywhere (each job counts once, by
  its last outcome).

Deltas are folded per key first (one row per key in the upsert: PostgreSQL refuses to touch a
row twice in one statement) and written in key order, so two transactions touching the same
rollup rows lock them in the same order and cannot deadlock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncConnection

from arrtheaudio_server.queue.store.dialect import Dialect
from arrtheaudio_server.queue.store.schema import DAILY_STATS, JOB_COUNTS, LIFETIME_STATS, NONE, UNKNOWN

_RESULTS = ("success", "failed", "skipped")


@dataclass(frozen=True, slots=True)
class JobFacts:
    """What the rollups know of one terminal job row."""

    created_day: date
    completed_day: date | None
    container: str
    source: str
    status: str
    result: str
    reason_code: str
    track_changed: bool
    duration_ms: int

    @classmethod
    def of(cls, m: Mapping[str, Any]) -> JobFacts:
        """From a ``jobs`` row mapping (a RETURNING row, or a SELECT of the same columns)."""
        completed = m["completed_at"]
        return cls(
            created_day=m["created_at"].date(),
            completed_day=completed.date() if completed is not None else None,
            container=m["container"] or UNKNOWN,
            source=m["source"],
            status=m["status"],
            result=m["result"] or NONE,
            reason_code=m["reason_code"] or NONE,
            track_changed=bool(m["track_changed"]),
            duration_ms=int(m["duration_ms"] or 0),
        )


def _fold(pairs: Iterable[tuple[tuple[Any, ...], JobFacts]], sign: int) -> dict[tuple[Any, ...], list[int]]:
    sums: dict[tuple[Any, ...], list[int]] = {}
    for key, facts in pairs:
        agg = sums.setdefault(key, [0, 0, 0])
        agg[0] += sign
        agg[1] += sign * int(facts.track_changed)
        agg[2] += sign * facts.duration_ms
    return sums


async def count_terminal(
    conn: AsyncConnection, dialect: Dialect, jobs: Iterable[JobFacts], *, sign: int = 1
) -> None:
    """``job_counts`` += ``sign`` for each job (``sign`` -1: the row left the terminal set)."""
    sums = _fold(
        (((j.created_day, j.container, j.source, j.status, j.result, j.reason_code), j) for j in jobs),
        sign,
    )
    if not sums:
        return
    rows = [
        {
            "day": key[0],
            "container": key[1],
            "source": key[2],
            "status": key[3],
            "result": key[4],
            "reason_code": key[5],
            "n": n,
            "track_changes": changed,
            "duration_ms_sum": duration,
        }
        for key, (n, changed, duration) in sorted(sums.items())
    ]
    await conn.execute(
        dialect.upsert(
            JOB_COUNTS,
            rows,
            keys=("day", "container", "source", "status", "result", "reason_code"),
            add=("n", "track_changes", "duration_ms_sum"),
        )
    )


async def record_finishes(
    conn: AsyncConnection, dialect: Dialect, jobs: Iterable[JobFacts], *, sign: int = 1
) -> None:
    """``daily_stats`` and ``lifetime_stats`` record the jobs that ran to a result (``sign`` -1:
    a retry withdraws a job's earlier outcome)."""
    finished = [j for j in jobs if j.result in _RESULTS and j.completed_day is not None]
    if not finished:
        return
    daily = _fold((((j.completed_day, j.container, j.source, j.result), j) for j in finished), sign)
    await conn.execute(
        dialect.upsert(
            DAILY_STATS,
            [
                {
                    "day": day,
                    "container": container,
                    "source": source,
                    "result": result,
                    "n": n,
                    "track_changes": changed,
                    "duration_ms_sum": duration,
                }
                for (day, container, source, result), (n, changed, duration) in sorted(daily.items())
            ],
            keys=("day", "container", "source", "result"),
            add=("n", "track_changes", "duration_ms_sum"),
        )
    )
    lifetime: dict[tuple[str, str], dict[str, int]] = {}
    for j in finished:
        agg = lifetime.setdefault(
            (j.container, j.source),
            {"total": 0, "success": 0, "failed": 0, "skipped": 0, "track_changes": 0, "duration_ms_sum": 0},
        )
        agg["total"] += sign
        agg[j.result] += sign
        agg["track_changes"] += sign * int(j.track_changed)
        agg["duration_ms_sum"] += sign * j.duration_ms
    await conn.execute(
        dialect.upsert(
            LIFETIME_STATS,
            [{"container": c, "source": s, **agg} for (c, s), agg in sorted(lifetime.items())],
            keys=("container", "source"),
            add=("total", "success", "failed", "skipped", "track_changes", "duration_ms_sum"),
        )
    )


async def became_terminal(conn: AsyncConnection, dialect: Dialect, rows: Iterable[Mapping[str, Any]]) -> None:
    """The jobs of ``rows`` (terminal now) enter ``job_counts`` and record their finishes."""
    facts = [JobFacts.of(m) for m in rows]
    await count_terminal(conn, dialect, facts)
    await record_finishes(conn, dialect, facts)


async def no_longer_terminal(
    conn: AsyncConnection, dialect: Dialect, rows: Iterable[Mapping[str, Any]]
) -> None:
    """The jobs of ``rows`` (as they were, terminal) are queued again by a retry: they leave
    ``job_counts``, and their outcome leaves ``daily_stats`` and ``lifetime_stats`` — each job
    counts once, by its last outcome."""
    facts = [JobFacts.of(m) for m in rows]
    await count_terminal(conn, dialect, facts, sign=-1)
    await record_finishes(conn, dialect, facts, sign=-1)


async def drop_empty(conn: AsyncConnection) -> None:
    """Rollup rows whose jobs are all gone (retention keeps the table as small as the history)."""
    await conn.execute(delete(JOB_COUNTS).where(JOB_COUNTS.c.n == 0))
