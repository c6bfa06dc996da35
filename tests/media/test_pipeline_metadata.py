"""The pipeline with the metadata chain: TMDB found, TMDB down, names as hints."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from arrtheaudio_server.media.pipeline import Pipeline
from arrtheaudio_server.media.result import LanguageSource, ReasonCode, ResultStatus
from arrtheaudio_server.metadata.cache import InMemoryMetadataCache
from arrtheaudio_server.metadata.hints import MediaHints
from tests.metadata.conftest import FakeTmdb, Reply, fake_tmdb  # noqa: F401 - fixture
from tests.support.media_files import read_back
from tests.support.ports import free_port

Media = Callable[..., Path]


def tmdb_settings(base_url: str) -> dict[str, object]:
    return {
        "enabled": True,
        "api_key": "k" * 32,
        "base_url": base_url,
        "max_retries": 1,
        "retry_backoff_seconds": 0.01,
        "timeout_seconds": 1.0,
    }


async def test_tmdb_language_by_webhook_ids_then_by_folder_name(
    media: Media,
    settings_factory,
    fake_tmdb: FakeTmdb,  # noqa: F811 - the fixture
) -> None:
    fake_tmdb.route("/tv/37854", Reply(body={"original_language": "ja"}))
    fake_tmdb.route("/find/tt7", Reply(body={"movie_results": [{"original_language": "it"}]}))
    cache = InMemoryMetadataCache()
    pipeline = Pipeline(
        settings_factory(language_priority=["eng"], tmdb=tmdb_settings(fake_tmdb.base_url)), cache
    )
    first = media("multi.mkv", "Show {tmdb-37854}/Season 01/Show S01E01.mkv")
    result = await pipeline.process(first, MediaHints(kind="series", tmdb_id=37854))
    assert result.language_source is LanguageSource.TMDB and result.selected.index == 1  # type: ignore[union-attr]
    second = media("multi.mkv", "Show {tmdb-37854}/Season 01/Show S01E02.mkv")
    result = await pipeline.process(second)  # no webhook: the folder name says tmdb-37854
    assert result.language_source is LanguageSource.HEURISTIC and result.selected.index == 1  # type: ignore[union-attr]
    assert len(fake_tmdb.hits("/tv/37854")) == 1  # the cache served the second episode
    movie = media("multi.mp4", "Film {imdb-tt7}/Film.mp4")
    result = await pipeline.process(movie)
    assert result.language_source is LanguageSource.HEURISTIC and result.language == "ita"
    assert read_back(movie).default_audio_indexes == [2]
    await pipeline.aclose()


async def test_tmdb_down_never_fails_the_job(media: Media, settings_factory) -> None:
    dead = f"http://127.0.0.1:{free_port()}/3"
    pipeline = Pipeline(settings_factory(language_priority=["ita"], tmdb=tmdb_settings(dead)))
    path = media("multi.mkv")
    result = await pipeline.process(path, MediaHints(kind="movie", tmdb_id=1, imdb_id="tt1"))
    assert result.status is ResultStatus.SUCCESS and result.reason_code is ReasonCode.CHANGED
    assert result.language_source is LanguageSource.PRIORITY and result.selected.index == 2  # type: ignore[union-attr]
    await pipeline.aclose()


async def test_original_language_missing_from_file_falls_back_to_priority(
    media: Media, settings_factory
) -> None:
    pipeline = Pipeline(settings_factory(language_priority=["ita"]))
    result = await pipeline.process(media("multi.mkv"), MediaHints(original_language="Korean"))
    assert result.language_source is LanguageSource.PRIORITY and result.language == "ita"
    skipped = await Pipeline(settings_factory(language_priority=["fre"])).process(
        media("multi.mkv", "b/multi.mkv"), MediaHints(original_language="Korean")
    )
    assert skipped.reason_code is ReasonCode.NO_PREFERRED_LANGUAGE and "kor" in skipped.reason
