"""Every title of the user's Sonarr/Radarr instances, indexed by the folder that holds it.

A library scan has no webhook to tell it a file's original language, but the Arr that
imported the file knows it: the title whose ``path`` holds the file (after
``path_mappings``; the longest such path wins, so ``/tv/Show/Extras`` of another title
beats ``/tv/Show``). This catalog answers that question from memory, in O(depth of the path).

Where the titles come from, and why:

* **the database cache** (``MetadataCache``, the same key/value TTL store TMDB uses), one
  entry per connection (``arr:titles:<kind>:<name>``, JSON, ``arr.cache_ttl_hours``): a
  restart, another instance or an Arr that is down right now still finds the titles;
* **the Arr itself** when the cache has nothing, and in the background every
  ``arr.refresh_interval_seconds`` (the server runs :meth:`ArrCatalog.run`; a long-lived
  process without it refreshes lazily on the first lookup after the interval).

A connection that is down, slow or refuses its key keeps its last titles, logs one clear
warning per state change and reports itself in :meth:`statuses` (shown by GetHealth and
``arrtheaudio arr test``); no lookup ever raises because of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import posixpath
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import structlog

from arrtheaudio_server.config import ArrSettings
from arrtheaudio_server.metadata.arr_client import ArrClient, ArrKind, ArrTitle, ArrUnavailable
from arrtheaudio_server.metadata.cache import MetadataCache
from arrtheaudio_server.metadata.hints import MediaHints

log = structlog.get_logger(__name__)

State = Literal["ok", "error", "unknown"]


@dataclass(frozen=True, slots=True)
class ConnectionStatus:
    """How one connection fared the last time we asked it (or read its cached titles)."""

    kind: ArrKind
    name: str
    url: str
    state: State
    title_count: int = 0
    message: str = ""
    checked_at: datetime | None = None  # when we last asked the Arr (not the cache)
    fetched_at: datetime | None = None  # when the titles we hold were fetched

    @property
    def ok(self) -> bool:
        return self.state == "ok"


@dataclass(frozen=True, slots=True)
class _Entry:
    title: ArrTitle
    connection: str  # "<kind>/<name>"


def cache_key(kind: ArrKind, name: str) -> str:
    return f"arr:titles:{kind}:{name}"


class ArrCatalog:
    """Built once from settings; ``map_path`` is the Arr → this machine path mapping."""

    def __init__(
        self,
        settings: ArrSettings,
        cache: MetadataCache | None,
        *,
        map_path: Callable[[str], str] = lambda path: path,
        clients: Sequence[ArrClient] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._cache = cache
        self._map_path = map_path
        self._clock = clock
        if clients is None:
            clients = [
                ArrClient(kind, connection, timeout_seconds=settings.timeout_seconds)
                for kind, connections in (("sonarr", settings.sonarr), ("radarr", settings.radarr))
                for connection in connections
            ]
        self._clients = list(clients)
        self._titles: dict[str, list[ArrTitle]] = {}  # "<kind>/<name>" -> its titles
        self._status: dict[str, ConnectionStatus] = {
            self._id(c): ConnectionStatus(kind=c.kind, name=c.name, url=c.connection.url, state="unknown")
            for c in self._clients
        }
        self._by_path: dict[str, _Entry] = {}
        self._by_id: dict[tuple[str, str], _Entry] = {}
        self._loaded = False
        self._loaded_at = 0.0
        self._load_lock = asyncio.Lock()
        self._refreshing: asyncio.Task[list[ConnectionStatus]] | None = None
        self._loop_task: asyncio.Task[None] | None = None

    @staticmethod
    def _id(client: ArrClient) -> str:
        return f"{client.kind}/{client.name}"

    @property
    def enabled(self) -> bool:
        return bool(self._clients)

    @property
    def title_count(self) -> int:
        return sum(len(titles) for titles in self._titles.values())

    def statuses(self) -> list[ConnectionStatus]:
        return [self._status[self._id(client)] for client in self._clients]

    # --- lookups -------------------------------------------------------------------------

    async def lookup(self, path: Path, hints: MediaHints | None = None) -> ArrTitle | None:
        """The title whose folder holds ``path`` (deepest first), else one with the hints' ids."""
        if not self._clients:
            return None
        await self._ensure_loaded()
        # Pure string work (posixpath, no disk access): the index holds normalized real paths.
        text = posixpath.normpath(str(path))
        while True:
            entry = self._by_path.get(text)
            if entry is not None:
                return entry.title
            parent = posixpath.dirname(text)
            if parent == text:
                break
            text = parent
        if hints is not None:
            for key in (
                ("tvdb", str(hints.tvdb_id) if hints.tvdb_id else ""),
                ("tmdb", str(hints.tmdb_id) if hints.tmdb_id else ""),
                ("imdb", hints.imdb_id or ""),
            ):
                if key[1] and (entry := self._by_id.get(key)) is not None:
                    return entry.title
        return None

    # --- loading and refreshing ----------------------------------------------------------

    async def _ensure_loaded(self) -> None:
        if not self._loaded:
            async with self._load_lock:
                if not self._loaded:
                    await self._load()
            return
        stale = self._clock() - self._loaded_at >= self._settings.refresh_interval_seconds
        if stale and self._loop_task is None and (self._refreshing is None or self._refreshing.done()):
            # Lazily, without making this lookup wait: the old titles serve meanwhile.
            self._refreshing = asyncio.create_task(self.refresh(), name="arr-refresh")

    async def _load(self) -> None:
        """First use: the cached titles of every connection; the Arr itself for those without."""
        missing: list[ArrClient] = []
        for client in self._clients:
            cached = await self._read_cache(client)
            if cached is None:
                missing.append(client)
                continue
            fetched_at, titles = cached
            self._titles[self._id(client)] = titles
            self._status[self._id(client)] = replace(
                self._status[self._id(client)],
                title_count=len(titles),
                message=f"{len(titles)} titles from the cache (fetched {fetched_at:%Y-%m-%d %H:%M} UTC)",
                fetched_at=fetched_at,
            )
        if missing:
            await self._fetch_all(missing)
        else:
            await self._rebuild()
        self._loaded = True
        self._loaded_at = self._clock()

    async def refresh(self) -> list[ConnectionStatus]:
        """Ask every connection now; titles of the ones that answer replace the old ones.

        Under the load lock: a first lookup that arrives meanwhile waits for these titles
        instead of fetching the same libraries a second time.
        """
        async with self._load_lock:
            await self._fetch_all(self._clients)
            self._loaded = True
            self._loaded_at = self._clock()
        return self.statuses()

    async def _fetch_all(self, clients: Sequence[ArrClient]) -> None:
        await asyncio.gather(*(self._fetch(client) for client in clients))
        await self._rebuild()

    async def _fetch(self, client: ArrClient) -> None:
        key = self._id(client)
        before = self._status[key]
        now = datetime.now(UTC)
        try:
            titles = await client.titles()
        except ArrUnavailable as exc:
            message = str(exc)
            if before.state != "error" or before.message != message:
                log.warning(
                    "arr.unavailable", connection=key, error=message, keeps=len(self._titles.get(key, []))
                )
            held = len(self._titles.get(key, []))
            self._status[key] = replace(
                before,
                state="error",
                message=message + (f"; using {held} titles fetched earlier" if held else ""),
                title_count=held,
                checked_at=now,
            )
            return
        except Exception as exc:
            log.exception("arr.refresh_failed", connection=key)
            self._status[key] = replace(
                before, state="error", message=f"internal error: {exc!r}", checked_at=now
            )
            return
        self._titles[key] = titles
        without = sum(1 for title in titles if not title.original_language)
        self._status[key] = ConnectionStatus(
            kind=client.kind,
            name=client.name,
            url=client.connection.url,
            state="ok",
            title_count=len(titles),
            message=f"{len(titles)} titles"
            + (f" ({without} without an original language)" if without else ""),
            checked_at=now,
            fetched_at=now,
        )
        if before.state != "ok":
            log.info("arr.connected", connection=key, titles=len(titles))
        await self._write_cache(client, now, titles)

    async def _rebuild(self) -> None:
        """The path and id indexes from the titles held; realpath (disk access) in a thread."""
        entries = [
            (_Entry(title, key), self._map_path(title.path))
            for key, titles in self._titles.items()
            for title in titles
        ]

        def build() -> tuple[dict[str, _Entry], dict[tuple[str, str], _Entry]]:
            by_path: dict[str, _Entry] = {}
            by_id: dict[tuple[str, str], _Entry] = {}
            for entry, local in entries:
                for variant in {os.path.normpath(local), os.path.realpath(local)}:
                    by_path.setdefault(variant, entry)  # the first connection listed wins a tie
                title = entry.title
                for id_key in (
                    ("tvdb", str(title.tvdb_id or "")),
                    ("tmdb", str(title.tmdb_id or "")),
                    ("imdb", title.imdb_id or ""),
                ):
                    if id_key[1]:
                        by_id.setdefault(id_key, entry)
            return by_path, by_id

        self._by_path, self._by_id = await asyncio.to_thread(build)

    async def _read_cache(self, client: ArrClient) -> tuple[datetime, list[ArrTitle]] | None:
        if self._cache is None:
            return None
        try:
            raw = await self._cache.get(cache_key(client.kind, client.name))
            if not raw:
                return None
            data = json.loads(raw)
            titles = [ArrTitle.from_dict(item) for item in data["titles"]]
            return datetime.fromisoformat(data["fetched_at"]), titles
        except Exception as exc:  # noqa: BLE001 - a bad cache entry is a miss
            log.warning("arr.cache_unreadable", connection=self._id(client), error=repr(exc))
            return None

    async def _write_cache(self, client: ArrClient, fetched_at: datetime, titles: list[ArrTitle]) -> None:
        if self._cache is None:
            return
        value = json.dumps(
            {"fetched_at": fetched_at.isoformat(), "titles": [title.to_dict() for title in titles]},
            separators=(",", ":"),
        )
        try:
            await self._cache.put(
                cache_key(client.kind, client.name), value, self._settings.cache_ttl_hours * 3600
            )
        except Exception as exc:  # noqa: BLE001 - the titles still serve from memory
            log.warning("arr.cache_write_failed", connection=self._id(client), error=repr(exc))

    # --- background refresh ---------------------------------------------------------------

    def start(self) -> None:
        """Refresh now and every ``refresh_interval_seconds`` until :meth:`aclose`."""
        if self._clients and self._loop_task is None:
            self._loop_task = asyncio.create_task(self.run(), name="arr-catalog")

    async def run(self) -> None:
        while True:
            try:
                await self.refresh()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - keep refreshing
                log.warning("arr.refresh_loop_failed", error=repr(exc))
            await asyncio.sleep(self._settings.refresh_interval_seconds)

    async def aclose(self) -> None:
        for task in (self._loop_task, self._refreshing):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._loop_task = self._refreshing = None
        for client in self._clients:
            await client.aclose()
