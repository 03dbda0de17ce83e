"""Imports in ingestion/ and plugins/ point one way, down the layers listed here, and never in a circle.

Each module's imports are read from its source (ast), including the imports inside functions (a
lazy import is still a dependency, and the usual way a circle hides) but not those under
``if TYPE_CHECKING:``, which never run and only name types for annotations. ``from package import
name`` is an import of the module ``package.name`` when there is one, else of ``package`` itself
(its ``__init__``), so a module that takes a name from its own package's ``__init__`` while that
``__init__`` imports the module shows up as a circle. Importing ``a.b.c`` also runs ``a.b``'s
``__init__``, which counts as an import of ``a.b``: a package ``__init__`` that imports a module
which imports one of the package's own modules back is a circle too.

A module may import from its own layer and the layers below it. Layers are listed lowest first,
and a module belongs to the entry that is the longest prefix of its name; a module that no entry
covers fails the test, so a new module gets its place here when it is added.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

# Which project packages each tree may import at all. The Spark job ships with clickstream_contract
# only (the EMR zip), so plugins import nothing else; ingestion runs without Dagster and the tools.
ALLOWED_PACKAGES = {
    "clickstream_contract": {"clickstream_contract"},
    "clickstream_project": {"clickstream_contract", "clickstream_project"},
    "ingestion": {"clickstream_contract", "clickstream_project", "ingestion"},
    "plugins": {"clickstream_contract", "plugins"},
    # The console reads the project model and talks to Dagster over GraphQL, never its internals.
    "clickstream_console": {"clickstream_contract", "clickstream_project", "clickstream_console"},
}
PROJECT_PACKAGES = {*ALLOWED_PACKAGES, "clickstream_dagster", "clickstream_tools"}

INGESTION_LAYERS = [
    # The rules ingestion shares with processing, and the project model.
    ["clickstream_contract", "clickstream_project"],
    # Building blocks that know nothing of the service around them.
    [
        "ingestion.access_log", "ingestion.allowlist", "ingestion.auth", "ingestion.client_address", "ingestion.cors",
        "ingestion.errors", "ingestion.metrics", "ingestion.payload", "ingestion.records",
    ],
    # Destinations deliver sealed segments to the configured `pipeline.sink.type`, and the lake
    # layout their objects follow.
    ["ingestion.sinks"],
    # Sources the platform reads itself (pipeline.sources): land raw files through a destination.
    ["ingestion.sources"],
    # The spool accepts each request before the 200 and ships sealed segments to a destination.
    ["ingestion.spool"],
    # The service's settings and the per-app state the handlers share.
    ["ingestion.settings"],
    # The request handlers.
    ["ingestion.views"],
    # The app factory; gunicorn's workers, which read requests before the app runs.
    ["ingestion.app", "ingestion.workers"],
    # Running the app under gunicorn.
    ["ingestion.server"],
]  # fmt: skip

PLUGINS_LAYERS = [
    ["clickstream_contract"],
    # Where the job reads and writes (local paths or S3 through Spark), and its run bookkeeping.
    [
        "plugins.commit",
        "plugins.load_manifests",
        "plugins.raw",
        "plugins.raw_files",
        "plugins.run_locks",
        "plugins.slices",
        "plugins.storage",
    ],
    # The event model: request elements, the ods_events schema, typed values, Arrow columns.
    ["plugins.arrow_columns", "plugins.elements", "plugins.ods_schema", "plugins.typed_values"],
    # The job's single Python pass; it runs element plugins without importing their interface.
    ["plugins.passes"],
    # The plugin interface (an element transformer's DataFrame form runs through the pass).
    ["plugins.base"],
    # The plugins, the built-in ones and the examples.
    ["plugins.enrich_ip", "plugins.enrich_ua", "plugins.examples", "plugins.sdk_transformer"],
    # The job's cleaning step.
    ["plugins.cleaning"],
    # The job's pure transform (raw, rules, plugins) -> (events, quarantine, counts).
    ["plugins.transform"],
    # Loading its result (write, dedup against earlier runs, commit) and the run report.
    ["plugins.load", "plugins.run_report"],
    # The job: plans the inputs and runs extract -> transform -> load.
    ["plugins.job"],
]


def modules_of(package: str) -> dict[str, Path]:
    root = REPO_ROOT / package
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


MODULES = {name: path for package in ALLOWED_PACKAGES for name, path in modules_of(package).items()}


def imports_of(module: str) -> set[str]:
    """The modules of the project that `module` imports (third-party ones are left out)."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, package)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.add(submodule if submodule in MODULES else base)
    # Importing `a.b.c` runs the `__init__` of `a.b` first: that is imported too, unless it is one
    # of the importer's own packages (initialised before the importer runs anyway) or the importer.
    own = {".".join(module.split(".")[:depth]) for depth in range(1, module.count(".") + 2)}
    found |= {parent for name in found for parent in _packages_above(name) if parent not in own}
    return {name for name in found if name.split(".")[0] in PROJECT_PACKAGES}


