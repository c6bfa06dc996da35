"""What a container writer returns when it could not do its job (errors are values)."""

from __future__ import annotations

from dataclasses import dataclass

from arrtheaudio_server.media.result import ReasonCode


@dataclass(frozen=True, slots=True)
class WriteFailure:
    reason_code: ReasonCode
    reason: str
