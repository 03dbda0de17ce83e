"""Names in the Dagster graph that more than one module uses: asset keys, check names, tags,
pools, job names and the metadata one domain writes and another reads.

One home for each, at the bottom of the package (it imports nothing but Dagster), so no domain
reaches into another's assets or sensors for a name. Names used by one module only stay there.
"""

from __future__ import annotations

import dagster as dg

# Assets -------------------------------------------------------------------------------------

RAW_EVENTS_KEY = dg.AssetKey(["lake", "raw_events"])
# Also the key of the dbt source (meta.dagster.asset_key in dbt_project's _sources.yml), which
# wires the dbt models' lineage to the Spark asset.
ODS_EVENTS_KEY = dg.AssetKey(["lake", "ods_events"])

# The dbt models Python code names; every other model comes from the manifest.
ODS_EVENTS_MODEL = "ods_events"
SESSION_VIEW_MODEL = "clickstream_session_view"


def app_asset_key(app_id: str, model: str) -> dg.AssetKey:
    """An app's dbt model: one set of models per app, ``<app_id>/<model name>``."""
    return dg.AssetKey([app_id, model])


def app_group_name(app_id: str) -> str:
    return f"app_{app_id}"


# Checks -------------------------------------------------------------------------------------

QUARANTINE_CHECK_NAME = "quarantine_rate"
SPOOL_CHECK_NAME = "spool_depth"
# The name dg.build_last_update_freshness_checks gives its checks.
FRESHNESS_CHECK_NAME = "freshness_check"
QUARANTINE_CHECK_KEY = dg.AssetCheckKey(ODS_EVENTS_KEY, QUARANTINE_CHECK_NAME)
SPOOL_CHECK_KEY = dg.AssetCheckKey(RAW_EVENTS_KEY, SPOOL_CHECK_NAME)

# Tags and pools -----------------------------------------------------------------------------

# On every op and run that writes the warehouse (value "write"): DuckDB allows one writer per
# database file, so the executor and the run queue let one of them run at a time.
WAREHOUSE_TAG = "clickstream/warehouse"
# Why a run was requested (new_raw_files, processing_interval, ods_events_updated, <name>_schedule).
TRIGGER_TAG = "clickstream/trigger"
# The raw-hours sensor's runs (micro-batches): they process only the raw files no run committed
# yet (the job's --only-new, plugins/slices.py); scheduled runs and backfills process whole hours.
NEW_RAW_FILES_TRIGGER = "new_raw_files"
# Dagster's own run tags: the partition of a run, or the first and last of its range.
PARTITION_TAG = "dagster/partition"
PARTITION_RANGE_START_TAG = "dagster/asset_partition_range_start"
PARTITION_RANGE_END_TAG = "dagster/asset_partition_range_end"

# Runs of different hours may process at once; on a local ods root their dedup-and-commit takes
# turns through a file lock (plugins/run_locks.py). An object store (EMR Serverless, ods_uri on
# S3) has no such lock: there limit this pool to one, once per Dagster instance:
# `dagster instance concurrency set clickstream_ods_commit 1` (deploy/emr-serverless/README.md).
ODS_COMMIT_POOL = "clickstream_ods_commit"

# Jobs ---------------------------------------------------------------------------------------

PROCESS_RAW_HOURS_JOB = "process_raw_hours"
BUILD_WAREHOUSE_JOB = "build_warehouse"
MICRO_BATCH_JOB = "micro_batch"
INGESTION_HEALTH_JOB = "ingestion_health"
# Reads the configured pipeline.sources (Cognito Streams on Kinesis) into the raw lake.
READ_SOURCES_JOB = "read_sources"

# Dagster's own metadata keys of a table asset, which the catalog shows (the column schema of
# the latest materialization, merged by name with the definition's column descriptions).
TABLE_NAME_METADATA = "dagster/table_name"
STORAGE_KIND_METADATA = "dagster/storage_kind"
COLUMN_SCHEMA_METADATA = "dagster/column_schema"

# Metadata of lake/ods_events materializations read by other domains --------------------------

EVENTS_READ_METADATA = "events_read"
QUARANTINED_METADATA = "quarantined"
QUARANTINED_BY_REASON_METADATA = "quarantined_by_reason"
# app id -> the COPY manifest of the run's files (Redshift only; modeling/warehouses.py).
LOAD_MANIFESTS_METADATA = "load_manifests"
