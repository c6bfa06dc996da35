"""Friendly names for the contract's enums, both ways.

Scripts and the CLI say ``status="completed"`` or ``priority="high"``; the wire wants
``JOB_STATUS_COMPLETED``. Every enum in the contract prefixes its values with its own
name (buf's ENUM_VALUE_PREFIX rule), so one pair of functions handles them all.
"""

from __future__ import annotations

from typing import TypeVar, cast

from google.protobuf.internal.enum_type_wrapper import EnumTypeWrapper

from arrtheaudio_proto.v1 import common_pb2, webhook_service_pb2

JobStatus = common_pb2.JobStatus
JobResult = common_pb2.JobResult
Priority = common_pb2.Priority
Source = common_pb2.Source
Container = common_pb2.Container
LanguageSource = common_pb2.LanguageSource
BatchStatus = common_pb2.BatchStatus
EventType = common_pb2.EventType
WebhookStatus = webhook_service_pb2.WebhookStatus
WriteMethod = common_pb2.WriteMethod

EnumLike = int | str | None
# An enum of the contract as the generated stubs type it: an ``int`` subclass.
E = TypeVar("E", bound=int)


def _names(enum: EnumTypeWrapper) -> list[str]:
    # Not a dict, despite keys(): ``name in enum`` raises TypeError.
    return list(enum.keys())


def _prefix(enum: EnumTypeWrapper) -> str:
    unspecified = next(name for name in _names(enum) if name.endswith("_UNSPECIFIED"))
    return unspecified[: -len("UNSPECIFIED")]


def choices(enum: EnumTypeWrapper) -> list[str]:
    """The short lower-case names (``["queued", "running", ...]``), UNSPECIFIED left out."""
    prefix = _prefix(enum)
    return [name[len(prefix) :].lower() for name in _names(enum) if not name.endswith("_UNSPECIFIED")]


def to_value(enum: type[E], value: EnumLike) -> E:
    """``"completed"``, ``"waiting-for-space"``, ``"JOB_STATUS_COMPLETED"`` or a number → the number.

    ``None`` and ``""`` mean UNSPECIFIED (0), which the contract treats as "no filter" or
    "default". An unknown name raises ``ValueError`` listing the valid ones. Typed as the
    enum's own type, which is what the generated message constructors ask for.
    """
    return cast(E, _to_number(cast(EnumTypeWrapper, enum), value))


def _to_number(enum: EnumTypeWrapper, value: EnumLike) -> int:
    if value is None or value == "":
        return 0
    if isinstance(value, int):
        if value not in enum.values():
            raise ValueError(f"{value} is not a valid {enum.DESCRIPTOR.name}")
        return int(value)
    name = value.strip().upper().replace("-", "_").replace(" ", "_")
    prefix = _prefix(enum)
    for candidate in (name, prefix + name):
        if candidate in _names(enum):
            return int(enum.Value(candidate))
    raise ValueError(f"unknown {enum.DESCRIPTOR.name} {value!r}; expected one of: {', '.join(choices(enum))}")


def label(enum: EnumTypeWrapper, value: int) -> str:
    """The short name of a value (``"completed"``); ``""`` for UNSPECIFIED, the number if unknown."""
    try:
        name = enum.Name(value)
    except ValueError:
        return str(value)
    if name.endswith("_UNSPECIFIED"):
        return ""
    return name[len(_prefix(enum)) :].lower()
