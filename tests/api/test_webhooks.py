"""WebhookService over the real queue and pipeline: the Sonarr/Radarr fixtures in tests/fixtures,
every refusal (with nothing queued and no file touched), per-file results and dedup."""

from __future__ import annotations

import json
import os

import grpc
import pytest
from google.rpc import error_details_pb2

from arrtheaudio_proto.v1 import common_pb2, job_service_pb2, webhook_service_pb2
from tests.api.conftest import API_KEY, AUTH, Api, ApiFactory, rich_details, violations
from tests.support.arr_library import fixture_bytes, radarr_mp4_payload, sonarr_payload_with_paths
from tests.support.media_files import file_fingerprint, read_back

ACCEPTED = webhook_service_pb2.WEBHOOK_STATUS_ACCEPTED
IGNORED = webhook_service_pb2.WEBHOOK_STATUS_IGNORED


async def total_jobs(api: Api) -> int:
    reply = await api.jobs.ListJobs(job_service_pb2.ListJobsRequest(), metadata=AUTH)
    return reply.total_size


async def test_sonarr_download_fixes_the_episode(api: Api) -> None:
    episode = api.library.episode(0)
    assert read_back(episode).default_audio_indexes == [0]

    reply = await api.sonarr(fixture_bytes("sonarr/download.json"))

    assert reply.status == ACCEPTED
    assert reply.file_count == 1 and len(reply.job_ids) == 1 and reply.webhook_id
    assert [f.path for f in reply.files] == [str(episode)]
    assert reply.files[0].accepted and not reply.files[0].deduplicated
    job = await api.wait_job(reply.job_ids[0])
    assert job.status == common_pb2.JOB_STATUS_COMPLETED and job.result == common_pb2.JOB_RESULT_SUCCESS
    assert job.priority == common_pb2.PRIORITY_HIGH and job.source == common_pb2.SOURCE_SONARR
    assert job.language == "jpn" and job.language_source == common_pb2.LANGUAGE_SOURCE_ARR
    assert job.track_changed and job.selected_track.index == 1 and job.webhook_id == reply.webhook_id
    assert read_back(episode).default_audio_indexes == [1]

    stored = await api.webhooks.GetWebhook(
        webhook_service_pb2.GetWebhookRequest(webhook_id=reply.webhook_id), metadata=AUTH
    )
    webhook = stored.webhook
    assert (webhook.source, webhook.event_type, webhook.title) == (
        common_pb2.SOURCE_SONARR,
        "Download",
        "Kaiju Harbor",
    )
    assert webhook.original_language == "jpn"
    assert webhook.counts.total == 1 and webhook.counts.completed == 1 and webhook.results.track_changes == 1
    assert [j.job_id for j in stored.jobs] == list(reply.job_ids)


async def test_season_pack_is_three_jobs_under_one_webhook(api: Api) -> None:
    reply = await api.sonarr(fixture_bytes("sonarr/import-complete.json"))

    assert reply.status == ACCEPTED and reply.file_count == 3 and len(set(reply.job_ids)) == 3
    for job_id in reply.job_ids:
        job = await api.wait_job(job_id)
        assert job.webhook_id == reply.webhook_id and job.status == common_pb2.JOB_STATUS_COMPLETED
    for index in range(3):
        assert read_back(api.library.episode(index)).default_audio_indexes == [1]
    listed = await api.jobs.ListJobs(
        job_service_pb2.ListJobsRequest(webhook_id=reply.webhook_id), metadata=AUTH
    )
    assert listed.total_size == 3


@pytest.mark.parametrize("payload", ["mkv", "mp4"])
async def test_radarr_download_fixes_the_movie(api: Api, payload: str) -> None:
    movie = api.library.movie if payload == "mkv" else api.library.movie_mp4
    body = fixture_bytes("radarr/download.json") if payload == "mkv" else radarr_mp4_payload()

    reply = await api.radarr(body)

    assert reply.status == ACCEPTED and reply.file_count == 1
    job = await api.wait_job(reply.job_ids[0])
    assert job.source == common_pb2.SOURCE_RADARR and job.language == "ita", job
    assert read_back(movie).default_audio_indexes == [1]


@pytest.mark.parametrize("kind", ["sonarr", "radarr"])
async def test_test_event_is_acknowledged_without_a_job(api: Api, kind: str) -> None:
    send = api.sonarr if kind == "sonarr" else api.radarr
    reply = await send(fixture_bytes(f"{kind}/test.json"))
    assert reply.status == IGNORED and not reply.job_ids and not reply.webhook_id
    assert "Test" in reply.message
    assert await total_jobs(api) == 0


