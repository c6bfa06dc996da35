"""Sonarr/Radarr libraries over a real local HTTP server speaking the v3 shape."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from arrtheaudio_server.config import ArrConnection, ArrSettings, Settings
from arrtheaudio_server.metadata.arr_catalog import ArrCatalog, cache_key
from arrtheaudio_server.metadata.arr_client import ArrClient, ArrUnavailable
from arrtheaudio_server.metadata.cache import InMemoryMetadataCache
from arrtheaudio_server.metadata.hints import MediaHints
from arrtheaudio_server.metadata.plan import LanguageSource
from arrtheaudio_server.metadata.resolver import LanguageResolver
from arrtheaudio_server.metadata.tmdb import TmdbClient
from arrtheaudio_server.paths import PathPolicy
from tests.support.fake_arr import FakeArr, movie_resource, series_resource

from .conftest import FakeTmdb, Reply


@pytest.fixture
def sonarr() -> Iterator[FakeArr]:
    fake = FakeArr(
        "sonarr",
        resources=[
            series_resource("Kaiju Harbor", "/tv/Kaiju Harbor", language="Japanese", tvdb_id=101),
            series_resource("Les Voisins", "/tv/Les Voisins", language="French", tvdb_id=102),
            series_resource("Extras Show", "/tv/Kaiju Harbor/Extras", language="Korean", tvdb_id=103),
            series_resource("Old Show", "/tv/Old Show", language=None, tvdb_id=104, tmdb_id=555),
            {"id": 99, "title": "no path"},  # an odd entry must not cost the library
        ],
    )
    yield fake
    fake.stop()


@pytest.fixture
def radarr() -> Iterator[FakeArr]:
    fake = FakeArr(
        "radarr",
        resources=[
            movie_resource(
                "The Quiet Orchard", "/movies/The Quiet Orchard (2019)", language="Italian", tmdb_id=7
            )
        ],
    )
    yield fake
    fake.stop()


def client(fake: FakeArr, **overrides: object) -> ArrClient:
    connection = ArrConnection.model_validate(fake.connection(**overrides))
    return ArrClient(fake.kind, connection, timeout_seconds=2.0, retries=1)


def catalog(*fakes: FakeArr, cache: InMemoryMetadataCache | None = None, **settings: object) -> ArrCatalog:
    values: dict[str, object] = {
        "sonarr": [f.connection() for f in fakes if f.kind == "sonarr"],
        "radarr": [f.connection() for f in fakes if f.kind == "radarr"],
        "timeout_seconds": 1.0,
        **settings,
    }
    policy = PathPolicy.from_settings(
        Settings(path_mappings={"/tv": "/srv/media/tv", "/movies": "/srv/media/movies"})
    )
    return ArrCatalog(ArrSettings.model_validate(values), cache, map_path=policy.map_arr_path)


async def test_client_reads_the_v3_resources_with_the_key_header(sonarr: FakeArr, radarr: FakeArr) -> None:
    series = await client(sonarr).titles()
    assert [t.title for t in series] == ["Kaiju Harbor", "Les Voisins", "Extras Show", "Old Show"]
    assert (
        series[0].original_language == "Japanese" and series[0].tvdb_id == 101 and series[0].kind == "series"
    )
    assert series[0].tmdb_id is None  # 0 means "none" in the Arr
    assert series[3].original_language is None and series[3].tmdb_id == 555
    assert sonarr.requests[-1] == {"path": "/api/v3/series", "api_key": sonarr.api_key}
    movies = await client(radarr).titles()
    assert movies[0].kind == "movie" and movies[0].original_language == "Italian" and movies[0].tmdb_id == 7
    assert radarr.requests[-1]["path"] == "/api/v3/movie"


async def test_client_errors_say_what_is_wrong(sonarr: FakeArr) -> None:
    with pytest.raises(ArrUnavailable, match=r"HTTP 401: the API key was refused .*arr\.sonarr\[sonarr\]"):
        await client(sonarr, api_key="wrong").titles()
    assert sonarr.hits() == 1  # a refused key is not retried
    sonarr.status = 500
    with pytest.raises(ArrUnavailable, match="HTTP 500"):
        await client(sonarr).titles()
    assert sonarr.hits() == 3  # retried once
    sonarr.status, sonarr.delay = 200, 1.5
    with pytest.raises(ArrUnavailable, match=r"no answer .* within 0\.5 s"):
        await client(sonarr, timeout_seconds=0.5).titles()
    sonarr.delay = 0.3  # slow, but within the timeout: fine
    assert len(await client(sonarr).titles()) == 4
    sonarr.stop()
    with pytest.raises(ArrUnavailable, match="cannot reach"):
        await client(sonarr).titles()


async def test_catalog_finds_the_title_whose_folder_holds_the_file(sonarr: FakeArr, radarr: FakeArr) -> None:
    arr = catalog(sonarr, radarr)
    episode = Path("/srv/media/tv/Kaiju Harbor/Season 01/S01E01.mkv")
    assert (await arr.lookup(episode)).title == "Kaiju Harbor"  # type: ignore[union-attr]
    # The longest path wins: a title nested in another's folder.
    assert (await arr.lookup(Path("/srv/media/tv/Kaiju Harbor/Extras/x.mkv"))).title == "Extras Show"  # type: ignore[union-attr]
    movie = Path("/srv/media/movies/The Quiet Orchard (2019)/movie.mkv")
    assert (await arr.lookup(movie)).original_language == "Italian"  # type: ignore[union-attr]
    assert (
        await arr.lookup(Path("/srv/media/tv/Kaiju Harbor Two/x.mkv")) is None
    )  # a prefix of a name is not a folder
    assert await arr.lookup(Path("/elsewhere/x.mkv")) is None
    # By the webhook's ids when the path says nothing.
    assert (await arr.lookup(Path("/elsewhere/x.mkv"), MediaHints(tvdb_id=102))).title == "Les Voisins"  # type: ignore[union-attr]
    assert sonarr.hits() == 1 and radarr.hits() == 1  # one fetch per connection, then memory
    statuses = {s.name: s for s in arr.statuses()}
    assert statuses["sonarr"].ok and statuses["sonarr"].title_count == 4
    assert "1 without an original language" in statuses["sonarr"].message
    await arr.aclose()


async def test_titles_survive_in_the_cache_when_the_arr_is_down(sonarr: FakeArr) -> None:
    cache = InMemoryMetadataCache()
    first = catalog(sonarr, cache=cache)
    await first.refresh()
    assert await cache.get(cache_key("sonarr", "sonarr"))
    await first.aclose()
    sonarr.stop()
    second = catalog(sonarr, cache=cache)
    found = await second.lookup(Path("/srv/media/tv/Les Voisins/S01E01.mkv"))
    assert found is not None and found.original_language == "French"
    # Asking now fails, clearly, and keeps what the cache gave.
    (status,) = await second.refresh()
    assert status.state == "error" and "cannot reach" in status.message and "using 4 titles" in status.message
    assert (await second.lookup(Path("/srv/media/tv/Les Voisins/S01E01.mkv"))) is not None
    await second.aclose()


async def test_a_down_arr_without_cache_gives_no_title_and_no_crash(sonarr: FakeArr) -> None:
    arr = catalog(sonarr)
    sonarr.api_key = "rotated"  # the Arr's key changed, the config still has the old one
    assert await arr.lookup(Path("/srv/media/tv/Les Voisins/S01E01.mkv")) is None
    (status,) = arr.statuses()
    assert status.state == "error" and "401" in status.message and status.title_count == 0
    await arr.aclose()


async def test_stale_titles_are_refreshed_in_the_background(sonarr: FakeArr) -> None:
    now = [0.0]
    arr = ArrCatalog(
        ArrSettings.model_validate({"sonarr": [sonarr.connection()], "refresh_interval_seconds": 60}),
        None,
        map_path=lambda p: p.replace("/tv", "/srv/media/tv", 1),
        clock=lambda: now[0],
    )
    path = Path("/srv/media/tv/New Show/S01E01.mkv")
    assert await arr.lookup(path) is None
    sonarr.resources.append(series_resource("New Show", "/tv/New Show", language="German"))
    now[0] = 61.0
    assert await arr.lookup(path) is None  # the old titles answer at once...
    assert arr._refreshing is not None
    await arr._refreshing  # ...while the refresh runs
    assert (await arr.lookup(path)).title == "New Show"  # type: ignore[union-attr]
    assert sonarr.hits() == 2
    await arr.aclose()


async def test_resolver_chain_hints_then_arr_library_then_tmdb(sonarr: FakeArr, fake_tmdb: FakeTmdb) -> None:
    fake_tmdb.route("/tv/555", Reply(body={"original_language": "es"}))
    settings = Settings(tmdb={"enabled": True, "api_key": "k" * 32, "base_url": fake_tmdb.base_url})
    tmdb = TmdbClient(settings.tmdb, None)
    arr = catalog(sonarr)
    resolver = LanguageResolver(settings, tmdb, arr)
    episode = Path("/srv/media/tv/Kaiju Harbor/Season 01/S01E01.mkv")
    lang, source = await resolver.original_language(episode, MediaHints(original_language="German"))
    assert (str(lang), source) == ("deu", LanguageSource.ARR)  # the webhook's own word first
    lang, source = await resolver.original_language(episode, None)
    assert (str(lang), source) == ("jpn", LanguageSource.ARR_LIBRARY)
    # A title without a language lends its ids to TMDB.
    lang, source = await resolver.original_language(Path("/srv/media/tv/Old Show/S01E01.mkv"), None)
    assert (str(lang), source) == ("spa", LanguageSource.TMDB)
    plan = await resolver.resolve(episode)
    assert plan.decision_key != (await resolver.resolve(Path("/srv/media/tv/Les Voisins/a.mkv"))).decision_key
    await arr.aclose()
    await tmdb.aclose()


def test_config_names_must_be_unique_and_urls_http() -> None:
    with pytest.raises(ValueError, match="repeated: a"):
        ArrSettings.model_validate({"sonarr": [{"name": "a", "url": "http://x", "api_key": "k"}] * 2})
    with pytest.raises(ValueError, match="http"):
        ArrConnection.model_validate({"name": "a", "url": "ftp://x", "api_key": "k"})
    assert ArrConnection.model_validate({"name": "a", "url": "http://x/", "api_key": "k"}).url == "http://x"
