"""What a configured plugin says about itself, read from its source without importing it.

Importing a plugin would run its module (and PySpark's) inside the console, and a custom plugin
is anyone's code; the console only needs the class's docstring. So the module's file is found
by the import system's own finders (``sys.meta_path``: editable installs, then ``sys.path``),
package by package the way an import descends, without running any package's ``__init__``, and
the class's docstring is read from the parsed source.
"""

from __future__ import annotations

import ast
import functools
import sys
from dataclasses import dataclass
from importlib.machinery import ModuleSpec
from pathlib import Path


class PluginNotFound(LookupError):
    """Why a plugin's class cannot be found; shown as the plugin's state."""


@dataclass(frozen=True)
class PluginSource:
    path: Path
    # The first paragraph of the class's docstring, on one line; None when it has none.
    summary: str | None


def plugin_source(dotted_name: str) -> PluginSource:
    """Where ``package.module.ClassName`` is defined and its summary; PluginNotFound if the
    module or the class cannot be found in the console's environment (on one machine the
    processing job's too; on EMR Serverless the job ships its own copy of plugins/)."""
    module, _, class_name = dotted_name.rpartition(".")
    path = _module_file(module)
    try:
        stat = path.stat()
    except OSError as error:
        raise PluginNotFound(f"cannot read {path}: {error.strerror or error}") from None
    return PluginSource(path, _class_summary(path, stat.st_mtime_ns, stat.st_size, class_name))


def _module_file(module: str) -> Path:
    search: list[str] | None = None  # None: sys.path
    parts = module.split(".")
    spec = None
    for depth in range(1, len(parts) + 1):
        name = ".".join(parts[:depth])
        if depth > 1 and search is None:
            raise PluginNotFound(f"module {module!r} not found: {'.'.join(parts[: depth - 1])!r} is not a package")
        spec = _find_spec(name, search)
        if spec is None:
            raise PluginNotFound(f"module {name!r} not found on the console's Python path")
        search = list(spec.submodule_search_locations) if spec.submodule_search_locations is not None else None
    if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
        raise PluginNotFound(f"module {module!r} has no Python source to read")
    return Path(spec.origin)


def _find_spec(name: str, search: list[str] | None) -> ModuleSpec | None:
    for finder in sys.meta_path:
        find_spec = getattr(finder, "find_spec", None)
        spec = find_spec(name, search) if find_spec is not None else None
        if spec is not None:
            return spec
    return None


# Keyed on the file's modification time and size too, so an edited plugin is read again.
@functools.lru_cache(maxsize=64)
def _class_summary(path: Path, _mtime_ns: int, _size: int, class_name: str) -> str | None:
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (OSError, SyntaxError, ValueError, RecursionError) as error:
        raise PluginNotFound(f"cannot read {path}: {error}") from None
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == class_name:
            docstring = ast.get_docstring(node)
            return " ".join(docstring.split("\n\n", 1)[0].split()) if docstring else None
    raise PluginNotFound(f"no class {class_name!r} is defined in {path}")
