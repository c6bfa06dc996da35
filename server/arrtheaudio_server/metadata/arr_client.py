"""Reading a Sonarr or Radarr library over its v3 API.

``GET /api/v3/series`` (Sonarr's ``SeriesResource``) and ``GET /api/v3/movie`` (Radarr's
``MovieResource``), authenticated by the ``X-Api-Key`` header, each return every title with
its folder (``path``), its ``originalLanguage`` (``{id, name}``; Sonarr has it since v4) and
its ids (``tvdbId``, ``tmdbId``, ``imdbId``). We keep exactly those fields; the rest of the
(large) resources is ignored, so a new Arr version that adds fields changes nothing.

Transport errors and 5xx answers are retried a little (tenacity); a 401/403 is not (the key
is wrong, asking again will not help). Every failure becomes :class:`ArrUnavailable` with
a message a user can act on ("401: the API key was refused"), never a crash.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from arrtheaudio_server.config import ArrConnection

ArrKind = Literal["sonarr", "radarr"]
ENDPOINTS: dict[ArrKind, str] = {"sonarr": "/api/v3/series", "radarr": "/api/v3/movie"}
# Arr's placeholders for "no language": never an original language.
_NO_LANGUAGE = frozenset({"", "unknown", "any", "original"})


class ArrUnavailable(Exception):
    """The connection could not deliver its titles; the message says why, for logs and health."""


class _Retryable(Exception):
    pass


class _Language(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: int | None = None
    name: str | None = None


class _Resource(BaseModel):
    """The fields of SeriesResource / MovieResource we use (camelCase on the wire)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    title: str | None = None
    path: str | None = None
    original_language: _Language | None = Field(None, alias="originalLanguage")
    tvdb_id: int | None = Field(None, alias="tvdbId")
    tmdb_id: int | None = Field(None, alias="tmdbId")
    imdb_id: str | None = Field(None, alias="imdbId")


@dataclass(frozen=True, slots=True)
class ArrTitle:
    """One series or movie as its Arr sees it (``path`` still in the Arr's view)."""

    kind: Literal["series", "movie"]
    title: str
    path: str
    original_language: str | None  # the Arr's language name, e.g. "Japanese"
    tvdb_id: int | None = None
    tmdb_id: int | None = None
    imdb_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ArrTitle:
        return cls(**{key: data.get(key) for key in cls.__dataclass_fields__})


def _positive(value: int | None) -> int | None:
    return value if value and value > 0 else None  # the Arr sends 0 for "no such id"


def _title(kind: ArrKind, item: Any) -> ArrTitle | None:
    try:
        resource = _Resource.model_validate(item)
    except ValidationError:
        return None  # one odd entry must not cost the whole library
    if not resource.path:
        return None
    language = resource.original_language.name if resource.original_language else None
    if language is not None and language.strip().lower() in _NO_LANGUAGE:
        language = None
    return ArrTitle(
        kind="series" if kind == "sonarr" else "movie",
        title=resource.title or resource.path,
        path=resource.path,
        original_language=language,
        tvdb_id=_positive(resource.tvdb_id),
        tmdb_id=_positive(resource.tmdb_id),
        imdb_id=resource.imdb_id or None,
    )


class ArrClient:
    """Fetches one connection's titles. One instance per connection; ``aclose`` when done."""

    def __init__(
        self,
        kind: ArrKind,
        connection: ArrConnection,
        *,
        timeout_seconds: float,
        retries: int = 1,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.kind = kind
        self.connection = connection
        self._timeout = connection.timeout_seconds or timeout_seconds
        self._retries = retries
        self._own_http = http is None
        self._http = http or httpx.AsyncClient(timeout=httpx.Timeout(self._timeout))

    @property
    def name(self) -> str:
        return self.connection.name

    async def aclose(self) -> None:
        if self._own_http:
            await self._http.aclose()

    async def titles(self) -> list[ArrTitle]:
        """Every title of the library; raises :class:`ArrUnavailable` with the reason."""
        url = self.connection.url + ENDPOINTS[self.kind]
        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(self._retries + 1),
                wait=wait_exponential(multiplier=0.2, max=2.0),
                retry=retry_if_exception_type((_Retryable, httpx.TransportError)),
                reraise=True,
            ):
                with attempt:
                    response = await self._http.get(
                        url,
                        headers={"X-Api-Key": self.connection.api_key, "Accept": "application/json"},
                        timeout=self._timeout,
                    )
                    if response.status_code >= 500:
                        raise _Retryable(f"answered HTTP {response.status_code}")
                    body = self._body(response)
        except httpx.TimeoutException as exc:
            raise ArrUnavailable(f"no answer from {url} within {self._timeout:g} s") from exc
        except httpx.TransportError as exc:
            raise ArrUnavailable(f"cannot reach {url}: {exc or type(exc).__name__}") from exc
        except _Retryable as exc:
            raise ArrUnavailable(f"{url} {exc}") from exc
        titles = [title for item in body if (title := _title(self.kind, item)) is not None]
        return titles

    def _body(self, response: httpx.Response) -> list[Any]:
        if response.status_code in (401, 403):
            raise ArrUnavailable(
                f"HTTP {response.status_code}: the API key was refused "
                f"(check arr.{self.kind}[{self.connection.name}].api_key)"
            )
        if response.status_code != 200:
            raise ArrUnavailable(f"{response.request.url} answered HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError as exc:
            raise ArrUnavailable(
                f"{response.request.url} did not answer JSON (is this a {self.kind}?)"
            ) from exc
        if not isinstance(body, list):
            raise ArrUnavailable(f"{response.request.url} answered {type(body).__name__}, expected a list")
        return body
