"""A local stand-in for a Sonarr or Radarr v3 API: a real HTTP server on a free port.

It answers ``GET /api/v3/series`` (Sonarr) or ``GET /api/v3/movie`` (Radarr) with resources
in the shape of Sonarr's ``SeriesResource`` / Radarr's ``MovieResource`` (camelCase, the
many fields we ignore included, ``originalLanguage`` as ``{id, name}``), checks the
``X-Api-Key`` header (401 with the Arr's body otherwise), and can be made slow (``delay``),
broken (``status``) or unreachable (``stop()``) while a test runs.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

# Sonarr/Radarr language ids (NzbDrone.Core.Languages.Language).
LANGUAGE_IDS = {
    "English": 1,
    "French": 2,
    "Spanish": 3,
    "German": 4,
    "Italian": 5,
    "Japanese": 8,
    "Korean": 21,
}
_ids = itertools.count(1)


def series_resource(
    title: str,
    path: str,
    *,
    language: str | None,
    tvdb_id: int = 0,
    tmdb_id: int = 0,
    imdb_id: str = "",
) -> dict[str, Any]:
    """One Sonarr v4 SeriesResource as ``GET /api/v3/series`` lists it."""
    folder = path.rstrip("/").rsplit("/", 1)[-1]
    resource: dict[str, Any] = {
        "id": next(_ids),
        "title": title,
        "alternateTitles": [],
        "sortTitle": title.lower(),
        "status": "continuing",
        "ended": False,
        "overview": f"{title}, an overview.",
        "network": "NHK",
        "airTime": "21:00",
        "images": [
            {"coverType": "poster", "url": "/MediaCover/1/poster.jpg", "remoteUrl": "https://x/p.jpg"}
        ],
        "seasons": [{"seasonNumber": 1, "monitored": True, "statistics": {"episodeFileCount": 3}}],
        "year": 2021,
        "path": path,
        "qualityProfileId": 1,
        "seasonFolder": True,
        "monitored": True,
        "monitorNewItems": "all",
        "useSceneNumbering": False,
        "runtime": 24,
        "tvdbId": tvdb_id,
        "tvRageId": 0,
        "tvMazeId": 0,
        "tmdbId": tmdb_id,
        "firstAired": "2021-04-01T00:00:00Z",
        "lastAired": "2021-06-24T00:00:00Z",
        "seriesType": "standard",
        "cleanTitle": title.replace(" ", "").lower(),
        "imdbId": imdb_id,
        "titleSlug": folder.lower().replace(" ", "-"),
        "rootFolderPath": path.rsplit("/", 1)[0],
        "folder": folder,
        "certification": "TV-14",
        "genres": ["Drama"],
        "tags": [],
        "added": "2024-01-01T00:00:00Z",
        "ratings": {"votes": 10, "value": 8.1},
        "statistics": {"seasonCount": 1, "episodeFileCount": 3, "episodeCount": 3, "sizeOnDisk": 1000},
        "languageProfileId": 1,
    }
    if language is not None:
        resource["originalLanguage"] = {"id": LANGUAGE_IDS.get(language, 0), "name": language}
    return resource


def movie_resource(
    title: str, path: str, *, language: str | None, tmdb_id: int = 0, imdb_id: str = ""
) -> dict[str, Any]:
    """One Radarr MovieResource as ``GET /api/v3/movie`` lists it."""
    resource: dict[str, Any] = {
        "id": next(_ids),
        "title": title,
        "originalTitle": title,
        "alternateTitles": [],
        "secondaryYearSourceId": 0,
        "sortTitle": title.lower(),
        "sizeOnDisk": 1000,
        "status": "released",
        "overview": f"{title}, an overview.",
        "images": [],
        "year": 2019,
        "hasFile": True,
        "path": path,
        "qualityProfileId": 1,
        "monitored": True,
        "minimumAvailability": "released",
        "isAvailable": True,
        "folderName": path,
        "runtime": 101,
        "cleanTitle": title.replace(" ", "").lower(),
        "imdbId": imdb_id,
        "tmdbId": tmdb_id,
        "titleSlug": str(tmdb_id),
        "rootFolderPath": path.rsplit("/", 1)[0],
        "genres": ["Drama"],
        "tags": [],
        "added": "2024-01-01T00:00:00Z",
        "ratings": {"imdb": {"votes": 10, "value": 7.0, "type": "user"}},
        "popularity": 3.2,
    }
    if language is not None:
        resource["originalLanguage"] = {"id": LANGUAGE_IDS.get(language, 0), "name": language}
    return resource


@dataclass
class FakeArr:
    kind: Literal["sonarr", "radarr"]
    api_key: str = "arr-key-0123456789abcdef"
    resources: list[dict[str, Any]] = field(default_factory=list)
    delay: float = 0.0  # seconds before answering (a slow Arr, or one past the client's timeout)
    status: int = 200  # e.g. 500 for a broken Arr
    requests: list[dict[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        self._running = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def endpoint(self) -> str:
        return "/api/v3/series" if self.kind == "sonarr" else "/api/v3/movie"

    def connection(self, name: str | None = None, **extra: Any) -> dict[str, Any]:
        """The ``arr.<kind>`` config entry pointing here."""
        return {"name": name or self.kind, "url": self.url, "api_key": self.api_key, **extra}

    def hits(self) -> int:
        with self._lock:
            return len(self.requests)

    def stop(self) -> None:
        """Unreachable from now on: connections are refused."""
        if self._running:
            self._running = False
            self._server.shutdown()
            self._server.server_close()

    close = stop

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: Any) -> None:
                payload = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def do_GET(self) -> None:
                with fake._lock:
                    fake.requests.append({"path": self.path, "api_key": self.headers.get("X-Api-Key", "")})
                if fake.delay:
                    time.sleep(fake.delay)
                if self.headers.get("X-Api-Key") != fake.api_key:
                    self._send(401, {"error": "Unauthorized"})
                    return
                if self.path.split("?")[0] != fake.endpoint:
                    self._send(404, {"message": "NotFound"})
                    return
                if fake.status != 200:
                    self._send(fake.status, {"message": "Internal Server Error"})
                    return
                self._send(200, fake.resources)

        return Handler
