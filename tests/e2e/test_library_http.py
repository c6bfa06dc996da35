"""Arr connections and schedules over HTTP/JSON: the real server process behind real Envoy,
Sonarr as a local HTTP server speaking the v3 shape."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import API_KEY
from tests.support.envoy import running_envoy
from tests.support.fake_arr import FakeArr, series_resource
from tests.support.media_files import AudioSpec, make_mkv
from tests.support.server import running_server

pytestmark = pytest.mark.envoy


@pytest.fixture
def sonarr() -> Iterator[FakeArr]:
    fake = FakeArr(
        "sonarr", resources=[series_resource("Kaiju Nights", "/tv/Kaiju Nights", language="Japanese")]
    )
    yield fake
    fake.stop()


def test_arr_test_health_details_and_schedules_over_http(tmp_path: Path, sonarr: FakeArr) -> None:
    media = tmp_path / "media"
    episode = media / "tv" / "Kaiju Nights" / "Season 01" / "Kaiju Nights - S01E01.mkv"
    make_mkv(episode, tracks=[AudioSpec("eng", default=True), AudioSpec("jpn")])
    down = FakeArr("radarr")
    down.stop()
    settings = {
        "media_roots": [str(media)],
        "path_mappings": {"/tv": str(media / "tv")},
        "arr": {
            "sonarr": [sonarr.connection("main")],
            "radarr": [down.connection("films")],
            "timeout_seconds": 1,
        },
        "schedules": [{"name": "tv-often", "path": str(media / "tv"), "cron": "* * * * * */2"}],
        "processing": {"worker_count": 1, "poll_interval_seconds": 0.05},
    }
    with (
        running_server(tmp_path, settings, api_key=API_KEY) as server,
        running_envoy(tmp_path, server.port) as envoy,
    ):
        headers = {"x-api-key": API_KEY}
        tested = httpx.post(f"{envoy.base_url}/arr/connections:test", json={}, headers=headers, timeout=30)
        assert tested.status_code == 200, tested.text
        connections = {c["name"]: c for c in tested.json()["connections"]}
        assert (
            connections["main"]["state"] == "CONNECTION_STATE_OK" and connections["main"]["title_count"] == 1
        )
        assert connections["main"]["kind"] == "ARR_KIND_SONARR"
        assert connections["films"]["state"] == "CONNECTION_STATE_ERROR"
        assert "cannot reach" in connections["films"]["message"]
        assert httpx.post(f"{envoy.base_url}/arr/connections:test", json={}, timeout=30).status_code == 401

        health = httpx.get(f"{envoy.base_url}/health", timeout=30).json()
        assert health["status"] == "SERVING"
        assert {d["component"]: d["healthy"] for d in health["details"]} == {
            "arr:sonarr/main": True,
            "arr:radarr/films": False,
        }

        deadline = time.monotonic() + 30
        while True:
            listed = httpx.get(f"{envoy.base_url}/schedules", headers=headers, timeout=30)
            assert listed.status_code == 200, listed.text
            (schedule,) = listed.json()["schedules"]
            if schedule["last_batch_id"] or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert schedule["name"] == "tv-often" and schedule["cron"] == "* * * * * */2"
        assert schedule["options"]["path"] == str(media / "tv")
        assert schedule["last_outcome"] in ("SCHEDULE_RUN_OUTCOME_STARTED", "SCHEDULE_RUN_OUTCOME_SKIPPED")
        assert schedule["next_run_at"] > schedule["last_run_at"]
        batch = httpx.get(f"{envoy.base_url}/batch/{schedule['last_batch_id']}", headers=headers, timeout=30)
        assert batch.json()["batch"]["path"] == str(media / "tv")
        # The first scheduled scan took the series' language from Sonarr; later ones found it unchanged.
        batches = httpx.get(f"{envoy.base_url}/batch", headers=headers, timeout=30).json()["batches"]
        first = min(batches, key=lambda b: b["created_at"])
        for _ in range(100):
            jobs = httpx.get(
                f"{envoy.base_url}/jobs", params={"batch_id": first["batch_id"]}, headers=headers, timeout=30
            ).json()["jobs"]
            if jobs and jobs[0]["status"] == "JOB_STATUS_COMPLETED":
                break
            time.sleep(0.2)
        (job,) = jobs
        assert (job["language_source"], job["language"], job["track_changed"]) == (
            "LANGUAGE_SOURCE_ARR_LIBRARY",
            "jpn",
            True,
        )
