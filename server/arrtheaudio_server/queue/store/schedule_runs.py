"""The runs of the configured schedules, one row per (schedule, due time).

With several instances on one PostgreSQL every instance's scheduler wakes at the same due
time; the row's unique ``(schedule, due_at)`` key decides which one starts the batch: the
instance whose ``INSERT … ON CONFLICT DO NOTHING`` inserted the row. The others see no row
come back and do nothing. The row then records what the run did (started batch X, skipped
because the previous batch for the path is still active, failed and why), which is what
``ListSchedules`` shows as the last run.

Its own concern in the store: the table (schema.py) and these queries, one module.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Insert, select, update

from arrtheaudio_server.queue.store.database import Database
from arrtheaudio_server.queue.store.schema import SCHEDULE_RUNS


class RunOutcome(StrEnum):
    CLAIMED = "claimed"  # this row's instance is starting the batch right now
    STARTED = "started"
    SKIPPED = "skipped"  # the previous batch for the same path is still active (the 409 rule)
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class ScheduleRun:
    schedule: str
    due_at: datetime
    instance_id: str
    outcome: RunOutcome
    batch_id: str | None
    message: str | None


class ScheduleRuns:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def claim(self, schedule: str, due_at: datetime, *, instance_id: str, now: datetime) -> int | None:
        """The run's row id if this instance won the run; None when another instance has it."""
        row = {
            "schedule": schedule,
            "due_at": due_at,
            "instance_id": instance_id,
            "claimed_at": now,
            "outcome": RunOutcome.CLAIMED.value,
        }
        stmt: Insert = self.db.dialect.insert_if_absent(SCHEDULE_RUNS, row, keys=("schedule", "due_at"))
        async with self.db.write() as conn:
            return (await conn.execute(stmt.returning(SCHEDULE_RUNS.c.seq))).scalar()

    async def finish(
        self, seq: int, outcome: RunOutcome, *, batch_id: str | None, message: str | None
    ) -> None:
        stmt = (
            update(SCHEDULE_RUNS)
            .where(SCHEDULE_RUNS.c.seq == seq)
            .values(outcome=outcome.value, batch_id=batch_id, message=message)
        )
        async with self.db.write() as conn:
            await conn.execute(stmt)

    async def latest(self, schedules: list[str]) -> dict[str, tuple[ScheduleRun | None, str | None]]:
        """Per schedule: its last run, and the batch id of its last run that started one."""

        out: dict[str, tuple[ScheduleRun | None, str | None]] = {}
        async with self.db.read() as conn:
            for name in schedules:
                row = (
                    await conn.execute(
                        select(SCHEDULE_RUNS)
                        .where(SCHEDULE_RUNS.c.schedule == name)
                        .order_by(SCHEDULE_RUNS.c.seq.desc())
                        .limit(1)
                    )
                ).first()
                batch = (
                    await conn.execute(
                        select(SCHEDULE_RUNS.c.batch_id)
                        .where(SCHEDULE_RUNS.c.schedule == name, SCHEDULE_RUNS.c.batch_id.is_not(None))
                        .order_by(SCHEDULE_RUNS.c.seq.desc())
                        .limit(1)
                    )
                ).scalar()
                run = None
                if row is not None:
                    m = row._mapping
                    run = ScheduleRun(
                        schedule=m["schedule"],
                        due_at=m["due_at"],
                        instance_id=m["instance_id"],
                        outcome=RunOutcome(m["outcome"]),
                        batch_id=m["batch_id"],
                        message=m["message"],
                    )
                out[name] = (run, batch)
        return out

    async def all_runs(self, schedule: str) -> list[ScheduleRun]:
        """Every run of ``schedule``, oldest first (tests and diagnostics)."""

        async with self.db.read() as conn:
            rows = (
                await conn.execute(
                    select(SCHEDULE_RUNS)
                    .where(SCHEDULE_RUNS.c.schedule == schedule)
                    .order_by(SCHEDULE_RUNS.c.due_at)
                )
            ).mappings()
            return [
                ScheduleRun(
                    schedule=m["schedule"],
                    due_at=m["due_at"],
                    instance_id=m["instance_id"],
                    outcome=RunOutcome(m["outcome"]),
                    batch_id=m["batch_id"],
                    message=m["message"],
                )
                for m in rows
            ]
