"""Structured logging via structlog: one JSON object per line in production, readable text for humans.

Every module gets its logger with ``structlog.get_logger(__name__)`` and logs events with
keyword fields (``log.info("job.finished", job_id=..., result=...)``), so the JSON lines can
be grepped and shipped without parsing prose.
"""

from __future__ import annotations

import logging
import sys

import structlog


def configure_logging(fmt: str = "json", level: str = "INFO") -> None:
    """Configure structlog and the stdlib root logger once, at process start."""
    numeric = getattr(logging, level.upper(), logging.INFO)
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        # Not cached: module-level loggers must follow a later configure() (and structlog's
        # capture_logs in tests); the lookup it saves is negligible next to a subprocess.
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=numeric, stream=sys.stderr, format="%(levelname)s %(name)s %(message)s")
