"""Fixtures every team's tests may use. Keep this file generic: team-specific fixtures
belong in the conftest.py of that team's test folder."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import make_url

from tests.support.postgres import PostgresServer, PostgresUnavailable


def _ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One real PostgreSQL server for the whole session (started on first use).

    Skips only when the binaries are missing on a developer machine; under ``CI=true`` a
    missing PostgreSQL fails the tests instead, so CI can never pass by skipping them.
    """
    try:
        server = PostgresServer()
    except PostgresUnavailable as exc:
        if _ci():
            pytest.fail(f"CI is set but PostgreSQL is unavailable: {exc}")
        pytest.skip(str(exc))
    server.start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def pg_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty database for this test: ``postgresql+asyncpg://postgres@127.0.0.1:PORT/t_…``.

    The server is started again first if an earlier test stopped or killed it; the
    database is dropped afterwards (connections still open are cut).
    """
    postgres_server.ensure_running()
    url = postgres_server.create_database()
    yield url
    try:
        postgres_server.ensure_running()
        postgres_server.drop_database(make_url(url).database or "")
    except Exception:  # noqa: BLE001 - a failed drop must not turn a passing test red
        pass
