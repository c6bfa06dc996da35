"""Request checks shared by the servicers: ids, paging, ordering.

Each check raises :class:`~arrtheaudio_server.api.errors.ApiError` (INVALID_ARGUMENT with a
field violation) so the caller learns which field to fix; none of them touches the queue.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from arrtheaudio_server.api.errors import ApiError, FieldViolation, invalid, invalid_fields

T = TypeVar("T")

MAX_PAGE = 100
ORDER_FIELDS = ("created_at", "completed_at", "priority", "duration_ms")
MAX_ID_LENGTH = 128


def require_id(value: str, field: str) -> str:
    value = value.strip()
    if not value:
        raise invalid(field, "is required")
    if len(value) > MAX_ID_LENGTH or any(ch in value for ch in "/\\\x00"):
        raise invalid(field, "is not a valid id")
    return value


def page(limit: int, offset: int, *, default: int = 50, limit_field: str = "limit",
         offset_field: str = "offset") -> tuple[int, int]:
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
    if len(parts) > 2 or parts[0] not in ORDER_FIELDS or (len(parts) == 2 and parts[1] not in ("asc", "desc")):
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


__all__ = ["MAX_PAGE", "ApiError", "enum_value", "order_by", "page", "require_id"]
