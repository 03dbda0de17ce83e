"""Jobs a user (or the demo) launches by name. Partitioned and unpartitioned assets run in
separate jobs: a run carries one partition key or range, and the dbt models have none."""

from __future__ import annotations

import dagster as dg

from clickstream_dagster.names import (
    BUILD_WAREHOUSE_JOB,
    MICRO_BATCH_JOB,
    ODS_EVENTS_KEY,
    PROCESS_RAW_HOURS_JOB,
    RAW_EVENTS_KEY,
    SPOOL_CHECK_KEY,
    WAREHOUSE_TAG,
)

process_raw_hours = dg.define_asset_job(
    name=PROCESS_RAW_HOURS_JOB,
    # The spool check reads the ingestion service, not the hours processed: it has its own job.
    selection=dg.AssetSelection.assets(RAW_EVENTS_KEY, ODS_EVENTS_KEY) - dg.AssetSelection.checks(SPOOL_CHECK_KEY),
    # One process per run: the steps run one after the other anyway, and every extra step
    # process costs a Python start and a definitions load (~10 s each on a loaded 2-core
    # machine), which is most of a micro-batch's latency.
    executor_def=dg.in_process_executor,
    description="Register raw hours and run the Spark job over them (one run for a range of hours).",
)

build_warehouse = dg.define_asset_job(
    name=BUILD_WAREHOUSE_JOB,
    selection=dg.AssetSelection.assets(ODS_EVENTS_KEY).downstream(include_self=False),
    # As a run tag too, so a run queue can allow one warehouse build at a time (deploy/dagster).
    tags={WAREHOUSE_TAG: "write"},
    # In one process, for the start-up cost above; the apps' dbt builds are serial anyway (one
    # DuckDB writer).
    executor_def=dg.in_process_executor,
    description="Build every app's dbt models (ods_events, session view, ...) and run their tests.",
)

micro_batch = dg.define_asset_job(
    name=MICRO_BATCH_JOB,
    # Everything from the raw hour to every app's views: the raw-hours sensor's run when a tick
    # finds one changed hour. One run start (~5 s: a process and a definitions load) and no wait
    # for the warehouse sensor's tick, instead of two of each.
    selection=(dg.AssetSelection.assets(RAW_EVENTS_KEY, ODS_EVENTS_KEY).downstream()) - dg.AssetSelection.checks(SPOOL_CHECK_KEY),
    executor_def=dg.in_process_executor,
    # It writes the warehouse: the run queue lets one such run (or build_warehouse) run at a time.
    tags={WAREHOUSE_TAG: "write"},
    description="One micro-batch: register an hour's raw files, process them with Spark and build "
    "every app's dbt models (and their tests) in one run.",
)

# Runs that build the warehouse, for sensors that must not start a second build.
WAREHOUSE_JOBS = (build_warehouse.name, micro_batch.name)
# Runs that process raw hours.
PROCESSING_JOBS = (process_raw_hours.name, micro_batch.name)
