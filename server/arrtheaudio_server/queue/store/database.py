"""The one way the store runs SQL: an async transaction to read in, or one to write in.

``async with db.read() as conn`` / ``async with db.write() as conn`` on both backends; the
backend's particulars (engines, SQLite's single writer) come from the :class:`Dialect`.
A write commits when the block exits and rolls back when it raises; callers answer their
own callers only after that, so nothing acknowledged can be lost to a crash.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from arrtheaudio_server.queue.store.dialect import Dialect, dialect_for, normalize_url


@dataclass
class Database:
    url: str
    dialect: Dialect
    reader: AsyncEngine
    writer: AsyncEngine

    @classmethod
    def open(cls, url: str) -> Database:
        url = normalize_url(url)
        dialect = dialect_for(url)
        reader, writer = dialect.engines(url)
        return cls(url=url, dialect=dialect, reader=reader, writer=writer)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """One write transaction (committed on exit, rolled back on error)."""
        async with self.dialect.write_guard(), self.writer.begin() as conn:
            yield conn

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """One read transaction: on SQLite one WAL snapshot, so its statements agree."""
        async with self.reader.connect() as conn, conn.begin():
            yield conn

    async def dispose(self) -> None:
        await self.reader.dispose()
        if self.writer is not self.reader:
            await self.writer.dispose()
