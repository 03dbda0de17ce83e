"""Where an app's dbt models live in the warehouse: ``<database>.<app schema>.<model>``.

The manifest is parsed once, with dbt's default vars and target (``demo_app`` on DuckDB), so the
relations it records name neither the app nor the configured warehouse. The asset catalog shows
these instead; the rules mirror dbt_project's profiles and ``generate_schema_name`` macro.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

from clickstream_project.config import ModelingSettings

# Models configured with this schema (``+schema: app`` in dbt_project.yml) are built in the
# schema named after the app (macros/generate_schema_name.sql); others keep their schema.
APP_SCHEMA = "app"
# dbt_project/profiles.yml: the Redshift database comes from this variable (with this default);
# Athena's models are in the account's Glue catalog.
REDSHIFT_DATABASE_ENV_VAR = "CLICKSTREAM_REDSHIFT_DATABASE"
REDSHIFT_DEFAULT_DATABASE = "dev"
ATHENA_CATALOG = "awsdatacatalog"


def duckdb_catalog(path: str) -> str:
    """The catalog DuckDB (and so dbt-duckdb) names after a database file: the first non-empty
    dot-separated part of the file name (``warehouse/clickstream.duckdb`` -> ``clickstream``)."""
    return PurePath(path).name.lstrip(".").split(".")[0]


def warehouse_database(modeling: ModelingSettings) -> str:
    """The database (DuckDB catalog, Redshift database, Athena data catalog) of every app's
    schema. Read when the definitions load; the Redshift database is an environment variable of
    the dbt profile, which the code location shares with the runs."""
    if modeling.engine == "duckdb":
        return duckdb_catalog(modeling.duckdb_path)
    if modeling.engine == "athena":
        return ATHENA_CATALOG
    return os.environ.get(REDSHIFT_DATABASE_ENV_VAR, REDSHIFT_DEFAULT_DATABASE)


def model_schema(dbt_resource_props: Mapping[str, Any], app_id: str) -> str:
    return app_id if dbt_resource_props["config"].get("schema") == APP_SCHEMA else dbt_resource_props["schema"]


def relation_name(database: str, dbt_resource_props: Mapping[str, Any], app_id: str) -> str:
    """``<database>.<schema>.<alias>`` of a model (or seed, snapshot) built for ``app_id``."""
    return f"{database}.{model_schema(dbt_resource_props, app_id)}.{dbt_resource_props['alias']}"
