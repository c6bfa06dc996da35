"""Request checks shared by the servicers: ids, paging, ordering.

Each check raises :class:`~arrtheaudio_server.api.errors.ApiError` (INVALID_ARGUMENT with a
field violation) so the caller learns which field to fix; none of them touches the queue.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TypeVar

from google.protobuf.timestamp_pb2 import Timestamp

from arrtheaudio_server.api.errors import ApiError, FieldViolation, invalid, invalid_fields

T = TypeVar("T")

MAX_PAGE = 100
ORDER_FIELDS = ("created_at", "completed_at", "priority", "duration_ms")
MAX_ID_LENGTH = 128
# The range RFC 3339 (and so the JSON mapping and Python's datetime) can express.
_MIN_SECONDS = -62135596800  # 0001-01-01T00:00:00Z
_MAX_SECONDS = 253402300799  # 9999-12-31T23:59:59Z


def require_id(value: str, field: str) -> str:
    value = value.strip()
    if not value:
        raise invalid(field, "is required")
    if len(value) > MAX_ID_LENGTH or any(ch in value for ch in "/\\\x00"):
        raise invalid(field, "is not a valid id")
    return value


def optional_id(value: str, field: str) -> str | None:
    """An id used as a filter: empty means "no filter", anything else is checked like ``require_id``."""
    return require_id(value, field) if value.strip() else None


def instant(stamp: Timestamp, field: str) -> datetime:
    """An aware UTC datetime from a Timestamp a gRPC client may have filled with anything."""
    if not _MIN_SECONDS <= stamp.seconds <= _MAX_SECONDS or not 0 <= stamp.nanos < 1_000_000_000:
        raise invalid(field, "is not a valid timestamp (years 1 to 9999, nanos 0 to 999999999)")
    return stamp.ToDatetime(tzinfo=UTC)


def page(
    limit: int, offset: int, *, default: int = 50, limit_field: str = "limit", offset_field: str = "offset"
) -> tuple[int, int]:
    """``(limit, offset)`` with 0 meaning the default; more than 100 or negatives are refused."""
    problems = []
    if limit < 0 or limit > MAX_PAGE:
        problems.append(FieldViolation(limit_field, f"must be between 0 and {MAX_PAGE} (0 means {default})"))
    if offset < 0:
        problems.append(FieldViolation(offset_field, "must not be negative"))
    if problems:
        raise invalid_fields(problems)
    return (limit or default), offset


def order_by(value: str) -> str:
    """Normalise ``"<field> [asc|desc]"``; empty means newest first."""
    parts = value.strip().lower().split()
    if not parts:
        return "created_at desc"
    if (
        len(parts) > 2
        or parts[0] not in ORDER_FIELDS
        or (len(parts) == 2 and parts[1] not in ("asc", "desc"))
    ):
        raise invalid("order_by", f"must be '<field> [asc|desc]' with field one of {', '.join(ORDER_FIELDS)}")
    direction = parts[1] if len(parts) == 2 else "desc"
    return f"{parts[0]} {direction}"


def enum_value(value: int, known: Mapping[int, T], field: str) -> T | None:
    """The domain value of a proto enum filter; 0 (UNSPECIFIED) means "no filter"."""
    if value == 0:
        return None
    if value not in known:
        raise invalid(field, f"unknown value {value}")
    return known[value]


__all__ = ["MAX_PAGE", "ApiError", "enum_value", "instant", "optional_id", "order_by", "page", "require_id"]
