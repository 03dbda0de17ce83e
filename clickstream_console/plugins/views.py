"""The plugins page: what processing runs, in order, with each plugin's options (secrets
masked) and what its source says it does; the secrets-bearing ingestion and sink settings."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, render_template

from clickstream_console.access import requires
from clickstream_console.audit import mask_secrets
from clickstream_console.identity.roles import Feature
from clickstream_console.plugins.descriptions import PluginNotFound, plugin_source
from clickstream_console.state import project
from clickstream_project.config import PluginSpec

blueprint = Blueprint("plugins", __name__)


@dataclass(frozen=True)
class PluginView:
    kind: str
    name: str
    options: list[tuple[str, str]]
    files: list[str]
    summary: str | None
    # Why the console cannot find the plugin's class; None when it can.
    problem: str | None


@blueprint.get("/plugins")
@requires(Feature.PLUGIN_MANAGEMENT)
def overview():
    config = project()
    processing = config.pipeline.processing
    ingestion = config.pipeline.ingestion
    sink = config.pipeline.sink
    return render_template(
        "plugins/overview.html",
        transformer=_plugin_view("Transformer", processing.transformer),
        enrichments=[_plugin_view("Enrichment", spec) for spec in processing.enrichments],
        auth=settings_rows(ingestion.auth.model_dump(mode="json")) if ingestion.auth else None,
        sink_type=sink.type,
        sink=settings_rows(sink.model_dump(mode="json", exclude={"type"}, exclude_none=True)),
    )


def _plugin_view(kind: str, spec: PluginSpec) -> PluginView:
    try:
        summary, problem = plugin_source(spec.name).summary, None
    except PluginNotFound as error:
        summary, problem = None, str(error)
    return PluginView(kind, spec.name, settings_rows(spec.options), list(spec.files), summary, problem)


def settings_rows(settings: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Settings as (dotted key, shown value) rows, secrets masked (the audit log's rule)."""
    return _flatten(mask_secrets(settings), "")


def _flatten(settings: Mapping[str, Any], prefix: str) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for key, value in settings.items():
        if isinstance(value, Mapping) and value:
            rows += _flatten(value, f"{prefix}{key}.")
        else:
            rows.append((f"{prefix}{key}", value if isinstance(value, str) else json.dumps(value)))
    return rows
