"""What every benchmark script shares: start/stop the real processes, make media, report.

The scripts measure the service the way users run it, so this module reuses the test
support (``tests/support``): the real ``arrtheaudio-server`` subprocess
(:mod:`tests.support.server`), a real Envoy rendered from the same template as
``envoy.yaml`` (:mod:`tests.support.envoy`), a real PostgreSQL server
(:mod:`tests.support.postgres`) and real MKV/MP4 files made with ffmpeg
(:mod:`tests.support.media_files`). Everything listens on 127.0.0.1 and lives in one
temporary directory that is removed at the end (``--keep`` keeps it for a post-mortem).

Output contract of every script: human-readable lines on stdout, then exactly ONE line of
JSON (``emit``) as the last line — ``{"bench": ..., "params": ..., "results": ...,
"targets": [...], "machine": ...}``. The smoke test and anyone scripting the benchmarks
read that line; no other stdout line starts with ``{``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # `python bench/x.py` as well as `python -m bench.x`
    sys.path.insert(0, str(REPO_ROOT))

from tests.support.envoy import EnvoyProcess, make_envoy
from tests.support.media_files import AudioSpec, make_mkv, make_mp4
from tests.support.server import ServerProcess, make_server

API_KEY = "bench-key"
# The files the benchmarks make have an English default track and a Japanese second track;
# with Japanese first in the priority list (or as the Arr's original language) the
# pipeline must move the default flag: every file "needs a change".
LANGUAGE_PRIORITY = ["jpn", "eng"]


# --------------------------------------------------------------------------------------
# Workspace and processes
# --------------------------------------------------------------------------------------


@contextlib.contextmanager
def workdir(name: str, *, keep: bool = False) -> Iterator[Path]:
    """A fresh temporary directory for one run; removed afterwards unless ``keep``."""
    path = Path(tempfile.mkdtemp(prefix=f"ata-bench-{name}-"))
    try:
        yield path
    finally:
        if keep:
            say(f"kept work directory {path}")
        else:
            shutil.rmtree(path, ignore_errors=True)


@dataclass
class Stack:
    """The processes of one benchmark run."""

    root: Path
    media_root: Path
    server: ServerProcess
    db: str  # "sqlite" | "postgres"
    db_url: str
    envoy: EnvoyProcess | None = None
    postgres: Any = None  # tests.support.postgres.PostgresServer

    @property
    def target(self) -> str:
        return self.server.target

    def client(self, *, timeout: float | None = 60.0) -> Any:
        from arrtheaudio import Client

        return Client(self.server.target, api_key=API_KEY, timeout=timeout)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """Run read-only SQL on the queue's database (the checks read the DB, not the API)."""
        if self.db == "sqlite":
            path = self.db_url.split(":///", 1)[1]
            with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)) as conn:
                return list(conn.execute(sql))
        out = self.postgres.psql(f"COPY ({sql}) TO STDOUT", database=self.db_url.rsplit("/", 1)[1])
        return [tuple(line.split("\t")) for line in out.splitlines() if line]


def server_settings(media_root: Path, workers: int, db_url: str, **extra: Any) -> dict[str, Any]:
    processing = {
        "worker_count": workers,
        # The bare loop runs W remuxes at once; so may the service (default is 1).
        "max_mp4_concurrent": max(1, workers),
        "retry_attempts": 0,
    }
    processing.update(extra.pop("processing", {}))
    settings: dict[str, Any] = {
        "media_roots": [str(media_root)],
        "language_priority": LANGUAGE_PRIORITY,
        "storage": {"url": db_url},
        "processing": processing,
        "api": {"api_key": API_KEY},
        "logging": {"format": "json", "level": "INFO"},
    }
    settings.update(extra)
    return settings


@contextlib.contextmanager
def running_stack(
    root: Path,
    *,
    workers: int = 2,
    db: str = "sqlite",
    envoy: bool = False,
    **extra: Any,
) -> Iterator[Stack]:
    """Server (+ PostgreSQL, + Envoy) on loopback, media root ``root/media``; all stopped after."""
    media_root = root / "media"
    media_root.mkdir(parents=True, exist_ok=True)
    postgres = None
    with contextlib.ExitStack() as cleanup:
        if db == "postgres":
            from tests.support.postgres import PostgresServer

            # Its own directory under /tmp (the postgres OS user cannot enter our 0700 workdir).
            postgres = PostgresServer(base_dir=Path("/tmp"))
            postgres.start()
            cleanup.callback(postgres.close)
            db_url = postgres.create_database("bench")
        elif db == "sqlite":
            db_url = f"sqlite+aiosqlite:///{root / 'queue.db'}"
        else:
            raise ValueError(f"unknown --db {db!r}")
        server = make_server(
            root / "server", server_settings(media_root, workers, db_url, **extra), api_key=API_KEY
        )
        server.start(timeout=60)
        cleanup.callback(server.stop)
        stack = Stack(
            root=root, media_root=media_root, server=server, db=db, db_url=db_url, postgres=postgres
        )
        if envoy:
            proxy = make_envoy(root, upstream_port=server.port)
            proxy.start(timeout=60)
            cleanup.callback(proxy.stop)
            stack.envoy = proxy
        yield stack


