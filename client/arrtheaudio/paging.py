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


def walk_pages(
    fetch: Callable[[int, int], Page[T]],
    *,
    page_size: int = MAX_PAGE_SIZE,
    max_items: int | None = None,
    key: Callable[[T], Hashable] | None = None,
) -> Iterator[T]:
    """Yield items of ``fetch(offset, limit)`` pages until the server has no more (or ``max_items``)."""
    _check(page_size)
    seen: set[Hashable] = set()
    offset = yielded = 0
    while max_items is None or yielded < max_items:
        page = fetch(offset, page_size)
        for item in page.items:
            if key is not None:
                ident = key(item)
                if ident in seen:
                    continue
                seen.add(ident)
            yield item
            yielded += 1
            if max_items is not None and yielded >= max_items:
                return
        offset += len(page.items)
        if not page.items or offset >= page.total:
            return


async def awalk_pages(
    fetch: Callable[[int, int], Awaitable[Page[T]]],
    *,
    page_size: int = MAX_PAGE_SIZE,
    max_items: int | None = None,
    key: Callable[[T], Hashable] | None = None,
) -> AsyncIterator[T]:
    """The async twin of ``walk_pages``."""
    _check(page_size)
    seen: set[Hashable] = set()
    offset = yielded = 0
    while max_items is None or yielded < max_items:
        page = await fetch(offset, page_size)
        for item in page.items:
            if key is not None:
                ident = key(item)
                if ident in seen:
                    continue
                seen.add(ident)
            yield item
            yielded += 1
            if max_items is not None and yielded >= max_items:
                return
        offset += len(page.items)
        if not page.items or offset >= page.total:
            return
