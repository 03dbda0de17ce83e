"""``lake/ods_events``: the Spark job's Parquet output for the arrival hours of a run."""

import json
from datetime import datetime, timedelta

import dagster as dg

from clickstream_contract.raw_lake import format_hour
from clickstream_dagster.names import (
    EVENTS_READ_METADATA,
    LOAD_MANIFESTS_METADATA,
    NEW_RAW_FILES_TRIGGER,
    ODS_COMMIT_POOL,
    ODS_EVENTS_KEY,
    QUARANTINED_BY_REASON_METADATA,
    QUARANTINED_METADATA,
    RAW_EVENTS_KEY,
    TRIGGER_TAG,
)
from clickstream_dagster.processing.resources import SparkJobResource
from clickstream_dagster.resources import ProjectResource
from clickstream_project.config import ProjectConfig


def job_arguments(config: ProjectConfig, first_hour: datetime, last_hour: datetime, only_new: bool = False) -> list[str]:
    """``only_new``: a micro-batch, which processes only the files no run committed yet; not on
    Redshift, which loads whole hours by their file lists."""
    processing = config.pipeline.processing
    args = [
        "--raw-root", config.raw_lake,
        "--ods-root", str(config.ods_root),
        "--project-id", config.project_id,
        "--from", format_hour(first_hour),
        "--to", format_hour(last_hour),
        "--transformer", processing.transformer.name,
        "--event-freshness-hours", str(processing.event_freshness_hours),
        "--future-tolerance-minutes", str(processing.future_tolerance_minutes),
        # One value for ingestion's access log and the IP enrichment: they name the same client.
        "--trusted-proxies", str(config.pipeline.ingestion.trusted_proxies),
    ]  # fmt: skip
    for app_id in config.app_ids:
        args += ["--app-id", app_id]
    if config.pipeline.modeling.engine == "redshift":
        # Redshift loads by file list (modeling/warehouses.py); the job knows what it committed.
        args.append("--load-manifests")
    elif only_new:
        args.append("--only-new")
    for enrichment in processing.enrichments:
        args += ["--enrichment", enrichment.name]
    options = {spec.name: spec.options for spec in (processing.transformer, *processing.enrichments) if spec.options}
    if options:
        args += ["--plugin-options", json.dumps(options, sort_keys=True)]
    return args


def build_ods_events(partitions_def: dg.HourlyPartitionsDefinition) -> dg.AssetsDefinition:
    """``partitions_def`` is ``lake/raw_events``' (``hourly_partitions(pipeline.processing.start_date)``)."""

    @dg.asset(
        key=ODS_EVENTS_KEY,
        deps=[RAW_EVENTS_KEY],
        group_name="processing",
        partitions_def=partitions_def,
        # A range of hours is one Spark application: the JVM start-up (~5 s) is paid once.
        backfill_policy=dg.BackfillPolicy.single_run(),
        # Commits of runs of different hours take turns where the ods root has no file lock (names.py).
        pool=ODS_COMMIT_POOL,
        kinds={"spark", "parquet"},
        description="Processed events (DATA_CONTRACT §4) as Parquet, partitioned by app and event day; "
        "bad input goes to the quarantine with a reason.",
    )
    def ods_events(context: dg.AssetExecutionContext, clickstream: ProjectResource, spark_job: SparkJobResource) -> dg.MaterializeResult:
        window = context.partition_time_window
        # The raw-hours sensor's runs add the hour's new files; any other run rewrites its hours.
        only_new = context.run.tags.get(TRIGGER_TAG) == NEW_RAW_FILES_TRIGGER
        args = job_arguments(clickstream.load(), window.start, window.end - timedelta(hours=1), only_new)
        report = spark_job.run_job(args, log=context.log, context=context)
        quarantined = report["quarantined"]
        context.log.info(
            f"read {report['events_read']} events from {report['requests']} requests; wrote {report['written']}, "
            f"dropped {report['duplicates']} duplicates, quarantined {sum(quarantined.values())}"
        )
        return dg.MaterializeResult(
            metadata={
                "requests": report["requests"],
                EVENTS_READ_METADATA: report["events_read"],
                "rows_written": report["written"],
                "duplicates": report["duplicates"],
                QUARANTINED_METADATA: sum(quarantined.values()),
                QUARANTINED_BY_REASON_METADATA: dg.MetadataValue.json(quarantined),
                "rows_by_app": dg.MetadataValue.json(report["written_by_app"]),
                "raw_files": report["raw_files"],
                # Raw files that are not whole gzip (path, problem): quarantined, readable lines processed.
                "corrupt_files": dg.MetadataValue.json(report.get("corrupt_files", [])),
                "output_files": report["output_files"],
                "spark_seconds": report["duration_seconds"],
                # hour -> the slice this run added (micro-batches only, plugins/slices.py).
                **({"slices": dg.MetadataValue.json(report["slices"])} if "slices" in report else {}),
                # Where the job's time went (decode/clean/transform, dedup, write, commit).
                "step_seconds": dg.MetadataValue.json(report.get("step_seconds", {})),
                # app id -> the COPY manifest of this run's files (Redshift only).
                **({LOAD_MANIFESTS_METADATA: dg.MetadataValue.json(report["load_manifests"])} if "load_manifests" in report else {}),
            }
        )

    return ods_events
