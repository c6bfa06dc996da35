"""End to end, as a Sonarr/Radarr user runs it: real Envoy in front of the real
``arrtheaudio-server`` process (SQLite), the shared webhook fixtures POSTed the way the Arr
applications send them, real media files fixed on disk, ``curl -N`` on the NDJSON watch
paths, grpcurl through reflection, and bad input refused with the documented HTTP status.

One server + Envoy for the whole e2e package (``tests/e2e/conftest.py``) keeps start-up to a
few seconds.
"""

from __future__ import annotations

import base64
import json
import subprocess
import time

import httpx
import pytest

from tests.e2e.conftest import API_KEY, JSON, Stack, tool
from tests.support.arr_library import fixture_bytes, radarr_mp4_payload
from tests.support.arr_library import sonarr_payload_with_paths as season_with
from tests.support.media_files import file_fingerprint, read_back

pytestmark = pytest.mark.envoy


def basic(user: str, password: str) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_health_over_http(stack: Stack) -> None:
    reply = httpx.get(f"{stack.url}/health", timeout=10)
    assert reply.status_code == 200 and reply.json()["status"] == "SERVING"
    assert reply.json()["storage"] == "sqlite"


@pytest.mark.parametrize("kind", ["sonarr", "radarr"])
def test_test_button_goes_green(stack: Stack, kind: str) -> None:
    before = stack.total_jobs()
    reply = httpx.post(
        f"{stack.url}/webhook/{kind}",
        content=fixture_bytes(f"{kind}/test.json"),
        headers={**JSON, **basic(kind, API_KEY)},
        timeout=30,
    )
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["status"] == "WEBHOOK_STATUS_IGNORED" and body["job_ids"] == [] and "Test" in body["message"]
    assert stack.total_jobs() == before


def test_sonarr_download_with_basic_auth_fixes_the_file_and_curl_watches_it(stack: Stack) -> None:
    episode = stack.library.episode(0)
    assert read_back(episode).default_audio_indexes == [0]
    reply = httpx.post(
        f"{stack.url}/webhook/sonarr",
        content=fixture_bytes("sonarr/download.json"),
        headers={**JSON, **basic("sonarr", API_KEY)},
        timeout=30,
    )
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert (
        body["status"] == "WEBHOOK_STATUS_ACCEPTED" and body["file_count"] == 1 and len(body["job_ids"]) == 1
    )
    assert body["files"][0]["path"] == str(episode) and body["files"][0]["accepted"] is True

    job_id = body["job_ids"][0]
    lines = stack.curl_watch(f"/jobs/{job_id[:8]}:watch")  # a short id works over HTTP too
    assert lines[0]["type"] == "EVENT_TYPE_SNAPSHOT" and lines[-1]["final"] is True
    assert [int(line["sequence"]) for line in lines] == list(range(1, len(lines) + 1))
    job = lines[-1]["job"]
    assert job["job_id"] == job_id
    by_prefix = httpx.get(
        f"{stack.url}/webhook/{body['webhook_id'][:6]}", headers={"x-api-key": API_KEY}, timeout=30
    )
    assert by_prefix.status_code == 200 and by_prefix.json()["webhook"]["webhook_id"] == body["webhook_id"]
    assert job["status"] == "JOB_STATUS_COMPLETED" and job["track_changed"] is True
    assert job["language"] == "jpn" and job["language_source"] == "LANGUAGE_SOURCE_ARR"
    assert read_back(episode).default_audio_indexes == [1]
    assert read_back(episode).audio[1].language == "jpn"


def test_season_pack_with_query_token_is_three_jobs_one_webhook(stack: Stack) -> None:
    reply = httpx.post(
        f"{stack.url}/webhook/sonarr",
        params={"token": API_KEY},
        content=fixture_bytes("sonarr/import-complete.json"),
        headers=JSON,
        timeout=30,
    )
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["file_count"] == 3 and len(set(body["job_ids"])) == 3 and body["webhook_id"]

    # The third file waits behind the first two (one worker): its stream starts QUEUED and
    # the lines arrive one by one until it is done.
    lines = stack.curl_watch(f"/webhook/{body['webhook_id']}:watch")
    assert lines[0]["type"] == "EVENT_TYPE_SNAPSHOT" and lines[0]["final"] is False
    assert len(lines) >= 3 and lines[-1]["final"] is True
    final = lines[-1]["webhook"]
    # Episode 1 may already have been fixed by the Download test (then it is skipped as correct).
    assert final["counts"]["completed"] == 3
    assert (
        final["results"]["success"] + final["results"]["skipped"] == 3
        and final["results"]["track_changes"] >= 2
    )
    assert final["original_language"] == "jpn" and final["title"] == "Kaiju Harbor"

    stored = stack.get(f"/webhook/{body['webhook_id']}").json()
    assert sorted(job["job_id"] for job in stored["jobs"]) == sorted(body["job_ids"])
    assert {job["webhook_id"] for job in stored["jobs"]} == {body["webhook_id"]}
    for index in range(3):
        assert read_back(stack.library.episode(index)).default_audio_indexes == [1]


