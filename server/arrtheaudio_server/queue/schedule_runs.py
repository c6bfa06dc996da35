"""The runs of the configured schedules, one row per (schedule, due time).

With several instances on one PostgreSQL every instance's scheduler wakes at the same due
time; the row's unique ``(schedule, due_at)`` key decides which one starts the batch: the
instance whose ``INSERT … ON CONFLICT DO NOTHING`` inserted the row. The others see no row
come back and do nothing. The row then records what the run did (started batch X, skipped
because the previous batch for the path is still active, failed and why), which is what
``ListSchedules`` shows as the last run.

Kept out of ``storage.py`` on purpose: its own table and queries, one module.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from arrtheaudio_server.queue.engine import Engines
from arrtheaudio_server.queue.file_checks import create_tables
from arrtheaudio_server.queue.models import UtcDateTime


class RunOutcome(StrEnum):
    CLAIMED = "claimed"  # this row's instance is starting the batch right now
    STARTED = "started"
    SKIPPED = "skipped"  # the previous batch for the same path is still active (the 409 rule)
    FAILED = "failed"


_metadata = MetaData()
SCHEDULE_RUNS = Table(
    "schedule_runs",
    _metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("schedule", String(64), nullable=False),
    Column("due_at", UtcDateTime(), nullable=False),
    Column("instance_id", String(100), nullable=False),
    Column("claimed_at", UtcDateTime(), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("batch_id", String(32)),
    Column("message", Text),
    # One run per due time, whichever instance gets there first.
    UniqueConstraint("schedule", "due_at", name="ux_schedule_runs_due"),
)
# "The last run" and "the last batch" of a schedule: newest due time first.
Index("ix_schedule_runs_schedule_seq", SCHEDULE_RUNS.c.schedule, SCHEDULE_RUNS.c.seq)


@dataclass(frozen=True, slots=True)
class ScheduleRun:
    schedule: str
    due_at: datetime
    instance_id: str
    outcome: RunOutcome
    batch_id: str | None
    message: str | None


class ScheduleRuns:
    def __init__(self, engines: Engines) -> None:
        self._engines = engines

    async def create_schema(self) -> None:
        await self._engines.run_write(lambda conn: create_tables(conn, [SCHEDULE_RUNS]))

    async def claim(self, schedule: str, due_at: datetime, *, instance_id: str, now: datetime) -> int | None:
        """The run's row id if this instance won the run; None when another instance has it."""
        upsert = pg_insert if self._engines.dialect == "postgresql" else sqlite_insert
        stmt = (
            upsert(SCHEDULE_RUNS)
            .values(
                schedule=schedule,
                due_at=due_at,
                instance_id=instance_id,
                claimed_at=now,
                outcome=RunOutcome.CLAIMED.value,
            )
            .on_conflict_do_nothing(index_elements=[SCHEDULE_RUNS.c.schedule, SCHEDULE_RUNS.c.due_at])
            .returning(SCHEDULE_RUNS.c.seq)
        )
        return await self._engines.run_write(lambda conn: conn.execute(stmt).scalar())

    async def finish(
        self, seq: int, outcome: RunOutcome, *, batch_id: str | None, message: str | None
    ) -> None:
        stmt = (
            update(SCHEDULE_RUNS)
            .where(SCHEDULE_RUNS.c.seq == seq)
            .values(outcome=outcome.value, batch_id=batch_id, message=message)
        )
        await self._engines.run_write(lambda conn: conn.execute(stmt))

    async def latest(self, schedules: list[str]) -> dict[str, tuple[ScheduleRun | None, str | None]]:
        """Per schedule: its last run, and the batch id of its last run that started one."""

        def read(conn: Connection) -> dict[str, tuple[ScheduleRun | None, str | None]]:
            out: dict[str, tuple[ScheduleRun | None, str | None]] = {}
            for name in schedules:
                row = conn.execute(
                    select(SCHEDULE_RUNS)
                    .where(SCHEDULE_RUNS.c.schedule == name)
                    .order_by(SCHEDULE_RUNS.c.seq.desc())
                    .limit(1)
                ).first()
                batch = conn.execute(
                    select(SCHEDULE_RUNS.c.batch_id)
                    .where(SCHEDULE_RUNS.c.schedule == name, SCHEDULE_RUNS.c.batch_id.is_not(None))
                    .order_by(SCHEDULE_RUNS.c.seq.desc())
                    .limit(1)
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

        return await self._engines.run_read(read)

    async def all_runs(self, schedule: str) -> list[ScheduleRun]:
        """Every run of ``schedule``, oldest first (tests and diagnostics)."""

        def read(conn: Connection) -> list[ScheduleRun]:
            rows = conn.execute(
                select(SCHEDULE_RUNS)
                .where(SCHEDULE_RUNS.c.schedule == schedule)
                .order_by(SCHEDULE_RUNS.c.due_at)
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

        return await self._engines.run_read(read)
