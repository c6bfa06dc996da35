"""Where looked-up metadata (TMDB original languages) is remembered between jobs.

A season of 24 episodes must cost one TMDB lookup, across restarts and instances: the
queue's storage implements ``MetadataCache`` in the database. ``InMemoryMetadataCache``
serves tests and the local CLI, where a process lives for one run.
Values are strings; the TMDB client stores ``""`` for "TMDB has no such title", so a
negative answer is remembered too.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable


@runtime_checkable
class MetadataCache(Protocol):
    async def get(self, key: str) -> str | None:
        """The stored value, or None when absent or expired."""
        ...

    async def put(self, key: str, value: str, ttl_seconds: float) -> None:
        """Store ``value`` under ``key`` for ``ttl_seconds`` (replacing any older value)."""
        ...


class InMemoryMetadataCache:
    """A dict with expiry; the clock is injectable so tests can move time."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._items: dict[str, tuple[str, float]] = {}

    async def get(self, key: str) -> str | None:
        item = self._items.get(key)
        if item is None:
            return None
        value, expires = item
        if self._clock() >= expires:
            del self._items[key]
            return None
        return value

    async def put(self, key: str, value: str, ttl_seconds: float) -> None:
        self._items[key] = (value, self._clock() + ttl_seconds)

    def __len__(self) -> int:
        return len(self._items)
