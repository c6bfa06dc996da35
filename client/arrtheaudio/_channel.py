"""Channel construction for both transports, so sync and async clients connect alike."""

from __future__ import annotations

import grpc
import grpc.aio

from arrtheaudio.options import ClientOptions

# The two channel types under names the sync client's generator maps onto each other
# (``AsyncChannel`` → ``SyncChannel``, ``async_channel`` → ``sync_channel``; scripts/gen_client.py).
AsyncChannel = grpc.aio.Channel
SyncChannel = grpc.Channel

# Keep long watch streams alive through NATs and proxies that drop idle connections.
_DEFAULT_CHANNEL_OPTIONS: tuple[tuple[str, int], ...] = (
    ("grpc.keepalive_time_ms", 60_000),
    ("grpc.keepalive_permit_without_calls", 0),
    ("grpc.max_receive_message_length", 16 * 1024 * 1024),
)


def _channel_options(options: ClientOptions) -> list[tuple[str, object]]:
    merged = dict(_DEFAULT_CHANNEL_OPTIONS)
    merged.update(dict(options.channel_options))
    return list(merged.items())


def _credentials(options: ClientOptions) -> grpc.ChannelCredentials:
    return grpc.ssl_channel_credentials(root_certificates=options.root_certificates)


def sync_channel(options: ClientOptions) -> grpc.Channel:
    if options.tls:
        return grpc.secure_channel(options.target, _credentials(options), _channel_options(options))
    return grpc.insecure_channel(options.target, _channel_options(options))


def async_channel(options: ClientOptions) -> grpc.aio.Channel:
    """Must be called with the event loop running: an aio channel binds to the current loop."""
    if options.tls:
        return grpc.aio.secure_channel(options.target, _credentials(options), _channel_options(options))
    return grpc.aio.insecure_channel(options.target, _channel_options(options))
