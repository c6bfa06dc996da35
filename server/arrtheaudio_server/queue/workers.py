"""The worker pool: ``worker_count`` asyncio workers that claim jobs and run the pipeline.

One worker = one loop: claim → heartbeat while the pipeline runs
→ record the outcome. The rules that matter:

* **No MP4 limit here** — an MP4 is edited in place like an MKV (a few bytes), so every
  worker takes any job; ``max_mp4_concurrent`` bounds only the remux fallback, inside the
  pipeline, where waiting for a slot does not count against the job's timeout.
* **Free space** — only writes that make a new file need it (the MP4 remux fallback, a
  hard-linked file under ``execution.hardlinks: copy``); the pipeline checks it right before
  such a write and answers ``insufficient_space``, which parks the job as
  ``waiting_for_space``, re-checked every ``space_recheck_seconds`` without using up an
  attempt. In-place edits need no space and never wait.
* **Timeout** — the pipeline enforces ``timeout_seconds`` on its tools; the worker wraps
  the whole call with a margin on top, so even a hung pipeline ends (cancelled: it kills
  its tools and removes its temp file).
* **Retries** — a retryable failure goes back to the queue at LOW priority after
  ``retry_delay_seconds`` while attempts remain, then fails with the last reason. A
  skipped file is not a failure.
* **Cancellation** — the running pipeline task is cancelled (locally at once; a cancel on
  another instance reaches us through the heartbeat). The pipeline cleans up: MKV edits
  are atomic, an MP4 temp file is removed, the original is untouched.
* **Shutdown** — stop claiming, let running jobs finish for the grace period, then cancel
  them and hand their leases back (``queued``, attempt not counted) so the next start runs
  them at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol

import structlog

from arrtheaudio_server import observability
from arrtheaudio_server.clock import utcnow
from arrtheaudio_server.config import ProcessingSettings
from arrtheaudio_server.media.result import ProcessResult, ReasonCode, ResultStatus
from arrtheaudio_server.metadata.hints import MediaHints
from arrtheaudio_server.queue.domain import Job, JobStatus, Priority
from arrtheaudio_server.queue.store import Changes, Claimed, JobOutcome
from arrtheaudio_server.queue.store.transitions import Transitions

log = structlog.get_logger(__name__)

"""Free bytes on the filesystem holding the given directory."""

OnFinished = Callable[[Job, ProcessResult], Awaitable[None]]
"""Told of every job recorded terminal with the pipeline's result (file checks remember it)."""


class Pipeline(Protocol):
    async def process(
        self, path: Path, hints: MediaHints | None = None, *, dry_run: bool | None = None
    ) -> ProcessResult: ...


@dataclass
class RunningJob:
    job: Job
    worker_id: str
    task: asyncio.Task[ProcessResult] | None = None
    stop_reason: str | None = None  # "cancel" | "shutdown" | "lease_lost"
    done: asyncio.Event = field(default_factory=asyncio.Event)
    final: Job | None = None
    result: ProcessResult | None = None  # what the pipeline returned, when it returned


