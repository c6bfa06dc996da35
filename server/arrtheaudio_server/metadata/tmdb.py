"""The original language of a movie or series, from TMDB.

Lookups by TMDB id (``/movie/{id}``, ``/tv/{id}``) or by an external id through
``/find/{id}?external_source=imdb_id|tvdb_id``. Answers — including "TMDB has no such
title" — are cached through ``MetadataCache`` for ``cache_ttl_days``, so a season costs one
request. Transport errors, timeouts, 429 and 5xx are retried with exponential backoff
(tenacity); a 429's ``Retry-After`` is honoured. When TMDB stays unreachable the lookup
returns None and the job carries on with the next step of the resolver chain: TMDB being
down never fails a job.
"""

from __future__ import annotations

import email.utils
import time
from typing import Any, Literal

import httpx
import structlog
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt

from arrtheaudio_server.config import TmdbSettings
from arrtheaudio_server.metadata.cache import MetadataCache

log = structlog.get_logger(__name__)

Kind = Literal["series", "movie"]
NOT_FOUND = ""  # cached value meaning "TMDB answered: no such title / no language"

# TMDB's own codes that are not ISO 639-1: "cn" is its code for Cantonese, whose audio
# tracks are tagged Chinese (chi/zho) in practice; "xx" means "no language".
_TMDB_CODES = {"cn": "zh", "xx": NOT_FOUND}


class _Retry(Exception):
    """A response worth another try; carries the server's Retry-After when it sent one."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


class TmdbClient:
    def __init__(
        self,
        settings: TmdbSettings,
        cache: MetadataCache | None = None,
        *,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self._settings = settings
        self._cache = cache
        self._own_http = http is None
        self._http = http or httpx.AsyncClient(timeout=httpx.Timeout(settings.timeout_seconds))
        self.requests_made = 0  # for logs and tests: how many HTTP requests really went out

    @property
    def enabled(self) -> bool:
        return self._settings.enabled and bool(self._settings.api_key)

    async def aclose(self) -> None:
        if self._own_http:
            await self._http.aclose()

    # -- public lookups -----------------------------------------------------------------

    async def original_language(
        self,
        *,
        kind: Kind | None = None,
        tmdb_id: int | None = None,
        imdb_id: str | None = None,
        tvdb_id: int | None = None,
    ) -> str | None:
        """TMDB's ``original_language`` (ISO 639-1, e.g. ``"ja"``) for the first id that resolves."""
        if not self.enabled:
            return None
        if tmdb_id is not None:
            kinds: tuple[Kind, ...] = (kind,) if kind else ("movie", "series")
            for each in kinds:
                found = await self._cached(f"tmdb:{each}:{tmdb_id}", self._by_tmdb_id, each, tmdb_id)
                if found:
                    return found
        if imdb_id:
            found = await self._cached(
                f"tmdb:find:imdb_id:{imdb_id}", self._by_external, "imdb_id", imdb_id, kind
            )
            if found:
                return found
        if tvdb_id is not None:
            found = await self._cached(
                f"tmdb:find:tvdb_id:{tvdb_id}", self._by_external, "tvdb_id", str(tvdb_id), kind
            )
            if found:
                return found
        return None

    # -- internals ----------------------------------------------------------------------

    async def _cached(self, key: str, fetch: Any, *args: Any) -> str | None:
        if self._cache is not None:
            hit = await self._cache.get(key)
            if hit is not None:
                log.debug("tmdb.cache_hit", key=key)
                return hit or None
        try:
            value = await fetch(*args)
        except Exception as exc:  # noqa: BLE001 - TMDB down, bad JSON, anything: the job goes on without it
            log.warning("tmdb.unavailable", key=key, error=str(exc) or type(exc).__name__)
            return None
        if value is None:
            return None  # an answer we must not remember (auth error, ...)
        if self._cache is not None:
            await self._cache.put(key, value, self._settings.cache_ttl_days * 86400)
        return value or None

    async def _by_tmdb_id(self, kind: Kind, tmdb_id: int) -> str | None:
        data = await self._get(f"/{'tv' if kind == 'series' else 'movie'}/{tmdb_id}")
        if data is None:
            return NOT_FOUND
        return self._language_of(data)

    async def _by_external(self, source: str, external_id: str, kind: Kind | None) -> str | None:
        data = await self._get(f"/find/{external_id}", external_source=source)
        if data is None:
            return NOT_FOUND
        order = ("tv_results", "movie_results") if kind == "series" else ("movie_results", "tv_results")
        for bucket in order:
            for item in data.get(bucket) or []:
                language = self._language_of(item)
                if language:
                    return language
        return NOT_FOUND

    @staticmethod
    def _language_of(data: dict[str, Any]) -> str:
        code = str(data.get("original_language") or "").strip().lower()
        return _TMDB_CODES.get(code, code)

    def _auth(self) -> tuple[dict[str, str], dict[str, str]]:
        key = self._settings.api_key
        # A v4 "API Read Access Token" is a JWT; a v3 key is 32 hex digits.
        if key.startswith("eyJ"):
            return {"Authorization": f"Bearer {key}"}, {}
        return {}, {"api_key": key}

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Retry) and exc.retry_after is not None:
            return min(exc.retry_after, self._settings.max_retry_after_seconds)
        return float(self._settings.retry_backoff_seconds * (2 ** (state.attempt_number - 1)))

    async def _get(self, path: str, **params: str) -> dict[str, Any] | None:
        """GET with retries; the JSON body, or None for 404. Raises when retries run out."""
        headers, auth_params = self._auth()
        url = self._settings.base_url.rstrip("/") + path
        async for attempt in AsyncRetrying(
            stop=stop_after_attempt(self._settings.max_retries + 1),
            wait=self._wait,
            retry=retry_if_exception_type((_Retry, httpx.TransportError)),
            reraise=True,
        ):
            with attempt:
                self.requests_made += 1
                response = await self._http.get(url, params={**params, **auth_params}, headers=headers)
                if response.status_code == 404:
                    return None
                if response.status_code == 429 or response.status_code >= 500:
                    raise _Retry(
                        f"TMDB answered {response.status_code}",
                        _retry_after_seconds(response.headers.get("Retry-After")),
                    )
                if response.status_code in (401, 403):
                    log.error("tmdb.auth_failed", status=response.status_code)
                    raise PermissionError("TMDB rejected the API key")
                response.raise_for_status()
                body = response.json()
                return body if isinstance(body, dict) else {}
        raise AssertionError("unreachable")  # pragma: no cover
