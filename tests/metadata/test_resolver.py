from __future__ import annotations

from pathlib import Path, PurePath

import pytest

from arrtheaudio_server.config import Settings
from arrtheaudio_server.languages import Lang
from arrtheaudio_server.metadata.cache import InMemoryMetadataCache
from arrtheaudio_server.metadata.heuristics import ids_from_path
from arrtheaudio_server.metadata.hints import MediaHints
from arrtheaudio_server.metadata.plan import LanguageSource
from arrtheaudio_server.metadata.resolver import LanguageResolver
from arrtheaudio_server.metadata.tmdb import TmdbClient

from .conftest import FakeTmdb, Reply


def settings(tmp_path: Path, fake: FakeTmdb | None = None, **values: object) -> Settings:
    values.setdefault("config_dir", tmp_path)
    if fake is not None:
        values["tmdb"] = {"enabled": True, "api_key": "k" * 32, "base_url": fake.base_url, "max_retries": 0}
    return Settings.model_validate(values)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/tv/Show (2019) {tvdb-12345}/Season 01/Show S01E01.mkv", (None, 12345, None, "series")),
        ("/tv/Show [tvdbid-77]/Show - 1x02.mkv", (None, 77, None, "series")),
        ("/movies/Movie (2020) [tmdbid-603]/Movie.mkv", (603, None, None, "movie")),
        ("/movies/Film {imdb-tt0133093}/Film.mp4", (None, None, "tt0133093", "movie")),
        ("/tv/Anime {tmdb-37854}/Season 1/Anime S01E01.mkv", (37854, None, None, "series")),
        ("/movies/Film [imdbid-tt01] {tmdb-9}/Film {tmdb-10}.mkv", (10, None, "tt01", "movie")),
        ("/downloads/random.mkv", (None, None, None, None)),
    ],
)
def test_ids_from_arr_style_names(path: str, expected: tuple[object, ...]) -> None:
    ids = ids_from_path(PurePath(path))
    assert (ids.tmdb_id, ids.tvdb_id, ids.imdb_id, ids.kind) == expected
    assert ids.empty is (expected[:3] == (None, None, None))


def test_path_overrides_first_match_wins_with_globstar(tmp_path: Path) -> None:
    resolver = LanguageResolver(
        settings(
            tmp_path,
            language_priority=["eng"],
            path_overrides={
                "/media/tv/anime/**": ["jpn", "eng"],
                "/media/**/*.mp4": ["ita"],
                "/media/tv/**": ["fre"],
            },
        )
    )
    assert resolver.priority_for(Path("/media/tv/anime/Show/S01/e1.mp4")) == (
        ("jpn", "eng"),
        "/media/tv/anime/**",
    )
    assert resolver.priority_for(Path("/media/tv/Other/e1.mp4")) == (("ita",), "/media/**/*.mp4")
    assert resolver.priority_for(Path("/media/tv/Other/e1.mkv")) == (("fre",), "/media/tv/**")
    assert resolver.priority_for(Path("/media/tv/animex/e1.mkv")) == (("fre",), "/media/tv/**")
    assert resolver.priority_for(Path("/elsewhere/x.mkv")) == (("eng",), None)


async def test_chain_order_arr_then_tmdb_then_heuristic_then_none(
    tmp_path: Path, fake_tmdb: FakeTmdb
) -> None:
    fake_tmdb.route("/tv/100", Reply(body={"original_language": "ko"}))
    fake_tmdb.route("/movie/603", Reply(body={"original_language": "en"}))
    fake_tmdb.route("/find/tt1", Reply(body={"movie_results": [{"original_language": "de"}]}))
    tmdb = TmdbClient(settings(tmp_path, fake_tmdb).tmdb, InMemoryMetadataCache())
    resolver = LanguageResolver(settings(tmp_path, fake_tmdb), tmdb)
    named = Path("/movies/Movie (1999) {tmdb-603}/Movie.mkv")

    plan = await resolver.resolve(named, MediaHints(original_language="Japanese", tmdb_id=100, kind="series"))
    assert (plan.original, plan.original_source) == (Lang("jpn"), LanguageSource.ARR)
    plan = await resolver.resolve(named, MediaHints(tmdb_id=100, kind="series"))
    assert (plan.original, plan.original_source) == (Lang("kor"), LanguageSource.TMDB)
    plan = await resolver.resolve(named, MediaHints(imdb_id="tt1"))
    assert (plan.original, plan.original_source) == (Lang("deu"), LanguageSource.TMDB)
    plan = await resolver.resolve(named, MediaHints(tmdb_id=404, kind="movie"))  # unknown id -> names
    assert (plan.original, plan.original_source) == (Lang("eng"), LanguageSource.HEURISTIC)
    plan = await resolver.resolve(Path("/movies/plain.mkv"), None)
    assert (plan.original, plan.original_source) == (None, LanguageSource.NONE)
    assert plan.priority == ("eng",)
    await tmdb.aclose()


async def test_without_tmdb_only_arr_counts(tmp_path: Path) -> None:
    resolver = LanguageResolver(settings(tmp_path), None)
    plan = await resolver.resolve(
        Path("/m/Movie {tmdb-603}/m.mkv"), MediaHints(tmdb_id=603, original_language="Original")
    )
    assert plan.original is None and plan.original_source is LanguageSource.NONE
