"""Where the server is and how to prove who we are: set once, used by every call.

Resolved from explicit arguments first, then the environment (``ARRTHEAUDIO_TARGET``,
``ARRTHEAUDIO_API_KEY``), then defaults, so scripts and the CLI agree on one precedence.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

DEFAULT_TARGET = "127.0.0.1:50051"
DEFAULT_TIMEOUT = 30.0
TARGET_ENV = "ARRTHEAUDIO_TARGET"
API_KEY_ENV = "ARRTHEAUDIO_API_KEY"
API_KEY_METADATA = "x-api-key"


@dataclass(frozen=True)
class ClientOptions:
    """Connection settings shared by ``Client`` and ``AsyncClient``.

    ``timeout`` applies to unary calls (seconds; ``None`` = no deadline); watch streams run
    without a deadline unless one is passed to the watcher. ``tls`` switches to a secure
    channel (system roots unless ``root_certificates`` is given), e.g. behind a TLS proxy.
    """

    target: str = DEFAULT_TARGET
    api_key: str | None = None
    timeout: float | None = DEFAULT_TIMEOUT
    tls: bool = False
    root_certificates: bytes | None = None
    channel_options: Sequence[tuple[str, Any]] = field(default_factory=tuple)

    @classmethod
    def resolve(
        cls,
        target: str | None = None,
        api_key: str | None = None,
        *,
        env: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> ClientOptions:
        """Explicit values win, then ``ARRTHEAUDIO_TARGET`` / ``ARRTHEAUDIO_API_KEY``, then defaults."""
        environ = os.environ if env is None else env
        return cls(
            target=target or environ.get(TARGET_ENV) or DEFAULT_TARGET,
            api_key=api_key or environ.get(API_KEY_ENV) or None,
            **kwargs,
        )

    def metadata(self) -> tuple[tuple[str, str], ...]:
        """Call metadata carrying the API key (empty when none is configured)."""
        return ((API_KEY_METADATA, self.api_key),) if self.api_key else ()
