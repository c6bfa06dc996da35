"""Where a path from outside may lead: Arr path mapping and the media-roots guard.

Every path that reaches the server from a request (a webhook's file, a batch's
directory) passes through :class:`PathPolicy` before anything opens it. The guard
resolves ``..`` and symlinks first, so neither a traversal nor a symlink planted inside
a root can lead the server to a file outside the configured media roots.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from arrtheaudio_server.config import PathMapping, Settings


class PathRejected(ValueError):
    """A request's path cannot be used. ``kind`` tells the API which status to answer."""

    def __init__(self, kind: str, path: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind  # "invalid" | "outside_roots" | "not_found" | "not_a_directory" | "not_a_file"
        self.path = path


@dataclass(frozen=True)
class PathPolicy:
    mappings: tuple[PathMapping, ...]
    roots: tuple[Path, ...]

    @classmethod
    def from_settings(cls, settings: Settings) -> PathPolicy:
        # Longest remote prefix first, so "/tv/anime" wins over "/tv".
        ordered = sorted(settings.path_mappings, key=lambda m: len(m.remote.rstrip("/")), reverse=True)
        return cls(mappings=tuple(ordered), roots=tuple(settings.resolved_media_roots))

    def map_arr_path(self, arr_path: str) -> str:
        """Translate the Arr's view of a path into this machine's (longest prefix wins)."""
        for mapping in self.mappings:
            remote = mapping.remote.rstrip("/") or "/"
            if arr_path == remote or arr_path.startswith(remote.rstrip("/") + "/"):
                rest = arr_path[len(remote) :].lstrip("/")
                return str(PurePosixPath(mapping.local) / rest) if rest else mapping.local
        return arr_path

    def is_inside_roots(self, resolved: Path) -> bool:
        return any(resolved == root or resolved.is_relative_to(root) for root in self.roots)

    def resolve(self, raw: str, *, expect: str | None = None, must_exist: bool = True) -> Path:
        """Validate ``raw`` (already mapped) and return its fully resolved form inside a root.

        ``expect`` is ``"file"`` or ``"dir"``. Raises :class:`PathRejected`.
        """
        if not raw or "\x00" in raw:
            raise PathRejected("invalid", raw, "path is empty or contains a NUL byte")
        if not os.path.isabs(raw):
            raise PathRejected("invalid", raw, f"path must be absolute: {raw!r}")
        if not self.roots:
            raise PathRejected(
                "outside_roots", raw, "no media_roots are configured; the server touches no files"
            )
        try:
            resolved = Path(os.path.realpath(raw))
        except (OSError, ValueError) as exc:
            raise PathRejected("invalid", raw, f"cannot resolve {raw!r}: {exc}") from exc
        if not self.is_inside_roots(resolved):
            raise PathRejected("outside_roots", raw, f"{raw!r} is outside the configured media roots")
        if must_exist:
            try:
                st = resolved.stat()
            except (FileNotFoundError, NotADirectoryError) as exc:
                raise PathRejected("not_found", raw, f"{raw!r} does not exist") from exc
            except OSError as exc:
                # ENAMETOOLONG, EACCES, ELOOP…: a path we cannot use, not a server fault.
                raise PathRejected("invalid", raw, f"cannot use {raw!r}: {exc.strerror or exc}") from exc
            if expect == "file" and not stat.S_ISREG(st.st_mode):
                raise PathRejected("not_a_file", raw, f"{raw!r} is not a regular file")
            if expect == "dir" and not stat.S_ISDIR(st.st_mode):
                raise PathRejected("not_a_directory", raw, f"{raw!r} is not a directory")
        return resolved

    def resolve_arr_file(self, arr_path: str) -> Path:
        return self.resolve(self.map_arr_path(arr_path), expect="file")