# --------------------------------------------------------------------------------------
# Media
# --------------------------------------------------------------------------------------


def make_template(
    directory: Path,
    container: str = "mkv",
    *,
    already_correct: bool = False,
    video: bool = True,
    duration: float = 1.0,
) -> Path:
    """One small real file: English + Japanese audio, English default (Japanese if ``already_correct``)."""
    tracks = [AudioSpec("eng", default=not already_correct), AudioSpec("jpn", default=already_correct)]
    name = f"template-{'ok' if already_correct else 'change'}.{container}"
    maker = make_mkv if container == "mkv" else make_mp4
    return maker(directory / name, tracks=tracks, subtitles=(), chapters=0, video=video, duration=duration)


def library_paths(base: Path, count: int, ext: str, *, per_season: int = 12, seasons: int = 4) -> list[Path]:
    """``count`` episode paths nested like a Sonarr library: Show/Season NN/Show - SxxEyy.ext."""
    paths = []
    per_show = per_season * seasons
    for index in range(count):
        show, rest = divmod(index, per_show)
        season, episode = divmod(rest, per_season)
        name = f"Show {show:04d}"
        paths.append(
            base / name / f"Season {season + 1:02d}" / f"{name} - S{season + 1:02d}E{episode + 1:02d}.{ext}"
        )
    return paths


def copy_to(template: Path, paths: Sequence[Path], *, link: bool = False) -> list[Path]:
    """Put a copy (or a hard link: cheap, but one inode for all) of ``template`` at each path."""
    made = set()
    for path in paths:
        if path.parent not in made:
            path.parent.mkdir(parents=True, exist_ok=True)
            made.add(path.parent)
        if link:
            os.link(template, path)
        else:
            shutil.copyfile(template, path)
    return list(paths)


# --------------------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------------------


def percentiles(samples_s: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99/mean/max in milliseconds (nearest-rank), and the sample count."""
    if not samples_s:
        return {"n": 0, "p50_ms": 0.0, "p95_ms": 0.0, "p99_ms": 0.0, "mean_ms": 0.0, "max_ms": 0.0}
    ordered = sorted(samples_s)

    def rank(q: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))] * 1000

    return {
        "n": len(ordered),
        "p50_ms": round(rank(0.50), 3),
        "p95_ms": round(rank(0.95), 3),
        "p99_ms": round(rank(0.99), 3),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 3),
        "max_ms": round(ordered[-1] * 1000, 3),
    }


def target(
    name: str, measured: float, goal: float, *, higher_is_better: bool, unit: str = ""
) -> dict[str, Any]:
    met = measured >= goal if higher_is_better else measured <= goal
    op = "≥" if higher_is_better else "<"
    return {"name": name, "measured": round(measured, 4), "target": f"{op} {goal:g}{unit}", "met": bool(met)}


class Deadline:
    """A wall-clock budget for a loop: every benchmark loop is bounded in count AND time."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    @property
    def left(self) -> float:
        return self.end - time.monotonic()

    def expired(self) -> bool:
        return time.monotonic() >= self.end


def machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }


def cpu_seconds(pid: int, *, children: bool = False) -> float:
    """CPU time (user + system) a process used so far; ``children`` adds its reaped children (tools)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if children:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """Share of one core a process used between ``start()`` and ``stop()`` (1.0 = one full core)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.used = self.util = self.tools = 0.0

    def start(self) -> CpuMeter:
        self._wall = time.perf_counter()
        self._own = cpu_seconds(self.pid)
        self._all = cpu_seconds(self.pid, children=True)
        return self

    def stop(self) -> dict[str, float]:
        wall = time.perf_counter() - self._wall
        self.used = cpu_seconds(self.pid) - self._own
        self.tools = cpu_seconds(self.pid, children=True) - self._all - self.used
        self.util = self.used / wall if wall else 0.0
        return {
            "cpu_s": round(self.used, 3),
            "cores_used": round(self.util, 3),
            "tool_cpu_s": round(self.tools, 3),
        }


