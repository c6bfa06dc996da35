from __future__ import annotations

import pytest

from arrtheaudio_server.config import TmdbSettings
from arrtheaudio_server.metadata.cache import InMemoryMetadataCache
from arrtheaudio_server.metadata.tmdb import TmdbClient

from .conftest import FakeTmdb, Reply


def make(fake: FakeTmdb, cache: InMemoryMetadataCache | None = None, **overrides: object) -> TmdbClient:
    values: dict[str, object] = {
        "enabled": True,
        "api_key": "0123456789abcdef0123456789abcdef",
        "base_url": fake.base_url,
        "timeout_seconds": 2.0,
        "max_retries": 2,
        "retry_backoff_seconds": 0.01,
    }
    values.update(overrides)
    return TmdbClient(TmdbSettings.model_validate(values), cache)


async def test_movie_and_tv_by_tmdb_id(fake_tmdb: FakeTmdb) -> None:
    fake_tmdb.route("/movie/603", Reply(body={"id": 603, "original_language": "en"}))
    fake_tmdb.route("/tv/37854", Reply(body={"id": 37854, "original_language": "ja"}))
    client = make(fake_tmdb)
    assert await client.original_language(kind="movie", tmdb_id=603) == "en"
    assert await client.original_language(kind="series", tmdb_id=37854) == "ja"
    seen = fake_tmdb.hits("/movie/603")[0]
    assert seen.query["api_key"] == ["0123456789abcdef0123456789abcdef"]
    await client.aclose()


async def test_find_by_imdb_and_tvdb_id(fake_tmdb: FakeTmdb) -> None:
    fake_tmdb.route(
        "/find/tt0133093", Reply(body={"movie_results": [{"original_language": "en"}], "tv_results": []})
    )
    fake_tmdb.route(
        "/find/81189", Reply(body={"movie_results": [], "tv_results": [{"original_language": "es"}]})
    )
    client = make(fake_tmdb, api_key="eyJhbGciOiJIUzI1NiJ9.token")
    assert await client.original_language(imdb_id="tt0133093") == "en"
    assert await client.original_language(kind="series", tvdb_id=81189) == "es"
    assert fake_tmdb.hits("/find/tt0133093")[0].query["external_source"] == ["imdb_id"]
    tvdb = fake_tmdb.hits("/find/81189")[0]
    assert tvdb.query["external_source"] == ["tvdb_id"] and tvdb.headers["Authorization"].startswith(
        "Bearer "
    )
    await client.aclose()


async def test_404_is_a_cached_negative_answer(fake_tmdb: FakeTmdb) -> None:
    cache = InMemoryMetadataCache()
    client = make(fake_tmdb, cache)
    assert await client.original_language(kind="movie", tmdb_id=999) is None
    assert await client.original_language(kind="movie", tmdb_id=999) is None
    assert len(fake_tmdb.hits("/movie/999")) == 1  # not retried, and remembered
    assert await cache.get("tmdb:movie:999") == ""
    await client.aclose()


async def test_429_honours_retry_after(fake_tmdb: FakeTmdb) -> None:
    fake_tmdb.route(
        "/tv/1",
        Reply(429, {"status_code": 25}, headers={"Retry-After": "1"}),
        Reply(body={"original_language": "ko"}),
    )
    client = make(fake_tmdb, retry_backoff_seconds=0.0)
    assert await client.original_language(kind="series", tmdb_id=1) == "ko"
    first, second = fake_tmdb.hits("/tv/1")
    assert second.at - first.at >= 0.9  # waited as told, not the (zero) backoff
    await client.aclose()


async def test_server_errors_are_retried_then_given_up_without_failing(fake_tmdb: FakeTmdb) -> None:
    fake_tmdb.route("/movie/5", Reply(503))
    cache = InMemoryMetadataCache()
    client = make(fake_tmdb, cache, max_retries=2)
    assert await client.original_language(kind="movie", tmdb_id=5) is None
    assert len(fake_tmdb.hits("/movie/5")) == 3
    assert await cache.get("tmdb:movie:5") is None  # a failure is not remembered
    await client.aclose()


async def test_timeout_gives_up_quietly(fake_tmdb: FakeTmdb) -> None:
    fake_tmdb.route("/movie/7", Reply(body={"original_language": "fr"}, delay=1.0))
    client = make(fake_tmdb, timeout_seconds=0.2, max_retries=1)
    assert await client.original_language(kind="movie", tmdb_id=7) is None
    assert len(fake_tmdb.hits("/movie/7")) == 2
    assert client.requests_made == 2
    await client.aclose()


async def test_cache_hit_makes_no_request_and_a_season_costs_one_lookup(fake_tmdb: FakeTmdb) -> None:
    fake_tmdb.route("/tv/42", Reply(body={"original_language": "ja"}))
    cache = InMemoryMetadataCache()
    client = make(fake_tmdb, cache)
    for _ in range(24):
        assert await client.original_language(kind="series", tmdb_id=42) == "ja"
    assert len(fake_tmdb.hits("/tv/42")) == 1
    other = make(fake_tmdb, cache)  # a new client (a restart) with the same store
    assert await other.original_language(kind="series", tmdb_id=42) == "ja"
    assert len(fake_tmdb.hits("/tv/42")) == 1
    await client.aclose()
    await other.aclose()


async def test_cache_entries_expire() -> None:
    now = [1000.0]
    cache = InMemoryMetadataCache(clock=lambda: now[0])
    await cache.put("k", "v", ttl_seconds=10)
    assert await cache.get("k") == "v" and len(cache) == 1
    now[0] += 10
    assert await cache.get("k") is None and len(cache) == 0


async def test_unknown_kind_tries_movie_then_tv_and_tmdb_special_codes(fake_tmdb: FakeTmdb) -> None:
    fake_tmdb.route("/tv/8", Reply(body={"original_language": "cn"}))  # TMDB's code for Cantonese
    fake_tmdb.route("/movie/9", Reply(body={"original_language": "xx"}))  # "no language"
    client = make(fake_tmdb)
    assert await client.original_language(tmdb_id=8) == "zh"
    assert len(fake_tmdb.hits("/movie/8")) == 1
    assert await client.original_language(kind="movie", tmdb_id=9) is None
    await client.aclose()


async def test_auth_failure_and_disabled_client(fake_tmdb: FakeTmdb) -> None:
    fake_tmdb.route("/movie/1", Reply(401, {"status_code": 7}))
    client = make(fake_tmdb)
    assert await client.original_language(kind="movie", tmdb_id=1) is None
    assert len(fake_tmdb.hits("/movie/1")) == 1
    disabled = make(fake_tmdb, enabled=False)
    assert await disabled.original_language(kind="movie", tmdb_id=2) is None
    no_key = make(fake_tmdb, api_key="")
    assert not no_key.enabled
    assert len(fake_tmdb.requests) == 1
    for c in (client, disabled, no_key):
        await c.aclose()


@pytest.mark.parametrize(("header", "expected"), [("2", 2.0), ("", None), ("soon", None)])
def test_retry_after_parsing(header: str, expected: float | None) -> None:
    from arrtheaudio_server.metadata.tmdb import _retry_after_seconds

    assert _retry_after_seconds(header) == expected


def test_retry_after_http_date() -> None:
    import email.utils
    import time

    from arrtheaudio_server.metadata.tmdb import _retry_after_seconds

    value = _retry_after_seconds(email.utils.formatdate(time.time() + 5, usegmt=True))
    assert value is not None and 3 <= value <= 6
