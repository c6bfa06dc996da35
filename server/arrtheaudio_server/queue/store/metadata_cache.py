"""The TMDB answer cache in the queue's database, so every instance (and every restart) shares
one lookup per title. Implements ``metadata.cache.MetadataCache``."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select

from arrtheaudio_server.clock import utcnow
from arrtheaudio_server.queue.store.database import Database
from arrtheaudio_server.queue.store.schema import METADATA_CACHE

M = METADATA_CACHE


class DatabaseMetadataCache:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, key: str) -> str | None:
        async with self.db.read() as conn:
            row = (
                await conn.execute(select(M.c.value).where(M.c.key == key, M.c.expires_at > utcnow()))
            ).first()
        return row[0] if row else None

    async def put(self, key: str, value: str, ttl_seconds: float) -> None:
        now = utcnow()
        row = {"key": key, "value": value, "expires_at": now + timedelta(seconds=ttl_seconds)}
        async with self.db.write() as conn:
            await conn.execute(
                self.db.dialect.upsert(M, [row], keys=("key",), replace=("value", "expires_at"))
            )
            # Expired entries go while we are here (cheap: bounded by what expired).
            await conn.execute(delete(M).where(M.c.expires_at <= now))
