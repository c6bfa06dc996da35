"""Scenario 1 — crash loop: a batch of real MKV/MP4 files while the server is kill -9ed at
random moments and restarted each time, on SQLite and on PostgreSQL.

Afterwards, judged from the database rows and the files themselves (not from the server):
one job per file, every job terminal exactly once (no job stuck queued/running/waiting,
the lifetime totals — incremented in the transaction that ends a job — equal the number of
jobs, so no job was finished twice), the batch's counts add up, every file is readable by
mkvmerge -J / ffprobe with exactly one default audio track, Japanese, and no temp file left.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

from arrtheaudio_proto.v1 import common_pb2 as batch_pb2
from tests.reliability.conftest import Backend
from tests.reliability.harness import (
    SIZES,
    TERMINAL,
    Api,
    media_problems,
    populate,
    server_settings,
    temp_files,
    wait_for,
)
from tests.reliability.results import record
from tests.support.server import make_server

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def test_crash_loop(backend: Backend, templates: list[Path], tmp_path: Path) -> None:
    started = time.monotonic()
    rng = random.Random(20240601 + (backend.name == "postgresql"))
    root = tmp_path / "media"
    files = populate(root, templates, SIZES.crash_files)
    settings = server_settings(root, storage_url=backend.url)
    # A stable instance id, as a deployment configures it: after a crash the restarted server
    # knows the running rows with its id are its own dead jobs (PostgreSQL recovers them at
    # once instead of waiting for the lease).
    settings["server"] = {"instance_id": f"crash-loop-{backend.name}"}
    server = make_server(tmp_path, settings)
    db = backend.database(server.config_path.parent)

    server.start()
    api = Api(server.target)
    batch_id = api.start_batch(root)
    kills = 0
    running_at_kill: list[int] = []
    try:
        while kills < SIZES.crash_kills:
            time.sleep(rng.uniform(0.2, 1.6))
            server.kill9()
            kills += 1
            running_at_kill.append(db.status_counts().get("running", 0))
            server.start(timeout=60)
            api.close()
            api = Api(server.target)

        def settled() -> bool:
            counts = db.status_counts()
            return sum(counts.get(s, 0) for s in ("queued", "running", "waiting_for_space")) == 0

        wait_for(settled, timeout=300, interval=0.5, what="every job of the batch to end")
        batch = api.batch(batch_id)
    finally:
        api.close()
        server.stop()

    jobs = db.jobs()
    by_path: dict[str, list[dict]] = {}
    for job in jobs:
        by_path.setdefault(job["file_path"], []).append(job)
    paths = {str(p.resolve()) for p in files}
    assert set(by_path) == paths, "one job per file of the library, and no other"
    assert all(len(found) == 1 for found in by_path.values()), "a file got two jobs"
    statuses = {job["status"] for job in jobs}
    assert statuses <= TERMINAL
    not_completed = [(j["file_path"], j["status"], j["reason"]) for j in jobs if j["status"] != "completed"]
    assert not not_completed, not_completed[:5]
    assert db.lifetime_total() == len(jobs), "the lifetime totals count each job's end exactly once"
    assert all(1 <= int(j["attempts"]) <= kills + 1 for j in jobs)
    # The batch as the API reports it adds up to the same.
    assert batch.status == batch_pb2.BATCH_STATUS_COMPLETED
    assert batch.progress.total == len(files)
    assert batch.progress.completed == len(files)
    assert (
        batch.progress.failed
        == batch.progress.cancelled
        == batch.progress.queued
        == batch.progress.running
        == 0
    )
    assert batch.results.success + batch.results.skipped == len(files)
    assert batch.results.track_changes == sum(1 for j in jobs if j["track_changed"])

    problems = media_problems(files)
    assert not problems, list(problems.items())[:5]
    assert temp_files(root) == []
    # The kills must have hit the server while it worked, or the scenario proved nothing.
    busy_kills = sum(1 for n in running_at_kill if n)
    assert busy_kills >= kills // 2, running_at_kill

    record(
        "crash-loop",
        variant=backend.name,
        files=len(files),
        kills=kills,
        kills_with_jobs_running=busy_kills,
        interrupted_attempts=sum(int(j["attempts"]) - 1 for j in jobs),
        changed=sum(1 for j in jobs if j["track_changed"]),
        media_checked=len(files),
        seconds=round(time.monotonic() - started, 1),
    )
