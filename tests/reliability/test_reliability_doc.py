"""RELIABILITY.md stays true: one section per scenario of the suite and no other, every
scenario's test file exists, and the results table carries only results the tests wrote."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.reliability.results import DOC, SCENARIO_IDS, SCENARIOS, TABLE_BEGIN, TABLE_END, record, table

HERE = Path(__file__).parent


def _sections() -> list[str]:
    return re.findall(r"^### .*\(`([a-z0-9-]+)`\)\s*$", DOC.read_text(encoding="utf-8"), flags=re.MULTILINE)


def test_every_scenario_has_a_section_and_every_section_a_scenario() -> None:
    sections = _sections()
    assert sorted(sections) == sorted(SCENARIO_IDS), (sections, sorted(SCENARIO_IDS))
    assert len(sections) == len(set(sections))


def test_every_scenario_has_its_test_file_with_tests() -> None:
    for scenario in SCENARIOS:
        path = HERE / scenario.test_file
        assert path.is_file(), scenario
        assert re.search(r"^def test_", path.read_text(encoding="utf-8"), flags=re.MULTILINE), scenario
        assert f'"{scenario.id}"' in path.read_text(encoding="utf-8"), (
            f"{scenario.test_file} records no result"
        )
        assert scenario.test_file in DOC.read_text(encoding="utf-8"), (
            f"{scenario.test_file} not named in the doc"
        )


def test_the_results_table_only_holds_recorded_runs() -> None:
    text = DOC.read_text(encoding="utf-8")
    body = text[text.index(TABLE_BEGIN) + len(TABLE_BEGIN) : text.index(TABLE_END)]
    rows = [line for line in body.splitlines() if line.startswith("| ") and not line.startswith("| Scenario")]
    for row in rows:
        assert row.split("|")[1].strip() in SCENARIO_IDS, row


def test_record_and_table_round_trip(tmp_path: Path, monkeypatch) -> None:
    from tests.reliability import results

    monkeypatch.setattr(results, "RESULTS_DIR", tmp_path)
    monkeypatch.setattr(results, "RESULTS_FILE", tmp_path / "r.jsonl")
    record("crash-loop", variant="sqlite", files=3, seconds=1.5)
    record("crash-loop", variant="sqlite", files=4, seconds=2.5)
    lines = (tmp_path / "r.jsonl").read_text().splitlines()
    assert [json.loads(line)["files"] for line in lines] == [3, 4]
    rendered = table(tmp_path / "r.jsonl")
    assert "files=4" in rendered and "files=3" not in rendered  # the newest run per scenario/variant/scale
    try:
        record("no-such-scenario")
    except ValueError:
        pass
    else:  # pragma: no cover
        raise AssertionError("an unknown scenario was recorded")
