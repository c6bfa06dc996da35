"""The API key that guards every RPC and webhook when the user configured none.

Secure by default: a fresh install must not accept unauthenticated calls, yet must work
without editing YAML first. So the first start generates a random key, stores it next to
the config (mode 0600, so other local users cannot read it) and later starts reuse it.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

KEY_FILE_NAME = "api_key"


def ensure_api_key(configured: str | None, config_dir: Path) -> tuple[str, bool]:
    """Return ``(key, generated_now)``; a configured key always wins over the stored one."""
    if configured:
        return configured, False
    key_file = config_dir / KEY_FILE_NAME
    if key_file.exists():
        stored = key_file.read_text(encoding="utf-8").strip()
        if stored:
            return stored, False
    key = secrets.token_urlsafe(32)
    config_dir.mkdir(parents=True, exist_ok=True)
    # O_EXCL: two instances starting at once must not each write a different key.
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return key_file.read_text(encoding="utf-8").strip(), False
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key + "\n")
    return key, True
