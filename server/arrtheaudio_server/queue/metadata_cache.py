"""The TMDB answer cache in the queue's database, so every instance (and every restart)
shares one lookup per title. Implements ``metadata.cache.MetadataCache``."""

from __future__ import annotations

from arrtheaudio_server.queue.storage import QueueStorage


class DatabaseMetadataCache:
    def __init__(self, storage: QueueStorage) -> None:
        self._storage = storage

    async def get(self, key: str) -> str | None:
        return await self._storage.cache_get(key)

    async def put(self, key: str, value: str, ttl_seconds: float) -> None:
        await self._storage.cache_put(key, value, ttl_seconds)
