"""What differs between SQLite and PostgreSQL, in one small object per backend.

Everything else in the store is written once, against :class:`Dialect`. The differences:

* **engines** — SQLite: WAL (readers never wait for the writer), ``busy_timeout`` (another
  process holding the write lock is waited for), ``BEGIN IMMEDIATE`` on the one writer
  connection, and an asyncio lock around it (two writes of this process never interleave, a
  write never fails half-way on a lock upgrade). PostgreSQL: one asyncpg pool; concurrent
  writers are the database's business.
* **upsert** — both speak ``INSERT … ON CONFLICT DO UPDATE``; only the construct's module differs.
* **row locks** — PostgreSQL ``FOR UPDATE`` (READ COMMITTED would let two transactions each
  miss the other's change); SQLite needs none behind its single writer.
* **claim pick** — PostgreSQL ``FOR UPDATE SKIP LOCKED`` so concurrent claimers from any number
  of instances each take a different row and none waits.
* **notify** — PostgreSQL tells other instances what changed with ``pg_notify`` inside the
  same transaction (delivered at commit, dropped on rollback); SQLite serves one instance.
* **schema lock** — several PostgreSQL instances starting at once upgrade the schema once:
  a transaction-scoped advisory lock; SQLite's ``BEGIN IMMEDIATE`` already serializes.
* **day of a timestamp** in SQL (only the migrations' backfills need it).
"""

from __future__ import annotations

import asyncio
import contextlib
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import Column, Select, Table, event, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

SQLITE_BUSY_TIMEOUT_MS = 30_000
# Any constant both sides agree on; "arrt" in ASCII.
SCHEMA_LOCK_KEY = 0x61727274


def normalize_url(url: str) -> str:
    """Accept plain ``sqlite://`` / ``postgresql://`` URLs and pick the async drivers."""
    parsed = make_url(url)
    if parsed.drivername in ("sqlite", "sqlite+pysqlite"):
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2", "postgresql+psycopg"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


class Dialect(ABC):
    """One backend's answers to the questions the store asks; stateless, one per database."""

    name: ClassVar[str]
    # SQLite serves exactly one server instance (documented); PostgreSQL serves many.
    single_instance: ClassVar[bool]

    @abstractmethod
    def engines(self, url: str) -> tuple[AsyncEngine, AsyncEngine]:
        """The read engine and the write engine (the same one where the backend allows)."""

    @abstractmethod
    def write_guard(self) -> AbstractAsyncContextManager[Any]:
        """Held around every write transaction of this process."""

    @abstractmethod
    def _insert(self, table: Table) -> Any: ...

    def upsert(
        self,
        table: Table,
        rows: Sequence[Mapping[str, Any]],
        *,
        keys: Sequence[str],
        add: Sequence[str] = (),
        replace: Sequence[str] = (),
    ) -> Any:
        """Insert ``rows``; where a key exists, add the ``add`` columns to it and overwrite ``replace``."""
        stmt = self._insert(table).values(list(rows))
        excluded = stmt.excluded
        updates: dict[str, Any] = {name: table.c[name] + excluded[name] for name in add}
        updates.update({name: excluded[name] for name in replace})
        return stmt.on_conflict_do_update(index_elements=[table.c[k] for k in keys], set_=updates)

    def insert_if_absent(self, table: Table, row: Mapping[str, Any], *, keys: Sequence[str]) -> Any:
        """Insert ``row`` unless its key exists (``ON CONFLICT DO NOTHING``: no row comes back)."""
        return (
            self._insert(table)
            .values(dict(row))
            .on_conflict_do_nothing(index_elements=[table.c[k] for k in keys])
        )

    def lock_rows(self, select: Select[Any]) -> Select[Any]:
        """``select`` taking row locks until commit, where the backend needs them."""
        return select

    def claim_pick(self, select: Select[Any]) -> Select[Any]:
        """The claim's choice of row: never two claimers on one row, never one waiting on another."""
        return select

    @abstractmethod
    async def notify(self, conn: AsyncConnection, events: Sequence[Any], *, instance_id: str) -> None:
        """Tell other instances about ``events`` when ``conn``'s transaction commits."""

    @abstractmethod
    async def lock_schema(self, conn: AsyncConnection) -> None:
        """Make concurrent schema upgrades of one database take turns (until the transaction ends)."""

    @abstractmethod
    def day_sql(self, column: Column[Any]) -> str:
        """SQL for the UTC calendar day of a timestamp column, as the ``Date`` type stores it."""