@pytest.mark.parametrize("fixture", ["sonarr/grab.json", "sonarr/rename.json"])
async def test_events_without_new_files_are_ignored(api: Api, fixture: str) -> None:
    before = file_fingerprint(api.library.episode(0))
    reply = await api.sonarr(fixture_bytes(fixture))
    assert reply.status == IGNORED and "ignored" in reply.message and not reply.job_ids
    assert await total_jobs(api) == 0
    assert file_fingerprint(api.library.episode(0)) == before


@pytest.mark.parametrize(
    "how",
    ["token", "apikey", "x-api-key", "bearer", "basic-key-as-password"],
)
async def test_every_way_sonarr_can_send_the_key(api: Api, how: str) -> None:
    import base64

    metadata: tuple[tuple[str, str], ...] = ()
    token = ""
    request_apikey = ""
    if how == "token":
        token = API_KEY
    elif how == "apikey":
        request_apikey = API_KEY
    elif how == "x-api-key":
        metadata = (("x-api-key", API_KEY),)
    elif how == "bearer":
        metadata = (("authorization", f"Bearer {API_KEY}"),)
    else:
        metadata = (("authorization", "Basic " + base64.b64encode(f"sonarr:{API_KEY}".encode()).decode()),)
    request = webhook_service_pb2.SonarrWebhookRequest(token=token, apikey=request_apikey)
    request.body.data = fixture_bytes("sonarr/test.json")
    reply = await api.webhooks.SonarrWebhook(request, metadata=metadata)
    assert reply.status == IGNORED


