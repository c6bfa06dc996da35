"""Scenario 5 — database trouble while workers run.

* PostgreSQL is restarted (a fast shutdown) and later crashed (SIGKILL of the postmaster and
  its backends, then crash recovery) in the middle of a batch of real files: the server
  process survives both, its workers reconnect and carry on, and afterwards every job is
  completed exactly once, every file correct.
* SQLite: another process holds ``BEGIN EXCLUSIVE`` on the queue's database for a few
  seconds. The server's writes wait (busy timeout) instead of failing: no progress while
  the lock is held, a webhook sent meanwhile is answered once it is released, nothing
  crashes, nothing is lost.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.reliability.harness import (
    SIZES,
    Api,
    Database,
    media_problems,
    populate,
    server_settings,
    temp_files,
    wait_for,
)
from tests.reliability.results import record
from tests.support.arr_library import sonarr_payload_with_paths
from tests.support.postgres import PostgresServer
from tests.support.server import make_server

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def _done(db: Database) -> int:
    counts = db.status_counts()
    return counts.get("completed", 0) + counts.get("failed", 0) + counts.get("cancelled", 0)


def _check_all_completed(db: Database, files: list[Path], root: Path) -> list[dict]:
    jobs = db.jobs()
    assert sorted(j["file_path"] for j in jobs) == sorted(str(p.resolve()) for p in files), "one job per file"
    bad = [(j["file_path"], j["status"], j["reason"]) for j in jobs if j["status"] != "completed"]
    assert not bad, bad[:5]
    assert db.lifetime_total() == len(jobs), "a job was finished twice (or never)"
    problems = media_problems(files)
    assert not problems, list(problems.items())[:5]
    assert temp_files(root) == []
    return jobs


@pytest.mark.postgres
def test_postgres_restart_and_crash_while_workers_run(
    tmp_path: Path, templates: list[Path], postgres_server: PostgresServer, pg_url: str
) -> None:
    started = time.monotonic()
    root = tmp_path / "media"
    files = populate(root, templates, SIZES.db_files)
    settings = server_settings(root, storage_url=pg_url, lease_seconds=4.0)
    settings["server"] = {"instance_id": "db-trouble"}
    server = make_server(tmp_path, settings)
    db = Database.for_url(pg_url, config_dir=tmp_path, postgres=postgres_server)
    server.start()
    api = Api(server.target)
    outages = []
    try:
        api.start_batch(root)
        for fraction, how in ((0.2, "restart"), (0.55, "kill")):
            wait_for(lambda f=fraction: _done(db) >= len(files) * f, timeout=180, what=f"{fraction:.0%} done")
            before = _done(db)
            t0 = time.monotonic()
            if how == "restart":
                postgres_server.restart()
            else:
                postgres_server.kill()
                time.sleep(1.0)  # the database stays away for a moment
                postgres_server.start()
            outages.append({"how": how, "done_before": before, "seconds": round(time.monotonic() - t0, 2)})
            assert server.process is not None and server.process.poll() is None, (
                "the server died with its database"
            )
        wait_for(lambda: _done(db) == len(files), timeout=300, interval=0.5, what="every job to end")
        wait_for(lambda: server.serving(timeout=2), timeout=30, what="the server to report SERVING again")
        assert server.process.poll() is None
    finally:
        api.close()
        server.stop()
    jobs = _check_all_completed(db, files, root)
    log = server.log_text()
    record(
        "database-trouble",
        variant="postgresql-restart+kill",
        files=len(files),
        outages=outages,
        retried_attempts=sum(int(j["attempts"]) - 1 for j in jobs),
        storage_errors_survived=len(re.findall(r'"event": "queue\.[a-z_]*failed"', log)),
        seconds=round(time.monotonic() - started, 1),
    )


LOCKER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], timeout=60, isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("COMMIT")
conn.close()
print("released", flush=True)
"""


def test_sqlite_locked_by_another_process(tmp_path: Path, templates: list[Path]) -> None:
    started = time.monotonic()
    root = tmp_path / "media"
    files = populate(root, templates, SIZES.db_files // 2)
    extra = populate(root / "late", templates, 1, seed=99)[0]
    server = make_server(tmp_path, server_settings(root))
    db = Database(sqlite_path=server.config_path.parent / "arrtheaudio.db")
    server.start()
    api = Api(server.target)
    hold = 5.0
    try:
        api.start_batch(root, dry_run=False)
        wait_for(lambda: _done(db) >= 5, timeout=120, what="the first jobs to end")
        locker = subprocess.Popen(
            [sys.executable, "-c", LOCKER, str(db.sqlite_path), str(hold)], stdout=subprocess.PIPE, text=True
        )
        assert locker.stdout is not None and locker.stdout.readline().strip() == "locked"
        locked_at = time.monotonic()
        time.sleep(0.5)  # a job that was mid-write when the lock came may still land
        during = _done(db)
        # A webhook during the lock: its write waits for the lock instead of failing.
        with ThreadPoolExecutor(max_workers=1) as pool:
            answer = pool.submit(
                lambda: (
                    api.sonarr(sonarr_payload_with_paths([str(extra)]), timeout=60),
                    time.monotonic() - locked_at,
                )
            )
            time.sleep(max(0.0, hold - 1.0 - (time.monotonic() - locked_at)))
            still_during = _done(db)
            webhook_pending = not answer.done()
            reply, answered_after = answer.result(timeout=90)
        assert locker.wait(timeout=30) == 0
        assert still_during == during, "jobs finished while another process held the database's write lock"
        assert webhook_pending, "the webhook was answered while the database was locked"
        assert reply.webhook_id and len(reply.job_ids) == 1
        wait_for(lambda: _done(db) == len(files) + 1, timeout=180, interval=0.3, what="every job to end")
        assert server.process is not None and server.process.poll() is None
    finally:
        api.close()
        server.stop()
    _check_all_completed(db, [*files, extra], root)
    record(
        "database-trouble",
        variant="sqlite-locked",
        files=len(files) + 1,
        lock_seconds=hold,
        webhook_answered_after_s=round(answered_after, 2),
        seconds=round(time.monotonic() - started, 1),
    )
