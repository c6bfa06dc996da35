"""scan: library discovery of ``--files`` (100,000) entries vs ``find`` on the same tree, same run.

The tree is nested like a real Sonarr library: ``Show/Season NN/`` with episodes (MKV and
MP4, sparse 2 MiB files) each beside an ``.nfo`` and an ``.srt``, a small ``-sample.mkv``
per season (left out by the size filter), an ``Extras/`` folder per show (left out by an
exclude pattern) and show-level ``tvshow.nfo`` / ``poster.jpg``. The queue's discovery
(``queue.discovery.discover``, the function ``StartBatch`` runs in a thread) and
``find`` with the same filters (extensions, prune Extras, ``-size``) walk it
``--repeat`` times, alternating; both must find the same files. The page cache is warm for
both (the tree was just written; dropping caches would disturb other users of the machine).

    .venv/bin/python -m bench.scan --files 100000
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._harness import base_parser, emit, say, workdir

EPISODE_BYTES = 2 * 1024 * 1024
SAMPLE_BYTES = 100 * 1024
MIN_SIZE_MB = 1.0
EXCLUDES = ["**/Extras"]


def _touch(path: Path, size: int) -> None:
    with open(path, "wb") as handle:
        if size:
            handle.truncate(size)  # sparse: the size is real to stat(), no disk is used


def build_tree(
    root: Path, total: int, *, seasons: int = 4, episodes: int = 10, sidecars: bool = True
) -> dict[str, int]:
    """Create about ``total`` entries; returns how many of each kind (``wanted`` = what a scan must find)."""
    counts = {"files": 0, "wanted": 0, "excluded": 0, "too_small": 0, "other": 0}
    show = 0
    while counts["files"] < total:
        name = f"Show {show:05d}"
        show_dir = root / name
        for extra in ("tvshow.nfo", "poster.jpg"):
            if counts["files"] >= total:
                break
            (show_dir).mkdir(parents=True, exist_ok=True)
            _touch(show_dir / extra, 0)
            counts["files"] += 1
            counts["other"] += 1
        for season in range(1, seasons + 1):
            season_dir = show_dir / f"Season {season:02d}"
            season_dir.mkdir(parents=True, exist_ok=True)
            for episode in range(1, episodes + 1):
                if counts["files"] >= total:
                    break
                ext = "mkv" if episode % 3 else "mp4"
                stem = f"{name} - S{season:02d}E{episode:02d}"
                _touch(season_dir / f"{stem}.{ext}", EPISODE_BYTES)
                counts["files"] += 1
                counts["wanted"] += 1
                for side in ("nfo", "srt") if sidecars else ():
                    if counts["files"] < total:
                        _touch(season_dir / f"{stem}.{side}", 0)
                        counts["files"] += 1
                        counts["other"] += 1
            if counts["files"] < total:
                _touch(season_dir / f"{name} - S{season:02d}-sample.mkv", SAMPLE_BYTES)
                counts["files"] += 1
                counts["too_small"] += 1
        extras = show_dir / "Extras"
        extras.mkdir(exist_ok=True)
        for index in range(5):
            if counts["files"] >= total:
                break
            _touch(extras / f"Featurette {index}.mkv", EPISODE_BYTES)
            counts["files"] += 1
            counts["excluded"] += 1
        show += 1
    counts["shows"] = show
    return counts


def run_discover(root: Path) -> tuple[float, list[str]]:
    from arrtheaudio_server.config import ContainerSettings
    from arrtheaudio_server.queue.discovery import discover, extensions_for

    start = time.perf_counter()
    found = discover(
        root,
        roots=[root],
        recursive=True,
        pattern=None,
        exclude_patterns=EXCLUDES,
        min_size_mb=MIN_SIZE_MB,
        max_age_days=None,
        extensions=extensions_for(ContainerSettings()),
    )
    return time.perf_counter() - start, [item.path for item in found]


def run_find(root: Path) -> tuple[float, list[str]]:
    min_bytes = int(MIN_SIZE_MB * 1024 * 1024)
    argv = [
        "find",
        str(root),
        "(",
        "-type",
        "d",
        "-name",
        "Extras",
        "-prune",
        ")",
        "-o",
        "-type",
        "f",
        "(",
        "-iname",
        "*.mkv",
        "-o",
        "-iname",
        "*.mp4",
        "-o",
        "-iname",
        "*.m4v",
        ")",
        "-size",
        f"+{min_bytes - 1}c",
        "-print",
    ]
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, check=True)
    took = time.perf_counter() - start
    return took, proc.stdout.decode().splitlines()


def main(argv: list[str] | None = None) -> int:
    parser = base_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=100_000, help="entries in the tree (all kinds)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--no-sidecars",
        action="store_true",
        help="no .nfo/.srt beside each episode (then most entries are media files)",
    )
    args = parser.parse_args(argv)
    if args.files < 1 or args.repeat < 1:
        parser.error("--files and --repeat must be ≥ 1")

    with workdir("scan", keep=args.keep) as work:
        root = work / "library"
        start = time.perf_counter()
        counts = build_tree(root, args.files, sidecars=not args.no_sidecars)
        say(
            f"scan: built {counts['files']} files in {counts['shows']} shows in {time.perf_counter() - start:.1f} s "
            f"({counts['wanted']} to find, {counts['excluded']} excluded, {counts['too_small']} too small)"
        )
        run_discover(root), run_find(root)  # warm-up: imports, dentry cache
        ours: list[float] = []
        theirs: list[float] = []
        found_ours: list[str] = []
        found_find: list[str] = []
        for index in range(args.repeat):
            pair = (run_discover, run_find) if index % 2 == 0 else (run_find, run_discover)
            for fn in pair:
                took, found = fn(root)
                if fn is run_discover:
                    ours.append(took)
                    found_ours = found
                else:
                    theirs.append(took)
                    found_find = found
        same = sorted(found_ours) == sorted(os.path.realpath(p) for p in found_find)
        med_ours, med_find = statistics.median(ours), statistics.median(theirs)
        say(
            f"  discover: median {med_ours * 1000:.0f} ms (best {min(ours) * 1000:.0f}), found {len(found_ours)}"
        )
        say(
            f"  find:     median {med_find * 1000:.0f} ms (best {min(theirs) * 1000:.0f}), found {len(found_find)}"
        )
        say(f"  discover / find = {med_ours / med_find:.2f}x the time; same files: {same}")
        results: dict[str, Any] = {
            "tree": counts,
            "discover_ms": {
                "median": round(med_ours * 1000, 2),
                "best": round(min(ours) * 1000, 2),
                "all": [round(t * 1000, 2) for t in ours],
            },
            "find_ms": {
                "median": round(med_find * 1000, 2),
                "best": round(min(theirs) * 1000, 2),
                "all": [round(t * 1000, 2) for t in theirs],
            },
            "discover_over_find": round(med_ours / med_find, 3),
            "found_discover": len(found_ours),
            "found_find": len(found_find),
            "same_files": same,
            "entries_per_s": round(counts["files"] / med_ours),
        }
        params = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
        emit("scan", params, results, [])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
