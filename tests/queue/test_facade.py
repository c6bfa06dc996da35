"""QueueManager is what the API codes against (QueueFacade), and it survives a database outage."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pytest

from arrtheaudio_server.metadata.hints import MediaHints
from arrtheaudio_server.queue.domain import JobStatus, Source
from arrtheaudio_server.queue.facade import QueueFacade
from arrtheaudio_server.queue.manager import QueueManager
from tests.queue.conftest import FakePipeline, touch, wait_for, wait_terminal


def test_manager_implements_every_facade_member_with_the_same_parameters() -> None:
    members = [name for name in vars(QueueFacade) if not name.startswith("_")]
    assert {"enqueue_webhook", "subscribe", "job_stats", "list_batches"} <= set(members)
    for name in members:
        wanted, have = getattr(QueueFacade, name), getattr(QueueManager, name)
        if isinstance(wanted, property):
            assert isinstance(have, property), name
            continue
        assert inspect.iscoroutinefunction(wanted) == inspect.iscoroutinefunction(have), name
        expected = inspect.signature(wanted).parameters
        actual = inspect.signature(have).parameters
        for param, spec in expected.items():
            assert param in actual, f"{name}: missing {param}"
            assert actual[param].kind == spec.kind, f"{name}: {param}"
            assert actual[param].default == spec.default, f"{name}: {param} default"


@pytest.mark.postgres
@pytest.mark.parametrize("storage_url", ["postgres"], indirect=True)
async def test_postgres_outage_is_reported_and_survived(
    manager_factory: Any, media_root: Path, pg_url: str, postgres_server: Any
) -> None:
    pipeline = FakePipeline()
    manager = await manager_factory(pipeline, url=pg_url, worker_count=2)
    assert await manager.healthy()
    postgres_server.kill()
    assert not await manager.healthy()
    postgres_server.ensure_running()
    await wait_for(manager.healthy, timeout=30)
    # Workers and housekeeping lived through it: new work is still done.
    _, enqueued = await manager.enqueue_webhook(
        source=Source.SONARR,
        event_type="Download",
        title=None,
        hints=MediaHints(),
        files=[touch(media_root, "after.mkv")],
    )
    (job,) = await wait_terminal(manager, [enqueued[0].job_id])
    assert job.status == JobStatus.COMPLETED
