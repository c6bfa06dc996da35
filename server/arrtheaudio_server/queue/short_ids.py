"""Unique id prefixes, as git takes short commit ids: ``jobs show 3f2a9c1d`` instead of 32 characters.

Every RPC that names one job, batch or webhook (Get/Cancel/Watch, and the id filters of
ListJobs) accepts a prefix of at least ``MIN_PREFIX`` hex characters. The queue resolves it
with one index range read (``id >= prefix AND id < next(prefix)``, a few rows at most), so
grpcurl and HTTP users get short ids too, not only our CLI:

* exactly one id starts with it → that id;
* several → ``InvalidRequest`` (INVALID_ARGUMENT) naming up to ``SHOWN`` of them;
* none → ``NotFound`` (NOT_FOUND).

Anything that cannot be a prefix (shorter than ``MIN_PREFIX``, not hex, or a whole id) is
looked up as given, so an exact id costs no extra read and odd ids keep their NOT_FOUND.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Literal

from arrtheaudio_server.queue.domain import InvalidRequest, NotFound

IdKind = Literal["job", "batch", "webhook"]

MIN_PREFIX = 4
ID_LENGTH = 32  # ids.new_id(): 32 lowercase hex characters
SHOWN = 5  # candidates an ambiguity error names
_HEX_PREFIX = re.compile(rf"[0-9a-fA-F]{{{MIN_PREFIX},{ID_LENGTH - 1}}}")

# ``(kind, prefix, limit)`` → up to ``limit`` ids of that kind starting with ``prefix``, sorted.
PrefixReader = Callable[[IdKind, str, int], Awaitable[list[str]]]


def as_prefix(text: str) -> str | None:
    """The lowercase prefix to search for, or None when ``text`` is to be taken as a whole id."""
    return text.lower() if _HEX_PREFIX.fullmatch(text) else None


async def resolve(
    read: PrefixReader, kind: IdKind, text: str, field: str, *, missing_ok: bool = False
) -> str:
    """The one id ``text`` stands for. ``missing_ok``: an unknown prefix comes back unchanged
    (a list filter then simply matches nothing) instead of raising ``NotFound``."""
    prefix = as_prefix(text)
    if prefix is None:
        return text
    found = await read(kind, prefix, SHOWN + 1)
    if len(found) == 1:
        return found[0]
    if not found:
        if missing_ok:
            return text
        raise NotFound(f"{kind} {text} not found (no {kind} id starts with {text!r})")
    shown = ", ".join(found[:SHOWN]) + (", ..." if len(found) > SHOWN else "")
    raise InvalidRequest(
        field, f"{kind} id prefix {text!r} is ambiguous: it matches {shown}; give more characters"
    )
