"""Group commit: many callers' writes in one transaction, each caller answered with its own outcome.

A webhook flood is many small writes that each would take the database's write lock (and,
on PostgreSQL, the NOTIFY commit lock) on its own, so throughput stops at 1 / (time the
lock is held). Here every caller appends its request to a pending list and waits on its own
future; one drain task takes everything pending, hands it to ``write`` (one transaction),
and resolves each future with what ``write`` returned for that request — a value, or an
exception VALUE (e.g. ``QueueFull``) that concerns that request alone. A lone request is
written at once (no waiting for company); requests that arrive while a group is being
written form the next group, so groups grow exactly as fast as the load does.

A future is resolved only after ``write`` returned, i.e. after COMMIT: a caller is never
told "accepted" about something a crash could still take away. If ``write`` raises, every
request of that group gets the exception.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

R = TypeVar("R")
T = TypeVar("T")

Outcome = T | BaseException


@dataclass(slots=True)
class _Pending(Generic[R, T]):
    request: R
    future: asyncio.Future[T]
    size: int


class GroupCommit(Generic[R, T]):
    """Coalesces concurrent ``submit`` calls into groups written by one task at a time."""

    def __init__(
        self, write: Callable[[list[R]], Awaitable[Sequence[Outcome[T]]]], *, max_group_size: int = 2000
    ) -> None:
        self._write = write
        self._max = max_group_size
        self._pending: list[_Pending[R, T]] = []
        self._task: asyncio.Task[None] | None = None

    async def submit(self, request: R, *, size: int = 1) -> T:
        """Queue ``request`` for the next group; returns its outcome once the group is committed.

        If the caller is cancelled meanwhile, the request is still written (or was already):
        only the answer is lost, as with any cancelled call.
        """
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(request, future, max(1, size)))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain(), name="queue-group-commit")
        return await future

    def _take_group(self) -> list[_Pending[R, T]]:
        """Everything pending, up to ``max_group_size`` in total (at least one request)."""
        taken, total = 0, 0
        for item in self._pending:
            if taken and total + item.size > self._max:
                break
            taken += 1
            total += item.size
        group, self._pending = self._pending[:taken], self._pending[taken:]
        return group

    async def _drain(self) -> None:
        while self._pending:
            group = self._take_group()
            try:
                outcomes = await self._write([item.request for item in group])
            except BaseException as exc:
                for item in group:
                    _resolve(item.future, exc)
                if isinstance(exc, asyncio.CancelledError):
                    for item in self._pending:
                        _resolve(item.future, exc)
                    self._pending.clear()
                    raise
                continue
            for item, outcome in zip(group, outcomes, strict=True):
                _resolve(item.future, outcome)

    async def close(self) -> None:
        """Wait until every request submitted so far is written and answered."""
        task = self._task
        if task is not None and not task.done():
            await asyncio.wait({task})


def _resolve(future: asyncio.Future[T], outcome: Outcome[T]) -> None:
    if future.done():  # the caller was cancelled
        return
    if isinstance(outcome, asyncio.CancelledError):
        future.cancel()
    elif isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


__all__ = ["GroupCommit"]
