"""The service's settings and the per-app state the request handlers share.

Every setting is a field of `pipeline.ingestion` (clickstream_project.config.IngestionSettings),
the one definition of each. Layers, lowest first: the project file (and the fields' defaults),
then one environment variable per field, `CLICKSTREAM_INGEST_<FIELD>`
(`CLICKSTREAM_INGEST_WORKERS=4`, `CLICKSTREAM_INGEST_SPOOL_DIR=/var/lib/clickstream/spool`), then
the overrides a test passes to `create_app`. The merged values are validated by the same model
as the file, and an error names the variable it came from.

A variable holds what the file would: text for strings, numbers, booleans and choices, converted
by the model as it converts the file's values ("2048", "false", "batch"); JSON for a list or the
`auth` block (`'["https://*.example.com"]'`, `'{"issuer": ..., "audience": ..., "jwks_url": ...}'`),
a list also as comma-separated text; `null` unsets an optional field.

A `CLICKSTREAM_INGEST_*` variable that names no field is logged as a warning rather than refused:
Kubernetes gives every pod `<SERVICE>_PORT`, `<SERVICE>_SERVICE_HOST`, ... for each service in its
namespace (service links), so a service named `clickstream-ingest` would otherwise keep the
server from starting.
"""

from __future__ import annotations

import difflib
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, get_origin

from flask import current_app
from pydantic import ValidationError

from clickstream_project.config import ConfigError, IngestionSettings, ProjectConfig, field_errors
from ingestion.allowlist import AppAllowlist
from ingestion.auth import BearerAuth
from ingestion.client_address import ClientAddresses
from ingestion.cors import CorsPolicy
from ingestion.spool.intake import Intake

logger = logging.getLogger(__name__)

ENV_PREFIX = "CLICKSTREAM_INGEST_"
EXTENSION_KEY = "clickstream_ingestion"


def layered_config(
    config: ProjectConfig, *, environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
) -> ProjectConfig:
    """`config` with `pipeline.ingestion` layered as the module docstring says, so that everything
    built from the result (the app, its spool, gunicorn's options) uses the same values.

    `environ` defaults to `os.environ`; `overrides` are field names (`{"max_body_bytes": 2048}`).
    Raises ConfigError naming each bad variable or override.
    """
    from_environment, problems = _environment_values(os.environ if environ is None else environ)
    layers = {**from_environment, **(overrides or {})}
    if not layers and not problems:
        return config
    try:
        settings = IngestionSettings.model_validate({**config.pipeline.ingestion.model_dump(), **layers})
    except ValidationError as error:
        problems += field_errors(error, lambda loc: _source_of(loc, from_environment, overrides or {}))
    if problems:
        raise ConfigError("\n".join(["invalid ingestion settings:", *(f"  - {line}" for line in problems)]))
    return config.model_copy(update={"pipeline": config.pipeline.model_copy(update={"ingestion": settings})})


@dataclass(frozen=True)
class Ingestion:
    """Everything a request handler needs, built once per app (so once per worker)."""

    settings: IngestionSettings
    app_ids: AppAllowlist
    cors: CorsPolicy
    intake: Intake
    auth: BearerAuth | None
    client_addresses: ClientAddresses


def current_ingestion() -> Ingestion:
    return current_app.extensions[EXTENSION_KEY]


def _environment_values(environ: Mapping[str, str]) -> tuple[dict[str, Any], list[str]]:
    """The fields the environment sets, read from their text, and the problems found on the way.
    Variables that name no field are logged and left out."""
    fields = IngestionSettings.model_fields
    values: dict[str, Any] = {}
    problems: list[str] = []
    for name in sorted(environ):
        if not name.startswith(ENV_PREFIX):
            continue
        field = name.removeprefix(ENV_PREFIX).lower()
        if field not in fields or name != ENV_PREFIX + field.upper():
            logger.warning("%s is not an ingestion setting and is ignored%s", name, _suggestion(name))
            continue
        try:
            values[field] = _from_text(environ[name], is_list=get_origin(fields[field].annotation) is list)
        except json.JSONDecodeError as error:
            problems.append(f"{name}: not valid JSON ({error.msg} at character {error.pos}) (got {environ[name]!r})")
    return values, problems


def _from_text(text: str, *, is_list: bool) -> Any:
    stripped = text.strip()
    if stripped.startswith(("[", "{")) or stripped == "null":
        return json.loads(stripped)
    if is_list:
        return [item.strip() for item in text.split(",") if item.strip()]
    return text


def _source_of(loc: tuple[int | str, ...], from_environment: Mapping[str, Any], overrides: Mapping[str, Any]) -> str:
    """What the reader set a failing field with: the override, the variable, else the file."""
    field, rest = str(loc[0]) if loc else "", "".join(f".{part}" for part in loc[1:])
    if field in overrides:
        return f"create_app override {field}{rest}"
    if field in from_environment:
        return f"{ENV_PREFIX}{field.upper()}{rest}"
    return f"pipeline.ingestion.{field}{rest}"


def _suggestion(name: str) -> str:
    known = [ENV_PREFIX + field.upper() for field in IngestionSettings.model_fields]
    close = difflib.get_close_matches(name.upper(), known, n=1)
    hint = f"did you mean {close[0]}? " if close else ""
    return f" ({hint}the settings are the keys of pipeline.ingestion, e.g. {ENV_PREFIX}WORKERS)"
