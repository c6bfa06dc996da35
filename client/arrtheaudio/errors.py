"""The exceptions the client raises, one class per gRPC status a caller can act on.

Callers catch ``NotFound`` or ``InvalidArgument`` instead of comparing ``grpc.StatusCode``
values, and get the server's field-level ``google.rpc.BadRequest`` violations parsed for
them. The same mapping serves failed calls and errors that a watch stream carries in-band
(``event.error``), so a watcher raises exactly what a unary call would.
"""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status


@dataclass(frozen=True)
class FieldViolation:
    """One invalid request field, as the server named it (e.g. ``limit``, ``path``)."""

    field: str
    description: str

    def __str__(self) -> str:
        return f"{self.field}: {self.description}" if self.field else self.description


class ArrTheAudioError(Exception):
    """Base of every error the client raises for a failed RPC.

    ``code`` is the ``grpc.StatusCode``; ``details`` the server's message; ``status`` the rich
    ``google.rpc.Status`` when the server sent one (else ``None``).
    """

    code: grpc.StatusCode = grpc.StatusCode.UNKNOWN

    def __init__(
        self,
        details: str = "",
        *,
        code: grpc.StatusCode | None = None,
        status: status_pb2.Status | None = None,
        field_violations: tuple[FieldViolation, ...] = (),
    ) -> None:
        if code is not None:
            self.code = code
        self.details = details
        self.status = status
        self.field_violations = field_violations
        super().__init__(self.message())

    def message(self) -> str:
        """One line for humans: the status name, the details, and every field violation."""
        text = f"{self.code.name}: {self.details}" if self.details else self.code.name
        if self.field_violations:
            text += " (" + "; ".join(str(v) for v in self.field_violations) + ")"
        return text


class Cancelled(ArrTheAudioError):
    code = grpc.StatusCode.CANCELLED


class InvalidArgument(ArrTheAudioError):
    """The request was refused as malformed; ``field_violations`` says which fields and why."""

    code = grpc.StatusCode.INVALID_ARGUMENT


class DeadlineExceeded(ArrTheAudioError):
    code = grpc.StatusCode.DEADLINE_EXCEEDED


class NotFound(ArrTheAudioError):
    code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(ArrTheAudioError):
    """E.g. a batch is already active for the same path."""

    code = grpc.StatusCode.ALREADY_EXISTS


class PermissionDenied(ArrTheAudioError):
    """E.g. a path outside the server's media roots."""

    code = grpc.StatusCode.PERMISSION_DENIED


class ResourceExhausted(ArrTheAudioError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class FailedPrecondition(ArrTheAudioError):
    """E.g. cancelling a job that already finished."""

    code = grpc.StatusCode.FAILED_PRECONDITION


class Unimplemented(ArrTheAudioError):
    code = grpc.StatusCode.UNIMPLEMENTED


class Internal(ArrTheAudioError):
    code = grpc.StatusCode.INTERNAL


class Unavailable(ArrTheAudioError):
    """The server is unreachable, shutting down, or refused for now (queue full, rollback mode)."""

    code = grpc.StatusCode.UNAVAILABLE


class Unauthenticated(ArrTheAudioError):
    """No API key, or the wrong one."""

    code = grpc.StatusCode.UNAUTHENTICATED


_BY_CODE: dict[grpc.StatusCode, type[ArrTheAudioError]] = {
    cls.code: cls
    for cls in (
        Cancelled,
        InvalidArgument,
        DeadlineExceeded,
        NotFound,
        AlreadyExists,
        PermissionDenied,
        ResourceExhausted,
        FailedPrecondition,
        Unimplemented,
        Internal,
        Unavailable,
        Unauthenticated,
    )
}
_BY_NUMBER: dict[int, grpc.StatusCode] = {code.value[0]: code for code in grpc.StatusCode}


def _violations(status: status_pb2.Status | None) -> tuple[FieldViolation, ...]:
    if status is None:
        return ()
    found: list[FieldViolation] = []
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad_request = error_details_pb2.BadRequest()
            detail.Unpack(bad_request)
            found.extend(FieldViolation(v.field, v.description) for v in bad_request.field_violations)
    return tuple(found)


def _build(code: grpc.StatusCode, details: str, status: status_pb2.Status | None) -> ArrTheAudioError:
    cls = _BY_CODE.get(code, ArrTheAudioError)
    return cls(details, code=code, status=status, field_violations=_violations(status))


def error_from_rpc(error: grpc.RpcError) -> ArrTheAudioError:
    """Map a failed call (sync ``grpc.RpcError`` or ``grpc.aio.AioRpcError``) to our hierarchy."""
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    details = (error.details() if hasattr(error, "details") else str(error)) or ""
    try:
        status = rpc_status.from_call(error) if hasattr(error, "trailing_metadata") else None
    except ValueError:  # rich status inconsistent with the call's own: trust the call
        status = None
    return _build(code or grpc.StatusCode.UNKNOWN, details, status)


def error_from_status(status: status_pb2.Status) -> ArrTheAudioError:
    """Map an in-band ``google.rpc.Status`` (a watch event's ``error``) to our hierarchy."""
    code = _BY_NUMBER.get(status.code, grpc.StatusCode.UNKNOWN)
    return _build(code, status.message, status)


__all__ = [
    "AlreadyExists",
    "ArrTheAudioError",
    "Cancelled",
    "DeadlineExceeded",
    "FailedPrecondition",
    "FieldViolation",
    "Internal",
    "InvalidArgument",
    "NotFound",
    "PermissionDenied",
    "ResourceExhausted",
    "Unauthenticated",
    "Unavailable",
    "Unimplemented",
    "error_from_rpc",
    "error_from_status",
]
