"""Finding the media files of a batch: one directory walk, filters applied on the way.

A library scan can meet tens of thousands of files, so the walk is ``os.scandir`` with an
explicit stack (no recursion limit, no ``Path`` object per entry; measured here ≈ 9× faster
than ``Path.rglob``), every pattern is compiled once, and the size/age filters read the
``stat`` that the directory entry already caches. It is synchronous on purpose: the queue
runs it in a worker thread so the event loop never waits for a disk.

What counts as a candidate:

* the extension (case-insensitive) maps to an enabled container: ``.mkv`` → MKV,
  ``.mp4``/``.m4v`` → MP4 (:func:`extensions_for`);
* ``pattern`` (if given) matches — a glob on the file name, or on the path relative to
  the batch directory when it contains ``/``; ``**``, ``{a,b}`` and ``@(…)`` are allowed and
  matching ignores case;
* no ``exclude_patterns`` entry matches, with the same name-or-relative-path rule; an
  exclude that matches a directory prunes the whole directory (``Extras``, ``**/Sample``);
* ``min_size_mb`` (MiB) / ``max_age_days`` (by modification time); 0 or ``None`` disables.

And what is never a candidate: our own temporary files (names containing
:data:`TEMP_MARKER`); hidden files and directories (a leading ``.``, which also covers
macOS ``._*`` resource forks and QNAP ``.@__thumb``) and Synology's ``@eaDir`` thumbnails;
symlinks — to files or directories — whose target lies outside the media roots.

Symlinks inside the roots are followed, and every returned path is the *real* path of
the file: the job then edits the file itself (not a link that an atomic MP4 replace
would overwrite), and a file reached twice (directly and by a link) is returned once.
Directories are visited at most once by real path, so a symlink loop ends the descent.
"""

from __future__ import annotations

import math
import os
import stat
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from wcmatch import glob as wcglob

from arrtheaudio_server.config import ContainerSettings
from arrtheaudio_server.media.result import Container
from arrtheaudio_server.queue.domain import InvalidRequest

TEMP_MARKER = ".arrtheaudio-tmp"
"""Part of the name of every temporary file the MP4 writer makes; a scan skips them."""

CONTAINER_EXTENSIONS: Mapping[Container, tuple[str, ...]] = {
    Container.MKV: (".mkv",),
    Container.MP4: (".mp4", ".m4v"),
}

# Directory names that hold NAS thumbnails / metadata, never media to fix.
_SKIPPED_DIR_NAMES = frozenset({"@eadir", "#recycle", "#snapshot"})

GLOB_FLAGS = (
    wcglob.GLOBSTAR | wcglob.BRACE | wcglob.EXTGLOB | wcglob.IGNORECASE | wcglob.MATCHBASE | wcglob.FORCEUNIX
)
"""``MATCHBASE`` gives the name-or-relative-path rule: a pattern without ``/`` matches the base name."""

MAX_PATTERN_LENGTH = 1024
MAX_EXCLUDE_PATTERNS = 100
_MIB = 1024 * 1024
_DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class DiscoveredFile:
    path: str  # real (symlink-free) absolute path
    container: Container
    size: int  # bytes
    # From the same stat: what a rescan compares with the file's last check.
    mtime_ns: int = 0
    inode: int = 0


@dataclass(frozen=True, slots=True)
class _Filters:
    include: wcglob.WcMatcher | None
    exclude: wcglob.WcMatcher | None
    min_size: int | None  # bytes
    max_age: float | None  # seconds


def extensions_for(containers: ContainerSettings | Iterable[Container]) -> dict[str, Container]:
    """The lower-case extensions (with dot) of the enabled containers."""
    if isinstance(containers, ContainerSettings):
        enabled = [c for c, on in ((Container.MKV, containers.mkv), (Container.MP4, containers.mp4)) if on]
    else:
        enabled = list(containers)
    return {ext: container for container in enabled for ext in CONTAINER_EXTENSIONS[container]}


