"""The server's layers, read from the source: who may import whom, no cycles, one composition root.

Every ``import`` in every module counts (also those inside functions and under
``TYPE_CHECKING``: a lazy import is still a dependency). A node is a subpackage of
``arrtheaudio_server`` (``media``, ``queue``, ...) or a top-level module (``config``, ``paths``).
"""

from __future__ import annotations

import ast
import graphlib
from collections import defaultdict
from pathlib import Path

import pytest

SERVER_ROOT = Path(__file__).resolve().parents[2] / "server" / "arrtheaudio_server"
PACKAGE = "arrtheaudio_server"

# The domain: no gRPC, no generated code, no database, nothing above it.
DOMAIN = ("media", "metadata")
TRANSPORT = ("grpc", "grpc_health", "grpc_reflection", "grpc_status", "arrtheaudio_proto", "google")
DATABASE = ("sqlalchemy", "sqlmodel", "aiosqlite", "asyncpg")
ABOVE_DOMAIN = ("queue", "api", "runtime", "app", "cli")
# Only the composition root constructs these parts (see runtime.py).
COMPOSITION_ROOT = "runtime"
BUILT_BY_ROOT = {("Store", "open"), ("EventBus", None), ("Pipeline", None), ("MediaPipeline", None)}


def _module_name(path: Path, root: Path, package: str) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([package, *parts])


def _imports(tree: ast.AST, module: str, is_package: bool, package: str) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.add(target)
            # ``from arrtheaudio_server import ids`` imports the module ``ids``.
            found.update(f"{target}.{alias.name}" for alias in node.names if target == package)
    return found


def _node(module: str, package: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == package and len(parts) > 1 else None


def layer_graph(root: Path, package: str) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(node → nodes of the package it imports, node → external top-level packages it imports)."""
    internal: dict[str, set[str]] = defaultdict(set)
    external: dict[str, set[str]] = defaultdict(set)
    for path in sorted(root.rglob("*.py")):
        module = _module_name(path, root, package)
        source = _node(module, package)
        if source is None:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        internal.setdefault(source, set())
        for target in _imports(tree, module, path.name == "__init__.py", package):
            node = _node(target, package)
            if node is not None and node != source:
                internal[source].add(node)
            elif target.split(".")[0] != package:
                external[source].add(target.split(".")[0])
    return dict(internal), dict(external)


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    try:
        tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        return list(exc.args[1])
    return None


@pytest.fixture(scope="module")
def graph() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    return layer_graph(SERVER_ROOT, PACKAGE)


def test_the_reader_sees_the_known_layers(graph: tuple[dict[str, set[str]], dict[str, set[str]]]) -> None:
    internal, external = graph
    assert {"media", "metadata", "queue", "api", "config", "runtime"} <= set(internal)
    assert "metadata" in internal["media"]  # the pipeline asks the resolver
    assert {"api", "queue"} <= internal["runtime"]
    assert "grpc" in external["api"] and "sqlalchemy" in external["queue"]


def test_no_import_cycle_between_server_packages(
    graph: tuple[dict[str, set[str]], dict[str, set[str]]],
) -> None:
    internal, _ = graph
    assert find_cycle(internal) is None


@pytest.mark.parametrize("layer", DOMAIN)
def test_domain_imports_no_transport_database_or_upper_layer(
    layer: str, graph: tuple[dict[str, set[str]], dict[str, set[str]]]
) -> None:
    internal, external = graph
    assert not internal[layer] & set(ABOVE_DOMAIN)
    assert not external[layer] & set(TRANSPORT + DATABASE)


def test_metadata_never_imports_media(graph: tuple[dict[str, set[str]], dict[str, set[str]]]) -> None:
    internal, _ = graph
    assert "media" not in internal["metadata"]


def test_queue_never_imports_the_api_or_generated_code(
    graph: tuple[dict[str, set[str]], dict[str, set[str]]],
) -> None:
    internal, external = graph
    assert not internal["queue"] & {"api", "runtime", "app", "cli"}
    assert not external["queue"] & set(TRANSPORT)


def test_the_server_never_imports_the_client_library(
    graph: tuple[dict[str, set[str]], dict[str, set[str]]],
) -> None:
    _, external = graph
    assert {node for node, names in external.items() if "arrtheaudio" in names} == set()


def _constructions(tree: ast.AST) -> set[tuple[str, str | None]]:
    built: set[tuple[str, str | None]] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name):
            built.add((func.id, None))
        elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            built.add((func.value.id, func.attr))
    return built & BUILT_BY_ROOT


def test_only_the_composition_root_builds_storage_pipeline_and_event_bus() -> None:
    builders: dict[str, set[tuple[str, str | None]]] = {}
    for path in sorted(SERVER_ROOT.rglob("*.py")):
        built = _constructions(ast.parse(path.read_text(encoding="utf-8")))
        if built:
            builders[_module_name(path, SERVER_ROOT, PACKAGE)] = built
    assert builders == {
        f"{PACKAGE}.{COMPOSITION_ROOT}": {("Store", "open"), ("EventBus", None), ("Pipeline", None)}
    }


def test_a_cycle_is_reported(tmp_path: Path) -> None:
    """The checker itself: two packages importing each other (one lazily, one relatively) fail."""
    root = tmp_path / "pkg"
    for name, body in {
        "__init__.py": "",
        "a/__init__.py": "",
        "a/one.py": "def f():\n    from pkg.b.two import g\n    return g\n",
        "b/__init__.py": "",
        "b/two.py": "from ..a import one\nfrom pkg import c\n",
        "c.py": "import json\n",
    }.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(body)
    internal, external = layer_graph(root, "pkg")
    assert internal == {"a": {"b"}, "b": {"a", "c"}, "c": set()}
    assert external == {"c": {"json"}}
    cycle = find_cycle(internal)
    assert cycle is not None and set(cycle) == {"a", "b"}
    internal["b"].discard("a")
    assert find_cycle(internal) is None
