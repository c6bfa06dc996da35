"""The one event publisher: every queue state change goes out through :class:`EventBus`.

**Within one instance** events are in-process: the worker pool and the manager call
:meth:`EventBus.publish` (never awaiting anything), and each watcher — a gRPC stream of a
job, batch, webhook or the whole queue — reads its own :class:`EventSubscription`.

**Across instances** sharing one PostgreSQL queue, events travel by LISTEN/NOTIFY: the
instance that changes a job sends ``pg_notify`` (ideally inside the transaction that made
the change — PostgreSQL delivers it at commit, and not at all on rollback) with the ids
and the new status as a small JSON payload (:func:`notify_statement`, sent by the store's
PostgreSQL dialect). Every instance runs a
:class:`PostgresNotifyBridge` that LISTENs on the channel, ignores its own notifications
(its bus already had them), loads the job through a callback if it was given one, and
republishes the event on its local bus. If the LISTEN connection drops (PostgreSQL
restarted), the bridge reconnects with backoff and then asks every watcher to re-read
(:meth:`EventBus.resync`), because notifications sent meanwhile are lost.

Workers must never wait for a slow watcher, so a subscription's buffer is bounded: on
overflow its buffered events are dropped and replaced by one ``QueueEvent(coalesced=True)``
marker — the watcher re-reads the state it shows, then continues with new events.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog
from tenacity import AsyncRetrying, retry_if_exception, wait_exponential, wait_random

from arrtheaudio_server.queue.domain import Job, JobStatus, QueueEvent

if TYPE_CHECKING:
    import asyncpg

log = structlog.get_logger(__name__)

DEFAULT_BUFFER_SIZE = 256
DEFAULT_CHANNEL = "arrtheaudio_events"
PAYLOAD_VERSION = 1

JobLoader = Callable[[str], Awaitable[Job | None]]


# --- in-process publisher ---------------------------------------------------------------


def event_job_id(event: QueueEvent) -> str | None:
    return event.job.job_id if event.job is not None else event.job_id


def event_batch_id(event: QueueEvent) -> str | None:
    if event.batch_id is not None:
        return event.batch_id
    return event.job.batch_id if event.job is not None else None


def event_webhook_id(event: QueueEvent) -> str | None:
    if event.webhook_id is not None:
        return event.webhook_id
    return event.job.webhook_id if event.job is not None else None


class EventSubscription:
    """One watcher's bounded feed; implements :class:`~arrtheaudio_server.queue.facade.Subscription`.

    Iterate it with ``async for`` from one task; ``close()`` (from anywhere) ends the
    iteration at once. The filters are ANDed; none given means every event.
    """

    def __init__(
        self,
        bus: EventBus,
        *,
        job_id: str | None,
        batch_id: str | None,
        webhook_id: str | None,
        buffer_size: int,
    ) -> None:
        if buffer_size < 1:
            raise ValueError("buffer_size must be at least 1")
        self.job_id = job_id
        self.batch_id = batch_id
        self.webhook_id = webhook_id
        self.buffer_size = buffer_size
        self.dropped = 0  # events lost to overflows, for logs and tests
        self.overflows = 0
        self._bus = bus
        self._buffer: deque[QueueEvent] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False  # the watcher is gone: stop now
        self._ended = False  # the bus is closing: stop once drained

    # Subscription protocol

    def __aiter__(self) -> AsyncIterator[QueueEvent]:
        return self

    async def __anext__(self) -> QueueEvent:
        while True:
            with self._bus._lock:
                if self._closed:
                    raise StopAsyncIteration
                if self._buffer:
                    return self._buffer.popleft()
                if self._ended:
                    raise StopAsyncIteration
                self._loop = asyncio.get_running_loop()
                waiter = self._loop.create_future()
                self._waiter = waiter
            try:
                await waiter
            finally:
                with self._bus._lock:
                    if self._waiter is waiter:
                        self._waiter = None

    def close(self) -> None:
        with self._bus._lock:
            self._closed = True
            self._buffer.clear()
            self._bus._subscriptions.discard(self)
            self._wake_locked()

    # extras

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def pending(self) -> int:
        """Events buffered and not yet read."""
        return len(self._buffer)

    def get_nowait(self) -> QueueEvent | None:
        """The next buffered event, or None; for callers that poll instead of iterating."""
        with self._bus._lock:
            return self._buffer.popleft() if self._buffer and not self._closed else None

    def __enter__(self) -> EventSubscription:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def matches(self, event: QueueEvent) -> bool:
        if self.job_id is not None and event_job_id(event) != self.job_id:
            return False
        if self.batch_id is not None and event_batch_id(event) != self.batch_id:
            return False
        return self.webhook_id is None or event_webhook_id(event) == self.webhook_id

    # called by the bus, with the bus lock held

    def _marker(self, seq: int) -> QueueEvent:
        return QueueEvent(
            seq=seq, job_id=self.job_id, batch_id=self.batch_id, webhook_id=self.webhook_id, coalesced=True
        )

    def _push_locked(self, event: QueueEvent) -> None:
        if len(self._buffer) >= self.buffer_size:
            # Everything buffered and this event collapse into one "re-read" marker.
            self.dropped += len(self._buffer) + 1
            self.overflows += 1
            self._buffer.clear()
            self._buffer.append(self._marker(event.seq))
        else:
            self._buffer.append(event)
        self._wake_locked()

    def _resync_locked(self, seq: int) -> None:
        if self._buffer and self._buffer[-1].coalesced:
            return
        if len(self._buffer) >= self.buffer_size:
            self.dropped += len(self._buffer)
            self.overflows += 1
            self._buffer.clear()
        self._buffer.append(self._marker(seq))
        self._wake_locked()

    def _end_locked(self) -> None:
        self._ended = True
        self._wake_locked()

    def _wake_locked(self) -> None:
        waiter, loop = self._waiter, self._loop
        if waiter is None or loop is None or waiter.done():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            waiter.set_result(None)
        elif not loop.is_closed():
            # Published from another thread (e.g. storage work in a worker thread).
            loop.call_soon_threadsafe(_resolve, waiter)


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class EventBus:
    """Fan-out of queue events to subscriptions; ``publish`` never blocks and never awaits.

    Thread-safe: publishing from a worker thread wakes watchers on their own loop.
    """

    def __init__(self, *, buffer_size: int = DEFAULT_BUFFER_SIZE) -> None:
        self.buffer_size = buffer_size
        self._lock = threading.Lock()
        self._subscriptions: set[EventSubscription] = set()
        self._seq = itertools.count(1)
        self._last_seq = 0
        self._closed = False

    def next_seq(self) -> int:
        """The next sequence number of this publisher (1, 2, …), unique and increasing."""
        with self._lock:
            self._last_seq = next(self._seq)
            return self._last_seq

    def publish(self, event: QueueEvent) -> None:
        with self._lock:
            for subscription in self._subscriptions:
                if subscription.matches(event):
                    subscription._push_locked(event)

    def resync(self) -> None:
        """Tell every watcher to re-read its state (events may have been missed)."""
        seq = self.next_seq()
        with self._lock:
            for subscription in self._subscriptions:
                subscription._resync_locked(seq)

    def subscribe(
        self,
        *,
        job_id: str | None = None,
        batch_id: str | None = None,
        webhook_id: str | None = None,
        buffer_size: int | None = None,
    ) -> EventSubscription:
        subscription = EventSubscription(
            self,
            job_id=job_id,
            batch_id=batch_id,
            webhook_id=webhook_id,
            buffer_size=buffer_size or self.buffer_size,
        )
        with self._lock:
            if self._closed:
                subscription._ended = True
            else:
                self._subscriptions.add(subscription)
        return subscription

    @property
    def subscriber_count(self) -> int:
        return len(self._subscriptions)

    def close(self) -> None:
        """End every subscription once it has drained what is buffered (server shutdown)."""
        with self._lock:
            self._closed = True
            for subscription in self._subscriptions:
                subscription._end_locked()
            self._subscriptions.clear()


# --- across instances: PostgreSQL LISTEN/NOTIFY -------------------------------------------


@dataclass(frozen=True, slots=True)
class NotifyPayload:
    """What crosses instances: ids and the new status, never the row (NOTIFY max 8000 bytes)."""

    instance_id: str | None
    job_id: str | None = None
    status: JobStatus | None = None
    batch_id: str | None = None
    webhook_id: str | None = None

    @classmethod
    def from_event(cls, event: QueueEvent, instance_id: str | None) -> NotifyPayload:
        status = event.job.status if event.job is not None else event.status
        return cls(
            instance_id=instance_id,
            job_id=event_job_id(event),
            status=status,
            batch_id=event_batch_id(event),
            webhook_id=event_webhook_id(event),
        )

    def encode(self) -> str:
        return json.dumps(
            {
                "v": PAYLOAD_VERSION,
                "instance": self.instance_id,
                "job_id": self.job_id,
                "status": self.status.value if self.status else None,
                "batch_id": self.batch_id,
                "webhook_id": self.webhook_id,
            },
            separators=(",", ":"),
        )

    @classmethod
    def decode(cls, text: str) -> NotifyPayload:
        """Parse a payload; raises ValueError for anything that is not one of ours."""
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("v") != PAYLOAD_VERSION:
            raise ValueError(f"not an event payload: {text[:100]!r}")

        def text_or_none(key: str) -> str | None:
            value = data.get(key)
            if value is not None and not isinstance(value, str):
                raise ValueError(f"{key} must be a string")
            return value

        status = text_or_none("status")
        return cls(
            instance_id=text_or_none("instance"),
            job_id=text_or_none("job_id"),
            status=JobStatus(status) if status else None,
            batch_id=text_or_none("batch_id"),
            webhook_id=text_or_none("webhook_id"),
        )


def to_asyncpg_dsn(url: str) -> str:
    """``postgresql+asyncpg://…`` (SQLAlchemy) → ``postgresql://…`` (asyncpg / libpq)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if not parsed.drivername.startswith("postgres"):
        raise ValueError(f"not a PostgreSQL URL: {parsed.drivername}")
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def notify_statement(
    events: Sequence[QueueEvent], *, instance_id: str | None = None, channel: str = DEFAULT_CHANNEL
) -> tuple[Any, dict[str, Any]]:
    """One statement that sends every one of ``events`` (in order), for an SQLAlchemy
    connection inside its transaction: one round trip however many events a write made."""
    from sqlalchemy import text

    payloads = [NotifyPayload.from_event(event, instance_id).encode() for event in events]
    # A function scan over unnest yields the array in order, so the notifications go out in order.
    statement = text("SELECT pg_notify(:channel, payload) FROM unnest(CAST(:payloads AS text[])) AS payload")
    return statement, {"channel": channel, "payloads": payloads}