async def test_configured_basic_credentials(api_factory: ApiFactory) -> None:
    import base64

    api = await api_factory(api={"api_key": API_KEY, "webhook_username": "arr", "webhook_password": "s3cret"})
    good = (("authorization", "Basic " + base64.b64encode(b"arr:s3cret").decode()),)
    bad = (("authorization", "Basic " + base64.b64encode(b"arr:wrong").decode()),)
    assert (await api.radarr(fixture_bytes("radarr/test.json"), token="", metadata=good)).status == IGNORED
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await api.radarr(fixture_bytes("radarr/test.json"), token="", metadata=bad)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.parametrize("token", ["", "wrong-key", API_KEY + "x"])
async def test_missing_or_wrong_credentials_change_nothing(api: Api, token: str) -> None:
    before = file_fingerprint(api.library.episode(0))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await api.sonarr(fixture_bytes("sonarr/download.json"), token=token)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "X-Api-Key" in (caught.value.details() or "")
    assert await total_jobs(api) == 0
    assert file_fingerprint(api.library.episode(0)) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", "body"),
        (b"[1, 2]", "body"),
        (b'{"series": {"title": "x"}}', "eventType"),
        (json.dumps({"eventType": "Download", "series": {"title": "x"}}).encode(), "episodeFile"),
        (
            json.dumps({"eventType": "Download", "episodeFile": {"path": "tv/relative.mkv"}}).encode(),
            "episodeFile.path",
        ),
    ],
)
async def test_bad_bodies_are_invalid_argument_with_the_field(api: Api, body: bytes, field: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await api.sonarr(body)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in violations(caught.value), violations(caught.value)
    assert await total_jobs(api) == 0


async def test_oversized_body_is_refused(api: Api) -> None:
    data = json.loads(fixture_bytes("sonarr/download.json"))
    data["padding"] = "x" * (2 * 1024 * 1024)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await api.sonarr(json.dumps(data).encode())
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "body" in violations(caught.value)
    assert await total_jobs(api) == 0


@pytest.mark.parametrize(
    "evil",
    ["/tv/../../etc/passwd", "/tv/../../../../etc/shadow.mkv", "/etc/passwd", "/somewhere/else/file.mkv"],
)
async def test_paths_outside_the_roots_refuse_the_whole_delivery(api: Api, evil: str) -> None:
    good = "/tv/Kaiju Harbor/Season 01/" + api.library.episode(0).name
    before = file_fingerprint(api.library.episode(0))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await api.sonarr(sonarr_payload_with_paths([good, evil]))
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "outside" in (caught.value.details() or "")
    assert await total_jobs(api) == 0
    assert file_fingerprint(api.library.episode(0)) == before


async def test_symlink_out_of_the_roots_is_refused(api: Api, tmp_path) -> None:
    outside = tmp_path / "outside.mkv"
    outside.write_bytes(api.library.episode(1).read_bytes())
    link = api.library.tv / "Kaiju Harbor" / "Season 01" / "sneaky.mkv"
    os.symlink(outside, link)
    before = file_fingerprint(outside)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await api.sonarr(sonarr_payload_with_paths(["/tv/Kaiju Harbor/Season 01/sneaky.mkv"]))
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert await total_jobs(api) == 0
    assert file_fingerprint(outside) == before


async def test_missing_files_are_reported_per_file(api: Api) -> None:
    good = "/tv/Kaiju Harbor/Season 01/" + api.library.episode(0).name
    missing = "/tv/Kaiju Harbor/Season 01/Kaiju Harbor - S01E09 - Gone.mkv"
    reply = await api.sonarr(sonarr_payload_with_paths([missing, good]))

    assert reply.status == ACCEPTED and reply.file_count == 2 and len(reply.job_ids) == 1
    first, second = reply.files
    assert not first.accepted and not first.job_id and "does not exist" in first.error
    assert first.path == str(api.library.tv / "Kaiju Harbor/Season 01/Kaiju Harbor - S01E09 - Gone.mkv")
    assert second.accepted and second.job_id == reply.job_ids[0]
    assert "1 not found" in reply.message
    await api.wait_job(reply.job_ids[0])


async def test_no_usable_file_is_not_found_with_each_file(api: Api) -> None:
    paths = ["/tv/Nope/a.mkv", "/tv/Nope/b.mkv"]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await api.sonarr(sonarr_payload_with_paths(paths))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    resources = [d for d in rich_details(caught.value) if isinstance(d, error_details_pb2.ResourceInfo)]
    assert [r.resource_name for r in resources] == [
        str(api.library.tv / "Nope/a.mkv"),
        str(api.library.tv / "Nope/b.mkv"),
    ]
    assert await total_jobs(api) == 0


async def test_overlong_file_name_is_invalid_argument_not_internal(api: Api) -> None:
    good = "/tv/Kaiju Harbor/Season 01/" + api.library.episode(0).name
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await api.sonarr(sonarr_payload_with_paths([good, "/tv/Kaiju Harbor/" + "A" * 300 + ".mkv"]))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "episodeFiles[1].path" in violations(caught.value)
    assert await total_jobs(api) == 0


async def test_same_file_twice_in_one_delivery_is_one_job(api: Api) -> None:
    real = "/tv/Kaiju Harbor/Season 01/" + api.library.episode(0).name
    os.symlink(api.library.episode(0), api.library.tv / "alias.mkv")
    reply = await api.sonarr(sonarr_payload_with_paths([real, "/tv/alias.mkv"]))
    assert reply.file_count == 2 and len(reply.job_ids) == 1
    assert [f.job_id for f in reply.files] == [reply.job_ids[0]] * 2
    await api.wait_job(reply.job_ids[0])


async def test_a_file_already_queued_is_deduplicated(api: Api) -> None:
    first = await api.sonarr(fixture_bytes("sonarr/import-complete.json"))
    # One worker needs a few hundred ms for three files: the third is still queued now.
    again = await api.sonarr(
        sonarr_payload_with_paths(["/tv/Kaiju Harbor/Season 01/" + api.library.episode(2).name])
    )
    assert again.webhook_id != first.webhook_id
    assert again.files[0].deduplicated and again.job_ids[0] == first.job_ids[2]
    assert "already queued" in again.message
    for job_id in first.job_ids:
        await api.wait_job(job_id)
    assert await total_jobs(api) == 3


async def test_rollback_mode_processes_before_answering(api_factory: ApiFactory) -> None:
    api = await api_factory(processing={"worker_count": 0})
    reply = await api.sonarr(fixture_bytes("sonarr/download.json"))
    job = (await api.jobs.GetJob(job_service_pb2.GetJobRequest(job_id=reply.job_ids[0]), metadata=AUTH)).job
    assert job.status == common_pb2.JOB_STATUS_COMPLETED
    assert read_back(api.library.episode(0)).default_audio_indexes == [1]


async def test_full_queue_is_unavailable_and_queues_nothing(api_factory: ApiFactory) -> None:
    api = await api_factory(processing={"max_queue_size": 2})
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await api.sonarr(fixture_bytes("sonarr/import-complete.json"))
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    assert await total_jobs(api) == 0


async def test_get_webhook_unknown_is_not_found(api: Api) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await api.webhooks.GetWebhook(webhook_service_pb2.GetWebhookRequest(webhook_id="nope"), metadata=AUTH)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


async def test_outside_the_roots_wins_over_other_problems_in_the_same_delivery(api: Api) -> None:
    body = sonarr_payload_with_paths(["relative/path.mkv", "/tv/Nope/missing.mkv", "/tv/../../etc/passwd"])
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await api.sonarr(body)
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert await total_jobs(api) == 0
