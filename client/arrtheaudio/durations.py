"""Human durations ("30d", "12h", "1w2d", "90m") for cleanup cut-offs and batch age filters."""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")


def parse_duration(text: str) -> timedelta:
    """``"30d"`` → 30 days. Units s, m, h, d, w, combinable (``"1d12h"``); a bare number is days.

    Raises ``ValueError`` for anything else, including zero or negative durations.
    """
    cleaned = text.strip().lower()
    if not cleaned:
        raise ValueError("empty duration")
    if re.fullmatch(r"\d+(?:\.\d+)?", cleaned):
        seconds = float(cleaned) * _UNITS["d"]
    else:
        position = 0
        seconds = 0.0
        for match in _PART.finditer(cleaned):
            if match.start() != position and cleaned[position : match.start()].strip():
                break
            seconds += float(match.group(1)) * _UNITS[match.group(2)]
            position = match.end()
        if position == 0 or cleaned[position:].strip():
            raise ValueError(f"invalid duration {text!r}; use e.g. 30d, 12h, 1w, 1d12h (units s, m, h, d, w)")
    if seconds <= 0:
        raise ValueError(f"duration {text!r} must be positive")
    return timedelta(seconds=seconds)


def whole_days(duration: timedelta) -> int:
    """Days of a duration that must be a whole number of days (the cleanup RPC counts days)."""
    if duration.total_seconds() % 86400:
        raise ValueError(f"{duration} is not a whole number of days (the server counts cleanup age in days)")
    return int(duration.total_seconds() // 86400)


def days(duration: timedelta) -> float:
    """Fractional days, for filters the contract takes as a double (``max_age_days``)."""
    return duration.total_seconds() / 86400
