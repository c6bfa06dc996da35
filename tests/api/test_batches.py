"""BatchService over the real queue and pipeline: start, progress, dry run, cancel, and
every refusal mapped to its status."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from arrtheaudio_proto.v1 import batch_service_pb2, common_pb2, job_service_pb2
from tests.api.conftest import AUTH, Api, ApiFactory, violations
from tests.support.media_files import AudioSpec, file_fingerprint, make_mkv, read_back


async def wait_batch(api: Api, batch_id: str) -> batch_service_pb2.Batch:
    last = None
    async for event in api.batches.WatchBatch(
        batch_service_pb2.WatchBatchRequest(batch_id=batch_id), metadata=AUTH, timeout=60
    ):
        last = event
    assert last is not None and last.final
    return last.batch


async def test_batch_processes_every_file(api_factory: ApiFactory) -> None:
    api = await api_factory(language_priority=["jpn", "eng"])
    started = await api.batches.StartBatch(
        batch_service_pb2.StartBatchRequest(path=str(api.library.tv), pattern="*.mkv"), metadata=AUTH
    )
    assert started.batch_id and started.estimated_files == 3 and str(api.library.tv) in started.message

    batch = await wait_batch(api, started.batch_id)
    assert batch.status == common_pb2.BATCH_STATUS_COMPLETED
    assert batch.progress.total == 3 and batch.progress.completed == 3 and batch.progress.percent == 100
    assert batch.results.success == 3 and batch.results.track_changes == 3
    assert (
        batch.path == str(api.library.tv) and batch.recursive and batch.priority == common_pb2.PRIORITY_NORMAL
    )
    for index in range(3):
        assert read_back(api.library.episode(index)).default_audio_indexes == [1]

    got = await api.batches.GetBatch(
        batch_service_pb2.GetBatchRequest(batch_id=started.batch_id, limit=2), metadata=AUTH
    )
    assert (
        got.total_jobs == 3 and len(got.jobs) == 2 and all(j.batch_id == started.batch_id for j in got.jobs)
    )
    assert all(j.source == common_pb2.SOURCE_MANUAL for j in got.jobs)
    listed = await api.batches.ListBatches(batch_service_pb2.ListBatchesRequest(), metadata=AUTH)
    assert [b.batch_id for b in listed.batches] == [started.batch_id] and listed.total_size == 1
    done = await api.batches.ListBatches(
        batch_service_pb2.ListBatchesRequest(status=common_pb2.BATCH_STATUS_COMPLETED), metadata=AUTH
    )
    assert [b.batch_id for b in done.batches] == [started.batch_id] and done.total_size == 1
    running = await api.batches.ListBatches(
        batch_service_pb2.ListBatchesRequest(status=common_pb2.BATCH_STATUS_RUNNING), metadata=AUTH
    )
    assert not running.batches and running.total_size == 0


async def test_dry_run_changes_nothing(api_factory: ApiFactory) -> None:
    api = await api_factory(language_priority=["jpn", "eng"])
    before = [file_fingerprint(api.library.episode(i)) for i in range(3)]
    started = await api.batches.StartBatch(
        batch_service_pb2.StartBatchRequest(path=str(api.library.tv), dry_run=True, recursive=True),
        metadata=AUTH,
    )
    batch = await wait_batch(api, started.batch_id)
    # A dry run changes nothing, so it counts as skipped (reason_code dry_run), never as a fix.
    assert batch.dry_run and batch.progress.completed == 3 and batch.results.track_changes == 0
    assert batch.results.skipped == 3 and batch.results.success == 0
    jobs = await api.jobs.ListJobs(job_service_pb2.ListJobsRequest(batch_id=started.batch_id), metadata=AUTH)
    assert {
        (j.reason_code, j.selected_track.index, j.language, j.dry_run, j.track_changed) for j in jobs.jobs
    } == {("dry_run", 1, "jpn", True, False)}
    assert [file_fingerprint(api.library.episode(i)) for i in range(3)] == before


async def test_second_batch_for_the_same_path_already_exists(api: Api, tmp_path) -> None:
    season = api.library.tv / "Big Season"
    for index in range(8):
        make_mkv(
            season / f"e{index:02d}.mkv",
            tracks=[AudioSpec("eng", default=True), AudioSpec("jpn")],
            video=False,
        )
    first = await api.batches.StartBatch(batch_service_pb2.StartBatchRequest(path=str(season)), metadata=AUTH)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await api.batches.StartBatch(batch_service_pb2.StartBatchRequest(path=str(season)), metadata=AUTH)
    assert caught.value.code() == grpc.StatusCode.ALREADY_EXISTS

    cancelled = await api.batches.CancelBatch(
        batch_service_pb2.CancelBatchRequest(batch_id=first.batch_id), metadata=AUTH
    )
    assert cancelled.batch.status == common_pb2.BATCH_STATUS_CANCELLED and cancelled.cancelled_jobs >= 1
    batch = await wait_batch(api, first.batch_id)
    assert batch.status == common_pb2.BATCH_STATUS_CANCELLED


@pytest.mark.parametrize(
    ("make_request", "code", "field"),
    [
        (lambda lib: {"path": ""}, grpc.StatusCode.INVALID_ARGUMENT, "path"),
        (lambda lib: {"path": "relative/dir"}, grpc.StatusCode.INVALID_ARGUMENT, "path"),
        (lambda lib: {"path": str(lib.episode(0))}, grpc.StatusCode.INVALID_ARGUMENT, "path"),
        (lambda lib: {"path": str(lib.tv / "missing")}, grpc.StatusCode.NOT_FOUND, None),
        (lambda lib: {"path": "/etc"}, grpc.StatusCode.PERMISSION_DENIED, None),
        (lambda lib: {"path": str(lib.tv) + "/../../.."}, grpc.StatusCode.PERMISSION_DENIED, None),
        # A component longer than NAME_MAX (ENAMETOOLONG from stat): a bad path, never INTERNAL.
        (lambda lib: {"path": str(lib.tv / ("A" * 300))}, grpc.StatusCode.INVALID_ARGUMENT, "path"),
        (
            lambda lib: {"path": str(lib.tv), "pattern": "a/b.mkv"},
            grpc.StatusCode.INVALID_ARGUMENT,
            "pattern",
        ),
        (
            lambda lib: {"path": str(lib.tv), "pattern": "[abc.mkv"},
            grpc.StatusCode.INVALID_ARGUMENT,
            "pattern",
        ),
        (
            lambda lib: {"path": str(lib.tv), "min_size_mb": -1},
            grpc.StatusCode.INVALID_ARGUMENT,
            "min_size_mb",
        ),
        (
            lambda lib: {"path": str(lib.tv), "max_age_days": -2},
            grpc.StatusCode.INVALID_ARGUMENT,
            "max_age_days",
        ),
        (
            lambda lib: {"path": str(lib.tv), "exclude_patterns": ["ok/**", " "]},
            grpc.StatusCode.INVALID_ARGUMENT,
            "exclude_patterns[1]",
        ),
        (lambda lib: {"path": str(lib.tv), "priority": 9}, grpc.StatusCode.INVALID_ARGUMENT, "priority"),
    ],
)
async def test_start_batch_refusals(api: Api, make_request, code: grpc.StatusCode, field: str | None) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await api.batches.StartBatch(
            batch_service_pb2.StartBatchRequest(**make_request(api.library)), metadata=AUTH
        )
    assert caught.value.code() == code, caught.value.details()
    if field:
        assert field in violations(caught.value)
    listed = await api.batches.ListBatches(batch_service_pb2.ListBatchesRequest(), metadata=AUTH)
    assert listed.total_size == 0


async def test_batches_are_refused_in_rollback_mode(api_factory: ApiFactory) -> None:
    api = await api_factory(processing={"worker_count": 0})
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await api.batches.StartBatch(
            batch_service_pb2.StartBatchRequest(path=str(api.library.tv)), metadata=AUTH
        )
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE and "rollback" in (caught.value.details() or "")


async def test_unknown_batch_ids_and_paging_checks(api: Api) -> None:
    for call, request in (
        (api.batches.GetBatch, batch_service_pb2.GetBatchRequest(batch_id="nope")),
        (api.batches.CancelBatch, batch_service_pb2.CancelBatchRequest(batch_id="nope")),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call(request, metadata=AUTH)
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await api.batches.ListBatches(batch_service_pb2.ListBatchesRequest(limit=500), metadata=AUTH)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "limit" in violations(caught.value)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await api.batches.ListBatches(batch_service_pb2.ListBatchesRequest(status=42), metadata=AUTH)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "status" in violations(caught.value)


async def test_other_rpcs_answer_while_a_batch_scans(api: Api) -> None:
    """StartBatch's scan runs in a thread: a concurrent unary RPC is not held up by it."""
    tree = api.library.root / "tree"
    for index in range(400):
        (tree / f"d{index % 20}").mkdir(parents=True, exist_ok=True)
        (tree / f"d{index % 20}" / f"f{index}.txt").write_bytes(b"")
    start = asyncio.ensure_future(
        api.batches.StartBatch(batch_service_pb2.StartBatchRequest(path=str(tree)), metadata=AUTH)
    )
    queue = await api.jobs.GetQueue(job_service_pb2.GetQueueRequest(), metadata=AUTH)
    assert queue.workers.total == 1
    started = await start
    assert started.estimated_files == 0
