"""What a watcher does with each event of a Watch* stream, shared by both clients.

Every stream ends with one ``final`` event; when that event carries ``error`` the watch
failed after it started (the server sends such errors in-band so HTTP clients behind
Envoy see them too), and we raise it like a failed call.
"""

from __future__ import annotations

from typing import Protocol

from google.rpc import status_pb2

from arrtheaudio import enums
from arrtheaudio.errors import Unavailable, error_from_status


class WatchEvent(Protocol):
    @property
    def type(self) -> int: ...

    @property
    def final(self) -> bool: ...

    @property
    def error(self) -> status_pb2.Status: ...

    def HasField(self, field_name: str) -> bool: ...


def raise_if_error(event: WatchEvent) -> None:
    if event.HasField("error") and event.error.code != 0:
        raise error_from_status(event.error)
    if event.type == enums.EventType.EVENT_TYPE_ERROR:
        raise error_from_status(status_pb2.Status(code=2, message="the server ended the watch with an error"))


def should_yield(event: WatchEvent, heartbeats: bool) -> bool:
    return heartbeats or event.type != enums.EventType.EVENT_TYPE_HEARTBEAT


def ended_early() -> Unavailable:
    """The stream closed without a final event: the server went away mid-watch."""
    return Unavailable("the server closed the watch stream before its final event")
