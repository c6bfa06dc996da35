"""The one id generator: every job, batch, webhook and instance id comes from here.

Ids are 32 lowercase hex characters (a UUID4 without dashes): opaque, URL-safe, and
unique across instances that share one PostgreSQL queue without any coordination.
"""

from __future__ import annotations

import os
import socket
import uuid


def new_id() -> str:
    return uuid.uuid4().hex


def instance_id() -> str:
    """A fresh id for a server instance that has none configured: host, pid and a random tail."""
    host = socket.gethostname().split(".")[0] or "host"
    return f"{host}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
