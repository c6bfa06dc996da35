"""The event bus (ordering, filters, bounded buffers) and the LISTEN/NOTIFY bridge on a real PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime

import pytest

from arrtheaudio_server.media.result import Container
from arrtheaudio_server.queue.domain import Job, JobStatus, Priority, QueueEvent, Source
from arrtheaudio_server.queue.events import EventBus, NotifyPayload, PostgresNotifyBridge, to_asyncpg_dsn
from arrtheaudio_server.queue.facade import Subscription
from arrtheaudio_server.queue.store.database import Database
from tests.support.postgres import PostgresServer


def job(
    job_id: str,
    *,
    batch_id: str | None = None,
    webhook_id: str | None = None,
    status: JobStatus = JobStatus.QUEUED,
) -> Job:
    return Job(
        job_id=job_id,
        file_path=f"/media/{job_id}.mkv",
        status=status,
        priority=Priority.NORMAL,
        container=Container.MKV,
        source=Source.MANUAL,
        created_at=datetime.now(UTC),
        batch_id=batch_id,
        webhook_id=webhook_id,
    )


def emit(
    bus: EventBus, *, job: Job | None = None, batch_id: str | None = None, webhook_id: str | None = None
) -> QueueEvent:
    """Publish the way the manager does (next seq, ids filled from the job) and return the event."""
    event = QueueEvent(
        seq=bus.next_seq(),
        job=job,
        batch_id=batch_id if batch_id is not None else (job.batch_id if job else None),
        webhook_id=webhook_id if webhook_id is not None else (job.webhook_id if job else None),
    )
    bus.publish(event)
    return event


async def notify(url: str, *events: QueueEvent, instance_id: str) -> None:
    """Another instance's write: the store's own notify, in a committed write transaction."""
    db = Database.open(url)
    try:
        async with db.write() as conn:
            await db.dialect.notify(conn, list(events), instance_id=instance_id)
    finally:
        await db.dispose()


async def next_event(sub: Subscription, timeout: float = 5.0) -> QueueEvent:
    return await asyncio.wait_for(anext(aiter(sub)), timeout)


def drain(sub) -> list[QueueEvent]:  # type: ignore[no-untyped-def]
    events = []
    while (event := sub.get_nowait()) is not None:
        events.append(event)
    return events


# --- EventBus -----------------------------------------------------------------------------


async def test_events_arrive_in_publish_order_with_increasing_seq() -> None:
    bus = EventBus()
    sub: Subscription = bus.subscribe()  # satisfies the facade's Protocol (checked by mypy)
    published = [emit(bus, job=job(f"j{i}")) for i in range(5)]
    received = [await next_event(sub) for _ in range(5)]
    assert received == published
    assert [e.seq for e in received] == sorted({e.seq for e in received})
    assert bus.next_seq() == published[-1].seq + 1


async def test_waiting_watcher_is_woken_by_publish() -> None:
    bus = EventBus()
    sub = bus.subscribe()
    waiting = asyncio.create_task(next_event(sub))
    await asyncio.sleep(0.01)
    assert not waiting.done()
    event = emit(bus, job=job("a"))
    assert await waiting == event


async def test_filters_match_job_batch_and_webhook_ids() -> None:
    bus = EventBus()
    by_job = bus.subscribe(job_id="j1")
    by_batch = bus.subscribe(batch_id="b1")
    by_webhook = bus.subscribe(webhook_id="w1")
    both = bus.subscribe(batch_id="b1", job_id="j2")
    everything = bus.subscribe()

    e1 = emit(bus, job=job("j1", batch_id="b1"))
    e2 = emit(bus, job=job("j2", webhook_id="w1"))
    e3 = emit(bus, job=job("j2", batch_id="b1"))
    e4 = emit(bus, batch_id="b1")  # a batch-level change, no job
    e5 = emit(bus, webhook_id="w1")
    # An event from another instance: ids only.
    e6 = QueueEvent(seq=bus.next_seq(), job_id="j1", status=JobStatus.RUNNING, batch_id="b2")
    bus.publish(e6)
    # A hand-built event whose ids live only on the job still matches.
    e7 = QueueEvent(seq=bus.next_seq(), job=job("j9", batch_id="b1", webhook_id="w1"))
    bus.publish(e7)

    assert drain(by_job) == [e1, e6]
    assert drain(by_batch) == [e1, e3, e4, e7]
    assert drain(by_webhook) == [e2, e5, e7]
    assert drain(both) == [e3]
    assert drain(everything) == [e1, e2, e3, e4, e5, e6, e7]


async def test_overflow_clears_buffer_and_sends_one_coalesced_marker_then_continues() -> None:
    bus = EventBus(buffer_size=4)
    slow = bus.subscribe(batch_id="b")
    for i in range(10):
        emit(bus, job=job(f"j{i}", batch_id="b"))
    # j0..j3 buffered, j4 overflows -> [marker]; j5..j7 appended -> full; j8 overflows
    # again -> [marker]; j9 appended.
    events = drain(slow)
    assert [e.coalesced for e in events] == [True, False]
    assert events[0].batch_id == "b" and events[0].job is None
    assert events[1].job is not None and events[1].job.job_id == "j9"
    assert slow.overflows == 2 and slow.dropped == 10
    after = emit(bus, job=job("next", batch_id="b"))
    assert drain(slow) == [after]


async def test_overflow_keeps_marker_first_and_later_events_in_order() -> None:
    bus = EventBus(buffer_size=3)
    sub = bus.subscribe()
    events = [emit(bus, job=job(f"j{i}")) for i in range(5)]
    got = drain(sub)
    # j0..j2 buffered, j3 overflows -> [marker(seq of j3)], j4 appended.
    assert [e.coalesced for e in got] == [True, False]
    assert got[0].seq == events[3].seq
    assert got[1] == events[4]


async def test_a_hundred_watchers_and_one_slow_one_never_block_publish() -> None:
    bus = EventBus(buffer_size=256)
    fast = [bus.subscribe() for _ in range(99)]
    slow = bus.subscribe()
    received: list[list[QueueEvent]] = [[] for _ in fast]

    async def reader(index: int) -> None:
        async for event in fast[index]:
            received[index].append(event)
            if len(received[index]) == 1000:
                return

    readers = [asyncio.create_task(reader(i)) for i in range(len(fast))]
    await asyncio.sleep(0)
    for i in range(1000):
        emit(bus, job=job(f"j{i}"))  # synchronous: returns without awaiting anyone
        if i % 100 == 99:
            await asyncio.sleep(0)  # let the fast readers run, as the event loop would
    await asyncio.wait_for(asyncio.gather(*readers), 10)
    assert all(len(r) == 1000 and not any(e.coalesced for e in r) for r in received)
    assert all(sub.dropped == 0 for sub in fast)
    # The slow one never read: its memory stays bounded and it gets one re-read marker.
    assert slow.pending <= 256
    assert slow.dropped > 0
    assert drain(slow)[0].coalesced


async def test_close_ends_iteration_and_unsubscribes() -> None:
    bus = EventBus()
    sub = bus.subscribe()
    other = bus.subscribe()
    assert bus.subscriber_count == 2
    waiting = asyncio.create_task(next_event(sub))
    await asyncio.sleep(0.01)
    sub.close()
    with pytest.raises(StopAsyncIteration):
        await waiting
    assert sub.closed and bus.subscriber_count == 1
    emit(bus, job=job("x"))
    assert sub.pending == 0 and other.pending == 1
    with other:
        pass
    assert other.closed and bus.subscriber_count == 0


async def test_bus_close_lets_watchers_drain_then_ends_them() -> None:
    bus = EventBus()
    sub = bus.subscribe()
    event = emit(bus, job=job("a"))
    bus.close()
    assert [e async for e in sub] == [event]
    late = bus.subscribe()
    assert [e async for e in late] == []


async def test_resync_gives_every_watcher_one_marker() -> None:
    bus = EventBus()
    a, b = bus.subscribe(job_id="j"), bus.subscribe()
    bus.resync()
    bus.resync()  # no pile-up of markers
    assert [e.coalesced for e in drain(a)] == [True]
    assert drain(a) == []
    marker = drain(b)
    assert len(marker) == 1 and marker[0].coalesced


async def test_publish_from_another_thread_wakes_the_watcher() -> None:
    bus = EventBus()
    sub = bus.subscribe()
    waiting = asyncio.create_task(next_event(sub))
    await asyncio.sleep(0.01)
    thread = threading.Thread(target=lambda: emit(bus, job=job("t")))
    thread.start()
    thread.join()
    event = await waiting
    assert event.job is not None and event.job.job_id == "t"


def test_bad_buffer_size() -> None:
    with pytest.raises(ValueError):
        EventBus().subscribe(buffer_size=-1)


# --- payloads -----------------------------------------------------------------------------


def test_payload_round_trip_and_rejects_foreign_text() -> None:
    event = QueueEvent(seq=1, job=job("j", batch_id="b", webhook_id="w", status=JobStatus.RUNNING))
    payload = NotifyPayload.from_event(event, "inst-1")
    assert payload == NotifyPayload("inst-1", "j", JobStatus.RUNNING, "b", "w")
    assert NotifyPayload.decode(payload.encode()) == payload
    for bad in ("not json", "[]", '{"v": 99}', '{"v": 1, "job_id": 5}', '{"v": 1, "status": "exploded"}'):
        with pytest.raises(ValueError):
            NotifyPayload.decode(bad)


def test_url_conversion() -> None:
    assert to_asyncpg_dsn("postgresql+asyncpg://u:p%40w@h:5/db") == "postgresql://u:p%40w@h:5/db"
    assert to_asyncpg_dsn("postgresql://u@h/db") == "postgresql://u@h/db"
    with pytest.raises(ValueError):
        to_asyncpg_dsn("sqlite+aiosqlite:///x.db")


# --- across instances, on a real PostgreSQL -------------------------------------------------

pg = pytest.mark.postgres


@pg
async def test_bridge_delivers_another_instances_change_and_ignores_its_own(pg_url: str) -> None:
    bus_a, bus_b = EventBus(), EventBus()
    stored = {"j1": job("j1", batch_id="b1", status=JobStatus.RUNNING)}

    async def loader(job_id: str) -> Job | None:
        return stored.get(job_id)

    async with (
        PostgresNotifyBridge(pg_url, bus_a, instance_id="A", loader=loader) as bridge_a,
        PostgresNotifyBridge(pg_url, bus_b, instance_id="B") as bridge_b,
    ):
        watch_a = bus_a.subscribe(batch_id="b1")
        watch_b = bus_b.subscribe(job_id="j1")
        watch_b_other = bus_b.subscribe(job_id="nope")
        # Instance B changes j1: it publishes locally and notifies the others.
        local = emit(bus_b, job=stored["j1"])
        await notify(pg_url, local, instance_id="B")

        remote = await next_event(watch_a)
        assert remote.job == stored["j1"]  # loaded through A's loader
        assert remote.batch_id == "b1" and remote.status is JobStatus.RUNNING
        assert await next_event(watch_b) == local
        await asyncio.sleep(0.2)
        assert watch_b.pending == 0  # B ignored its own notification
        assert watch_b_other.pending == 0
        assert bridge_a.received == 1 and bridge_b.received == 0

        # Without a loader (B) the event carries the ids and the status only.
        watch_b_all = bus_b.subscribe()
        await notify(
            pg_url,
            QueueEvent(seq=9, job=job("j2", webhook_id="w", status=JobStatus.COMPLETED)),
            instance_id="A",
        )
        event = await next_event(watch_b_all)
        assert event.job is None and event.job_id == "j2"
        assert event.status is JobStatus.COMPLETED and event.webhook_id == "w"


@pg
async def test_notify_inside_a_transaction_is_delivered_at_commit_only(pg_url: str) -> None:
    bus = EventBus()
    watcher = bus.subscribe()
    db = Database.open(pg_url)
    try:
        async with PostgresNotifyBridge(pg_url, bus, instance_id="listener"):

            class Rollback(Exception):
                pass

            with pytest.raises(Rollback):
                async with db.write() as conn:
                    await db.dialect.notify(
                        conn, [QueueEvent(seq=1, job=job("rolled-back"))], instance_id="other"
                    )
                    raise Rollback
            async with db.write() as conn:
                # Several events of one write: one statement, delivered in order.
                await db.dialect.notify(
                    conn,
                    [QueueEvent(seq=2, job=job("committed")), QueueEvent(seq=3, batch_id="b")],
                    instance_id="other",
                )
            event = await next_event(watcher)
            assert event.job_id == "committed"
            event = await next_event(watcher)
            assert event.batch_id == "b" and event.job_id is None
            await asyncio.sleep(0.1)
            assert watcher.pending == 0
    finally:
        await db.dispose()


@pg
async def test_bridge_survives_a_postgres_restart(pg_url: str, postgres_server: PostgresServer) -> None:
    bus = EventBus()
    watcher = bus.subscribe()
    bridge = PostgresNotifyBridge(pg_url, bus, instance_id="A", max_backoff=0.5, ping_interval=1.0)
    await bridge.start()
    try:
        await asyncio.to_thread(postgres_server.restart)
        await bridge.wait_connected(15)
        # Watchers are told to re-read what they may have missed during the outage.
        marker = await next_event(watcher)
        assert marker.coalesced
        assert bridge.reconnects == 1
        await notify(pg_url, QueueEvent(seq=1, job=job("after")), instance_id="B")
        event = await next_event(watcher, timeout=10)
        assert event.job_id == "after"
    finally:
        await bridge.stop()
    assert not bridge.connected


@pg
async def test_bridge_reconnects_after_postgres_is_killed(
    pg_url: str, postgres_server: PostgresServer
) -> None:
    bus = EventBus()
    watcher = bus.subscribe()
    bridge = PostgresNotifyBridge(pg_url, bus, instance_id="A", max_backoff=0.3, ping_interval=0.5)
    await bridge.start()
    try:
        await asyncio.to_thread(postgres_server.kill)
        await asyncio.sleep(0.5)  # the bridge keeps retrying while the server is down
        assert not bridge.connected
        await asyncio.to_thread(postgres_server.start)
        await bridge.wait_connected(15)
        assert (await next_event(watcher)).coalesced
        await notify(pg_url, QueueEvent(seq=1, job=job("back")), instance_id="B")
        assert (await next_event(watcher, timeout=10)).job_id == "back"
    finally:
        await bridge.stop()


async def test_bridge_start_times_out_when_postgres_is_unreachable() -> None:
    from tests.support.ports import free_port

    bridge = PostgresNotifyBridge(
        f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/x",
        EventBus(),
        instance_id="A",
        max_backoff=0.1,
    )
    with pytest.raises(TimeoutError):
        await bridge.start(timeout=0.5)
    assert not bridge.connected