def _check_pattern(field_name: str, pattern: str) -> None:
    if not pattern.strip():
        raise InvalidRequest(field_name, "a pattern must not be empty")
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise InvalidRequest(field_name, f"a pattern must be at most {MAX_PATTERN_LENGTH} characters")
    if "\x00" in pattern:
        raise InvalidRequest(field_name, "a pattern must not contain a NUL byte")
    if pattern.startswith("/"):
        raise InvalidRequest(field_name, f"{pattern!r}: patterns are relative to the batch path")
    if ".." in pattern.split("/"):
        raise InvalidRequest(field_name, f"{pattern!r}: '..' never matches a path inside the batch")


def _compile(field_name: str, patterns: Sequence[str]) -> wcglob.WcMatcher:
    try:
        return wcglob.compile(list(patterns), flags=GLOB_FLAGS)
    except Exception as exc:  # wcmatch raises ValueError / PatternLimitException for unusable globs
        raise InvalidRequest(field_name, f"invalid glob pattern: {exc}") from exc


def _check_number(field_name: str, value: float | None) -> float | None:
    if value is None:
        return None
    if not math.isfinite(value) or value < 0:
        raise InvalidRequest(field_name, f"must be a finite number ≥ 0 (0 disables it), got {value!r}")
    return value or None


def validate_patterns(
    pattern: str | None,
    exclude_patterns: Sequence[str] = (),
    *,
    min_size_mb: float | None = None,
    max_age_days: float | None = None,
) -> None:
    """Raise :class:`InvalidRequest` (naming the request field) for unusable filters.

    The batch service calls this before it accepts a request, so a bad pattern is an
    INVALID_ARGUMENT answer rather than a batch that fails later. An empty ``pattern`` means
    "every media file" (as in the API), an empty entry among the excludes is an error.
    """
    _compile_filters(pattern, exclude_patterns, min_size_mb=min_size_mb, max_age_days=max_age_days)


def _compile_filters(
    pattern: str | None,
    exclude_patterns: Sequence[str],
    *,
    min_size_mb: float | None,
    max_age_days: float | None,
) -> _Filters:
    include = None
    if pattern:  # None and "" both mean: no pattern
        _check_pattern("pattern", pattern)
        include = _compile("pattern", [pattern])
    if isinstance(exclude_patterns, str):
        raise InvalidRequest("exclude_patterns", "must be a list of patterns, not one string")
    if len(exclude_patterns) > MAX_EXCLUDE_PATTERNS:
        raise InvalidRequest("exclude_patterns", f"at most {MAX_EXCLUDE_PATTERNS} patterns are allowed")
    exclude = None
    if exclude_patterns:
        for item in exclude_patterns:
            _check_pattern("exclude_patterns", item)
        exclude = _compile("exclude_patterns", exclude_patterns)
    min_mb = _check_number("min_size_mb", min_size_mb)
    max_days = _check_number("max_age_days", max_age_days)
    return _Filters(
        include=include,
        exclude=exclude,
        min_size=math.ceil(min_mb * _MIB) if min_mb else None,
        max_age=max_days * _DAY if max_days else None,
    )


