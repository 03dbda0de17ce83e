"""``lake/ods_events``: the Spark job's Parquet output for the arrival hours of a run."""

import json
from datetime import datetime, timedelta

import dagster as dg

from clickstream_contract.raw_lake import format_hour
from clickstream_dagster.lake.resources import RawLakeResource, raw_lake_for
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
from clickstream_dagster.processing.reports import merge_reports
from clickstream_dagster.processing.resources import SparkJobResource
from clickstream_dagster.resources import ProjectResource
from clickstream_project.config import ProjectConfig
from clickstream_project.source_settings import Source

# The name of the SDK files' lake among the sources' in a run's reports.
SDK_LAKE = "sdk"


def _run_arguments(config: ProjectConfig, raw_root: str, first_hour: datetime, last_hour: datetime, only_new: bool) -> list[str]:
    """What every run of the job is given, whichever lake it reads. ``only_new``: a micro-batch,
    which processes only the files no run committed yet; not on Redshift, which loads whole
    hours by their file lists."""
    args = [
        "--raw-root", raw_root,
        "--ods-root", str(config.ods_root),
        "--project-id", config.project_id,
        "--from", format_hour(first_hour),
        "--to", format_hour(last_hour),
        "--future-tolerance-minutes", str(config.pipeline.processing.future_tolerance_minutes),
    ]  # fmt: skip
    if config.pipeline.modeling.engine == "redshift":
        # Redshift loads by file list (modeling/warehouses.py); the job knows what it committed.
        args.append("--load-manifests")
    elif only_new:
        args.append("--only-new")
    return args


def job_arguments(config: ProjectConfig, first_hour: datetime, last_hour: datetime, only_new: bool = False) -> list[str]:
    """The job over the SDK files: every app, the configured transformer and enrichments."""
    processing = config.pipeline.processing
    args = [
        *_run_arguments(config, config.raw_lake, first_hour, last_hour, only_new),
        "--transformer", processing.transformer.name,
        "--event-freshness-hours", str(processing.event_freshness_hours),
        # One value for ingestion's access log and the IP enrichment: they name the same client.
        "--trusted-proxies", str(config.pipeline.ingestion.trusted_proxies),
    ]  # fmt: skip
    for app_id in config.app_ids:
        args += ["--app-id", app_id]
    for enrichment in processing.enrichments:
        args += ["--enrichment", enrichment.name]
    options = {spec.name: spec.options for spec in (processing.transformer, *processing.enrichments) if spec.options}
    if options:
        args += ["--plugin-options", json.dumps(options, sort_keys=True)]
    return args


def source_job_arguments(
    config: ProjectConfig, source: Source, first_hour: datetime, last_hour: datetime, only_new: bool = False
) -> list[str]:
    """The job over one configured source's raw files (pipeline.sources): its transformer, its
    app, its freshness window, and ``--source``, so its output sits beside the SDK job's in the
    same ``ods_events`` without either replacing the other's (plugins/commit.py)."""
    return [
        *_run_arguments(config, config.source_raw_lake(source.name), first_hour, last_hour, only_new),
        "--source", source.name,
        "--app-id", source.app_id,
        "--transformer", source.transformer,
        "--plugin-options", json.dumps({source.transformer: {"app_id": source.app_id}}),
        "--event-freshness-hours", str(source.event_freshness_hours),
    ]  # fmt: skip


def jobs_for_window(
    config: ProjectConfig, raw_lake: RawLakeResource, first_hour: datetime, last_hour: datetime, only_new: bool
) -> dict[str, list[str]]:
    """Lake name (``sdk`` or a source's name) -> the job arguments of each run the hours need.
    The SDK job runs as before unless the hours hold only sources' files; a source's job runs
    when its lake holds files in the hours (a source without any has nothing to replace)."""
    if not config.pipeline.sources:
        return {SDK_LAKE: job_arguments(config, first_hour, last_hour, only_new)}
    lakes = raw_lake.lakes_with_files(first_hour, last_hour)
    jobs: dict[str, list[str]] = {}
    if None in lakes or not lakes:
        jobs[SDK_LAKE] = job_arguments(config, first_hour, last_hour, only_new)
    for source in config.pipeline.sources:
        if source.name in lakes:
            jobs[source.name] = source_job_arguments(config, source, first_hour, last_hour, only_new)
    return jobs


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
        config = clickstream.load()
        jobs = jobs_for_window(config, raw_lake_for(config), window.start, window.end - timedelta(hours=1), only_new)
        # One after the other: each is a Spark application, and the commits take turns anyway.
        report = merge_reports({lake: spark_job.run_job(args, log=context.log, context=context) for lake, args in jobs.items()})
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
                # Per raw lake (the SDK files, each source's): hours with data, rows written and,
                # for micro-batches, hour -> the slice the run added (plugins/slices.py).
                "by_lake": dg.MetadataValue.json(report["by_lake"]),
                # Where the job's time went (decode/clean/transform, dedup, write, commit).
                "step_seconds": dg.MetadataValue.json(report.get("step_seconds", {})),
                # app id -> the COPY manifests of this run's files (Redshift only; one per lake).
                **({LOAD_MANIFESTS_METADATA: dg.MetadataValue.json(report["load_manifests"])} if "load_manifests" in report else {}),
            }
        )

    return ods_events
