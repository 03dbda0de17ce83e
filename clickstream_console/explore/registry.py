"""The analysis types Explore offers, by their KIND (explore/analysis.py describes a type's module)."""

from __future__ import annotations

from types import ModuleType

from clickstream_console.explore import event, funnel, path, retention

KINDS: dict[str, ModuleType] = {module.KIND: module for module in (event, funnel, path, retention)}
TITLES = {"event": "Event analysis", "funnel": "Funnel", "path": "Path", "retention": "Retention"}
