"""The rollups equal a full recount after any sequence of what happens to jobs (hypothesis).

Random sequences of enqueue (created today or days ago, in batches), finish (success, skipped,
failed, or a retry back to the queue), cancel, cancel of a batch, recovery that fails a lost job,
RetryJob, RetryBatch and retention run against the real store on both backends. After each
sequence:

* ``job_counts`` equals the GROUP BY of the terminal rows still present;
* ``daily_stats`` and ``lifetime_stats`` equal a model that records each job's last outcome
  (a retry withdraws it, retention does not);
* GetStats' queue counts, list totals and GetJobStats under each filter equal a recount.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from arrtheaudio_server import clock
from arrtheaudio_server.media.result import Container, ResultStatus
from arrtheaudio_server.queue.domain import (
    AlreadyExists,
    BatchRequest,
    FailedPrecondition,
    Job,
    JobFilter,
    JobStatus,
    NotFound,
    Priority,
    Source,
)
from arrtheaudio_server.queue.store import JobOutcome, NewBatch, NewJob, Store
from arrtheaudio_server.queue.store.schema import TABLES
from tests.queue import recount

SOURCES = [Source.SONARR, Source.RADARR, Source.MANUAL]
CONTAINERS = [Container.MKV, Container.MP4, None]
OUTCOMES = ["success", "skipped", "failed", "retry", "success_mp4"]

enqueue = st.tuples(
    st.just("enqueue"),
    st.integers(1, 4),
    st.sampled_from(range(3)),
    st.sampled_from(range(3)),
    st.integers(0, 2),
)
op = st.one_of(
    enqueue,
    st.tuples(st.just("finish"), st.sampled_from(OUTCOMES)),
    st.tuples(st.just("cancel"), st.integers(0, 20)),
    st.tuples(st.just("cancel_batch"), st.integers(0, 5)),
    st.tuples(st.just("lose"), st.just(0)),
    st.tuples(st.just("retry"), st.integers(0, 20)),
    st.tuples(st.just("retry_batch"), st.integers(0, 5)),
    st.tuples(st.just("retention"), st.sampled_from(["completed", "failed", "cancelled", "all"])),
)


# Rounds that each start with an enqueue and then mix finishes (weighted: most of what
# happens to a job) with everything else, so sequences reach every transition.
_round = st.tuples(
    enqueue,
    st.lists(st.one_of(st.tuples(st.just("finish"), st.sampled_from(OUTCOMES)), op), min_size=1, max_size=8),
)
SEQUENCES = st.lists(_round, min_size=1, max_size=5).map(
    lambda rounds: [x for first, rest in rounds for x in (first, *rest)]
)


class Model:
    """What daily_stats and lifetime_stats must say: each job's last outcome."""

    def __init__(self) -> None:
        self.last: dict[str, tuple[date, str, str, str, int, int]] = {}

    def finished(self, job: Job | None) -> None:
        if job is None or job.result is None or job.completed_at is None:
            return
        self.last[job.job_id] = (
            job.completed_at.date(),
            job.container.value if job.container else "unknown",
            job.source.value,
            job.result.value,
            int(job.track_changed),
            int(job.duration_ms or 0),
        )

    def retried(self, job_id: str) -> None:
        self.last.pop(job_id, None)

    def daily(self) -> dict[Any, tuple[int, int, int]]:
        sums: dict[Any, list[int]] = {}
        for day, container, source, result, changed, duration in self.last.values():
            agg = sums.setdefault((day, container, source, result), [0, 0, 0])
            agg[0] += 1
            agg[1] += changed
            agg[2] += duration
        return {k: (a, b, c) for k, (a, b, c) in sums.items()}

    def lifetime(self) -> dict[Any, tuple[int, ...]]:
        sums: dict[Any, list[int]] = {}
        for _day, container, source, result, changed, duration in self.last.values():
            agg = sums.setdefault((container, source), [0, 0, 0, 0, 0, 0])
            agg[0] += 1
            agg[1 + ["success", "failed", "skipped"].index(result)] += 1
            agg[4] += changed
            agg[5] += duration
        return {k: tuple(v) for k, v in sums.items()}


def _outcome(kind: str) -> JobOutcome:
    if kind == "retry":
        return JobOutcome(
            status=JobStatus.QUEUED, reason="retry", reason_code="tool_failed", priority=Priority.LOW
        )
    result = ResultStatus.SUCCESS if kind.startswith("success") else ResultStatus(kind)
    return JobOutcome(
        status=JobStatus.FAILED if result == ResultStatus.FAILED else JobStatus.COMPLETED,
        result=result,
        reason=kind,
        reason_code={"success": "changed", "skipped": "already_correct", "failed": "tool_failed"}.get(
            kind, "changed"
        ),
        duration_ms=7 if kind == "success" else 3,
        track_changed=kind.startswith("success"),
        container=Container.MP4 if kind == "success_mp4" else None,
    )


