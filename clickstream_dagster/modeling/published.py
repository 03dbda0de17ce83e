"""The published read snapshot of the embedded warehouse (clickstream_project/published_warehouse.py):
one asset downstream of every app's dbt models, so every run that builds them ends by publishing
what it built — ``micro_batch`` and ``build_warehouse`` select it as a descendant of
``lake/ods_events``, the dbt schedules add it to their selection.

An asset rather than a step inside each app's dbt asset: one copy per run instead of one per app,
taken after all the run's builds. It runs only when they all succeeded (a failed build skips it,
and dashboards keep the previous snapshot rather than a state with some models rebuilt and
others not). It carries the warehouse tag: in a multiprocess run no dbt step writes meanwhile,
and every dbt step has exited (closing its connections) before it starts. DuckDB only: the cloud
warehouses serve readers during builds themselves.
"""

import time
from collections.abc import Sequence

import dagster as dg

from clickstream_dagster.names import WAREHOUSE_TAG
from clickstream_dagster.resources import ProjectResource
from clickstream_project.published_warehouse import publish

PUBLISHED_WAREHOUSE_KEY = dg.AssetKey(["warehouse", "published"])
# On its materializations: the dashboards' data version, and what they show as "data up to".
VERSION_METADATA = "version"
LATEST_EVENT_HOURS_METADATA = "latest_event_hours"


def build_published_warehouse(app_models: Sequence[dg.AssetsDefinition]) -> dg.AssetsDefinition:
    @dg.asset(
        key=PUBLISHED_WAREHOUSE_KEY,
        deps=[key for assets in app_models for key in assets.keys],
        group_name="warehouse",
        kinds={"duckdb"},
        op_tags={WAREHOUSE_TAG: "write"},
        description="A read-only copy of the DuckDB warehouse taken after every successful build: what dashboards read.",
    )
    def published_warehouse(context: dg.AssetExecutionContext, clickstream: ProjectResource) -> dg.MaterializeResult:
        path = clickstream.load().duckdb_path
        started = time.perf_counter()
        published = publish(path)
        seconds = time.perf_counter() - started
        snapshot = published.path(path)
        context.log.info(f"published {snapshot} ({snapshot.stat().st_size / 1e6:.1f} MB) in {seconds:.2f} s")
        return dg.MaterializeResult(
            metadata={
                VERSION_METADATA: published.version,
                "path": dg.MetadataValue.path(str(snapshot)),
                "size_bytes": snapshot.stat().st_size,
                "publish_seconds": round(seconds, 3),
                LATEST_EVENT_HOURS_METADATA: dg.MetadataValue.json(published.latest_event_hours),
            }
        )

    return published_warehouse