def _retryable(exc: BaseException) -> bool:
    return not isinstance(exc, asyncio.CancelledError)


class PostgresNotifyBridge:
    """LISTENs for other instances' events and republishes them on the local bus.

    One connection, held open; if it drops it is re-established with exponential
    backoff (tenacity) for as long as the bridge runs, then every watcher is resynced.
    A ``SELECT 1`` every ``ping_interval`` seconds notices a connection that died silently.
    """

    def __init__(
        self,
        url: str,
        bus: EventBus,
        *,
        instance_id: str,
        loader: JobLoader | None = None,
        channel: str = DEFAULT_CHANNEL,
        max_backoff: float = 5.0,
        ping_interval: float = 10.0,
        connect_timeout: float = 5.0,
        max_pending: int = 10_000,
    ) -> None:
        self.dsn = to_asyncpg_dsn(url)
        self.bus = bus
        self.instance_id = instance_id
        self.loader = loader
        self.channel = channel
        self.max_backoff = max_backoff
        self.ping_interval = ping_interval
        self.connect_timeout = connect_timeout
        self.received = 0  # notifications from other instances
        self.reconnects = 0
        self._incoming: asyncio.Queue[NotifyPayload] = asyncio.Queue(maxsize=max_pending)
        self._overflowed = False
        self._connected = asyncio.Event()
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []
        self._conn: asyncpg.Connection | None = None

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    async def start(self, timeout: float = 10.0) -> None:
        """Start listening; returns once LISTEN is active. Raises TimeoutError (and stops) if
        PostgreSQL cannot be reached within ``timeout``."""
        if self._tasks:
            return
        self._stopping = False
        self._tasks = [
            asyncio.create_task(self._supervise(), name="notify-bridge-listen"),
            asyncio.create_task(self._dispatch(), name="notify-bridge-dispatch"),
        ]
        try:
            await self.wait_connected(timeout)
        except TimeoutError:
            await self.stop()
            raise

    async def wait_connected(self, timeout: float) -> None:
        await asyncio.wait_for(self._connected.wait(), timeout)

    async def stop(self) -> None:
        self._stopping = True
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._connected.clear()

    async def __aenter__(self) -> PostgresNotifyBridge:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # --- internals --------------------------------------------------------------------

    async def _connect(self) -> asyncpg.Connection:
        import asyncpg

        async for attempt in AsyncRetrying(
            wait=wait_exponential(multiplier=0.05, min=0.05, max=self.max_backoff) + wait_random(0, 0.05),
            retry=retry_if_exception(_retryable),
            reraise=True,
        ):
            with attempt:
                try:
                    return await asyncpg.connect(self.dsn, timeout=self.connect_timeout)
                except Exception as exc:
                    number = attempt.retry_state.attempt_number
                    if number in (1, 10) or number % 50 == 0:  # logged, not flooded, while PG is down
                        log.warning("events.listen_connect_failed", error=str(exc), attempt=number)
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def _supervise(self) -> None:
        first = True
        while not self._stopping:
            conn = await self._connect()
            lost = asyncio.Event()
            try:
                conn.add_termination_listener(lambda _conn, lost=lost: lost.set())
                await conn.add_listener(self.channel, self._on_notification)
            except Exception as exc:  # noqa: BLE001 - the server went away between connect and LISTEN
                log.warning("events.listen_failed", error=str(exc))
                conn.terminate()
                continue
            self._conn = conn
            if not first:
                self.reconnects += 1
                log.info("events.listen_reconnected", reconnects=self.reconnects)
                # Whatever was notified while we were away is lost: watchers re-read.
                self.bus.resync()
            first = False
            self._connected.set()
            try:
                await self._watch(conn, lost)
            finally:
                self._connected.clear()
                self._conn = None
                if not conn.is_closed():
                    conn.terminate()

    async def _watch(self, conn: asyncpg.Connection, lost: asyncio.Event) -> None:
        while not lost.is_set():
            try:
                await asyncio.wait_for(lost.wait(), self.ping_interval)
            except TimeoutError:
                try:
                    await asyncio.wait_for(conn.fetchval("SELECT 1"), self.connect_timeout)
                except Exception as exc:  # noqa: BLE001 - any failure means: reconnect
                    log.warning("events.listen_ping_failed", error=str(exc))
                    return

    def _on_notification(self, _conn: object, _pid: int, _channel: str, text: str) -> None:
        try:
            payload = NotifyPayload.decode(text)
        except (ValueError, TypeError) as exc:
            log.warning("events.bad_payload", error=str(exc))
            return
        if payload.instance_id == self.instance_id:
            return  # our own change: the local bus already published it
        self.received += 1
        try:
            self._incoming.put_nowait(payload)
        except asyncio.QueueFull:
            # Far behind: drop this one and have every watcher re-read once we catch up.
            self._overflowed = True

    async def _dispatch(self) -> None:
        while True:
            payload = await self._incoming.get()
            job: Job | None = None
            if self.loader is not None and payload.job_id is not None:
                try:
                    job = await self.loader(payload.job_id)
                except Exception as exc:  # noqa: BLE001 - an event without its row is still an event
                    log.warning("events.load_failed", job_id=payload.job_id, error=str(exc))
            self.bus.publish(
                QueueEvent(
                    seq=self.bus.next_seq(),
                    job=job,
                    job_id=payload.job_id,
                    status=job.status if job is not None else payload.status,
                    batch_id=payload.batch_id,
                    webhook_id=payload.webhook_id,
                )
            )
            if self._overflowed and self._incoming.empty():
                self._overflowed = False
                self.bus.resync()
