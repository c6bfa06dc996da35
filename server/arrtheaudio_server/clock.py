"""The one clock: timezone-aware UTC everywhere, so stored and compared times never mix zones."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def utc_midnight(now: datetime | None = None) -> datetime:
    """Start of the current UTC day: what "today" means in the statistics."""
    current = now or utcnow()
    return current.replace(hour=0, minute=0, second=0, microsecond=0)
