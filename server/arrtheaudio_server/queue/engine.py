"""Async engines for the two backends, and SQLite's single writer path.

SQLite: WAL (readers never wait for the writer), ``busy_timeout`` (another process that
holds the write lock is waited for, not an error), and every write goes through one
connection behind one asyncio lock with ``BEGIN IMMEDIATE``, so two writes of this process
never interleave and a write never fails half-way on a lock upgrade.
PostgreSQL: one asyncpg pool; concurrent writers are the database's business (the claim
uses ``FOR UPDATE SKIP LOCKED``).

Hot paths (the grouped enqueue, the status reads) run a whole transaction as one plain
function of a synchronous ``Connection`` (:meth:`Engines.run_write`, :meth:`Engines.run_read`).
On SQLite that function runs on a pysqlite connection in a thread of its own: ONE thread hop
per transaction, instead of one (or three: execute, fetch, close) per statement through
aiosqlite, each waiting for the GIL again. On PostgreSQL it runs through ``run_sync`` on the
asyncpg connection (asyncpg has no threads to hop).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

T = TypeVar("T")
# Readers on SQLite: WAL lets each read its own snapshot while the writer writes.
_SQLITE_READERS = 4

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
    # SQLite only: the same database through pysqlite, used from dedicated threads.
    sync_reader: Engine | None = field(default=None)
    sync_writer: Engine | None = field(default=None)
    _read_threads: ThreadPoolExecutor | None = field(default=None)
    _write_thread: ThreadPoolExecutor | None = field(default=None)

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
                _sqlite_events(engine.sync_engine, immediate)
            engines = cls(url=url, reader=reader, writer=writer, dialect="sqlite", _write_lock=asyncio.Lock())
            if database and database != ":memory:" and parsed.query.get("mode") != "memory":
                sync_url = parsed.set(drivername="sqlite+pysqlite")
                engines.sync_reader = create_engine(
                    sync_url, echo=echo, pool_size=_SQLITE_READERS, max_overflow=0
                )
                engines.sync_writer = create_engine(sync_url, echo=echo, pool_size=1, max_overflow=0)
                _sqlite_events(engines.sync_reader, False)
                _sqlite_events(engines.sync_writer, True)
                engines._read_threads = ThreadPoolExecutor(_SQLITE_READERS, thread_name_prefix="sqlite-read")
                engines._write_thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite-write")
            return engines
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

    async def run_write(self, fn: Callable[[Connection], T]) -> T:
        """``fn(conn)`` as one write transaction: committed when it returns, rolled back when it raises.

        The caller sees the result only after COMMIT returned, so nothing it acknowledges can
        be lost to a crash. SQLite: one hop to the writer thread, under the same lock as
        :meth:`write` (the two never interleave). A cancelled caller does not cut the
        transaction short: the lock is held until the thread is done.
        """
        if self.sync_writer is None:
            async with self.write() as conn:
                return await conn.run_sync(fn)
        assert self._write_lock is not None and self._write_thread is not None
        async with self._write_lock:
            return await _in_thread(self._write_thread, _transaction, self.sync_writer, fn)

    async def run_read(self, fn: Callable[[Connection], T]) -> T:
        """``fn(conn)`` in one read transaction (one snapshot: its statements agree with each other).

        SQLite: one hop to a reader thread; a WAL reader never waits for the writer.
        """
        if self.sync_reader is None:
            async with self.reader.connect() as conn:
                return await conn.run_sync(fn)
        assert self._read_threads is not None
        return await _in_thread(self._read_threads, _transaction, self.sync_reader, fn)

    async def dispose(self) -> None:
        await self.reader.dispose()
        if self.writer is not self.reader:
            await self.writer.dispose()
        for executor in (self._read_threads, self._write_thread):
            if executor is not None:
                await asyncio.get_running_loop().run_in_executor(None, executor.shutdown)
        for engine in (self.sync_reader, self.sync_writer):
            if engine is not None:
                engine.dispose()


def _sqlite_events(engine: Engine, immediate: bool) -> None:
    event.listen(engine, "connect", _sqlite_pragmas(immediate))
    begin_sql = "BEGIN IMMEDIATE" if immediate else "BEGIN"
    event.listen(engine, "begin", lambda conn, sql=begin_sql: conn.exec_driver_sql(sql))


def _transaction(engine: Engine, fn: Callable[[Connection], T]) -> T:
    with engine.begin() as conn:
        return fn(conn)


async def _in_thread(executor: ThreadPoolExecutor, func: Callable[..., T], *args: Any) -> T:
    """Run ``func`` in ``executor``; if the caller is cancelled, still wait for it to finish
    (a transaction half-way in a thread must not outlive the lock that guards it)."""
    future = asyncio.get_running_loop().run_in_executor(executor, func, *args)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        with contextlib.suppress(BaseException):
            await future
        raise
