"""``arrtheaudio process`` / ``arrtheaudio scan`` on real files, no server."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import structlog
from click.testing import CliRunner

from arrtheaudio.cli.main import cli
from tests.support.media_files import file_fingerprint, read_back

Media = Callable[..., Path]


@pytest.fixture(autouse=True)
def _no_config_in_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    # The commands configure logging for their (normally one-shot) process; give the
    # rest of the test session its configuration back.
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


def test_process_changes_the_file_and_says_so(media: Media) -> None:
    path = media("multi.mkv")
    result = CliRunner().invoke(cli, ["process", str(path), "-l", "jpn,eng"])
    assert result.exit_code == 0, result.output
    assert "success" in result.output and "track 1 (jpn, priority)" in result.output
    assert read_back(path).default_audio_indexes == [1]
    # The track table: what was read, the default before -> after, how it was written.
    for expected in ("Audio tracks", "English", "Japanese", "yes → no", "no → yes", "written: mkvpropedit"):
        assert expected in result.output


def test_process_dry_run_and_json(media: Media) -> None:
    path = media("multi.mp4")
    before = file_fingerprint(path)
    result = CliRunner().invoke(cli, ["process", str(path), "--dry-run", "--json", "-l", "ita"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["reason_code"] == "dry_run" and data["selected"]["index"] == 2 and data["dry_run"] is True
    assert data["default_after"] == [False, False, True] and data["write_method"] == "in_place"
    text = CliRunner().invoke(cli, ["process", str(path), "--dry-run", "-l", "ita"]).output
    assert "would write: in place" in text and "no → yes" in text
    assert file_fingerprint(path) == before


def test_process_failure_exits_nonzero(media: Media) -> None:
    result = CliRunner().invoke(cli, ["process", str(media("garbage.mkv"))])
    assert result.exit_code == 1 and "failed" in result.output and "not a recognizable" in result.output


def test_config_file_is_read_and_bad_config_is_a_clear_error(media: Media, tmp_path: Path) -> None:
    path = media("multi.mkv")
    config = tmp_path / "config.yaml"
    config.write_text("language_priority: [ita]\n")
    ok = CliRunner().invoke(cli, ["process", str(path), "--config", str(config)])
    assert ok.exit_code == 0 and read_back(path).default_audio_indexes == [2]
    config.write_text("processing:\n  worker_count: 99\n")
    bad = CliRunner().invoke(cli, ["process", str(path), "--config", str(config)])
    assert bad.exit_code != 0 and "processing.worker_count" in bad.output
    default = Path("config") / "config.yaml"  # ./config/config.yaml is used when present
    default.parent.mkdir()
    default.write_text("language_priority: [jpn]\n")
    used = CliRunner().invoke(cli, ["process", str(path)])
    assert used.exit_code == 0 and read_back(path).default_audio_indexes == [1]


def test_scan_with_progress_and_summary(media: Media, tmp_path: Path) -> None:
    media("multi.mkv", "lib/a.mkv")
    media("noaudio.mp4", "lib/b.mp4")
    media("multi.mp4", "lib/sub/c.mp4")
    (tmp_path / "lib" / "notes.txt").write_text("not media")
    flat = CliRunner().invoke(cli, ["scan", str(tmp_path / "lib"), "--dry-run", "-l", "eng"])
    assert flat.exit_code == 0, flat.output
    assert "2 files:" in flat.output and "(dry run)" in flat.output and "c.mp4" not in flat.output
    deep = CliRunner().invoke(cli, ["scan", str(tmp_path / "lib"), "--recursive", "-l", "jpn"])
    assert deep.exit_code == 0, deep.output
    assert "3 files: 2 success, 1 skipped; 2 changed" in deep.output
    assert read_back(tmp_path / "lib" / "sub" / "c.mp4").default_audio_indexes == [1]


def test_scan_json_and_empty_directory(tmp_path: Path, media: Media) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = CliRunner().invoke(cli, ["scan", str(empty)])
    assert result.exit_code == 0 and "no MKV/MP4 files" in result.output
    media("garbage.mkv", "bad/x.mkv")
    bad = CliRunner().invoke(cli, ["scan", str(tmp_path / "bad"), "--json"])
    assert bad.exit_code == 1
    assert json.loads(bad.output.splitlines()[0])["reason_code"] == "corrupt"
