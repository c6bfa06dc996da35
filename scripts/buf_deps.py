#!/usr/bin/env python3
"""Make the third-party protos our contract imports visible to buf, offline.

buf normally fetches googleapis from the Buf Schema Registry; this machine (and CI) is
offline, so we copy google/api/*.proto and google/rpc/*.proto out of the installed
``googleapis-common-protos`` wheel into ``.build/buf_deps/`` (gitignored). ``buf.yaml``
lists that directory as a second module of the workspace, excluded from lint and breaking.
The copy is rebuilt from scratch every run so an upgraded wheel never leaves stale files.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DEPS_DIR = REPO_ROOT / ".build" / "buf_deps"
PACKAGES = ("google/api", "google/rpc")


def googleapis_root() -> Path:
    import google.api

    for entry in google.api.__path__:
        if (Path(entry) / "annotations.proto").is_file():
            return Path(entry).parent.parent
    raise SystemExit("buf_deps: googleapis-common-protos is not installed")


def main() -> int:
    source = googleapis_root()
    if DEPS_DIR.exists():
        shutil.rmtree(DEPS_DIR)
    copied = 0
    for package in PACKAGES:
        for proto in sorted((source / package).glob("*.proto")):
            target = DEPS_DIR / package / proto.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(proto, target)
            copied += 1
    print(f"buf_deps: copied {copied} protos from {source} to {DEPS_DIR.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
