"""The warehouse the reports query: the one ``pipeline.modeling.engine`` builds the views in."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from clickstream_console.warehouse.athena_warehouse import AthenaWarehouse
from clickstream_console.warehouse.duckdb_connections import ConnectionPool
from clickstream_console.warehouse.duckdb_warehouse import DuckDBWarehouse
from clickstream_console.warehouse.query import Warehouse, WarehouseUnavailable
from clickstream_console.warehouse.redshift_warehouse import RedshiftWarehouse
from clickstream_project.config import AthenaSettings, ProjectConfig, RedshiftSettings
from clickstream_project.published_warehouse import PublishedWarehouseError, current

# The cloud warehouses tell no cheap "data changed" signal yet: results are kept at most this long.
CLOUD_RESULT_SECONDS = 300


def warehouse_for(
    config: ProjectConfig, *, duckdb_path: Callable[[], Path] | None = None, duckdb_connections: ConnectionPool | None = None
) -> Warehouse:
    """For DuckDB, reports read the newest published read snapshot (never the file dbt writes,
    whose lock a build holds); ``duckdb_path`` replaces that choice (tests). ``duckdb_connections``
    keeps the snapshot open between the warehouses a process builds (the console has one)."""
    modeling = config.pipeline.modeling
    if modeling.engine == "redshift":
        assert modeling.redshift is not None  # the configuration requires the block for this engine
        return RedshiftWarehouse(_redshift_connect(modeling.redshift), data_version=clock_version)
    if modeling.engine == "athena":
        return AthenaWarehouse(_athena_connect(modeling.athena), data_version=clock_version)
    return DuckDBWarehouse(duckdb_path or (lambda: published_snapshot(config.duckdb_path)), duckdb_connections)


def published_snapshot(duckdb_path: Path) -> Path:
    """The current read snapshot of the warehouse (clickstream_project/published_warehouse.py)."""
    try:
        published = current(duckdb_path)
    except PublishedWarehouseError as error:
        raise WarehouseUnavailable(str(error)) from error
    if published is None:
        raise WarehouseUnavailable("no data published yet: the first warehouse build publishes the dashboards' read snapshot")
    return published.path(duckdb_path)


def clock_version() -> str:
    return str(int(time.time() // CLOUD_RESULT_SECONDS))


def _redshift_connect(settings: RedshiftSettings) -> Callable[[], Any]:
    def connect() -> Any:
        import redshift_connector  # only deployments on Redshift pay for the import

        password = os.environ.get(settings.reader_password_env)
        if not password:
            raise WarehouseUnavailable(f"set {settings.reader_password_env} to the password of Redshift user {settings.reader_user!r}")
        # Host, port and database: the same environment the dbt profile reads (dbt_project/profiles.yml).
        return redshift_connector.connect(
            host=os.environ.get("CLICKSTREAM_REDSHIFT_HOST", "redshift.invalid"),
            port=int(os.environ.get("CLICKSTREAM_REDSHIFT_PORT", "5439")),
            database=os.environ.get("CLICKSTREAM_REDSHIFT_DATABASE", "dev"),
            user=settings.reader_user,
            password=password,
        )

    return connect


def _athena_connect(settings: AthenaSettings) -> Callable[[], Any]:
    def connect() -> Any:
        import pyathena

        options: dict[str, Any] = {"work_group": settings.reader_work_group}
        if settings.region_name:
            options["region_name"] = settings.region_name
        if settings.output_location:
            options["s3_staging_dir"] = settings.output_location
        return pyathena.connect(**options)

    return connect
