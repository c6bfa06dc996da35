"""A job keeps what it read and how it wrote (#10): the audio tracks with their default flag
before and after, the write method and its note — stored, read back, sent over the API, and
added to a database made by an earlier version."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from arrtheaudio_proto.v1 import common_pb2
from arrtheaudio_server.api.convert import job_to_pb
from arrtheaudio_server.media.result import (
    AudioTrack,
    Container,
    LanguageSource,
    ProcessResult,
    ReasonCode,
    ResultStatus,
    SelectedTrack,
    WriteMethod,
)
from arrtheaudio_server.metadata.hints import MediaHints
from arrtheaudio_server.queue.domain import JobStatus, Source
from arrtheaudio_server.queue.track_json import tracks_from_json, tracks_to_json
from tests.queue.conftest import FakePipeline, open_storage, touch, wait_terminal

TRACKS = (
    AudioTrack(index=0, track_id=1, language="eng", title="English", codec="AAC", channels=2, default=True),
    AudioTrack(
        index=1,
        track_id=2,
        language="jpn",
        ietf=None,
        title="日本語",
        codec="E-AC-3",
        channels=6,
        forced=True,
        hearing_impaired=True,
        original=True,
    ),
    AudioTrack(
        index=2, track_id=3, language="eng", title="Commentary", codec="AAC", channels=2, commentary=True
    ),
)


def changed(path: Path, *, dry_run: bool = False) -> ProcessResult:
    return ProcessResult(
        status=ResultStatus.SKIPPED if dry_run else ResultStatus.SUCCESS,
        reason_code=ReasonCode.DRY_RUN if dry_run else ReasonCode.CHANGED,
        reason="made audio track 1 (jpn, arr) the only default (mkvpropedit)",
        path=str(path),
        container=Container.MKV,
        tracks=TRACKS,
        selected=SelectedTrack(index=1, language="jpn"),
        track_changed=not dry_run,
        language="jpn",
        language_source=LanguageSource.ARR,
        dry_run=dry_run,
        write_method=WriteMethod.MKVPROPEDIT,
        write_note="hard links kept: all 2 names see the change",
    )


async def run(manager_factory: Any, media_root: Path, name: str, result: Any) -> Any:
    manager = await manager_factory(FakePipeline(results={name: result}), worker_count=1)
    _, enqueued = await manager.enqueue_webhook(
        source=Source.SONARR,
        event_type="Download",
        title=None,
        hints=MediaHints(kind="series"),
        files=[touch(media_root, name)],
    )
    (job,) = await wait_terminal(manager, [enqueued[0].job_id])
    return job


async def test_a_finished_job_keeps_its_tracks_and_write(manager_factory: Any, media_root: Path) -> None:
    job = await run(manager_factory, media_root, "a.mkv", changed)
    assert job.status is JobStatus.COMPLETED
    assert [c.track for c in job.tracks] == list(TRACKS)
    assert [(c.track.default, c.default_after) for c in job.tracks] == [
        (True, False),
        (False, True),
        (False, False),
    ]
    assert job.write_method is WriteMethod.MKVPROPEDIT and job.write_note.startswith("hard links kept")
    message = job_to_pb(job)
    assert message.write_method == common_pb2.WRITE_METHOD_MKVPROPEDIT
    assert message.write_note == job.write_note
    assert [(t.index, t.language, t.title, t.codec, t.channels) for t in message.audio_tracks] == [
        (0, "eng", "English", "AAC", 2),
        (1, "jpn", "日本語", "E-AC-3", 6),
        (2, "eng", "Commentary", "AAC", 2),
    ]
    jpn = message.audio_tracks[1]
    assert (
        jpn.forced and jpn.hearing_impaired and jpn.original and not jpn.default_before and jpn.default_after
    )
    assert message.audio_tracks[2].commentary and not message.audio_tracks[0].default_after


async def test_a_dry_run_shows_the_default_it_would_set(manager_factory: Any, media_root: Path) -> None:
    job = await run(manager_factory, media_root, "b.mkv", lambda p: changed(p, dry_run=True))
    assert [c.default_after for c in job.tracks] == [False, True, False] and not job.track_changed
    assert job.write_method is WriteMethod.MKVPROPEDIT


async def test_a_job_that_wrote_nothing_keeps_the_defaults_as_they_were(
    manager_factory: Any, media_root: Path
) -> None:
    def correct(path: Path) -> ProcessResult:
        return ProcessResult(
            status=ResultStatus.SKIPPED,
            reason_code=ReasonCode.ALREADY_CORRECT,
            reason="already correct",
            path=str(path),
            container=Container.MKV,
            tracks=TRACKS,
            selected=SelectedTrack(index=0, language="eng"),
        )

    job = await run(manager_factory, media_root, "c.mkv", correct)
    assert [c.default_after for c in job.tracks] == [True, False, False]
    assert job.write_method is WriteMethod.NONE
    assert job_to_pb(job).write_method == common_pb2.WRITE_METHOD_NONE


def test_the_json_codec_survives_old_and_odd_rows() -> None:
    stored = tracks_to_json(changed(Path("/x.mkv")).track_changes)
    assert tracks_from_json(stored) == changed(Path("/x.mkv")).track_changes
    assert tracks_to_json(()) is None and tracks_from_json(None) == () and tracks_from_json("junk") == ()
    # A newer version's extra key, a missing key, a non-object: read what can be read.
    assert tracks_from_json([{"index": 0, "language": "fra", "future": 1}, {"no": "index"}, 3])[0].track == (
        AudioTrack(index=0, track_id=0, language="fra")
    )


async def test_a_database_made_before_the_columns_existed_gets_them(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    url = f"sqlite+aiosqlite:///{db}"
    storage = await open_storage(url)
    await storage.close()
    with sqlite3.connect(db) as conn:  # back to 0.1's table, and 0.1's revision
        for column in ("tracks", "write_method", "write_note"):
            conn.execute(f"ALTER TABLE jobs DROP COLUMN {column}")
        conn.execute("UPDATE alembic_version SET version_num = '0001_v0_1'")
        conn.execute("DROP INDEX ix_jobs_batch_counts")  # a later revision's too
        for table in ("job_counts", "daily_stats"):
            conn.execute(f"DROP TABLE {table}")
        names = {row[1] for row in conn.execute("PRAGMA table_info(jobs)")}
        assert "tracks" not in names
    storage = await open_storage(url)  # the 0002_job_tracks revision adds them
    await storage.close()
    with sqlite3.connect(db) as conn:
        names = {row[1] for row in conn.execute("PRAGMA table_info(jobs)")}
    assert {"tracks", "write_method", "write_note"} <= names


async def test_a_database_that_got_the_columns_before_migrations_opens(tmp_path: Path) -> None:
    """For a while main added the columns at start with no version table: such a database is
    taken as 0.1 and the columns revision finds them there already."""
    db = tmp_path / "interim.db"
    url = f"sqlite+aiosqlite:///{db}"
    storage = await open_storage(url)
    await storage.close()
    with sqlite3.connect(db) as conn:
        for table in ("alembic_version", "job_counts", "daily_stats"):
            conn.execute(f"DROP TABLE {table}")
        conn.execute("DROP INDEX ix_jobs_batch_counts")  # came with the migrations
    storage = await open_storage(url)
    try:
        assert (await storage.stats.figures()).queue.total == 0
    finally:
        await storage.close()
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() != []
