"""Exit codes of the remote commands, one per kind of failure a script may want to tell apart."""

from __future__ import annotations

from arrtheaudio import errors

OK = 0
ERROR = 1  # any other server error
USAGE = 2  # click's own code for bad options
NOT_FOUND = 3
INVALID_ARGUMENT = 4
DENIED = 5  # unauthenticated or permission denied
CONFLICT = 6  # already exists, failed precondition
UNAVAILABLE = 7  # server unreachable, overloaded, or deadline exceeded
UNSUCCESSFUL = 8  # a watched job or batch ended failed or cancelled

_BY_ERROR: tuple[tuple[type[errors.ArrTheAudioError], int], ...] = (
    (errors.NotFound, NOT_FOUND),
    (errors.InvalidArgument, INVALID_ARGUMENT),
    (errors.Unauthenticated, DENIED),
    (errors.PermissionDenied, DENIED),
    (errors.AlreadyExists, CONFLICT),
    (errors.FailedPrecondition, CONFLICT),
    (errors.Unavailable, UNAVAILABLE),
    (errors.DeadlineExceeded, UNAVAILABLE),
)


def for_error(error: errors.ArrTheAudioError) -> int:
    for cls, code in _BY_ERROR:
        if isinstance(error, cls):
            return code
    return ERROR
