#!/usr/bin/env python3
"""Generate everything that derives from ``proto/``, deterministically, in one command.

Outputs (all committed):
  stubs/arrtheaudio_proto/v1/*_pb2.py, *_pb2.pyi, *_pb2_grpc.py
                                                             Python messages, type stubs, gRPC stubs
  descriptors/arrtheaudio.binpb                              descriptor set for Envoy's transcoder
                                                             (imports included, plus
                                                             google/rpc/error_details.proto so rich
                                                             error details render as JSON)

The proto package is ``arrtheaudio.v1``, so protoc names the Python modules ``arrtheaudio.v1.*``;
that would put the stubs inside the client library's package (importing them would run
``arrtheaudio/__init__.py``). They get a top-level package of their own, ``arrtheaudio_proto``,
which the server and the client both import: ``relocate`` rewrites the generated imports and
module names (never the proto package or type names inside the serialized descriptors).

protoc comes from the pinned ``grpcio-tools`` wheel; ``google/api`` and ``google/rpc`` protos
come from the installed ``googleapis-common-protos`` wheel (never copied into the repo).

  python scripts/gen_proto.py           regenerate in place
  python scripts/gen_proto.py --check   exit 1 and name the stale files if the committed
                                        output differs from what the protos generate
"""

from __future__ import annotations

import argparse
import filecmp
import re
import shutil
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
PROTO_DIR = REPO_ROOT / "proto"
PACKAGE_DIR = "arrtheaudio/v1"  # where the protos live (buf: directory = proto package)
STUBS_DIR = "stubs/arrtheaudio_proto/v1"  # where their Python modules go, relative to the repo
PYTHON_PACKAGE = "arrtheaudio_proto.v1"
# Python module references only: `from arrtheaudio_proto.v1 import x_pb2`, `'arrtheaudio.v1.x_pb2'`.
# Proto names (`arrtheaudio.v1.JobService`, `.arrtheaudio.v1.Job`) never end in _pb2 or follow `from`.
_MODULE_REF = re.compile(r"\bfrom arrtheaudio\.v1 import\b|\barrtheaudio\.v1\.(?=\w+_pb2(?:_grpc)?\b)")
DESCRIPTOR = REPO_ROOT / "descriptors" / "arrtheaudio.binpb"
# Not imported by our protos, but the server attaches these to errors; Envoy can only
# render details whose types are in its descriptor set.
EXTRA_DESCRIPTOR_PROTOS = ("google/rpc/error_details.proto",)
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")


def googleapis_proto_root() -> Path:
    """The site-packages dir holding google/api/*.proto from googleapis-common-protos."""
    import google.api

    for entry in google.api.__path__:
        candidate = Path(entry)
        if (candidate / "annotations.proto").is_file():
            return candidate.parent.parent
    raise SystemExit(
        "gen_proto: googleapis-common-protos is not installed (google/api/annotations.proto missing)"
    )


def wkt_proto_root() -> Path:
    """grpc_tools ships google/protobuf/*.proto (the well-known types)."""
    import grpc_tools

    return Path(grpc_tools.__file__).parent / "_proto"


def proto_files() -> list[str]:
    files = sorted(p.relative_to(PROTO_DIR).as_posix() for p in (PROTO_DIR / PACKAGE_DIR).glob("*.proto"))
    if not files:
        raise SystemExit(f"gen_proto: no .proto files under {PROTO_DIR / PACKAGE_DIR}")
    return files


def run_protoc(args: list[str]) -> None:
    from grpc_tools import protoc

    rc = protoc.main(["grpc_tools.protoc", *args])
    if rc != 0:
        raise SystemExit(f"gen_proto: protoc failed (exit {rc}) for: {' '.join(args)}")


def relocate(source: str) -> str:
    """Point one generated module's imports and module names at ``arrtheaudio_proto.v1``."""

    def repl(match: re.Match[str]) -> str:
        return f"from {PYTHON_PACKAGE} import" if match.group(0).startswith("from") else f"{PYTHON_PACKAGE}."

    return _MODULE_REF.sub(repl, source)


def generate(out_root: Path) -> None:
    """Write the Python package under ``out_root/stubs`` and the descriptor under ``out_root/descriptors``."""
    client_out = out_root / "protoc-out"
    (client_out / PACKAGE_DIR).mkdir(parents=True, exist_ok=True)
    includes = [f"-I{PROTO_DIR}", f"-I{googleapis_proto_root()}", f"-I{wkt_proto_root()}"]
    files = proto_files()
    run_protoc(
        [
            *includes,
            f"--python_out={client_out}",
            f"--pyi_out={client_out}",
            f"--grpc_python_out={client_out}",
            *files,
        ]
    )
    descriptor = out_root / "descriptors" / DESCRIPTOR.name
    descriptor.parent.mkdir(parents=True, exist_ok=True)
    run_protoc(
        [
            *includes,
            "--include_imports",
            f"--descriptor_set_out={descriptor}",
            *files,
            *EXTRA_DESCRIPTOR_PROTOS,
        ]
    )
    stubs = out_root / STUBS_DIR
    stubs.mkdir(parents=True, exist_ok=True)
    for path in sorted((client_out / PACKAGE_DIR).iterdir()):
        if path.name.endswith(GENERATED_SUFFIXES):
            (stubs / path.name).write_text(relocate(path.read_text()))
    shutil.rmtree(client_out)


def generated_in(root: Path) -> dict[str, Path]:
    """Relative path → file, for every generated file under a tree laid out like the repo."""
    found: dict[str, Path] = {}
    pkg = root / STUBS_DIR
    if pkg.is_dir():
        for path in pkg.iterdir():
            if path.name.endswith(GENERATED_SUFFIXES):
                found[path.relative_to(root).as_posix()] = path
    descriptor = root / "descriptors" / DESCRIPTOR.name
    if descriptor.is_file():
        found[descriptor.relative_to(root).as_posix()] = descriptor
    return found


def stale_files(fresh_root: Path) -> list[str]:
    fresh = generated_in(fresh_root)
    current = generated_in(REPO_ROOT)
    problems = []
    for rel in sorted(fresh.keys() | current.keys()):
        if rel not in current:
            problems.append(f"missing: {rel}")
        elif rel not in fresh:
            problems.append(f"no longer generated (delete it): {rel}")
        elif not filecmp.cmp(fresh[rel], current[rel], shallow=False):
            problems.append(f"out of date: {rel}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="fail if committed generated files are stale")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="gen_proto-") as tmp:
        fresh_root = Path(tmp)
        generate(fresh_root)
        problems = stale_files(fresh_root)
        if args.check:
            if problems:
                print(
                    "gen_proto: generated code is stale; run `python scripts/gen_proto.py` and commit:",
                    file=sys.stderr,
                )
                for line in problems:
                    print(f"  {line}", file=sys.stderr)
                return 1
            print("gen_proto: generated code is up to date")
            return 0
        for rel in problems:
            if rel.startswith("no longer generated"):
                path = REPO_ROOT / rel.split(": ", 1)[1]
                path.unlink()
        for rel, path in generated_in(fresh_root).items():
            target = REPO_ROOT / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
        print(f"gen_proto: wrote {len(generated_in(fresh_root))} files ({len(problems)} changed)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
