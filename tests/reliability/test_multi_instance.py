"""Scenario 3 — several instances: three server processes share one real PostgreSQL queue,
every file needs a change, and one instance is kill -9ed mid-run.

Every write is recorded independently of the server: ``mkvpropedit`` first on each
server's PATH appends ``<instance> <file>`` to one recording and then runs the real
mkvpropedit (a changed MKV costs exactly one mkvpropedit run; reading and verifying are
in-process). The victim's mkvpropedit waits before it runs, so the victim always holds
leases when it dies (and, killed in that wait, has not written).

Pass:
* every job completed exactly once: one record per job, made by the instance the database
  says ran it, one attempt — except the victim's leased jobs, which have two attempts and
  whose last record is a survivor's (or, when the victim's write landed before it died, the
  survivor found the file already correct and wrote nothing);
* the victim's leased jobs stay ``running`` under its lease until the lease expires and are
  taken over only after that (every survivor claim starts at or after the expiry);
* lifetime totals equal the number of jobs (no job finished twice); every file ends with
  exactly one default audio track, the Japanese one.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path

import pytest

from tests.reliability.harness import (
    SIZES,
    Api,
    Database,
    media_problems,
    populate,
    prepend_path,
    server_settings,
    tool_path,
    wait_for,
    write_script,
)
from tests.reliability.results import record
from tests.support.postgres import PostgresServer
from tests.support.server import ServerProcess, make_server

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(900)]

RECORDING_MKVPROPEDIT = """#!/bin/bash
# Records every write: which instance changed which file (argv: --quiet FILE --edit ...).
echo "$ARRTHEAUDIO_TEST_INSTANCE	$2" >> {recording}
if [ "$ARRTHEAUDIO_TEST_INSTANCE" = "{victim}" ]; then sleep 0.5; fi
exec {real} "$@"
"""

LEASE_SECONDS = 3.0


def _ts(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def test_three_instances_share_the_queue_and_take_over_a_dead_ones_leases(
    tmp_path: Path, templates: list[Path], postgres_server: PostgresServer, pg_url: str
) -> None:
    started = time.monotonic()
    root = tmp_path / "media"
    files = populate(
        root, templates, SIZES.multi_jobs, folders=40, only=lambda t: t.name == "mkv-eng-jpn.mkv"
    )
    digest = hashlib.sha256(files[0].read_bytes()).hexdigest()
    recording = tmp_path / "recording.tsv"
    recording.touch()
    names = [f"inst-{n}" for n in range(1, SIZES.multi_instances + 1)]
    victim = names[-1]
    bin_dir = tmp_path / "bin"
    write_script(
        bin_dir / "mkvpropedit",
        RECORDING_MKVPROPEDIT.format(recording=recording, victim=victim, real=tool_path("mkvpropedit")),
    )

    servers: dict[str, ServerProcess] = {}
    for name in names:
        settings = server_settings(
            root,
            storage_url=pg_url,
            lease_seconds=LEASE_SECONDS,
            heartbeat_seconds=0.5,
            recovery_interval_seconds=0.25,
            retry_attempts=2,
        )
        settings["server"] = {"instance_id": name}
        server = make_server(tmp_path / name, settings)
        server.env = prepend_path({**server.env, "ARRTHEAUDIO_TEST_INSTANCE": name}, bin_dir)
        servers[name] = server
    db = Database.for_url(pg_url, config_dir=tmp_path, postgres=postgres_server)

    for server in servers.values():
        server.start(timeout=60)
    api = Api(servers[names[0]].target)
    try:
        api.start_batch(root)
        total = len(files)

        def ready_to_kill() -> bool:
            counts = db.status_counts()
            running_victim = db.query(
                f"SELECT COUNT(*) AS n FROM jobs WHERE status = 'running' AND lease_owner = '{victim}'"
            )[0]["n"]
            return counts.get("completed", 0) >= total * 0.3 and int(running_victim) >= 1

        wait_for(
            ready_to_kill, timeout=300, interval=0.05, what="the run to be under way with the victim busy"
        )
        servers[victim].kill9()
        orphans = {j["job_id"]: j for j in db.jobs(f"status = 'running' AND lease_owner = '{victim}'")}
        assert orphans, "the victim held no lease when it died"
        expiry = {job_id: _ts(j["lease_expires_at"]) for job_id, j in orphans.items()}

        # Until its lease expires, nobody may touch a dead instance's job.
        early: list[str] = []
        observed_takeover: dict[str, float] = {}
        deadline = time.monotonic() + LEASE_SECONDS * 10
        while len(observed_takeover) < len(orphans) and time.monotonic() < deadline:
            ids = ", ".join(f"'{job_id}'" for job_id in orphans)
            now_rows = db.query(
                f"SELECT job_id, status, lease_owner, started_at, now() AS db_now "
                f"FROM jobs WHERE job_id IN ({ids})"
            )
            for row in now_rows:
                moved = row["status"] != "running" or row["lease_owner"] != victim
                if moved and row["job_id"] not in observed_takeover:
                    observed_takeover[row["job_id"]] = time.monotonic()
                    seen_at = _ts(row["db_now"])
                    if seen_at is not None and seen_at < expiry[row["job_id"]]:
                        early.append(row["job_id"])
            time.sleep(0.05)
        assert not early, f"jobs taken from the dead instance before its lease expired: {early}"

        wait_for(
            lambda: db.status_counts().get("completed", 0) == total,
            timeout=600,
            interval=0.5,
            what="every job to complete",
        )
    finally:
        api.close()
        for name, server in servers.items():
            if name != victim:
                server.stop()

    jobs = {j["job_id"]: j for j in db.jobs()}
    assert len(jobs) == total
    assert {j["file_path"] for j in jobs.values()} == {str(p.resolve()) for p in files}
    assert Counter(j["status"] for j in jobs.values()) == {"completed": total}
    assert db.lifetime_total() == total, "a job was finished twice (or never)"

    records: dict[str, list[str]] = defaultdict(list)
    for line in recording.read_text().splitlines():
        instance, path = line.split("\t", 1)
        records[path].append(instance)
    survivors_work: Counter[str] = Counter()
    for job_id, job in jobs.items():
        who = records.get(job["file_path"], [])
        ran_on = (job["worker_id"] or "").rsplit("-w", 1)[0]
        if job_id in orphans:
            assert job["attempts"] == 2, job
            assert ran_on != victim and who, (job, who)
            if job["reason_code"] == "already_correct":
                assert who == [victim], (job, who)  # the victim's write landed, the survivor saw it
            else:
                assert who[-1] == ran_on and len(who) <= 2, (job, who)
                assert all(w == victim for w in who[:-1]), (job, who)
            started_at = _ts(job["started_at"])
            assert started_at is not None and started_at >= expiry[job_id], (job, expiry[job_id])
        else:
            assert job["attempts"] == 1, job
            assert who == [ran_on], f"{job['file_path']} was processed by {who}, the DB says {ran_on}"
        survivors_work[ran_on] += 1
    assert all(survivors_work[name] > 0 for name in names[:-1]), survivors_work
    unchanged = [p for p in files if hashlib.sha256(p.read_bytes()).hexdigest() == digest]
    assert not unchanged, f"{len(unchanged)} files were not changed"
    assert media_problems(files) == {}

    record(
        "multi-instance",
        instances=len(names),
        jobs=total,
        victim_leases_taken_over=len(orphans),
        jobs_per_instance=dict(sorted(survivors_work.items())),
        recorded_calls=sum(map(len, records.values())),
        lease_seconds=LEASE_SECONDS,
        seconds=round(time.monotonic() - started, 1),
    )
