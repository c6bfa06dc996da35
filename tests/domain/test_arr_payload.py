"""The Sonarr/Radarr webhook fixtures (tests/fixtures/webhooks) parse into the files and hints a job needs."""

from __future__ import annotations

from pathlib import Path

import pytest

from arrtheaudio_server.metadata.arr_payload import PayloadError, parse_arr_webhook

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "webhooks"


def fixture(kind: str, name: str) -> bytes:
    return (FIXTURES / kind / f"{name}.json").read_bytes()


def test_sonarr_download_has_one_file_and_original_language() -> None:
    hook = parse_arr_webhook("sonarr", fixture("sonarr", "download"))
    assert hook.carries_files and not hook.is_test
    assert hook.files == ("/tv/Kaiju Harbor/Season 01/Kaiju Harbor - S01E01 - Landfall [WEBDL-1080p].mkv",)
    assert hook.hints.original_language == "Japanese"
    assert (hook.hints.tmdb_id, hook.hints.tvdb_id, hook.hints.imdb_id) == (203456, 401234, "tt19876543")
    assert hook.hints.kind == "series" and hook.title == "Kaiju Harbor"


def test_sonarr_season_pack_lists_every_file_in_order() -> None:
    hook = parse_arr_webhook("sonarr", fixture("sonarr", "import-complete"))
    assert [Path(p).name[:22] for p in hook.files] == [
        "Kaiju Harbor - S01E01 "[:22],
        "Kaiju Harbor - S01E02 "[:22],
        "Kaiju Harbor - S01E03 "[:22],
    ]
    assert len(set(hook.files)) == 3


@pytest.mark.parametrize("kind", ["sonarr", "radarr"])
def test_test_event_carries_no_file_and_zero_ids_are_unknown(kind: str) -> None:
    hook = parse_arr_webhook(kind, fixture(kind, "test"))  # type: ignore[arg-type]
    assert hook.is_test and hook.files == () and not hook.carries_files
    assert hook.hints.tmdb_id is None


@pytest.mark.parametrize("name", ["grab", "rename"])
def test_events_without_new_files_are_not_file_events(name: str) -> None:
    hook = parse_arr_webhook("sonarr", fixture("sonarr", name))
    assert not hook.carries_files and hook.files == ()


def test_radarr_download_reads_movie_file_and_language() -> None:
    hook = parse_arr_webhook("radarr", fixture("radarr", "download"))
    assert hook.files == ("/movies/The Quiet Orchard (2019)/The Quiet Orchard (2019) [Bluray-1080p].mkv",)
    assert hook.hints.original_language == "Italian" and hook.hints.kind == "movie"


def test_duplicate_paths_in_one_payload_become_one_file() -> None:
    body = b'{"eventType":"Download","episodeFile":{"path":"/tv/a.mkv"},"episodeFiles":[{"path":"/tv/a.mkv"},{"path":"/tv/b.mkv"}]}'
    assert parse_arr_webhook("sonarr", body).files == ("/tv/a.mkv", "/tv/b.mkv")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", "body"),
        (b"\xff\xfe", "body"),
        (b"[1, 2]", "body"),
        (b'{"eventType": 3}', "eventType"),
        (b'{"series": {}}', "eventType"),
        (b'{"eventType": "Download"}', "episodeFile"),
        (b'{"eventType": "Download", "episodeFiles": [{"path": ""}]}', "episodeFile"),
        (b'{"eventType": "Download", "episodeFiles": "nope"}', "episodeFiles"),
    ],
)
def test_unusable_bodies_name_the_field(body: bytes, field: str) -> None:
    with pytest.raises(PayloadError) as info:
        parse_arr_webhook("sonarr", body)
    assert info.value.field == field


def test_radarr_download_without_movie_file_is_rejected() -> None:
    with pytest.raises(PayloadError) as info:
        parse_arr_webhook("radarr", b'{"eventType": "Download", "movie": {"title": "X"}}')
    assert info.value.field == "movieFile"
