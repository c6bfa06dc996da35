"""Incremental rescans: unchanged files are skipped without a job, changed ones checked again.

The REAL pipeline on real generated files, over both backends; a thin subclass counts
which files the pipeline was really run on.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from arrtheaudio_server.config import Settings
from arrtheaudio_server.media.pipeline import Pipeline
from arrtheaudio_server.media.result import ProcessResult
from arrtheaudio_server.metadata.hints import MediaHints
from arrtheaudio_server.queue.domain import BatchRequest, BatchStatus, JobStatus
from arrtheaudio_server.queue.store.file_checks import UNCHANGED
from tests.queue.conftest import make_settings
from tests.queue.test_batch import wait_batch_done
from tests.support.media_files import AudioSpec, make_corrupt, make_mkv, read_back, tools_available

pytestmark = pytest.mark.skipif(not tools_available(), reason="ffmpeg/mkvtoolnix missing")

TRACKS = [AudioSpec(lang="eng", default=True), AudioSpec(lang="jpn")]


class CountingPipeline(Pipeline):
    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.processed: list[str] = []

    async def process(
        self, path: Path, hints: MediaHints | None = None, *, dry_run: bool | None = None
    ) -> ProcessResult:
        self.processed.append(Path(path).name)
        return await super().process(path, hints, dry_run=dry_run)


def library(root: Path) -> Path:
    show = root / "Show"
    for n in range(1, 4):
        make_mkv(show / f"S01E0{n}.mkv", TRACKS)
    make_mkv(show / "already.mkv", [AudioSpec(lang="jpn", default=True), AudioSpec(lang="eng")])
    make_corrupt(show / "broken.mkv", "garbage")
    return show


async def scan(manager: Any, show: Path, **options: Any) -> tuple[Any, dict[str, Any]]:
    info = await manager.start_batch(BatchRequest(path=str(show), **options))
    done = await wait_batch_done(manager, info.batch_id)
    _, jobs, _ = await manager.get_batch(info.batch_id, limit=100)
    return done, {Path(job.file_path).name: job for job in jobs}


async def test_rescan_skips_unchanged_and_checks_what_changed(
    manager_factory: Any, media_root: Path, storage_url: str
) -> None:
    show = library(media_root)
    settings = make_settings(storage_url, media_root, worker_count=2, retry_attempts=0).model_copy(
        update={"language_priority": ["jpn", "eng"]}
    )
    pipeline = CountingPipeline(settings)
    manager = await manager_factory(pipeline, settings=settings, space_probe=lambda _p: 10**12)

    first, _ = await scan(manager, show)
    assert first.counts.success == 3 and first.counts.skipped == 1 and first.counts.failed == 1
    assert sorted(pipeline.processed) == [
        "S01E01.mkv",
        "S01E02.mkv",
        "S01E03.mkv",
        "already.mkv",
        "broken.mkv",
    ]

    # Nothing changed: no job is queued for the four files whose check succeeded.
    pipeline.processed.clear()
    second, jobs = await scan(manager, show)
    assert second.status == BatchStatus.COMPLETED and second.estimated_files == 5
    assert pipeline.processed == ["broken.mkv"]  # a failure is not remembered: checked again
    unchanged = {name for name, job in jobs.items() if job.reason_code == UNCHANGED}
    assert unchanged == {"S01E01.mkv", "S01E02.mkv", "S01E03.mkv", "already.mkv"}
    for name in unchanged:
        job = jobs[name]
        assert job.status == JobStatus.COMPLETED and job.result.value == "skipped"
        assert job.started_at is None and job.attempts == 0 and job.worker_id is None  # never claimed
        assert "unchanged since its check" in (job.reason or "")
    assert second.counts.skipped == 4 and second.counts.total == 5  # counted in the batch's results
    for n in range(1, 4):
        assert read_back(show / f"S01E0{n}.mkv").default_audio_indexes == [1]

    # Touched behind our back: exactly that file is checked again.
    pipeline.processed.clear()
    st = os.stat(show / "S01E02.mkv")
    os.utime(show / "S01E02.mkv", ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    # Replaced by a copy with the same size and mtime (a re-import): a new inode.
    replaced = show / "S01E03.mkv"
    st3 = os.stat(replaced)
    shutil.copy2(replaced, show / "copy.tmp")
    os.replace(show / "copy.tmp", replaced)
    os.utime(replaced, ns=(st3.st_atime_ns, st3.st_mtime_ns))
    assert os.stat(replaced).st_size == st3.st_size and os.stat(replaced).st_ino != st3.st_ino
    _, jobs = await scan(manager, show)
    assert sorted(pipeline.processed) == ["S01E02.mkv", "S01E03.mkv", "broken.mkv"]
    assert jobs["S01E02.mkv"].reason_code == "already_correct"
    assert jobs["S01E01.mkv"].reason_code == UNCHANGED

    # force checks everything.
    pipeline.processed.clear()
    _, jobs = await scan(manager, show, force=True)
    assert len(pipeline.processed) == 5 and not any(job.reason_code == UNCHANGED for job in jobs.values())

    # A dry run is not a check: it records nothing, and is itself skipped when unchanged.
    pipeline.processed.clear()
    _, jobs = await scan(manager, show, dry_run=True)
    assert pipeline.processed == ["broken.mkv"]


async def test_a_new_priority_list_checks_every_file_again(
    manager_factory: Any, media_root: Path, storage_url: str
) -> None:
    show = library(media_root)
    settings = make_settings(storage_url, media_root, worker_count=2, retry_attempts=0).model_copy(
        update={"language_priority": ["jpn", "eng"]}
    )
    manager = await manager_factory(
        CountingPipeline(settings), settings=settings, space_probe=lambda _p: 10**12
    )
    await scan(manager, show)
    await manager.close()

    # The same database, a server restarted with another priority list.
    changed = settings.model_copy(update={"language_priority": ["eng"]})
    pipeline = CountingPipeline(changed)
    manager = await manager_factory(pipeline, settings=changed, space_probe=lambda _p: 10**12)
    _, jobs = await scan(manager, show)
    assert len(pipeline.processed) == 5 and not any(job.reason_code == UNCHANGED for job in jobs.values())
    assert read_back(show / "S01E01.mkv").default_audio_indexes == [0]  # English now
    # ...and the next scan with that list is free again.
    pipeline.processed.clear()
    _, jobs = await scan(manager, show)
    assert pipeline.processed == ["broken.mkv"]

    # A path override now in force for one folder: its files are checked again.
    show2 = show.parent / "Anime"
    make_mkv(show2 / "A01.mkv", TRACKS)
    _, _ = await scan(manager, show2)
    await manager.close()
    override = changed.model_copy(
        update={"path_overrides": Settings(path_overrides={f"{show2}/**": ["jpn"]}).path_overrides}
    )
    pipeline = CountingPipeline(override)
    manager = await manager_factory(pipeline, settings=override, space_probe=lambda _p: 10**12)
    await scan(manager, show2)
    await scan(manager, show)
    assert sorted(pipeline.processed) == ["A01.mkv", "broken.mkv"]