class WorkerPool:
    def __init__(
        self,
        transitions: Transitions,
        pipeline: Pipeline,
        processing: ProcessingSettings,
        *,
        instance_id: str,
        on_change: Callable[[Changes], None],
        timeout_margin_seconds: float = 5.0,
        on_finished: OnFinished | None = None,
    ) -> None:
        self.on_finished = on_finished
        self.transitions = transitions
        self.pipeline = pipeline
        self.settings = processing
        self.instance_id = instance_id
        self.on_change = on_change
        self.timeout_margin = timeout_margin_seconds
        self.running: dict[str, RunningJob] = {}
        self._workers: list[asyncio.Task[None]] = []
        self._stopping = False
        self._wake = asyncio.Event()

    @property
    def worker_ids(self) -> list[str]:
        return [f"{self.instance_id}-w{n}" for n in range(1, self.settings.worker_count + 1)]

    @property
    def stopping(self) -> bool:
        return self._stopping

    def start(self) -> None:
        self._stopping = False
        for worker_id in self.worker_ids:
            self._workers.append(asyncio.create_task(self._work(worker_id), name=worker_id))

    def wake(self) -> None:
        """New work may be there: idle workers claim now instead of at their next poll."""
        event, self._wake = self._wake, asyncio.Event()
        event.set()

    async def stop(self, grace: float) -> None:
        self._stopping = True
        self.wake()
        if not self._workers:
            return
        if grace > 0:
            await asyncio.wait(self._workers, timeout=grace)
        pending = {task for task in self._workers if not task.done()}
        if pending:
            for running in list(self.running.values()):
                running.stop_reason = "shutdown"
                if running.task is not None:
                    running.task.cancel()
            # The pipeline cleans up after cancellation; the worker then releases the lease.
            _, pending = await asyncio.wait(pending, timeout=max(10.0, self.timeout_margin))
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
        self._workers.clear()

    def cancel_local(self, job_id: str) -> RunningJob | None:
        running = self.running.get(job_id)
        if running is not None:
            running.stop_reason = running.stop_reason or "cancel"
            if running.task is not None:
                running.task.cancel()
        return running

    # --- the worker loop ----------------------------------------------------------------

    async def _idle(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), self.settings.poll_interval_seconds)

    async def _work(self, worker_id: str) -> None:
        while not self._stopping:
            try:
                claimed = await self.transitions.claim(
                    worker_id=worker_id, lease_seconds=self.settings.lease_seconds
                )
            except Exception as exc:  # noqa: BLE001 - storage hiccup: log, back off, try again
                log.warning("queue.claim_failed", worker=worker_id, error=str(exc))
                observability.STORAGE_ERRORS.labels("claim").inc()
                claimed = None
            if claimed is None:
                await self._idle()
                continue
            try:
                await self.run(claimed, worker_id)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - e.g. the database went away mid-job
                # The worker lives on; the job keeps its lease until it expires and recovery
                # runs it again (a re-run of a finished edit is a harmless "already correct").
                log.error("queue.worker_error", worker=worker_id, job_id=claimed.job.job_id, error=repr(exc))
                await self._idle()

    # --- one job ------------------------------------------------------------------------

    async def run(self, claimed: Claimed, worker_id: str, *, inline: bool = False) -> Job | None:
        """Run a claimed job to its next state; returns the job as recorded (None: lease lost).

        ``inline`` (rollback mode: nobody would come back to a parked job) turns a lack of
        free space into a failure instead of ``waiting_for_space``.
        """
        job = claimed.job
        self.on_change(Changes(jobs=[job]))
        running = RunningJob(job=job, worker_id=worker_id)
        self.running[job.job_id] = running
        try:
            outcome = await self._execute(running, claimed.hints, inline=inline)
            if outcome is None:
                return None
            recorded = await self._record(running, outcome)
            if recorded is not None and recorded.status.terminal and running.result is not None:
                await self._tell_finished(recorded, running.result)
            return recorded
        finally:
            self.running.pop(job.job_id, None)
            running.done.set()

    async def _tell_finished(self, job: Job, result: ProcessResult) -> None:
        if self.on_finished is None:
            return
        try:
            await self.on_finished(job, result)
        except Exception as exc:  # noqa: BLE001 - the job is recorded; a lost check only costs a re-check
            log.warning("queue.on_finished_failed", job_id=job.job_id, error=repr(exc))

    def _wait_for_space(self, reason: str, *, inline: bool = False) -> JobOutcome:
        if inline:
            return JobOutcome(
                status=JobStatus.FAILED,
                result=ResultStatus.FAILED,
                reason=reason,
                reason_code=ReasonCode.INSUFFICIENT_SPACE.value,
            )
        return JobOutcome(
            status=JobStatus.WAITING_FOR_SPACE,
            reason=reason,
            reason_code=ReasonCode.INSUFFICIENT_SPACE.value,
            next_attempt_at=utcnow() + timedelta(seconds=self.settings.space_recheck_seconds),
            refund_attempt=True,
        )

    async def _execute(
        self, running: RunningJob, hints: MediaHints | None, *, inline: bool = False
    ) -> JobOutcome | None:
        job = running.job
        task = asyncio.create_task(
            self.pipeline.process(Path(job.file_path), hints, dry_run=True if job.dry_run else None),
            name=f"pipeline-{job.job_id}",
        )
        running.task = task
        beat = asyncio.create_task(self._heartbeat(running), name=f"heartbeat-{job.job_id}")
        timeout = self.settings.timeout_seconds + self.timeout_margin
        try:
            done, _ = await asyncio.wait({task}, timeout=timeout)
        except asyncio.CancelledError:
            # The worker itself is being torn down: stop the pipeline (it cleans up) and
            # hand the job back so the next start runs it.
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await asyncio.shield(self._release(running))
            raise
        finally:
            beat.cancel()
        if not done:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            return self._failure(
                job, ReasonCode.TIMEOUT, f"processing took longer than {self.settings.timeout_seconds:g}s"
            )
        if task.cancelled():
            if running.stop_reason == "shutdown":
                await self._release(running)
                return None
            if running.stop_reason == "lease_lost":
                log.warning("queue.lease_lost", job_id=job.job_id, worker=running.worker_id)
                return None
            return JobOutcome(
                status=JobStatus.CANCELLED,
                reason="cancelled while running",
                reason_code=ReasonCode.CANCELLED.value,
            )
        exc = task.exception()
        if exc is not None:
            log.error("queue.pipeline_crashed", job_id=job.job_id, error=repr(exc))
            return self._failure(job, ReasonCode.INTERNAL, f"pipeline error: {exc!r}")
        running.result = task.result()
        return self.decide(job, running.result, inline=inline)

    async def _release(self, running: RunningJob) -> None:
        job = await self.transitions.release(running.job.job_id, worker_id=running.worker_id)
        if job is not None:
            running.final = job
            self.on_change(Changes(jobs=[job]))

    async def _heartbeat(self, running: RunningJob) -> None:
        while True:
            await asyncio.sleep(self.settings.heartbeat_seconds)
            try:
                state = await self.transitions.heartbeat(
                    running.job.job_id, worker_id=running.worker_id, lease_seconds=self.settings.lease_seconds
                )
            except Exception as exc:  # noqa: BLE001 - keep running; the lease has slack
                log.warning("queue.heartbeat_failed", job_id=running.job.job_id, error=str(exc))
                observability.STORAGE_ERRORS.labels("heartbeat").inc()
                continue
            if state is None or state:
                running.stop_reason = running.stop_reason or ("lease_lost" if state is None else "cancel")
                if running.task is not None:
                    running.task.cancel()
                return

    # --- deciding what a result means -------------------------------------------------

    def _failure(self, job: Job, code: ReasonCode, reason: str) -> JobOutcome:
        return self.decide(
            job,
            ProcessResult(
                status=ResultStatus.FAILED,
                reason_code=code,
                reason=reason,
                path=job.file_path,
                container=job.container,
            ),
        )

    def decide(self, job: Job, result: ProcessResult, *, inline: bool = False) -> JobOutcome:
        if result.reason_code == ReasonCode.INSUFFICIENT_SPACE:
            return self._wait_for_space(result.reason, inline=inline)
        common: dict[str, Any] = {
            "reason": result.reason,
            "reason_code": result.reason_code.value,
            "container": result.container,
        }
        if (
            result.status == ResultStatus.FAILED
            and result.reason_code.retryable
            and job.attempts <= self.settings.retry_attempts
        ):
            return JobOutcome(
                status=JobStatus.QUEUED,
                priority=Priority.LOW,
                next_attempt_at=utcnow() + timedelta(seconds=self.settings.retry_delay_seconds),
                **common,
            )
        return JobOutcome(
            status=JobStatus.FAILED if result.status == ResultStatus.FAILED else JobStatus.COMPLETED,
            result=result.status,
            duration_ms=result.duration_ms,
            track_changed=result.track_changed,
            selected=result.selected,
            language=result.language,
            language_source=result.language_source,
            tracks=result.track_changes,
            write_method=result.write_method,
            write_note=result.write_note,
            **common,
        )

    async def _record(self, running: RunningJob, outcome: JobOutcome) -> Job | None:
        finished = await self.transitions.finish(
            running.job.job_id, worker_id=running.worker_id, outcome=outcome
        )
        job = running.final = finished.job
        if finished.changes:
            self.on_change(finished.changes)
        if job is not None and job.status == JobStatus.QUEUED:
            self.wake()
        return job
