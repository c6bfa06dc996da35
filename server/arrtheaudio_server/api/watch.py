"""The one streaming loop behind WatchJob, WatchBatch, WatchWebhook and WatchQueue.

Every stream has the same shape: subscribe first (so no change slips between the snapshot
and the feed), send the state as a SNAPSHOT, then an UPDATE per change, a HEARTBEAT when
nothing happened for a while (idle HTTP connections through Envoy and proxies stay open),
and end with a message marked ``final`` once the watched thing is terminal.

Watchers must never slow the workers down. The queue's subscription is already bounded;
on top of that a small pump task moves its events into a local buffer that collapses into
one "coalesced" marker when the client reads too slowly, so the subscription is always
drained promptly whatever the network does. A coalesced marker (and any event that does
not carry the new state itself) makes the stream re-read the state from the queue — at
most once per ``min_refresh_seconds``, so a hundred watchers of a busy batch cost a few
cheap reads per second, not one per job change each.

Errors before the first message become the RPC's status (a 404 over HTTP); after it, an
HTTP client could never see a trailer status, so they are sent in-band as an ERROR event
with ``final`` set and ``error`` filled.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import grpc
import structlog
from google.protobuf.message import Message
from google.rpc import code_pb2, status_pb2

from arrtheaudio_proto.v1 import common_pb2
from arrtheaudio_server.api.convert import job_to_pb, timestamp
from arrtheaudio_server.api.errors import abort, internal_status, status_for, to_api_error
from arrtheaudio_server.clock import utcnow
from arrtheaudio_server.queue.domain import QueueEvent
from arrtheaudio_server.queue.facade import Subscription

log = structlog.get_logger(__name__)

S = TypeVar("S")  # the watched state as protobuf (Job, Batch, Webhook, queue counts)
E = TypeVar("E", bound=Message)  # the stream's event message


@dataclass(frozen=True, slots=True)
class WatchConfig:
    # Sent when nothing changed for this long; well under common proxy idle timeouts.
    heartbeat_seconds: float = 15.0
    # Aggregate states (batch, webhook, queue) are re-read at most this often per watcher.
    min_refresh_seconds: float = 0.2
    # Events buffered per watcher before they collapse into one coalesced re-read.
    max_pending: int = 256


_COALESCED = QueueEvent(seq=-1, coalesced=True)


class _Feed:
    """Drains a subscription in the background into a bounded, collapsible buffer."""

    def __init__(self, subscription: Subscription, max_pending: int) -> None:
        self._subscription = subscription
        self._max_pending = max_pending
        self._pending: deque[QueueEvent] = deque()
        self._ready = asyncio.Event()
        self.ended = False
        self.failure: BaseException | None = None
        self._task = asyncio.create_task(self._pump(), name="watch-feed")

    async def _pump(self) -> None:
        try:
            async for event in self._subscription:
                if len(self._pending) >= self._max_pending:
                    self._pending.clear()
                    self._pending.append(_COALESCED)
                elif not (self._pending and self._pending[-1] is _COALESCED and event.coalesced):
                    self._pending.append(event)
                self._ready.set()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - reported in-band by the stream
            self.failure = exc
        finally:
            self.ended = True
            self._ready.set()

    async def wait(self, timeout: float) -> list[QueueEvent]:
        """Events since the last call; empty after ``timeout`` seconds of silence."""
        if not self._pending and not self.ended:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._ready.wait(), timeout)
        return self.drain()

    def drain(self) -> list[QueueEvent]:
        events = list(self._pending)
        self._pending.clear()
        self._ready.clear()
        return events

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task
        with contextlib.suppress(Exception):
            self._subscription.close()


@dataclass
class WatchSpec(Generic[S, E]):
    """What differs between the four streams."""

    load: Callable[[], Awaitable[S]]
    is_final: Callable[[S], bool]
    make_event: Callable[..., E]
    # For a job stream the event carries the new state itself; None means "re-read".
    state_from_event: Callable[[QueueEvent], S | None] | None = None


def _stamp(event: Message) -> None:
    stamp = timestamp(utcnow())
    event.time.CopyFrom(stamp)  # type: ignore[attr-defined]


async def watch_stream(
    context: grpc.aio.ServicerContext,
    subscription: Subscription,
    spec: WatchSpec[S, E],
    config: WatchConfig,
) -> AsyncIterator[E]:
    feed = _Feed(subscription, config.max_pending)
    sequence = 0

    def event(
        kind: int,
        state: S,
        job: common_pb2.Job | None = None,
        final: bool = False,
        error: status_pb2.Status | None = None,
    ) -> E:
        nonlocal sequence
        sequence += 1
        message = spec.make_event(sequence, kind, state, job, final, error)
        _stamp(message)
        return message

    try:
        try:
            state = await spec.load()
        except Exception as exc:
            error = to_api_error(exc)
            if error is not None:
                await abort(context, error)
            log.exception("watch.load_failed")
            await context.abort_with_status(_to_grpc(internal_status(exc)))
            raise  # pragma: no cover - abort_with_status raises
        final = spec.is_final(state)
        yield event(common_pb2.EVENT_TYPE_SNAPSHOT, state, final=final)
        if final:
            return
        last_refresh = time.monotonic()
        last_sent: tuple[S, common_pb2.Job | None] = (state, None)
        while True:
            batch = await feed.wait(config.heartbeat_seconds)
            outgoing: list[tuple[int, S, common_pb2.Job | None]] = []
            try:
                if feed.failure is not None:
                    raise feed.failure
                if feed.ended and not batch:
                    yield event(
                        common_pb2.EVENT_TYPE_ERROR,
                        state,
                        final=True,
                        error=status_pb2.Status(
                            code=code_pb2.UNAVAILABLE, message="the server is shutting down"
                        ),
                    )
                    return
                if not batch:
                    # Silence: re-read anyway (a change made by another instance sharing the
                    # queue publishes no local event), then UPDATE or HEARTBEAT.
                    fresh = await spec.load()
                    last_refresh = time.monotonic()
                    kind = common_pb2.EVENT_TYPE_HEARTBEAT if fresh == state else common_pb2.EVENT_TYPE_UPDATE
                    outgoing.append((kind, fresh, None))
                else:
                    direct = [spec.state_from_event(e) for e in batch] if spec.state_from_event else [None]
                    if all(s is not None for s in direct):
                        outgoing.extend((common_pb2.EVENT_TYPE_UPDATE, s, None) for s in direct)  # type: ignore[misc]
                    else:
                        wait = config.min_refresh_seconds - (time.monotonic() - last_refresh)
                        if wait > 0:
                            await asyncio.sleep(wait)
                            batch += feed.drain()
                        fresh = await spec.load()
                        last_refresh = time.monotonic()
                        jobs = [job_to_pb(e.job) for e in batch if e.job is not None and not e.coalesced]
                        if any(e.coalesced for e in batch) or not jobs:
                            outgoing.append((common_pb2.EVENT_TYPE_UPDATE, fresh, None))
                        else:
                            outgoing.extend((common_pb2.EVENT_TYPE_UPDATE, fresh, job) for job in jobs)
            except Exception as exc:  # noqa: BLE001 - after the first message: in-band
                log.warning("watch.failed", error=str(exc), error_type=type(exc).__name__)
                yield event(common_pb2.EVENT_TYPE_ERROR, state, final=True, error=status_for(exc))
                return
            final_index = _last_final_index(outgoing, spec)
            for index, (kind, new_state, job) in enumerate(outgoing):
                final = index == final_index
                if not final and kind == common_pb2.EVENT_TYPE_UPDATE and (new_state, job) == last_sent:
                    continue  # nothing the watcher has not seen
                state = new_state
                if kind == common_pb2.EVENT_TYPE_UPDATE:
                    last_sent = (new_state, job)
                yield event(kind, new_state, job, final=final)
                if final:
                    return
    finally:
        await feed.close()


def _last_final_index(outgoing: list[tuple[int, S, common_pb2.Job | None]], spec: WatchSpec[S, E]) -> int:
    """The index of the last message of a burst whose state is terminal (the stream's last)."""
    index = -1
    for i, (_, state, _) in enumerate(outgoing):
        if spec.is_final(state):
            index = i
    return index


def _to_grpc(status: status_pb2.Status) -> grpc.Status:
    from grpc_status import rpc_status

    return rpc_status.to_status(status)
