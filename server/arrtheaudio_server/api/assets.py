"""The dashboard's files, read once at start from the installed package (``arrtheaudio_server/web``).

Only the files found there are ever served: a request names a key of this table, never a
path on disk, so no ``..`` or symlink can reach anything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

# Explicit types (not the platform's mimetypes table): a module script must be served as
# JavaScript or the browser refuses it under X-Content-Type-Options: nosniff.
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
}
INDEX = "index.html"


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    content_type: str


class Assets:
    """Name (relative to /ui/) → file, held in memory: the whole dashboard is ~100 KB."""

    def __init__(self, files: dict[str, Asset]) -> None:
        self._files = files

    @classmethod
    def load(cls, root: Traversable | None = None) -> Assets:
        """Blocking (reads files): call it in a thread."""
        base = root or resources.files("arrtheaudio_server") / "web"
        files: dict[str, Asset] = {}
        stack: list[tuple[str, Traversable]] = [("", base)] if base.is_dir() else []
        while stack:
            prefix, folder = stack.pop()
            for entry in folder.iterdir():
                name = f"{prefix}{entry.name}"
                if entry.is_dir():
                    stack.append((f"{name}/", entry))
                    continue
                suffix = "." + entry.name.rpartition(".")[2].lower()
                if suffix in CONTENT_TYPES:
                    files[name] = Asset(entry.read_bytes(), CONTENT_TYPES[suffix])
        return cls(files)

    def get(self, path: str) -> Asset | None:
        """``""`` and any folder ("jobs/") mean index.html: the pages route by the URL's #fragment."""
        name = path.strip("/")
        if not name or path.endswith("/"):
            name = f"{name}/{INDEX}".lstrip("/")
        return self._files.get(name)
