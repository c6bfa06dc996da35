"""Scenario 9 — hostile media files through the real server: the in-process readers on
files built to break them, in a real batch.

The media root holds the hand-made hostile Matroska files (SeekHead loops and overlaps,
absurd and unknown sizes, element floods, wrong DocTypes), every truncation point of a real
MKV's headers and a sample of its later cuts, truncated and garbage MP4s, and seeded random
mutations of real MKV and MP4 files (bits flipped, 0xFF/zero runs, spliced garbage, cut and
duplicated spans, mostly in the headers), next to untouched good files. One StartBatch over
the root, as a library scan would do it.

Pass: every job ends; no job ends ``internal`` (a reader exception) or ``timeout`` (a reader
that hung); every job that failed left its file byte-identical with the same mtime; the good
files end with exactly one default audio track, the Japanese one; the server is still
serving afterwards and its log holds no traceback.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.reliability.harness import (
    SIZES,
    Api,
    Database,
    fingerprint,
    media_problems,
    server_settings,
    wait_for,
)
from tests.reliability.results import record
from tests.support.media_files import AudioSpec, make_corrupt, make_mkv, make_mp4
from tests.support.mkv_files import CLUSTER, hostile_mkvs, make_layout, mutate
from tests.support.server import make_server

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

TRACKS = [AudioSpec("eng", "English", default=True), AudioSpec("jpn", "Japanese"), AudioSpec("pt-BR")]
# tool_failed: mkvpropedit refusing a file our reader could read (it checks more than the
# headers); verify_failed: the remux of a damaged MP4 (its layout sent it to the fallback) lost
# a stream, so the temp file was refused and the original kept.
FAILED_CODES = {"corrupt", "unsupported", "unreadable", "tool_failed", "verify_failed"}


def _library(root: Path, scratch: Path) -> tuple[list[Path], list[Path]]:
    """(hostile files, good files) under ``root``."""
    rng = random.Random(20261201)
    seeds = {
        "ffmpeg.mkv": make_layout(scratch / "ffmpeg.mkv", TRACKS, "ffmpeg", chapters=2),
        "mkvmerge.mkv": make_layout(scratch / "mkvmerge.mkv", TRACKS, "mkvmerge", chapters=2),
        "live.mkv": make_layout(scratch / "live.mkv", TRACKS, "live"),
        "movie.mp4": make_mp4(scratch / "movie.mp4", TRACKS[:2], chapters=2),
    }
    hostile: list[Path] = []

    def put(name: str, data: bytes) -> None:
        path = root / "hostile" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        hostile.append(path)

    for name, data in hostile_mkvs().items():
        put(f"crafted-{name}", data)
    mkv = seeds["mkvmerge.mkv"].read_bytes()
    header_end = mkv.index(CLUSTER)
    for cut in sorted({*range(1, header_end, 7), *range(header_end, len(mkv), 1999)}):
        put(f"cut-{cut:06d}.mkv", mkv[:cut])
    make_corrupt(root / "hostile" / "garbage.mp4", "garbage")
    make_corrupt(root / "hostile" / "truncated.mp4", "truncated", source=seeds["movie.mp4"])
    hostile += [root / "hostile" / "garbage.mp4", root / "hostile" / "truncated.mp4"]
    per_seed = max(10, SIZES.fuzz_examples // 4)
    for name, seed in seeds.items():
        data = seed.read_bytes()
        for n in range(per_seed):
            put(f"mutated-{n:04d}-{name}", mutate(data, rng, edits=rng.randint(1, 8)))
    good = [
        make_mkv(root / "good" / "Show - S01E01.mkv", TRACKS, chapters=2),
        make_mp4(root / "good" / "Movie (2020).mp4", TRACKS[:2], chapters=2),
    ]
    return hostile, good


def test_hostile_media_files_end_as_values_and_stay_untouched(tmp_path: Path) -> None:
    started = time.monotonic()
    root = tmp_path / "media"
    hostile, good = _library(root, tmp_path / "scratch")
    before = {str(path.resolve()): fingerprint(path) for path in hostile}
    server = make_server(tmp_path, server_settings(root, worker_count=2, retry_attempts=0))
    db = Database(sqlite_path=server.config_path.parent / "arrtheaudio.db")
    server.start()
    api = Api(server.target)
    try:
        batch_id = api.start_batch(root)

        def settled() -> bool:
            counts = db.status_counts()
            return sum(counts.values()) > 0 and all(s in ("completed", "failed") for s in counts)

        wait_for(settled, timeout=420, interval=0.5, what="every job of the batch to end")
        api.batch(batch_id)  # the server still answers
    finally:
        api.close()
        server.stop()

    jobs = db.jobs()
    by_path = {job["file_path"]: job for job in jobs}
    assert set(before) <= set(by_path), "a hostile file got no job"
    codes = Counter(job["reason_code"] for job in jobs)
    assert not {"internal", "timeout"} & set(codes), codes
    for path, job in by_path.items():
        if path in before and job["status"] == "failed":
            assert job["reason_code"] in FAILED_CODES, job
            assert fingerprint(Path(path)) == before[path], f"a file that failed was changed: {path}"
    crafted = [p for p in before if "/crafted-" in p]
    assert all(by_path[p]["status"] == "failed" for p in crafted), [by_path[p] for p in crafted]
    assert media_problems(good) == {}
    log = server.log_path.read_text(errors="replace") if server.log_path.exists() else ""
    assert "Traceback" not in log
    record(
        "hostile-media",
        files=len(jobs),
        hostile=len(hostile),
        failed=sum(1 for j in jobs if j["status"] == "failed"),
        reason_codes=dict(sorted(codes.items())),
        max_job_ms=int(db.query("SELECT MAX(duration_ms) AS m FROM jobs")[0]["m"] or 0),
        seconds=round(time.monotonic() - started, 1),
    )
