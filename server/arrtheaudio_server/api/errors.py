"""Expected failures → gRPC status, with rich details a client (or Envoy's JSON body) can read.

The queue raises the ``QueueError`` family, the path guard ``PathRejected``, the payload
parser ``PayloadError``; nothing else is expected. This module is the only place that
decides which status each of them becomes, so an HTTP client sees the same 400/403/404/409/503
for the same mistake on every route. Field-level problems carry a ``google.rpc.BadRequest``
(the field and why), missing files a ``google.rpc.ResourceInfo`` each.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

import grpc
import structlog
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from arrtheaudio_server import observability
from arrtheaudio_server.metadata.arr_payload import PayloadError
from arrtheaudio_server.paths import PathRejected
from arrtheaudio_server.queue import domain as d

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class FieldViolation:
    field: str
    description: str


class ApiError(Exception):
    """A failure the servicer decided on itself (validation), already carrying its status."""

    def __init__(
        self,
        code: grpc.StatusCode,
        message: str,
        *,
        violations: Sequence[FieldViolation] = (),
        resources: Sequence[error_details_pb2.ResourceInfo] = (),
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.violations = tuple(violations)
        self.resources = tuple(resources)


def invalid(field: str, description: str) -> ApiError:
    return ApiError(
        grpc.StatusCode.INVALID_ARGUMENT,
        f"{field}: {description}",
        violations=[FieldViolation(field, description)],
    )


def invalid_fields(violations: Sequence[FieldViolation]) -> ApiError:
    message = "; ".join(f"{v.field}: {v.description}" for v in violations)
    return ApiError(grpc.StatusCode.INVALID_ARGUMENT, message, violations=violations)


# Which status a rejected path becomes. For a path the caller named (a batch directory)
# "not found" is the caller's mistake about a resource: NOT_FOUND; "not a directory" is a
# bad argument.
_PATH_CODES = {
    "invalid": grpc.StatusCode.INVALID_ARGUMENT,
    "outside_roots": grpc.StatusCode.PERMISSION_DENIED,
    "not_found": grpc.StatusCode.NOT_FOUND,
    "not_a_file": grpc.StatusCode.INVALID_ARGUMENT,
    "not_a_directory": grpc.StatusCode.INVALID_ARGUMENT,
}


def path_error(exc: PathRejected, field: str = "path") -> ApiError:
    code = _PATH_CODES.get(exc.kind, grpc.StatusCode.INVALID_ARGUMENT)
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        return ApiError(code, str(exc), violations=[FieldViolation(field, str(exc))])
    if code == grpc.StatusCode.NOT_FOUND:
        resource = error_details_pb2.ResourceInfo(
            resource_type="path", resource_name=exc.path, description=str(exc)
        )
        return ApiError(code, str(exc), resources=[resource])
    return ApiError(code, str(exc))


def to_api_error(exc: BaseException) -> ApiError | None:
    """The status for an expected failure, or None for a bug (which becomes INTERNAL)."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, d.InvalidRequest):
        return invalid(exc.field_name, str(exc))
    if isinstance(exc, PayloadError):
        return invalid(exc.field, str(exc))
    if isinstance(exc, PathRejected):
        return path_error(exc)
    if isinstance(exc, d.NotFound):
        return ApiError(grpc.StatusCode.NOT_FOUND, str(exc) or "not found")
    if isinstance(exc, d.AlreadyExists):
        return ApiError(grpc.StatusCode.ALREADY_EXISTS, str(exc) or "already exists")
    if isinstance(exc, d.QueueFull):
        return ApiError(grpc.StatusCode.UNAVAILABLE, str(exc) or "the queue is full; try again later")
    if isinstance(exc, d.ServiceUnavailable):
        return ApiError(grpc.StatusCode.UNAVAILABLE, str(exc) or "service unavailable")
    if isinstance(exc, d.FailedPrecondition):
        return ApiError(grpc.StatusCode.FAILED_PRECONDITION, str(exc) or "failed precondition")
    if isinstance(exc, d.QueueError):
        return ApiError(grpc.StatusCode.INTERNAL, str(exc) or type(exc).__name__)
    return None


def _pack(message: Any) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def status_proto(error: ApiError) -> status_pb2.Status:
    """The ``google.rpc.Status`` of an error (what Envoy renders as the JSON body)."""
    details = []
    if error.violations:
        details.append(
            _pack(
                error_details_pb2.BadRequest(
                    field_violations=[
                        error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
                        for v in error.violations
                    ]
                )
            )
        )
    details.extend(_pack(resource) for resource in error.resources)
    return status_pb2.Status(code=error.code.value[0], message=error.message, details=details)


def internal_status(exc: BaseException) -> status_pb2.Status:
    return status_pb2.Status(code=code_pb2.INTERNAL, message=f"internal error: {type(exc).__name__}")


def status_for(exc: BaseException) -> status_pb2.Status:
    error = to_api_error(exc)
    return status_proto(error) if error is not None else internal_status(exc)


async def abort(context: grpc.aio.ServicerContext, error: ApiError) -> NoReturn:
    await context.abort_with_status(rpc_status.to_status(status_proto(error)))
    raise AssertionError("unreachable")  # pragma: no cover - abort_with_status raises


async def abort_expected(context: grpc.aio.ServicerContext, exc: Exception) -> NoReturn:
    """Before a stream's first message: end it with the status of an expected failure.

    A bug (no status for it) is re-raised for grpc to report as INTERNAL."""
    error = to_api_error(exc)
    if error is None:
        raise exc
    await abort(context, error)


R = TypeVar("R")


def translates_errors(method: Callable[..., Awaitable[R]]) -> Callable[..., Awaitable[R]]:
    """Decorator for unary servicer methods: expected failures become their status."""

    @functools.wraps(method)
    async def wrapper(self: Any, request: Any, context: grpc.aio.ServicerContext) -> R:
        try:
            return await method(self, request, context)
        except grpc.aio.AbortError:
            raise
        except Exception as exc:
            error = to_api_error(exc)
            if error is not None:
                await abort(context, error)
            log.exception("rpc.internal_error", method=method.__name__)
            observability.RPC_INTERNAL_ERRORS.labels(method.__name__).inc()
            await context.abort_with_status(rpc_status.to_status(internal_status(exc)))
            raise  # pragma: no cover - abort_with_status raises

    return wrapper
