"""Scheduled scans: the server starts the configured batches at their cron times.

One asyncio task per schedule sleeps until the next due time (croniter: five cron fields,
or six with seconds last; times in UTC), then:

1. **claims the run** — a ``schedule_runs`` row keyed by (schedule, due time); on a shared
   PostgreSQL exactly one instance inserts it, the others skip the run;
2. **starts the batch** through the queue's own ``start_batch`` — so the 409 rule holds: while
   the previous batch for the same path is still active the run is recorded *skipped*
   instead of starting a second one;
3. **records the outcome** (started + batch id, skipped, failed + why) on the row.

A run that was missed (the server was down, or busy past the next due time) is not made up
for: the next due time after *now* is the next run. A failure never stops the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import structlog
from croniter import croniter

from arrtheaudio_server.clock import utcnow
from arrtheaudio_server.config import ScheduleSettings
from arrtheaudio_server.paths import PathRejected
from arrtheaudio_server.queue.domain import AlreadyExists, BatchInfo, BatchRequest, Priority, QueueError
from arrtheaudio_server.queue.store.schedule_runs import RunOutcome, ScheduleRun, ScheduleRuns

log = structlog.get_logger(__name__)

_PRIORITY = {"low": Priority.LOW, "normal": Priority.NORMAL, "high": Priority.HIGH}


@dataclass(frozen=True, slots=True)
class ScheduleInfo:
    """A schedule as ListSchedules shows it."""

    schedule: ScheduleSettings
    next_run_at: datetime
    last_run: ScheduleRun | None
    last_batch_id: str | None


def next_due(cron: str, after: datetime) -> datetime:
    """The first due time strictly after ``after`` (aware UTC in, aware UTC out)."""
    return croniter(cron, after).get_next(datetime)


class Scheduler:
    def __init__(
        self,
        schedules: Sequence[ScheduleSettings],
        runs: ScheduleRuns,
        *,
        start_batch: Callable[[BatchRequest], Awaitable[BatchInfo]],
        resolve_dir: Callable[[str], str],
        instance_id: str,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._schedules = list(schedules)
        self._runs = runs
        self._start_batch = start_batch
        self._resolve_dir = resolve_dir
        self._instance_id = instance_id
        self._clock = clock
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def schedules(self) -> list[ScheduleSettings]:
        return list(self._schedules)

    def start(self) -> None:
        if self._tasks:
            return
        for schedule in self._schedules:
            self._tasks.append(asyncio.create_task(self._loop(schedule), name=f"schedule-{schedule.name}"))
        if self._schedules:
            log.info("schedules.started", schedules=[s.name for s in self._schedules])

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self, schedule: ScheduleSettings) -> None:
        due = next_due(schedule.cron, self._clock())
        while True:
            delay = (due - self._clock()).total_seconds()
            if delay > 0:
                await asyncio.sleep(delay)
            run = asyncio.ensure_future(self.run_once(schedule, due))
            try:
                # A stop while a run is starting its batch lets that run finish and record what
                # it did: a batch must never exist without its run saying "started".
                await asyncio.shield(run)
            except asyncio.CancelledError:
                with contextlib.suppress(Exception):
                    await run
                raise
            except Exception as exc:  # noqa: BLE001 - e.g. the database is away; try at the next due time
                log.warning(
                    "schedule.run_failed", schedule=schedule.name, due_at=due.isoformat(), error=repr(exc)
                )
            due = next_due(schedule.cron, max(due, self._clock()))

    def request(self, schedule: ScheduleSettings) -> BatchRequest:
        """StartBatch's request for a run; raises PathRejected for an unusable path."""
        return BatchRequest(
            path=self._resolve_dir(schedule.path),
            recursive=schedule.recursive,
            pattern=schedule.pattern or None,
            dry_run=schedule.dry_run,
            priority=_PRIORITY[schedule.priority],
            min_size_mb=schedule.min_size_mb or None,
            max_age_days=schedule.max_age_days or None,
            exclude_patterns=tuple(schedule.exclude_patterns),
            force=schedule.force,
        )

    async def run_once(self, schedule: ScheduleSettings, due: datetime) -> RunOutcome | None:
        """Run ``schedule``'s run due at ``due`` if this instance wins it; None when another did."""
        seq = await self._runs.claim(schedule.name, due, instance_id=self._instance_id, now=self._clock())
        if seq is None:
            log.debug("schedule.taken_elsewhere", schedule=schedule.name, due_at=due.isoformat())
            return None
        outcome, batch_id, message = RunOutcome.FAILED, None, None
        try:
            request = await asyncio.to_thread(self.request, schedule)
            info = await self._start_batch(request)
            outcome, batch_id = RunOutcome.STARTED, info.batch_id
        except AlreadyExists as exc:
            outcome, message = RunOutcome.SKIPPED, f"not started: {exc}"
        except (PathRejected, QueueError) as exc:
            message = f"not started: {exc}"
        finally:
            # Recorded even when cancelled mid-start (shutdown), so the row never stays "claimed".
            await asyncio.shield(self._runs.finish(seq, outcome, batch_id=batch_id, message=message))
        log.info(
            "schedule.run",
            schedule=schedule.name,
            due_at=due.isoformat(),
            outcome=outcome.value,
            batch_id=batch_id,
            message=message,
        )
        return outcome

    async def list(self) -> list[ScheduleInfo]:
        now = self._clock()
        latest = await self._runs.latest([s.name for s in self._schedules])
        return [
            ScheduleInfo(
                schedule=schedule,
                next_run_at=next_due(schedule.cron, now),
                last_run=latest[schedule.name][0],
                last_batch_id=latest[schedule.name][1],
            )
            for schedule in self._schedules
        ]
