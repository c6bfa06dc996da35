from __future__ import annotations

from arrtheaudio_server.languages import Lang
from arrtheaudio_server.media.result import AudioTrack
from arrtheaudio_server.media.select import best_track_for, choose_track, is_accessory, is_already_correct


def t(index: int, lang: str | None, **kw: object) -> AudioTrack:
    return AudioTrack(index=index, track_id=index + 1, language=lang, **kw)  # type: ignore[arg-type]


def test_commentary_by_title_or_flag_is_avoided_while_a_regular_track_exists() -> None:
    tracks = [t(0, "jpn", title="Commentary", channels=6, default=True), t(1, "jpn", channels=2), t(2, "eng")]
    assert best_track_for(tracks, Lang("jpn")).index == 1  # type: ignore[union-attr]
    flagged = [t(0, "jpn", commentary=True, default=True), t(1, "jpn")]
    assert best_track_for(flagged, Lang("jpn")).index == 1  # type: ignore[union-attr]
    described = [t(0, "eng", visual_impaired=True), t(1, "eng", title="Audio Description"), t(2, "eng")]
    assert best_track_for(described, Lang("eng")).index == 2  # type: ignore[union-attr]


def test_only_a_commentary_track_of_the_language_is_still_chosen() -> None:
    tracks = [t(0, "eng"), t(1, "jpn", title="Kommentar")]
    assert best_track_for(tracks, Lang("jpn")).index == 1  # type: ignore[union-attr]


def test_accessory_detection() -> None:
    assert is_accessory(t(0, "eng", title="Director's Commentary"))
    assert is_accessory(t(0, "eng", title="English AD"))
    assert is_accessory(t(0, "fra", title="Audiodescription"))
    assert not is_accessory(t(0, "eng", title="English 5.1"))
    assert not is_accessory(t(0, "eng", title="Headroom"))  # "ad" inside a word is no marker


def test_ties_break_on_channels_then_current_default_then_index() -> None:
    assert best_track_for([t(0, "eng", channels=2), t(1, "eng", channels=6)], Lang("eng")).index == 1  # type: ignore[union-attr]
    assert (
        best_track_for([t(0, "eng", channels=2), t(1, "eng", channels=2, default=True)], Lang("eng")).index
        == 1
    )  # type: ignore[union-attr]
    assert best_track_for([t(0, "eng"), t(1, "eng")], Lang("eng")).index == 0  # type: ignore[union-attr]


def test_region_preference_comes_before_channels() -> None:
    tracks = [t(0, "por", channels=6), t(1, "por", ietf="pt-BR", channels=2)]
    assert best_track_for(tracks, Lang("por", "BR")).index == 1  # type: ignore[union-attr]
    assert best_track_for(tracks, Lang("por")).index == 0  # type: ignore[union-attr]


def test_choose_track_walks_the_wishes_in_order() -> None:
    tracks = [t(0, "eng", default=True), t(1, "ita")]
    choice = choose_track(tracks, ["jpn", "und", "it", "eng"])
    assert choice is not None and choice.track.index == 1 and choice.wanted_position == 2
    assert choose_track(tracks, ["jpn", "fre"]) is None
    assert choose_track([t(0, None)], ["eng"]) is None


def test_already_correct_means_exactly_one_default() -> None:
    tracks = [t(0, "eng", default=True), t(1, "jpn")]
    assert is_already_correct(tracks, tracks[0])
    assert not is_already_correct(tracks, tracks[1])
    two = [t(0, "eng", default=True), t(1, "jpn", default=True)]
    assert not is_already_correct(two, two[0])