def say(message: str = "") -> None:
    """A human-readable line (never starts with '{', so the JSON line stays the only one)."""
    print(message if not message.startswith("{") else " " + message, flush=True)


def emit(bench: str, params: dict[str, Any], results: dict[str, Any], targets: list[dict[str, Any]]) -> None:
    for item in targets:
        say(
            f"  target {item['name']}: {item['measured']} (want {item['target']}) -> {'MET' if item['met'] else 'MISSED'}"
        )
    line = {"bench": bench, "params": params, "results": results, "targets": targets, "machine": machine()}
    print(json.dumps(line, sort_keys=True), flush=True)


def base_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--keep", action="store_true", help="keep the temporary work directory")
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        metavar="DIR",
        help="record the server with py-spy during the measured phase; raw stacks + top frames go to DIR",
    )
    return parser


# --------------------------------------------------------------------------------------
# Profiling (py-spy on the server process)
# --------------------------------------------------------------------------------------


@dataclass
class Profile:
    raw_path: Path
    top_self: list[tuple[str, float]] = field(default_factory=list)
    top_total: list[tuple[str, float]] = field(default_factory=list)


@contextlib.contextmanager
def profiled(
    pid: int, out_dir: Path | None, name: str, *, subprocesses: bool = True
) -> Iterator[Profile | None]:
    """py-spy samples ``pid`` while the block runs; afterwards the top frames are printed."""
    if out_dir is None:
        yield None
        return
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    out_dir.mkdir(parents=True, exist_ok=True)
    raw = out_dir / f"{name}.collapsed.txt"
    argv = [
        spy,
        "record",
        "--pid",
        str(pid),
        "--format",
        "raw",
        "--output",
        str(raw),
        "--rate",
        "200",
        "--nonblocking",
        "--threads",
        "--gil",
    ]
    if subprocesses:
        argv.append("--subprocesses")
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(0.5)  # py-spy attaches
    profile = Profile(raw_path=raw)
    try:
        yield profile
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if raw.exists():
            profile.top_self, profile.top_total = summarize_collapsed(raw)
            (out_dir / f"{name}.top.txt").write_text(
                "self:\n"
                + "".join(f"{pct:6.1f}%  {frame}\n" for frame, pct in profile.top_self)
                + "\ninclusive (arrtheaudio + sqlalchemy + grpc frames):\n"
                + "".join(f"{pct:6.1f}%  {frame}\n" for frame, pct in profile.top_total)
            )
            say(f"profile: {raw} (top frames in {out_dir / (name + '.top.txt')})")
            for frame, pct in profile.top_self[:12]:
                say(f"  self {pct:5.1f}%  {frame}")


def summarize_collapsed(path: Path, top: int = 25) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
    """Self and inclusive shares of frames from py-spy's collapsed-stack output."""
    self_counts: Counter[str] = Counter()
    total_counts: Counter[str] = Counter()
    samples = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [f for f in stack.split(";") if f]
        if not frames:
            continue
        samples += count
        self_counts[frames[-1]] += count
        for frame in set(frames):
            if any(key in frame for key in ("arrtheaudio", "sqlalchemy", "grpc", "aiosqlite", "asyncpg")):
                total_counts[frame] += count
    if not samples:
        return [], []

    def share(counter: Counter[str]) -> list[tuple[str, float]]:
        return [(frame, round(100 * n / samples, 1)) for frame, n in counter.most_common(top)]

    return share(self_counts), share(total_counts)


def log_to_file(path: Path, level: str = "INFO") -> None:
    """In-process runs log like the server does (JSON lines, same level) but into a file."""
    import logging

    import structlog

    from arrtheaudio_server.logging_setup import configure_logging

    configure_logging("json", level)
    handle = open(path, "a", encoding="utf-8")  # noqa: SIM115 - lives as long as the process
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(file=handle))
    logging.getLogger().handlers[:] = [logging.StreamHandler(handle)]


def run_quiet(argv: Sequence[str | Path], **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
    proc = subprocess.run([str(a) for a in argv], capture_output=True, check=False, **kwargs)
    if proc.returncode != 0:
        raise RuntimeError(
            f"{argv[0]} failed ({proc.returncode}): {proc.stderr.decode(errors='replace')[-2000:]}"
        )
    return proc


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value
