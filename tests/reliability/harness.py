"""What every reliability scenario shares: sizes, the media library, the checks, the DB readers.

The scenarios damage a real server process (``tests/support/server.py``) on real files, then
judge the outcome only through independent means: the database rows themselves (not the
server's view of them), ``mkvmerge -J`` / ``ffprobe`` for every media file, and the file
system for temp files and canaries.

Sizes: ``ARRTHEAUDIO_RELIABILITY_SCALE=full`` runs the issue's full sizes (1000 files × 20
kills, 10,000 jobs, 10,000 webhooks, thousands of fuzz examples); the default ``ci`` sizes
keep the whole suite inside its CI budget on two cores. Every run records the sizes it used
in ``.build/reliability/results.jsonl`` (see ``results.py``).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import stat
import subprocess
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from google.api import httpbody_pb2

from arrtheaudio_proto.v1 import (
    batch_service_pb2,
    batch_service_pb2_grpc,
    common_pb2,
    job_service_pb2,
    job_service_pb2_grpc,
    webhook_service_pb2,
    webhook_service_pb2_grpc,
)
from tests.support.media_files import AudioSpec, make_mkv, make_mp4, read_back
from tests.support.postgres import PostgresServer

SCALE = os.environ.get("ARRTHEAUDIO_RELIABILITY_SCALE", "ci").strip().lower() or "ci"
FULL = SCALE == "full"


@dataclass(frozen=True)
class Sizes:
    crash_files: int
    crash_kills: int
    multi_jobs: int
    multi_instances: int
    flood_webhooks: int
    flood_files: int
    fuzz_examples: int
    db_files: int


SIZES = (
    Sizes(
        crash_files=1000,
        crash_kills=20,
        multi_jobs=3000,  # every job really writes (mkvpropedit) since #10: ~4x the old dry run's cost
        multi_instances=3,
        flood_webhooks=10_000,
        flood_files=1000,
        fuzz_examples=2000,
        db_files=300,
    )
    if FULL
    else Sizes(
        crash_files=240,
        crash_kills=8,
        multi_jobs=500,
        multi_instances=3,
        flood_webhooks=1000,
        flood_files=250,
        fuzz_examples=400,
        db_files=120,
    )
)

# Every generated file has a Japanese track; the server prefers Japanese, so afterwards the
# Japanese track must be the one and only default audio track of every file.
EXPECTED_LANGUAGE = "jpn"
LANGUAGE_PRIORITY = ["jpn", "eng"]
TEMP_MARKER = ".arrtheaudio-tmp"
SERVER_TARGET_KEY = "reliability-key-0123456789abcdef"


# --- media -------------------------------------------------------------------------------

# (name, suffix, tracks): wrong default, already right, three tracks, MP4 remuxes.
_TEMPLATES: tuple[tuple[str, str, tuple[AudioSpec, ...]], ...] = (
    ("mkv-eng-jpn", ".mkv", (AudioSpec("eng", default=True), AudioSpec("jpn"))),
    ("mkv-jpn-ok", ".mkv", (AudioSpec("jpn", default=True), AudioSpec("eng"))),
    ("mkv-three", ".mkv", (AudioSpec("eng", default=True), AudioSpec("ger", default=True), AudioSpec("jpn"))),
    ("mp4-eng-jpn", ".mp4", (AudioSpec("eng", default=True), AudioSpec("jpn"))),
    ("mp4-three", ".mp4", (AudioSpec("ger", default=True), AudioSpec("jpn"), AudioSpec("eng"))),
)


def build_templates(directory: Path, *, video: bool = False, duration: float = 1.0) -> list[Path]:
    """One real file per template (made with ffmpeg), to be copied under many names."""
    directory.mkdir(parents=True, exist_ok=True)
    made = []
    for name, suffix, tracks in _TEMPLATES:
        path = directory / f"{name}{suffix}"
        if not path.exists():
            maker = make_mkv if suffix == ".mkv" else make_mp4
            maker(path, tracks=list(tracks), video=video, duration=duration)
        made.append(path)
    return made


def populate(
    root: Path,
    templates: Sequence[Path],
    count: int,
    *,
    seed: int = 7,
    folders: int = 12,
    only: Callable[[Path], bool] | None = None,
) -> list[Path]:
    """``count`` real media files under ``root`` (copies of the templates, spread over folders)."""
    rng = random.Random(seed)
    choices = [t for t in templates if only is None or only(t)]
    paths = []
    for n in range(count):
        template = rng.choice(choices)
        target = root / f"Show {n % folders:02d}" / f"Episode {n:05d} - {template.stem}{template.suffix}"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template, target)
        paths.append(target)
    return paths


def media_problems(
    paths: Iterable[Path], *, expected: str = EXPECTED_LANGUAGE, threads: int = 4
) -> dict[str, str]:
    """Read every file back with mkvmerge -J / ffprobe; returns {path: problem} for bad ones.

    The server's own in-process reader must agree with them on the default flags, so every
    file a scenario checks also cross-checks that reader against the reference tools.
    """
    from arrtheaudio_server.media.probe import read_tracks
    from arrtheaudio_server.media.result import Container

    def check(path: Path) -> tuple[str, str | None]:
        try:
            info = read_back(path)
        except Exception as exc:  # noqa: BLE001 - an unreadable file is exactly what we look for
            return str(path), f"unreadable: {exc}"
        container = Container.MKV if path.suffix.lower() == ".mkv" else Container.MP4
        ours = read_tracks(path, container)
        if getattr(ours, "default_indexes", None) != info.default_audio_indexes:
            return str(path), f"the server's reader disagrees with the reference tools: {ours}"
        defaults = info.default_audio_indexes
        if len(defaults) != 1:
            return str(path), f"{len(defaults)} default audio tracks ({[s.language for s in info.audio]})"
        language = info.audio[defaults[0]].language
        if language != expected:
            return str(path), f"default audio track is {language!r}, expected {expected!r}"
        return str(path), None

    with ThreadPoolExecutor(max_workers=threads) as pool:
        results = list(pool.map(check, list(paths)))
    return {path: problem for path, problem in results if problem}


def readable_problems(paths: Iterable[Path], threads: int = 4) -> dict[str, str]:
    """Files that the real tools cannot read (for files whose track choice may legitimately differ)."""

    def check(path: Path) -> tuple[str, str | None]:
        try:
            info = read_back(path)
        except Exception as exc:  # noqa: BLE001
            return str(path), f"unreadable: {exc}"
        return str(path), None if info.audio else "no audio tracks left"

    with ThreadPoolExecutor(max_workers=threads) as pool:
        results = list(pool.map(check, list(paths)))
    return {path: problem for path, problem in results if problem}


def temp_files(root: Path) -> list[Path]:
    return [Path(d) / f for d, _, files in os.walk(root) for f in files if TEMP_MARKER in f]


def fingerprint(path: Path) -> tuple[bytes, int, int]:
    st = os.stat(path)
    return path.read_bytes(), st.st_mtime_ns, st.st_size


# --- settings ----------------------------------------------------------------------------


def server_settings(media_root: Path, *, storage_url: str | None = None, **processing: Any) -> dict[str, Any]:
    """A config for a server process: fast leases and retries so scenarios take seconds."""
    values = {
        "worker_count": 2,
        "lease_seconds": 4.0,
        "heartbeat_seconds": 0.5,
        "poll_interval_seconds": 0.1,
        "recovery_interval_seconds": 0.5,
        "retry_delay_seconds": 0.2,
        "retry_attempts": 10,
        "timeout_seconds": 30.0,
        "shutdown_grace_seconds": 2.0,
        "space_recheck_seconds": 0.5,
        **processing,
    }
    settings: dict[str, Any] = {
        "media_roots": [str(media_root)],
        "language_priority": LANGUAGE_PRIORITY,
        "processing": values,
        "logging": {"format": "json", "level": "INFO"},
        "api": {"api_key": SERVER_TARGET_KEY},
    }
    if storage_url:
        settings["storage"] = {"url": storage_url}
    return settings


# --- the API, over plain gRPC -------------------------------------------------------------

AUTH = (("x-api-key", SERVER_TARGET_KEY),)


class Api:
    """Thin synchronous calls on the contract's stubs (the contract, not a client library)."""

    def __init__(self, target: str) -> None:
        self.channel = grpc.insecure_channel(target)
        self.jobs = job_service_pb2_grpc.JobServiceStub(self.channel)
        self.batches = batch_service_pb2_grpc.BatchServiceStub(self.channel)
        self.webhooks = webhook_service_pb2_grpc.WebhookServiceStub(self.channel)

    def close(self) -> None:
        self.channel.close()

    def start_batch(self, path: Path, *, dry_run: bool = False) -> str:
        reply = self.batches.StartBatch(
            batch_service_pb2.StartBatchRequest(path=str(path), dry_run=dry_run), metadata=AUTH, timeout=120
        )
        return reply.batch_id

    def batch(self, batch_id: str) -> Any:
        return self.batches.GetBatch(
            batch_service_pb2.GetBatchRequest(batch_id=batch_id, limit=1), metadata=AUTH, timeout=30
        ).batch

    def job(self, job_id: str) -> common_pb2.Job:
        return self.jobs.GetJob(job_service_pb2.GetJobRequest(job_id=job_id), metadata=AUTH, timeout=30).job

    def sonarr(self, body: bytes, *, timeout: float = 60) -> webhook_service_pb2.SonarrWebhookResponse:
        request = webhook_service_pb2.SonarrWebhookRequest(
            body=httpbody_pb2.HttpBody(content_type="application/json", data=body), token=SERVER_TARGET_KEY
        )
        return self.webhooks.SonarrWebhook(request, timeout=timeout)


