"""ListSchedules and ``arrtheaudio schedules`` against the real in-process server."""

from __future__ import annotations

import asyncio
import json

from click.testing import CliRunner

from arrtheaudio.cli import main
from arrtheaudio_proto.v1 import batch_service_pb2, common_pb2
from tests.api.conftest import API_KEY, AUTH, ApiFactory
from tests.support.arr_library import ArrLibrary


def _cli(*args: str, target: str) -> tuple[int, str]:
    env = {"ARRTHEAUDIO_TARGET": target, "ARRTHEAUDIO_API_KEY": API_KEY, "COLUMNS": "250"}
    result = CliRunner().invoke(main.cli, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.stdout


async def test_list_schedules_shows_next_and_last_runs(api_factory: ApiFactory, library: ArrLibrary) -> None:
    api = await api_factory(
        language_priority=["jpn", "eng"],
        schedules=[
            {
                "name": "nightly",
                "path": str(library.movies),
                "cron": "0 3 * * *",
                "exclude_patterns": ["Extras"],
            },
            {
                "name": "often",
                "path": str(library.tv),
                "cron": "* * * * * *",
                "dry_run": True,
                "priority": "low",
            },
        ],
    )
    request = batch_service_pb2.ListSchedulesRequest()
    for _ in range(100):
        reply = await api.batches.ListSchedules(request, metadata=AUTH)
        often = {s.name: s for s in reply.schedules}["often"]
        if often.last_batch_id:
            break
        await asyncio.sleep(0.1)
    nightly, often = reply.schedules
    assert (nightly.name, nightly.cron, nightly.options.path) == ("nightly", "0 3 * * *", str(library.movies))
    assert list(nightly.options.exclude_patterns) == ["Extras"] and nightly.options.recursive
    assert nightly.next_run_at.ToDatetime().hour == 3 and not nightly.HasField("last_run_at")
    assert nightly.last_outcome == batch_service_pb2.SCHEDULE_RUN_OUTCOME_UNSPECIFIED
    assert often.options.dry_run and often.options.priority == common_pb2.PRIORITY_LOW
    assert often.last_batch_id and often.HasField("last_run_at")
    assert often.last_outcome in (
        batch_service_pb2.SCHEDULE_RUN_OUTCOME_STARTED,
        batch_service_pb2.SCHEDULE_RUN_OUTCOME_SKIPPED,
    )
    assert often.next_run_at.ToDatetime() > often.last_run_at.ToDatetime()
    batch = await api.batches.GetBatch(
        batch_service_pb2.GetBatchRequest(batch_id=often.last_batch_id), metadata=AUTH
    )
    assert batch.batch.path == str(library.tv) and batch.batch.dry_run

    code, out = await asyncio.to_thread(_cli, "schedules", target=api.running.target)
    assert code == 0 and "nightly" in out and "often" in out and "0 3 * * *" in out and "(dry run)" in out
    code, out = await asyncio.to_thread(_cli, "--json", "schedules", target=api.running.target)
    assert [s["name"] for s in json.loads(out)["schedules"]] == ["nightly", "often"]


async def test_no_schedules(api_factory: ApiFactory) -> None:
    api = await api_factory()
    reply = await api.batches.ListSchedules(batch_service_pb2.ListSchedulesRequest(), metadata=AUTH)
    assert list(reply.schedules) == []
    code, out = await asyncio.to_thread(_cli, "schedules", target=api.running.target)
    assert code == 0 and "No schedules configured" in out
    code, out = await asyncio.to_thread(_cli, "arr", "test", target=api.running.target)
    assert code == 0 and "No Arr connections configured" in out