class SqliteDialect(Dialect):
    name = "sqlite"
    single_instance = True

    def engines(self, url: str) -> tuple[AsyncEngine, AsyncEngine]:
        parsed = make_url(url)
        database = parsed.database or ""
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        reader = create_async_engine(url, pool_size=4, max_overflow=4)
        writer = create_async_engine(url, pool_size=1, max_overflow=0, pool_timeout=600)
        for engine, immediate in ((reader, False), (writer, True)):
            _sqlite_events(engine.sync_engine, immediate)
        return reader, writer

    def write_guard(self) -> AbstractAsyncContextManager[Any]:
        return self._lock

    def __init__(self) -> None:
        self._lock = asyncio.Lock()

    def _insert(self, table: Table) -> Any:
        return sqlite_insert(table)

    async def notify(self, conn: AsyncConnection, events: Sequence[Any], *, instance_id: str) -> None:
        """Nobody to tell: one SQLite database serves one instance, whose bus has the events."""

    async def lock_schema(self, conn: AsyncConnection) -> None:
        """Nothing to take: the write transaction's BEGIN IMMEDIATE already excludes other writers."""

    def day_sql(self, column: Column[Any]) -> str:
        # Timestamps are stored as naive UTC text; date() keeps its 'YYYY-MM-DD'.
        return f"date({column.name})"


class PostgresDialect(Dialect):
    name = "postgresql"
    single_instance = False

    def engines(self, url: str) -> tuple[AsyncEngine, AsyncEngine]:
        engine = create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)
        return engine, engine

    def write_guard(self) -> AbstractAsyncContextManager[Any]:
        return contextlib.nullcontext()

    def _insert(self, table: Table) -> Any:
        return pg_insert(table)

    def lock_rows(self, select: Select[Any]) -> Select[Any]:
        return select.with_for_update()

    def claim_pick(self, select: Select[Any]) -> Select[Any]:
        return select.with_for_update(skip_locked=True)

    async def notify(self, conn: AsyncConnection, events: Sequence[Any], *, instance_id: str) -> None:
        if not events:
            return
        from arrtheaudio_server.queue.events import notify_statement

        await conn.execute(*notify_statement(events, instance_id=instance_id))

    async def lock_schema(self, conn: AsyncConnection) -> None:
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY})

    def day_sql(self, column: Column[Any]) -> str:
        return f"CAST(({column.name} AT TIME ZONE 'UTC') AS date)"


def dialect_for(url: str) -> Dialect:
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        return SqliteDialect()
    if backend == "postgresql":
        return PostgresDialect()
    raise ValueError(f"unsupported storage URL {make_url(url).render_as_string()!r}")


def _sqlite_events(engine: Engine, immediate: bool) -> None:
    """``immediate``: the writer's engine (BEGIN IMMEDIATE, sets WAL)."""

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let the "begin" hook below issue BEGIN itself (pysqlite's implicit transactions
        # would defer the write lock to the first write statement).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        if immediate:
            # WAL is a property of the database file, set once by the writer (which opens it
            # first: the migration). A reader connecting while a write is open would wait on
            # this pragma for the write lock: the first health probe would time out.
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    event.listen(engine, "connect", on_connect)
    begin_sql = "BEGIN IMMEDIATE" if immediate else "BEGIN"
    event.listen(engine, "begin", lambda conn, sql=begin_sql: conn.exec_driver_sql(sql))


def dialect_named(name: str) -> Dialect:
    """The dialect object for SQLAlchemy's dialect name (migrations know the connection, not the URL)."""
    return {"sqlite": SqliteDialect, "postgresql": PostgresDialect}[name]()
