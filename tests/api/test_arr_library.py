"""Library scans that take each title's original language from the user's Sonarr/Radarr.

Real server in-process, real pipeline on real generated files, and Sonarr/Radarr as local
HTTP servers speaking the v3 shape (tests/support/fake_arr.py).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from click.testing import CliRunner, Result

from arrtheaudio.cli import main
from arrtheaudio_proto.v1 import admin_service_pb2, batch_service_pb2, common_pb2
from tests.api.conftest import API_KEY, AUTH, Api, ApiFactory
from tests.api.test_batches import wait_batch
from tests.support.fake_arr import FakeArr, movie_resource, series_resource
from tests.support.media_files import AudioSpec, make_mkv, read_back

# Series (folder, the Arr's language name, the track that is right), English default first.
SERIES = (
    ("Kaiju Nights", "Japanese", "jpn"),
    ("Les Voisins", "French", "fra"),
    ("Seoul Lights", "Korean", "kor"),
)


def make_shows(root: Path) -> dict[str, list[Path]]:
    files: dict[str, list[Path]] = {}
    for folder, _name, code in SERIES:
        files[folder] = []
        for episode in (1, 2):
            path = root / folder / "Season 01" / f"{folder} - S01E0{episode}.mkv"
            make_mkv(path, tracks=[AudioSpec("eng", default=True), AudioSpec(code)])
            files[folder].append(path)
    return files


@pytest.fixture
def sonarr() -> Iterator[FakeArr]:
    fake = FakeArr(
        "sonarr",
        resources=[
            series_resource(folder, f"/data/tv/{folder}", language=name, tvdb_id=300 + i)
            for i, (folder, name, _code) in enumerate(SERIES)
        ],
    )
    yield fake
    fake.stop()


async def start(api_factory: ApiFactory, shows: Path, *fakes: FakeArr, **overrides: object) -> Api:
    overrides.setdefault("language_priority", ["eng"])
    return await api_factory(
        path_mappings={"/data/tv": str(shows), "/data/movies": str(shows.parent / "films")},
        arr={
            "sonarr": [f.connection() for f in fakes if f.kind == "sonarr"],
            "radarr": [f.connection() for f in fakes if f.kind == "radarr"],
            "timeout_seconds": 1.0,
        },
        **overrides,
    )


async def jobs_of(api: Api, batch_id: str) -> list[common_pb2.Job]:
    got = await api.batches.GetBatch(
        batch_service_pb2.GetBatchRequest(batch_id=batch_id, limit=100), metadata=AUTH
    )
    return list(got.jobs)


async def test_batch_takes_each_series_language_from_sonarr(
    api_factory: ApiFactory, tmp_path: Path, sonarr: FakeArr
) -> None:
    shows = tmp_path / "media" / "shows"  # inside the library's media root; /data/tv maps here
    files = make_shows(shows)
    api = await start(api_factory, shows, sonarr)
    started = await api.batches.StartBatch(
        batch_service_pb2.StartBatchRequest(path=str(shows)), metadata=AUTH
    )
    batch = await wait_batch(api, started.batch_id)
    assert batch.progress.total == 6 and batch.results.track_changes == 6
    jobs = {Path(job.file_path): job for job in await jobs_of(api, started.batch_id)}
    for folder, _name, code in SERIES:
        for path in files[folder]:
            job = jobs[path]
            assert job.language_source == common_pb2.LANGUAGE_SOURCE_ARR_LIBRARY, job
            assert job.language == code and job.selected_track.index == 1 and job.track_changed
            assert read_back(path).default_audio_indexes == [1]  # the original-language track
    assert sonarr.hits() == 1  # one library fetch served all six files


async def test_radarr_movies_and_several_instances(
    api_factory: ApiFactory, tmp_path: Path, sonarr: FakeArr
) -> None:
    films = tmp_path / "media" / "films"
    movie = films / "Il Giardino (2019)" / "Il Giardino (2019).mkv"
    make_mkv(movie, tracks=[AudioSpec("eng", default=True), AudioSpec("ita")])
    uhd = films / "Le Film (2020)" / "Le Film (2020).mkv"
    make_mkv(uhd, tracks=[AudioSpec("eng", default=True), AudioSpec("fra")])
    radarr = FakeArr(
        "radarr",
        resources=[movie_resource("Il Giardino", "/data/movies/Il Giardino (2019)", language="Italian")],
    )
    radarr_4k = FakeArr(
        "radarr",
        api_key="another-key-4k",
        resources=[movie_resource("Le Film", "/data/movies/Le Film (2020)", language="French")],
    )
    try:
        api = await api_factory(
            language_priority=["eng"],
            path_mappings={"/data/movies": str(films)},
            arr={"radarr": [radarr.connection("radarr"), radarr_4k.connection("radarr-4k")]},
        )
        started = await api.batches.StartBatch(
            batch_service_pb2.StartBatchRequest(path=str(films)), metadata=AUTH
        )
        await wait_batch(api, started.batch_id)
        jobs = {Path(job.file_path): job for job in await jobs_of(api, started.batch_id)}
        assert (jobs[movie].language, jobs[uhd].language) == ("ita", "fra")
        assert {job.language_source for job in jobs.values()} == {common_pb2.LANGUAGE_SOURCE_ARR_LIBRARY}
        tested = await api.admin.TestArrConnections(
            admin_service_pb2.TestArrConnectionsRequest(), metadata=AUTH
        )
        assert [(c.name, c.kind, c.state, c.title_count) for c in tested.connections] == [
            ("radarr", admin_service_pb2.ARR_KIND_RADARR, admin_service_pb2.CONNECTION_STATE_OK, 1),
            ("radarr-4k", admin_service_pb2.ARR_KIND_RADARR, admin_service_pb2.CONNECTION_STATE_OK, 1),
        ]
    finally:
        radarr.stop()
        radarr_4k.stop()


async def test_with_the_arr_down_the_next_resolver_decides(
    api_factory: ApiFactory, tmp_path: Path, sonarr: FakeArr
) -> None:
    sonarr.stop()
    shows = tmp_path / "media" / "shows"
    files = make_shows(shows)
    api = await start(api_factory, shows, sonarr, language_priority=["fra", "eng"])
    started = await api.batches.StartBatch(
        batch_service_pb2.StartBatchRequest(path=str(shows)), metadata=AUTH
    )
    await wait_batch(api, started.batch_id)
    jobs = {Path(job.file_path): job for job in await jobs_of(api, started.batch_id)}
    # The priority list decided: French where there is a French track, else English.
    assert {job.language_source for job in jobs.values()} == {common_pb2.LANGUAGE_SOURCE_PRIORITY}
    assert {jobs[p].language for p in files["Les Voisins"]} == {"fra"}
    assert {jobs[p].language for p in files["Kaiju Nights"]} == {"eng"}
    # The failure is visible, and the server is still SERVING.
    health = await api.admin.GetHealth(admin_service_pb2.GetHealthRequest())
    assert health.status == "SERVING"
    (detail,) = health.details
    assert detail.component == "arr:sonarr/sonarr" and not detail.healthy and "cannot reach" in detail.message
    tested = await api.admin.TestArrConnections(admin_service_pb2.TestArrConnectionsRequest(), metadata=AUTH)
    (connection,) = tested.connections
    assert connection.state == admin_service_pb2.CONNECTION_STATE_ERROR and connection.title_count == 0
    assert connection.HasField("checked_at")


async def test_a_refused_key_is_reported_and_earlier_titles_kept(
    api_factory: ApiFactory, tmp_path: Path, sonarr: FakeArr
) -> None:
    shows = tmp_path / "media" / "shows"
    make_shows(shows)
    api = await start(api_factory, shows, sonarr)
    for _ in range(100):  # the server fetches every library at start, in the background
        health = await api.admin.GetHealth(admin_service_pb2.GetHealthRequest())
        if health.details and health.details[0].message.startswith("3 titles"):
            break
        await asyncio.sleep(0.05)
    assert health.details[0].healthy
    sonarr.api_key = "rotated-in-sonarr"
    tested = await api.admin.TestArrConnections(admin_service_pb2.TestArrConnectionsRequest(), metadata=AUTH)
    (connection,) = tested.connections
    assert connection.state == admin_service_pb2.CONNECTION_STATE_ERROR
    assert "401" in connection.message and "api_key" in connection.message
    # Titles fetched at start are kept (and said so).
    assert connection.title_count == 3 and "using 3 titles fetched earlier" in connection.message


def cli(*args: str, target: str) -> Result:
    env = {"ARRTHEAUDIO_TARGET": target, "ARRTHEAUDIO_API_KEY": API_KEY, "COLUMNS": "250"}
    return CliRunner().invoke(main.cli, list(args), env=env, catch_exceptions=False)


async def test_cli_arr_test_and_health_detail(
    api_factory: ApiFactory, tmp_path: Path, sonarr: FakeArr
) -> None:
    shows = tmp_path / "media" / "shows"
    make_shows(shows)
    broken = FakeArr("radarr", api_key="the-real-key")
    try:
        api = await api_factory(
            path_mappings={"/data/tv": str(shows)},
            arr={
                "sonarr": [sonarr.connection("main")],
                "radarr": [{**broken.connection("films"), "api_key": "old"}],
            },
        )
        result = await asyncio.to_thread(cli, "arr", "test", target=api.running.target)
        assert result.exit_code == 7, result.output  # one connection failed
        assert "main" in result.stdout and "ok" in result.stdout and "3 titles" in result.stdout
        assert "films" in result.stdout and "error" in result.stdout and "401" in result.stdout
        result = await asyncio.to_thread(cli, "--json", "arr", "test", target=api.running.target)
        data = json.loads(result.stdout)
        assert [(c["name"], c["state"], c.get("title_count", 0)) for c in data["connections"]] == [
            ("main", "CONNECTION_STATE_OK", 3),
            ("films", "CONNECTION_STATE_ERROR", 0),
        ]
        health = await api.admin.GetHealth(admin_service_pb2.GetHealthRequest())
        assert [(d.component, d.healthy) for d in health.details] == [
            ("arr:sonarr/main", True),
            ("arr:radarr/films", False),
        ]
    finally:
        broken.stop()


@pytest.fixture
def _keep_logging_config() -> Iterator[None]:
    # ``process`` configures logging for its (normally one-shot) process; give the rest of
    # the test session its configuration back.
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


@pytest.mark.usefixtures("_keep_logging_config")
def test_local_process_uses_the_arr_library(tmp_path: Path, sonarr: FakeArr) -> None:
    shows = tmp_path / "shows"
    files = make_shows(shows)
    config = tmp_path / "config.yaml"
    config.write_text(
        json.dumps(
            {
                "language_priority": ["eng"],
                "path_mappings": {"/data/tv": str(shows)},
                "arr": {"sonarr": [sonarr.connection()]},
            }
        )
    )
    episode = files["Seoul Lights"][0]
    result = CliRunner().invoke(main.cli, ["process", str(episode), "--config", str(config), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["language"], data["language_source"], data["track_changed"]) == ("kor", "arr_library", True)
    assert read_back(episode).default_audio_indexes == [1]
