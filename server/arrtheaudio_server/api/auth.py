"""Who may call: the API key on every RPC, and the credentials Sonarr/Radarr can send.

Secure by default. Every RPC needs the API key, as gRPC metadata ``x-api-key`` or
``authorization: Bearer <key>`` (Envoy forwards the HTTP headers of the same names).
Health, reflection and the HTTP health path stay open so probes and grpcurl work.

The webhook RPCs check their own credentials, because Sonarr and Radarr cannot send a
bearer token: they offer HTTP Basic (their Username/Password fields), custom headers, or
a URL, so we accept the key in any of those (``?token=`` / ``?apikey=`` arrive as request
fields, which an interceptor cannot see). Every comparison is constant-time.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import grpc

# Methods that need no API key: probes, reflection, and the webhooks (checked in the servicer).
OPEN_METHOD_PREFIXES = (
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1alpha.ServerReflection/",
    "/grpc.reflection.v1.ServerReflection/",
    "/arrtheaudio.v1.AdminService/GetHealth",
    "/arrtheaudio.v1.WebhookService/SonarrWebhook",
    "/arrtheaudio.v1.WebhookService/RadarrWebhook",
    # The dashboard's HTML/CSS/JS hold no data; every call the pages make sends the key.
    "/arrtheaudio.v1.DashboardService/GetAsset",
)

Metadata = Iterable[tuple[str, str | bytes]]


def _same(given: str | None, expected: str | None) -> bool:
    if not given or not expected:
        return False
    return hmac.compare_digest(
        given.encode("utf-8", "surrogateescape"), expected.encode("utf-8", "surrogateescape")
    )


def _header(metadata: Metadata | None, name: str) -> str | None:
    for key, value in metadata or ():
        if key.lower() == name:
            return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    return None


def _basic(authorization: str | None) -> tuple[str, str] | None:
    if not authorization or authorization[:6].lower() != "basic ":
        return None
    try:
        user, sep, password = (
            base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8").partition(":")
        )
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


@dataclass(frozen=True)
class Credentials:
    api_key: str
    webhook_username: str | None = None
    webhook_password: str | None = None
    webhook_header: str = "x-api-key"

    def api_call_allowed(self, metadata: Metadata | None) -> bool:
        """The API key as ``x-api-key`` or ``authorization: Bearer``."""
        if _same(_header(metadata, "x-api-key"), self.api_key):
            return True
        authorization = _header(metadata, "authorization") or ""
        return authorization[:7].lower() == "bearer " and _same(authorization[7:].strip(), self.api_key)

    def webhook_allowed(self, metadata: Metadata | None, *, token: str = "", apikey: str = "") -> bool:
        """Any one way Sonarr/Radarr can carry a secret is enough.

        HTTP Basic matches the configured webhook username/password; when none are
        configured, Basic with the API key as password (any username) is accepted so users
        can paste the key into the Arr's Password field.
        """
        checks = [
            _same(token, self.api_key),
            _same(apikey, self.api_key),
            _same(_header(metadata, self.webhook_header.lower()), self.api_key),
            self.api_call_allowed(metadata),
        ]
        basic = _basic(_header(metadata, "authorization"))
        if basic is not None:
            user, password = basic
            if self.webhook_username and self.webhook_password:
                checks.append(_same(user, self.webhook_username) & _same(password, self.webhook_password))
            checks.append(_same(password, self.api_key))
        # Evaluate every check (no short-circuit) so timing does not tell which one failed.
        return any(checks)


class ApiKeyInterceptor(grpc.aio.ServerInterceptor):
    """Rejects every non-open RPC without the API key, before the servicer runs."""

    def __init__(self, credentials: Credentials) -> None:
        self._credentials = credentials

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        method = handler_call_details.method or ""
        if handler is None or method.startswith(OPEN_METHOD_PREFIXES):
            return handler
        if self._credentials.api_call_allowed(handler_call_details.invocation_metadata):
            return handler
        return _deny(handler)


_DENIED = "missing or wrong API key: send it as 'x-api-key' or 'authorization: Bearer <key>'"


def _deny(handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
    """A handler of the same shape as ``handler`` that answers UNAUTHENTICATED."""
    kwargs: dict[str, Any] = {
        "request_deserializer": handler.request_deserializer,
        "response_serializer": handler.response_serializer,
    }

    async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, _DENIED)

    async def streaming(request: Any, context: grpc.aio.ServicerContext) -> Any:
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, _DENIED)
        yield  # pragma: no cover - makes this an async generator

    if handler.unary_stream is not None:
        return grpc.unary_stream_rpc_method_handler(streaming, **kwargs)
    if handler.stream_unary is not None:  # pragma: no cover - the contract has no client streams
        return grpc.stream_unary_rpc_method_handler(unary, **kwargs)
    if handler.stream_stream is not None:  # pragma: no cover
        return grpc.stream_stream_rpc_method_handler(streaming, **kwargs)
    return grpc.unary_unary_rpc_method_handler(unary, **kwargs)
