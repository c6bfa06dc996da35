"""Unique id prefixes resolved by the queue with one index range read, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from arrtheaudio_server import ids
from arrtheaudio_server.metadata.hints import MediaHints
from arrtheaudio_server.queue import short_ids
from arrtheaudio_server.queue.domain import InvalidRequest, NotFound, Source
from arrtheaudio_server.queue.store import enqueue
from tests.queue.conftest import touch

# Job ids share the prefix "abcd" (two of them share 8 characters); webhook ids start elsewhere.
JOB_IDS = ["abcd0000" + "1" * 24, "abcd0000" + "2" * 24, "abcd9" + "0" * 27, "ef01" + "0" * 28]
WEBHOOK_IDS = ["abce" + "1" * 28, "abcf" + "2" * 28]


@pytest.fixture
def fixed_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    jobs: Iterator[str] = iter(JOB_IDS)
    webhooks: Iterator[str] = iter(WEBHOOK_IDS)
    monkeypatch.setattr(enqueue, "new_id", lambda: next(jobs))
    monkeypatch.setattr(ids, "new_id", lambda: next(webhooks))


async def _queue_four_jobs(manager_factory: Any, media_root: Path) -> Any:
    manager = await manager_factory(start=False)
    files = [touch(media_root, f"{name}.mkv") for name in "abcd"]
    for pair in (files[:2], files[2:]):
        await manager.enqueue_webhook(
            source=Source.SONARR, event_type="Download", title="Show", hints=MediaHints(), files=pair
        )
    return manager


@pytest.mark.usefixtures("fixed_ids")
async def test_prefixes_resolve_to_the_one_id(manager_factory: Any, media_root: Path) -> None:
    manager = await _queue_four_jobs(manager_factory, media_root)
    assert await manager.resolve_id("job", "ef01", "job_id") == JOB_IDS[3]
    assert await manager.resolve_id("job", "EF01", "job_id") == JOB_IDS[3]  # hex is case-insensitive
    assert await manager.resolve_id("job", "abcd9", "job_id") == JOB_IDS[2]
    assert await manager.resolve_id("job", JOB_IDS[1][:31], "job_id") == JOB_IDS[1]
    assert await manager.resolve_id("webhook", "abcf", "webhook_id") == WEBHOOK_IDS[1]
    # A whole id, a too-short prefix and a non-hex id are taken as given (no read).
    assert await manager.resolve_id("job", JOB_IDS[0], "job_id") == JOB_IDS[0]
    assert await manager.resolve_id("job", "abc", "job_id") == "abc"
    assert await manager.resolve_id("job", "no-such-job", "job_id") == "no-such-job"
    assert (await manager.get_job(await manager.resolve_id("job", "abcd9", "job_id"))).job_id == JOB_IDS[2]


@pytest.mark.usefixtures("fixed_ids")
async def test_ambiguous_and_unknown_prefixes(manager_factory: Any, media_root: Path) -> None:
    manager = await _queue_four_jobs(manager_factory, media_root)
    with pytest.raises(InvalidRequest) as ambiguous:
        await manager.resolve_id("job", "abcd", "job_id")
    assert ambiguous.value.field_name == "job_id"
    assert all(job_id in str(ambiguous.value) for job_id in JOB_IDS[:3])
    assert JOB_IDS[3] not in str(ambiguous.value)
    with pytest.raises(InvalidRequest, match="abcd0000"):
        await manager.resolve_id("job", "abcd0000", "job_id")
    with pytest.raises(NotFound, match="no job id starts with '9999'"):
        await manager.resolve_id("job", "9999", "job_id")
    # Ids of another kind never match: the webhook ids start with "abce"/"abcf".
    with pytest.raises(NotFound):
        await manager.resolve_id("batch", "abce", "batch_id")
    assert await manager.resolve_id("batch", "9999", "batch_id", missing_ok=True) == "9999"


async def test_the_range_read_stops_at_the_limit_and_at_the_prefix(
    manager_factory: Any, media_root: Path
) -> None:
    manager = await manager_factory(start=False)
    files = [touch(media_root, f"f{index}.mkv") for index in range(8)]
    _, enqueued = await manager.enqueue_webhook(
        source=Source.RADARR, event_type="Download", title=None, hints=MediaHints(), files=files
    )
    every = sorted(e.job_id for e in enqueued)
    prefix = every[0][:1]
    found = await manager.store.reads.ids_with_prefix("job", prefix, 3)
    assert found == [job_id for job_id in every if job_id.startswith(prefix)][:3]
    assert await manager.store.reads.ids_with_prefix("job", every[0], 5) == [every[0]]


def test_which_texts_are_prefixes() -> None:
    assert short_ids.as_prefix("ABCD") == "abcd"
    assert short_ids.as_prefix("abc") is None  # shorter than MIN_PREFIX
    assert short_ids.as_prefix("abcg") is None  # not hex
    assert short_ids.as_prefix("a" * 32) is None  # a whole id is looked up as given
    assert short_ids.as_prefix("a" * 31) == "a" * 31
