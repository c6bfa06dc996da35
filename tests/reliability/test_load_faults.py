"""Scenario 7 — load with faults: a webhook flood while the tools randomly fail or hang.

``mkvpropedit`` and ``ffmpeg`` first on the server's PATH are wrappers around the real
tools that, at random, exit non-zero before doing anything, run the real tool and then
report failure anyway (the file *was* changed, or the temp file fully written), or hang
past the pipeline's timeout before running the real tool; every decision is logged. The
flood is sent over gRPC by 16 concurrent senders, each webhook naming 1–3 files of the
library (so many link to a job already queued).

Pass: every request answered (OK, ACCEPTED); every job any answer named exists and ends
(0 lost), one webhook row per request; retries stay within ``retry_attempts``; a job that
failed did so for a tool failure or timeout after its last attempt; every file is readable
by the real tools, and every file whose last job completed has exactly one default audio
track, the Japanese one; no temp file left; the faults really happened (logged failures,
hangs, and server-side tool timeouts).
"""

from __future__ import annotations

import random
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import pytest

from arrtheaudio_proto.v1 import webhook_service_pb2
from tests.reliability.harness import (
    SIZES,
    Api,
    Database,
    media_problems,
    populate,
    prepend_path,
    readable_problems,
    server_settings,
    temp_files,
    tool_path,
    wait_for,
    write_script,
)
from tests.reliability.results import record
from tests.support.arr_library import sonarr_payload_with_paths
from tests.support.server import make_server

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

TIMEOUT_SECONDS = 2.0
HANG_SECONDS = TIMEOUT_SECONDS + 1.5
RETRY_ATTEMPTS = 3

FAULTY_TOOL = """#!/bin/bash
# Fault injection in front of the real {name}: per mille rates, every decision logged.
r=$((RANDOM % 1000))
if [ $r -lt {fail} ]; then
  echo "fail-before {name}" >> {log}; echo "injected failure" >&2; exit 2
elif [ $r -lt {fail_after} ]; then
  echo "fail-after {name}" >> {log}; {real} "$@"; echo "injected failure after the work" >&2; exit 2
elif [ $r -lt {hang} ]; then
  # (sleep's output away from our pipes: a killed wrapper must not leave them open)
  echo "hang {name}" >> {log}; sleep {hang_seconds} </dev/null >/dev/null 2>&1
fi
echo "ok {name}" >> {log}
exec {real} "$@"
"""


def test_webhook_flood_with_failing_and_hanging_tools(tmp_path: Path, templates: list[Path]) -> None:
    started = time.monotonic()
    root = tmp_path / "media"
    files = populate(root, templates, SIZES.flood_files)
    log = tmp_path / "faults.log"
    bin_dir = tmp_path / "bin"
    for name in ("mkvpropedit", "ffmpeg"):
        write_script(
            bin_dir / name,
            FAULTY_TOOL.format(
                name=name,
                real=tool_path(name),
                log=log,
                fail=100,
                fail_after=150,
                hang=190,
                hang_seconds=HANG_SECONDS,
            ),
        )
    settings = server_settings(
        root, timeout_seconds=TIMEOUT_SECONDS, retry_attempts=RETRY_ATTEMPTS, retry_delay_seconds=0.2
    )
    server = make_server(tmp_path, settings)
    server.env = prepend_path(server.env, bin_dir)
    db = Database(sqlite_path=server.config_path.parent / "arrtheaudio.db")
    server.start()
    api = Api(server.target)
    rng = random.Random(77)
    bodies = [
        sonarr_payload_with_paths([str(p) for p in rng.sample(files, rng.randint(1, 3))])
        for _ in range(SIZES.flood_webhooks)
    ]
    answers: list[webhook_service_pb2.SonarrWebhookResponse | Exception] = []
    try:

        def send(body: bytes) -> webhook_service_pb2.SonarrWebhookResponse | Exception:
            try:
                return api.sonarr(body, timeout=120)
            except grpc.RpcError as exc:
                return exc

        flood_started = time.monotonic()
        with ThreadPoolExecutor(max_workers=16) as pool:
            answers = list(pool.map(send, bodies))
        flood_seconds = time.monotonic() - flood_started
        errors = [a for a in answers if isinstance(a, Exception)]
        assert not errors, [f"{e.code()}: {e.details()}" for e in errors[:5]]  # type: ignore[attr-defined]

        def settled() -> bool:
            counts = db.status_counts()
            return sum(counts.get(s, 0) for s in ("queued", "running", "waiting_for_space")) == 0

        wait_for(settled, timeout=600, interval=0.5, what="every job to end")
        assert server.process is not None and server.process.poll() is None
    finally:
        api.close()
        server.stop()

    replies = [a for a in answers if not isinstance(a, Exception)]
    assert len(replies) == len(bodies)
    assert all(r.status == webhook_service_pb2.WEBHOOK_STATUS_ACCEPTED and r.webhook_id for r in replies)
    named = {job_id for r in replies for job_id in r.job_ids}
    jobs = {j["job_id"]: j for j in db.jobs()}
    assert named <= set(jobs), f"{len(named - set(jobs))} jobs named in answers are not in the queue"
    assert set(jobs) <= named, "jobs nobody asked for"
    assert {j["status"] for j in jobs.values()} <= {"completed", "failed"}
    assert int(db.query("SELECT COUNT(*) AS n FROM webhooks")[0]["n"]) == len(bodies)
    assert db.lifetime_total() == len(jobs)
    attempts = Counter(int(j["attempts"]) for j in jobs.values())
    assert max(attempts) <= RETRY_ATTEMPTS + 1 and min(attempts) >= 1, attempts
    assert any(n > 1 for n in attempts), "no job was ever retried: the faults did not bite"
    failed = [j for j in jobs.values() if j["status"] == "failed"]
    for job in failed:
        assert job["reason_code"] in ("tool_failed", "timeout", "verify_failed"), job
        assert int(job["attempts"]) == RETRY_ATTEMPTS + 1, job
    assert len(failed) <= max(3, len(jobs) // 20), f"{len(failed)} of {len(jobs)} jobs failed"

    last_job: dict[str, dict] = {}
    for job in sorted(jobs.values(), key=lambda j: j["completed_at"] or ""):
        last_job[job["file_path"]] = job
    fixed = [p for p in files if last_job.get(str(p.resolve()), {}).get("status") == "completed"]
    problems = media_problems(fixed)
    assert not problems, list(problems.items())[:5]
    assert readable_problems(files) == {}, "a file was left broken"
    assert temp_files(root) == []

    faults = Counter(line.split()[0] for line in log.read_text().splitlines())
    assert faults["fail-before"] and faults["fail-after"] and faults["hang"], faults
    # The pipeline's whole-file budget (timeout_seconds) stops a hung tool: results with
    # reason_code "timeout" in the server's log (the job's row keeps only its last reason).
    timeouts = server.log_text().count('"reason_code": "timeout"')
    assert timeouts > 0, "no tool call ran into the timeout"
    record(
        "load-with-faults",
        webhooks=len(bodies),
        files=len(files),
        jobs=len(jobs),
        flood_seconds=round(flood_seconds, 1),
        injected=dict(sorted(faults.items())),
        tool_timeouts=timeouts,
        attempts=dict(sorted(attempts.items())),
        failed_after_retries=len(failed),
        seconds=round(time.monotonic() - started, 1),
    )
