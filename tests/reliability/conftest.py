"""Fixtures of the reliability suite: real media templates, a storage backend per test, and
a guard that every server process a scenario started is gone when it ends."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.reliability.harness import Database, build_templates
from tests.support.media_files import tools_available
from tests.support.postgres import PostgresServer

if not tools_available():  # pragma: no cover - the dev and CI images have them
    pytest.skip("ffmpeg/mkvtoolnix not installed", allow_module_level=True)


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The five template files (made once per session with ffmpeg); scenarios copy them."""
    return build_templates(tmp_path_factory.mktemp("reliability-templates"))


@dataclass
class Backend:
    name: str  # "sqlite" | "postgresql"
    url: str | None  # None: the server's default SQLite file in its config dir
    postgres: PostgresServer | None = None

    def database(self, config_dir: Path) -> Database:
        if self.url is None:
            return Database(sqlite_path=config_dir / "arrtheaudio.db")
        return Database.for_url(self.url, config_dir=config_dir, postgres=self.postgres)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    if request.param == "sqlite":
        yield Backend("sqlite", None)
        return
    postgres = request.getfixturevalue("postgres_server")
    yield Backend("postgresql", request.getfixturevalue("pg_url"), postgres)
