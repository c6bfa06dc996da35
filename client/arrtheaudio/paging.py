"""Walk offset/limit pages as one stream of items.

The contract pages with ``limit``/``offset`` and reports ``total_size``. Lists are newest
first, so a job created while we walk shifts everything by one and the next page would
repeat an item: ``key`` drops items already seen, so each item is yielded once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

MAX_PAGE_SIZE = 100  # the server refuses larger limits


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    # All matching items on the server (not just this page).
    total: int


def _check(page_size: int) -> None:
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")


class _Walk(Generic[T]):
    """Where a walk stands, shared by the sync and async walkers: they differ only in how they fetch."""

    def __init__(self, page_size: int, max_items: int | None, key: Callable[[T], Hashable] | None) -> None:
        _check(page_size)
        self.max_items = max_items
        self.key = key
        self.offset = 0
        self.yielded = 0
        self.seen: set[Hashable] = set()
        self.exhausted = False

    def wants_more(self) -> bool:
        return not self.exhausted and (self.max_items is None or self.yielded < self.max_items)

    def take(self, page: Page[T]) -> list[T]:
        """The page's items not yielded before, no more than ``max_items`` still allows."""
        fresh: list[T] = []
        for item in page.items:
            if self.max_items is not None and self.yielded >= self.max_items:
                break
            if self.key is not None:
                ident = self.key(item)
                if ident in self.seen:
                    continue
                self.seen.add(ident)
            fresh.append(item)
            self.yielded += 1
        self.offset += len(page.items)
        self.exhausted = not page.items or self.offset >= page.total
        return fresh


def walk_pages(
    fetch: Callable[[int, int], Page[T]],
    *,
    page_size: int = MAX_PAGE_SIZE,
    max_items: int | None = None,
    key: Callable[[T], Hashable] | None = None,
) -> Iterator[T]:
    """Yield items of ``fetch(offset, limit)`` pages until the server has no more (or ``max_items``)."""
    walk = _Walk(page_size, max_items, key)
    while walk.wants_more():
        yield from walk.take(fetch(walk.offset, page_size))


async def awalk_pages(
    fetch: Callable[[int, int], Awaitable[Page[T]]],
    *,
    page_size: int = MAX_PAGE_SIZE,
    max_items: int | None = None,
    key: Callable[[T], Hashable] | None = None,
) -> AsyncIterator[T]:
    """The async twin of ``walk_pages``."""
    walk = _Walk(page_size, max_items, key)
    while walk.wants_more():
        for item in walk.take(await fetch(walk.offset, page_size)):
            yield item