def wait_for(
    predicate: Callable[[], Any], *, timeout: float, interval: float = 0.2, what: str = "condition"
) -> Any:
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:  # noqa: BLE001 - e.g. a server still starting
            last_error = exc
        time.sleep(interval)
    raise TimeoutError(
        f"timed out after {timeout}s waiting for {what}" + (f": {last_error!r}" if last_error else "")
    )


# --- the database, read directly ----------------------------------------------------------

JOB_COLUMNS = (
    "job_id",
    "file_path",
    "status",
    "attempts",
    "result",
    "reason_code",
    "reason",
    "batch_id",
    "webhook_id",
    "worker_id",
    "lease_owner",
    "lease_expires_at",
    "started_at",
    "completed_at",
    "track_changed",
    "language",
    "dry_run",
)


class Database:
    """Read the queue's tables without the server (SQLite file or PostgreSQL via psql)."""

    def __init__(
        self,
        *,
        sqlite_path: Path | None = None,
        postgres: PostgresServer | None = None,
        database: str | None = None,
    ) -> None:
        self.sqlite_path = sqlite_path
        self.postgres = postgres
        self.database = database

    @classmethod
    def for_url(cls, url: str, *, config_dir: Path, postgres: PostgresServer | None = None) -> Database:
        if url.startswith("postgresql"):
            return cls(postgres=postgres, database=url.rsplit("/", 1)[1])
        return cls(sqlite_path=config_dir / "arrtheaudio.db")

    def query(self, sql: str) -> list[dict[str, Any]]:
        """Rows as dicts; ``sql`` must be a plain SELECT valid on both backends."""
        if self.sqlite_path is not None:
            conn = sqlite3.connect(f"file:{self.sqlite_path}?mode=ro", uri=True, timeout=30)
            try:
                conn.row_factory = sqlite3.Row
                return [dict(row) for row in conn.execute(sql)]
            finally:
                conn.close()
        assert self.postgres is not None and self.database is not None
        out = self.postgres.psql(f"SELECT row_to_json(q) FROM ({sql}) q", database=self.database, timeout=120)
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def jobs(self, where: str = "1=1") -> list[dict[str, Any]]:
        return self.query(f"SELECT {', '.join(JOB_COLUMNS)} FROM jobs WHERE {where}")

    def status_counts(self) -> dict[str, int]:
        return {
            r["status"]: int(r["n"])
            for r in self.query("SELECT status, COUNT(*) AS n FROM jobs GROUP BY status")
        }

    def lifetime_total(self) -> int:
        rows = self.query("SELECT COALESCE(SUM(total), 0) AS n FROM lifetime_stats")
        return int(rows[0]["n"]) if rows else 0


TERMINAL = {"completed", "failed", "cancelled"}


def tool_path(name: str) -> str:
    found = shutil.which(name, path="/usr/local/bin:/usr/bin:/bin")
    if not found:
        raise RuntimeError(f"{name} not installed")
    return found


def write_script(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def prepend_path(env: dict[str, str], directory: Path) -> dict[str, str]:
    env = dict(env)
    env["PATH"] = f"{directory}:{env.get('PATH', '/usr/bin:/bin')}"
    return env


def pids_of_children(pid: int) -> list[int]:
    """Direct children of ``pid`` (tools a server started)."""
    out = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True, check=False
    )
    return [int(p) for p in out.stdout.split()]