async def _ids(store: Store, status: JobStatus) -> list[str]:
    page = await store.reads.list_jobs(JobFilter(status=status, limit=100, order_by="created_at asc"))
    return [job.job_id for job in page.jobs]


async def scenario(url: str, ops: list[tuple[Any, ...]]) -> None:
    store = await Store.open(url, instance_id="prop")
    try:
        async with store.db.write() as conn:
            for table in TABLES:
                await conn.execute(delete(table))
        model = Model()
        counter = itertools.count()
        batches: list[str] = []
        now = clock.utcnow()
        for name, *args in ops:
            if name == "enqueue":
                n, source, container, days_ago = args
                batch_id = f"b{next(counter)}"
                jobs = [
                    NewJob(
                        path=f"/m/{batch_id}-{k}.mkv",
                        container=CONTAINERS[container],
                        priority=Priority.NORMAL,
                        source=SOURCES[source],
                    )
                    for k in range(n)
                ]
                await store.enqueuer.enqueue(
                    jobs,
                    max_active=None,
                    batch=NewBatch(batch_id, BatchRequest(path=f"/m/{batch_id}"), n),
                    now=now - timedelta(days=days_ago),
                )
                batches.append(batch_id)
            elif name == "finish":
                claimed = await store.transitions.claim(
                    worker_id="w", lease_seconds=60, now=now + timedelta(days=1)
                )
                if claimed is not None:
                    finished = await store.transitions.finish(
                        claimed.job.job_id, worker_id="w", outcome=_outcome(args[0])
                    )
                    model.finished(finished.job)
            elif name == "cancel":
                queued = await _ids(store, JobStatus.QUEUED)
                if queued:
                    await store.transitions.cancel_job(queued[args[0] % len(queued)])
            elif name == "cancel_batch" and batches:
                with contextlib.suppress(NotFound):  # retention removed it
                    await store.transitions.cancel_batch(batches[args[0] % len(batches)])
            elif name == "lose":
                # A worker dies holding a job that is out of attempts: recovery fails it.
                claimed = await store.transitions.claim(
                    worker_id="dead", lease_seconds=0, now=now + timedelta(days=1)
                )
                if claimed is not None:
                    changes = await store.transitions.recover(
                        max_attempts=0, now=clock.utcnow() + timedelta(seconds=1)
                    )
                    for job in changes.jobs:
                        model.finished(job)
            elif name == "retry":
                done = await _ids(store, JobStatus.FAILED) + await _ids(store, JobStatus.CANCELLED)
                if done:
                    job_id = done[args[0] % len(done)]
                    try:
                        await store.transitions.retry_job(job_id)
                    except (AlreadyExists, FailedPrecondition):
                        continue
                    model.retried(job_id)
            elif name == "retry_batch" and batches:
                try:
                    outcome = await store.transitions.retry_batch(batches[args[0] % len(batches)])
                except NotFound:  # retention removed it
                    continue
                for job in outcome.result.jobs:
                    model.retried(job.job_id)
            elif name == "retention":
                statuses = list(JobStatus) if args[0] == "all" else [JobStatus(args[0])]
                terminal = [s for s in statuses if s.terminal]
                await store.retention.cleanup([(tuple(terminal), clock.utcnow() + timedelta(seconds=1))], now)

        rows = await recount.all_jobs(store)
        job_counts, daily, lifetime = await recount.rollup_tables(store)
        assert job_counts == recount.job_count_rollup(rows)
        assert {k: v for k, v in daily.items() if v[0]} == model.daily()
        assert {k: v for k, v in lifetime.items() if v[0]} == model.lifetime()
        figures = await store.stats.figures()
        assert figures.queue == recount.counts(rows)
        assert figures.lifetime.total == len(model.last)
        for f in (
            {},
            {"source": "radarr"},
            {"container": "mp4"},
            {"batch_id": batches[0] if batches else "none"},
        ):
            assert await store.stats.job_stats(**f) == recount.job_stats(recount.matching(rows, **f)), f
        after = clock.utc_midnight(now) - timedelta(days=1) + timedelta(hours=6)  # a partial day
        assert await store.stats.job_stats(created_after=after) == recount.job_stats(
            recount.matching(rows, created_after=after)
        )
        for status in (JobStatus.COMPLETED, JobStatus.QUEUED, JobStatus.CANCELLED):
            page = await store.reads.list_jobs(JobFilter(status=status, limit=1))
            assert page.total == len(recount.matching(rows, status=status))
        assert (await store.reads.list_jobs(JobFilter(source=Source.SONARR, limit=1))).total == len(
            recount.matching(rows, source="sonarr")
        )
    finally:
        await store.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'rollups.db'}"
    return request.getfixturevalue("pg_url")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=SEQUENCES)
def test_rollups_equal_a_recount_after_any_sequence(url: str, ops: list[tuple[Any, ...]]) -> None:
    asyncio.run(scenario(url, ops))