@pytest.mark.parametrize("container", ["mkv", "mp4"])
def test_radarr_download_with_header_fixes_the_movie(stack: Stack, container: str) -> None:
    movie = stack.library.movie if container == "mkv" else stack.library.movie_mp4
    body = fixture_bytes("radarr/download.json") if container == "mkv" else radarr_mp4_payload()
    reply = httpx.post(
        f"{stack.url}/webhook/radarr", content=body, headers={**JSON, "X-Api-Key": API_KEY}, timeout=30
    )
    assert reply.status_code == 200, reply.text
    job_id = reply.json()["job_ids"][0]
    lines = stack.curl_watch(f"/jobs/{job_id}:watch")
    assert lines[-1]["job"]["status"] == "JOB_STATUS_COMPLETED", lines[-1]
    info = read_back(movie)
    assert info.default_audio_indexes == [1] and info.audio[1].language == "ita"


def test_curl_lines_arrive_before_the_stream_ends(stack: Stack) -> None:
    """The first NDJSON line is readable while the job is still queued: not buffered to the end."""
    reply = httpx.post(
        f"{stack.url}/webhook/sonarr",
        params={"apikey": API_KEY},
        content=fixture_bytes("sonarr/import-complete.json"),
        headers=JSON,
        timeout=30,
    )
    job_ids = reply.json()["job_ids"]
    process = subprocess.Popen(
        [
            tool("curl"),
            "-sS",
            "-N",
            "--max-time",
            "60",
            "-H",
            f"x-api-key: {API_KEY}",
            f"{stack.url}/jobs/{job_ids[-1]}:watch",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = json.loads(process.stdout.readline())
        assert first["type"] == "EVENT_TYPE_SNAPSHOT" and first["final"] is False
        rest = [json.loads(line) for line in process.stdout if line.strip()]
        assert rest and rest[-1]["final"] is True
        assert process.wait(timeout=30) == 0
    finally:
        process.kill()


def test_batch_and_queue_over_http(stack: Stack) -> None:
    reply = httpx.post(
        f"{stack.url}/batch",
        json={"path": str(stack.library.tv), "dry_run": True},
        headers={"x-api-key": API_KEY},
        timeout=30,
    )
    assert reply.status_code == 200, reply.text
    batch_id = reply.json()["batch_id"]
    lines = stack.curl_watch(f"/batch/{batch_id}:watch")
    assert lines[-1]["final"] is True and lines[-1]["batch"]["status"] == "BATCH_STATUS_COMPLETED"
    assert stack.get(f"/batch/{batch_id}").json()["total_jobs"] == 3
    queue = stack.get("/queue").json()
    assert queue["workers"]["total"] == 1
    stats = stack.get("/stats").json()
    assert int(stats["lifetime"]["total"]) >= 3


def test_grpcurl_unary_and_streaming_through_reflection(stack: Stack) -> None:
    grpcurl = tool("grpcurl")
    unary = subprocess.run(
        [
            grpcurl,
            "-plaintext",
            "-H",
            f"x-api-key: {API_KEY}",
            "-d",
            "{}",
            stack.envoy.grpc_target,
            "arrtheaudio.v1.JobService/GetQueue",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert unary.returncode == 0, unary.stderr
    assert json.loads(unary.stdout)["workers"]["total"] == 1

    job_id = stack.get("/jobs", params={"limit": 1}).json()["jobs"][0]["job_id"]
    streaming = subprocess.run(
        [
            grpcurl,
            "-plaintext",
            "-H",
            f"x-api-key: {API_KEY}",
            "-d",
            json.dumps({"job_id": job_id}),
            stack.envoy.grpc_target,
            "arrtheaudio.v1.JobService/WatchJob",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert streaming.returncode == 0, streaming.stderr
    event = json.loads(streaming.stdout)
    assert (
        event["type"] == "EVENT_TYPE_SNAPSHOT" and event["final"] is True and event["job"]["job_id"] == job_id
    )

    denied = subprocess.run(
        [grpcurl, "-plaintext", "-d", "{}", stack.envoy.grpc_target, "arrtheaudio.v1.JobService/GetQueue"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert denied.returncode != 0 and "Unauthenticated" in denied.stderr


GOOD_EPISODE = "/tv/Kaiju Harbor/Season 01/Kaiju Harbor - S01E01 - Landfall [WEBDL-1080p].mkv"


def _oversized() -> bytes:
    data = json.loads(fixture_bytes("sonarr/download.json"))
    data["padding"] = "x" * (2 * 1024 * 1024)
    return json.dumps(data).encode()


BAD_WEBHOOKS = [
    ("bad JSON", b'{"eventType": ', {"x-api-key": API_KEY}, 400),
    (
        "download without files",
        b'{"eventType": "Download", "series": {"title": "x"}}',
        {"x-api-key": API_KEY},
        400,
    ),
    ("missing auth", fixture_bytes("sonarr/download.json"), {}, 401),
    ("wrong key", fixture_bytes("sonarr/download.json"), {"x-api-key": "nope"}, 401),
    ("wrong basic password", fixture_bytes("sonarr/download.json"), basic("sonarr", "nope"), 401),
    ("traversal", season_with([GOOD_EPISODE, "/tv/../../etc/passwd"]), {"x-api-key": API_KEY}, 403),
    ("outside roots", season_with(["/etc/hostname"]), {"x-api-key": API_KEY}, 403),
    ("unknown file", season_with(["/tv/Nope/S01E01.mkv"]), {"x-api-key": API_KEY}, 404),
    ("2 MB body", _oversized(), {"x-api-key": API_KEY}, 400),
]


def test_bad_input_gets_its_status_and_changes_nothing(stack: Stack) -> None:
    files = [stack.library.episode(i) for i in range(3)] + [stack.library.movie, stack.library.movie_mp4]
    before_files = [file_fingerprint(path) for path in files]
    before_jobs = stack.total_jobs()
    before_batches = stack.get("/batch").json()["total_size"]
    seen = {}
    for name, body, headers, status in BAD_WEBHOOKS:
        reply = httpx.post(
            f"{stack.url}/webhook/sonarr", content=body, headers={**JSON, **headers}, timeout=30
        )
        seen[name] = reply.status_code
        assert reply.status_code == status, (name, reply.text)
        assert reply.json()["code"] in (3, 5, 7, 16), (name, reply.text)  # a google.rpc.Status body
    # Field-level detail renders through Envoy for the 400s.
    bad_json = httpx.post(
        f"{stack.url}/webhook/sonarr", content=b"{", headers={**JSON, "x-api-key": API_KEY}, timeout=30
    ).json()
    detail = bad_json["details"][0]
    assert detail["@type"] == "type.googleapis.com/google.rpc.BadRequest"
    assert detail["field_violations"][0]["field"] == "body"

    other = [
        (httpx.get, "/jobs", {}, 401),
        (httpx.get, "/jobs?limit=101", {"x-api-key": API_KEY}, 400),
        (httpx.get, "/jobs?order_by=nonsense", {"x-api-key": API_KEY}, 400),
        (httpx.get, "/jobs/ffffffffffffffffffffffffffffffff", {"x-api-key": API_KEY}, 404),
        (httpx.get, "/webhook/ffffffffffffffffffffffffffffffff", {"x-api-key": API_KEY}, 404),
        (httpx.get, "/no/such/path", {"x-api-key": API_KEY}, 404),
        (httpx.get, "/jobs/ffffffffffffffffffffffffffffffff:watch", {"x-api-key": API_KEY}, 404),
    ]
    for call, path, headers, status in other:
        reply = call(f"{stack.url}{path}", headers=headers, timeout=30)
        assert reply.status_code == status, (path, reply.text)
    for body, status in (
        ({"path": "/etc"}, 403),
        ({"path": str(stack.library.tv / "missing")}, 404),
        ({"path": "relative"}, 400),
        ({"path": str(stack.library.tv), "pattern": "a/b"}, 400),
    ):
        reply = httpx.post(f"{stack.url}/batch", json=body, headers={"x-api-key": API_KEY}, timeout=30)
        assert reply.status_code == status, (body, reply.text)

    time.sleep(0.2)
    assert stack.total_jobs() == before_jobs
    assert [file_fingerprint(path) for path in files] == before_files
    assert stack.get("/batch").json()["total_size"] == before_batches
