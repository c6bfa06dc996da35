"""ArrTheAudio's Python client: ``Client`` (blocking) and ``AsyncClient`` (asyncio).

    from arrtheaudio import Client
    with Client("127.0.0.1:50051", api_key="...") as client:
        for job in client.iter_jobs(status="failed"):
            print(job.file_path, job.reason)

``Client`` is generated from ``AsyncClient`` (scripts/gen_client.py), so both have the same
methods. The generated messages live in ``arrtheaudio_proto.v1``; errors in ``arrtheaudio.errors``.
"""

from __future__ import annotations

from arrtheaudio._requests import JobFilters
from arrtheaudio.aio import AsyncClient
from arrtheaudio.client import Client
from arrtheaudio.errors import (
    AlreadyExists,
    ArrTheAudioError,
    Cancelled,
    DeadlineExceeded,
    FailedPrecondition,
    FieldViolation,
    Internal,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
    Unimplemented,
)
from arrtheaudio.options import ClientOptions

__all__ = [
    "AlreadyExists",
    "ArrTheAudioError",
    "AsyncClient",
    "Cancelled",
    "Client",
    "ClientOptions",
    "DeadlineExceeded",
    "FailedPrecondition",
    "FieldViolation",
    "Internal",
    "InvalidArgument",
    "JobFilters",
    "NotFound",
    "PermissionDenied",
    "ResourceExhausted",
    "Unauthenticated",
    "Unavailable",
    "Unimplemented",
]
