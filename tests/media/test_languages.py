from __future__ import annotations

import pytest

from arrtheaudio_server.languages import Lang, match_score, normalize, parse_language


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("en", "eng"),
        ("eng", "eng"),
        ("en-US", "eng"),
        ("English", "eng"),
        ("EN", "eng"),
        ("ger", "deu"),
        ("deu", "deu"),
        ("de", "deu"),
        ("German", "deu"),
        ("fre", "fra"),
        ("fra", "fra"),
        ("chi", "zho"),
        ("zho", "zho"),
        ("cmn", "zho"),
        ("rum", "ron"),
        ("ron", "ron"),
        ("Japanese", "jpn"),
        ("ja", "jpn"),
        ("pt-BR", "por"),
        ("por", "por"),
        ("Portuguese (Brazil)", "por"),
    ],
)
def test_equivalent_codes_normalize_to_one_iso639_2t_code(value: str, expected: str) -> None:
    assert normalize(value) == expected


@pytest.mark.parametrize(
    "value", [None, "", "  ", "und", "mul", "zxx", "qaa", "xx", "Unknown", "Original", "Stereo 5.1 mix"]
)
def test_undetermined_and_missing_are_unknown(value: str | None) -> None:
    assert parse_language(value) is None


def test_regions_are_kept_from_tags_and_arr_names() -> None:
    assert parse_language("pt-BR") == Lang("por", "BR")
    assert parse_language("pt_BR") == Lang("por", "BR")
    assert parse_language("Portuguese (Brazil)") == Lang("por", "BR")
    assert parse_language("Spanish (Latin America)") == Lang("spa", "419")
    assert str(Lang("por", "BR")) == "por-BR"


def test_match_scores_prefer_the_exact_region() -> None:
    br = Lang("por", "BR")
    assert match_score(br, "por", "pt-BR") == 3
    assert match_score(br, "por", None) == 2  # pt-BR matches a plain por track
    assert match_score(br, "por", "pt-PT") == 1
    assert match_score(Lang("por"), "por", "pt-BR") == 2
    assert match_score(Lang("eng"), "en", None) == 2
    assert match_score(Lang("eng"), None, None) == 0
    assert match_score(Lang("deu"), "ger", None) == 2
    assert match_score(Lang("jpn"), "eng", None) == 0