def _packages_above(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:depth]) for depth in range(2, len(parts)) if ".".join(parts[:depth]) in MODULES]


def _runtime_nodes(tree: ast.AST):
    """Every node except what sits under `if TYPE_CHECKING:`."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                stack.extend(child.orelse)
            else:
                stack.append(child)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _absolute(node: ast.ImportFrom, package: str) -> str:
    if not node.level:
        return node.module or ""
    parts = package.split(".")
    base = parts[: len(parts) - node.level + 1]
    return ".".join([*base, node.module] if node.module else base)


GRAPH = {module: imports_of(module) for module in MODULES}


def layer_of(module: str, layers: list[list[str]]) -> int | None:
    matches = [
        (len(prefix), index)
        for index, layer in enumerate(layers)
        for prefix in layer
        if module == prefix or module.startswith(prefix + ".")
    ]
    return max(matches)[1] if matches else None


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import circles: strongly connected components of more than one module, or a module
    importing itself (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    lowlink: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = lowlink[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                lowlink[node] = min(lowlink[node], lowlink[target])
            elif target in on_stack:
                lowlink[node] = min(lowlink[node], index[target])
        if lowlink[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_circles():
    assert cycles(GRAPH) == []


@pytest.mark.parametrize("package", sorted(ALLOWED_PACKAGES))
def test_each_tree_imports_only_the_packages_below_it(package):
    wrong = {
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        if module.split(".")[0] == package
        for target in targets
        if target.split(".")[0] not in ALLOWED_PACKAGES[package]
    }
    assert not wrong


@pytest.mark.parametrize(("package", "layers"), [("ingestion", INGESTION_LAYERS), ("plugins", PLUGINS_LAYERS)])
def test_imports_point_down_the_layers(package, layers):
    modules = [module for module in GRAPH if module.split(".")[0] == package]
    # The top-level package itself stays empty: it is a namespace, not a module of any layer.
    assert not GRAPH[package]
    unplaced = [module for module in modules if module != package and layer_of(module, layers) is None]
    assert not unplaced, f"add these modules to the layers of {package} in this file"
    upward = [
        f"{module} (layer {layer_of(module, layers)}) imports {target} (layer {layer_of(target, layers)})"
        for module in modules
        if module != package
        for target in sorted(GRAPH[module])
        if layer_of(target, layers) is not None and layer_of(target, layers) > layer_of(module, layers)
    ]
    assert not upward


def test_the_checks_see_circles_and_upward_imports():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"a"}}) == [["a"]]
    layers = [["x.low"], ["x.high"]]
    assert layer_of("x.high.part", layers) == 1 and layer_of("x.low", layers) == 0 and layer_of("x.other", layers) is None
    tree = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import a\nelse:\n    import b\ndef f():\n    import c\n")
    assert {alias.name for node in _runtime_nodes(tree) if isinstance(node, ast.Import) for alias in node.names} == {"b", "c"}
