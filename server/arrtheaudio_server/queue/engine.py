"""Async engines for the two backends, and SQLite's single writer path.

SQLite: WAL (readers never wait for the writer), ``busy_timeout`` (another process that
holds the write lock is waited for, not an error), and every write goes through one
connection behind one asyncio lock with ``BEGIN IMMEDIATE``, so two writes of this process
never interleave and a write never fails half-way on a lock upgrade.
PostgreSQL: one asyncpg pool; concurrent writers are the database's business (the claim
uses ``FOR UPDATE SKIP LOCKED``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

SQLITE_BUSY_TIMEOUT_MS = 30_000


def normalize_url(url: str) -> str:
    """Accept plain ``sqlite://`` / ``postgresql://`` URLs and pick the async drivers."""
    parsed = make_url(url)
    if parsed.drivername in ("sqlite", "sqlite+pysqlite"):
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2", "postgresql+psycopg"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


def _sqlite_pragmas(immediate: bool) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" hook below issue BEGIN itself (pysqlite's implicit
        # transactions would defer the write lock to the first write statement).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return on_connect


@dataclass
class Engines:
    """The read engine and the write path of one database."""

    url: str
    reader: AsyncEngine
    writer: AsyncEngine
    dialect: str
    _write_lock: asyncio.Lock | None = field(default=None)

    @classmethod
    def create(cls, url: str, *, echo: bool = False) -> Engines:
        url = normalize_url(url)
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            database = parsed.database or ""
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            reader = create_async_engine(url, echo=echo, pool_size=4, max_overflow=4)
            writer = create_async_engine(url, echo=echo, pool_size=1, max_overflow=0, pool_timeout=600)
            for engine, immediate in ((reader, False), (writer, True)):
                event.listen(engine.sync_engine, "connect", _sqlite_pragmas(immediate))
                begin_sql = "BEGIN IMMEDIATE" if immediate else "BEGIN"
                event.listen(engine.sync_engine, "begin",
                             lambda conn, sql=begin_sql: conn.exec_driver_sql(sql))
            return cls(url=url, reader=reader, writer=writer, dialect="sqlite", _write_lock=asyncio.Lock())
        if parsed.get_backend_name() == "postgresql":
            engine = create_async_engine(url, echo=echo, pool_size=10, max_overflow=10, pool_pre_ping=True)
            return cls(url=url, reader=engine, writer=engine, dialect="postgresql")
        raise ValueError(f"unsupported storage URL {parsed.render_as_string()!r}")

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """One write transaction (committed on exit, rolled back on error)."""
        if self._write_lock is None:
            async with self.writer.begin() as conn:
                yield conn
            return
        async with self._write_lock, self.writer.begin() as conn:
            yield conn

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self.reader.connect() as conn:
            yield conn

    async def dispose(self) -> None:
        await self.reader.dispose()
        if self.writer is not self.reader:
            await self.writer.dispose()