def _under_roots(real: str, roots: Sequence[str]) -> bool:
    return any(real == root or real.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


def _hidden(name: str) -> bool:
    return name.startswith(".")


def discover(
    root: Path,
    *,
    roots: Sequence[Path],
    recursive: bool,
    pattern: str | None,
    exclude_patterns: Sequence[str],
    min_size_mb: float | None,
    max_age_days: float | None,
    extensions: Mapping[str, Container],
    now: float | None = None,
) -> list[DiscoveredFile]:
    """Every candidate file under ``root`` (a directory or a single file), sorted by path.

    Raises :class:`InvalidRequest` for bad filters, a ``root`` outside ``roots`` or one
    that cannot be read. Subdirectories that vanish or cannot be read mid-scan are skipped:
    a scan reports what it could see.
    """
    filters = _compile_filters(pattern, exclude_patterns, min_size_mb=min_size_mb, max_age_days=max_age_days)
    exts = {(k if k.startswith(".") else "." + k).lower(): v for k, v in extensions.items()}
    root_strs = [os.path.realpath(r) for r in roots]
    real_root = os.path.realpath(root)
    if not _under_roots(real_root, root_strs):
        raise InvalidRequest("path", f"{str(root)!r} is outside the configured media roots")
    cutoff = (time.time() if now is None else now) - filters.max_age if filters.max_age else None
    scan = _Scan(filters, exts, root_strs, cutoff)

    if os.path.isfile(real_root):
        if TEMP_MARKER not in os.path.basename(real_root):
            scan.consider_file(real_root, os.path.basename(real_root), None)
        return scan.result()
    try:
        scan.walk(real_root, recursive=recursive)
    except OSError as exc:
        raise InvalidRequest("path", f"cannot read directory {str(root)!r}: {exc.strerror or exc}") from exc
    return scan.result()


class _Scan:
    """The state of one walk; a class only so the hot loop's lookups stay local and cheap."""

    def __init__(self, filters: _Filters, exts: dict[str, Container], roots: list[str], cutoff: float | None):
        self.filters = filters
        self.exts = exts
        self.roots = roots
        self.cutoff = cutoff
        self.found: dict[str, DiscoveredFile] = {}

    def result(self) -> list[DiscoveredFile]:
        return [self.found[path] for path in sorted(self.found)]

    def walk(self, real_root: str, *, recursive: bool) -> None:
        exclude = self.filters.exclude
        exts = self.exts
        visited = {real_root}
        stack: list[tuple[str, str]] = [(real_root, "")]  # (real directory, path relative to the batch root)
        # Linked directories wait until every real one was seen, so a directory reached
        # both ways is matched against its own relative path, whatever the listing order.
        linked: list[tuple[str, str]] = []
        first = True
        while stack or linked:
            if not stack:
                target, rel = linked.pop()
                if target not in visited:
                    visited.add(target)
                    stack.append((target, rel))
                continue
            directory, rel_dir = stack.pop()
            try:
                iterator = os.scandir(directory)
            except OSError:
                if first:
                    raise
                continue
            first = False
            with iterator:
                for entry in iterator:
                    name = entry.name
                    if _hidden(name) or TEMP_MARKER in name:
                        continue
                    rel = rel_dir + name
                    try:
                        is_link = entry.is_symlink()
                        if is_link:
                            target = os.path.realpath(entry.path)
                            if not _under_roots(target, self.roots):
                                continue
                            is_dir = os.path.isdir(target)
                        else:
                            target = entry.path
                            is_dir = entry.is_dir(follow_symlinks=False)
                    except OSError:
                        continue
                    if is_dir:
                        if not recursive or name.lower() in _SKIPPED_DIR_NAMES or target in visited:
                            continue
                        if exclude is not None and exclude.match(rel):
                            if not is_link:
                                visited.add(target)  # a link to it must not bring it back
                            continue
                        if is_link:
                            linked.append((target, rel + "/"))
                        else:
                            visited.add(target)
                            stack.append((target, rel + "/"))
                        continue
                    ext = os.path.splitext(name)[1].lower()
                    if not is_link and ext not in exts:
                        continue
                    self.consider_file(target, rel, None if is_link else entry)

    def consider_file(self, real_path: str, rel: str, entry: os.DirEntry[str] | None) -> None:
        # For a symlink the extension that counts is the target's: that is the file edited.
        container = self.exts.get(os.path.splitext(real_path)[1].lower())
        if container is None or real_path in self.found:
            return
        filters = self.filters
        if filters.include is not None and not filters.include.match(rel):
            return
        if filters.exclude is not None and filters.exclude.match(rel):
            return
        try:
            st = entry.stat() if entry is not None else os.stat(real_path)
        except OSError:
            return  # vanished or unreadable between listing and stat
        if not stat.S_ISREG(st.st_mode):
            return  # a FIFO or device named like a video is not one
        if filters.min_size is not None and st.st_size < filters.min_size:
            return
        if self.cutoff is not None and st.st_mtime < self.cutoff:
            return
        self.found[real_path] = DiscoveredFile(
            path=real_path, container=container, size=st.st_size, mtime_ns=st.st_mtime_ns, inode=st.st_ino
        )
