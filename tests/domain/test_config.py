"""The one settings object: file, ${ENV} expansion, environment overrides, errors that name the key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from arrtheaudio_server.config import (
    DEFAULT_CONFIG_TEMPLATE,
    ConfigError,
    Settings,
    expand_env,
    load_settings,
)

README = Path(__file__).resolve().parents[2] / "README.md"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_first_start_writes_the_commented_default_and_loads_it(tmp_path: Path) -> None:
    path = tmp_path / "cfg" / "config.yaml"
    settings = load_settings(path, environ={})
    assert path.read_text(encoding="utf-8") == DEFAULT_CONFIG_TEMPLATE
    assert settings.language_priority == ["eng"] and settings.processing.worker_count == 2
    assert settings.config_dir == path.parent
    assert settings.database_url == f"sqlite+aiosqlite:///{(path.parent / 'arrtheaudio.db').resolve()}"


def test_missing_file_without_create_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.yaml", create_if_missing=False)


def test_env_references_are_expanded_in_values_only(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "# ${NOT_SET_ANYWHERE} in a comment is fine\n"
        "tmdb:\n  api_key: ${TMDB_KEY}\n  base_url: ${TMDB_URL:-http://127.0.0.1:9/3}\n",
    )
    settings = load_settings(path, environ={"TMDB_KEY": "abc"})
    assert settings.tmdb.api_key == "abc" and settings.tmdb.base_url == "http://127.0.0.1:9/3"
    with pytest.raises(ConfigError, match="TMDB_KEY"):
        load_settings(path, environ={})
    assert expand_env("${A}-${B:-b}", {"A": "a"}) == "a-b"


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "processing:\n  worker_count: 1\n  retry_attempts: 5\n")
    monkeypatch.setenv("ARRTHEAUDIO_PROCESSING__WORKER_COUNT", "4")
    settings = load_settings(path)
    assert settings.processing.worker_count == 4 and settings.processing.retry_attempts == 5


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("processing:\n  worker_count: 9\n", "processing.worker_count"),
        ("processing:\n  wokrer_count: 2\n", "processing.wokrer_count"),
        ("storage:\n  url: mysql://x\n", "storage.url"),
        ("language_priority: ['  ']\n", "language_priority"),
        ("logging:\n  format: xml\n", "logging.format"),
        ("path_overrides:\n  '/tv/**': []\n", "path_overrides.0.languages"),
    ],
)
def test_bad_values_name_the_dotted_key(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text), environ={})
    assert key in str(info.value)


@pytest.mark.parametrize("text", ["[1, 2]\n", "a: [unclosed\n"])
def test_not_a_mapping_or_not_yaml(tmp_path: Path, text: str) -> None:
    with pytest.raises(ConfigError):
        load_settings(write(tmp_path, text), environ={})


def test_mappings_keep_their_order_and_levels_are_case_insensitive(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "path_overrides:\n  '/a/**': [jpn]\n  '/**': [eng]\n"
        "path_mappings:\n  /tv: /media/tv\nlogging:\n  level: debug\n",
    )
    settings = load_settings(path, environ={})
    assert [o.pattern for o in settings.path_overrides] == ["/a/**", "/**"]
    assert settings.path_mappings[0].local == "/media/tv" and settings.logging.level == "DEBUG"


def _leaf_keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    keys = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if (
            isinstance(annotation, type)
            and issubclass(annotation, BaseModel)
            and name not in {"path_overrides"}
        ):
            keys += _leaf_keys(annotation, f"{prefix}{name}.")
        else:
            keys.append(prefix + name)
    return keys


def test_readme_documents_every_setting() -> None:
    """The README's configuration table must name every key the server accepts."""
    table = README.read_text(encoding="utf-8").split("## Configuration", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"`([a-z0-9_]+(?:\.[a-z0-9_]+)?)`", table))
    missing = [key for key in _leaf_keys(Settings) if key != "config_dir" and key not in documented]
    assert not missing, f"README's configuration table lacks: {missing}"
