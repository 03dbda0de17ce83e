"""The product's "data processing interval" as a schedule: for users who prefer batches to
micro-batches, every tick processes the raw hours that changed since they were last processed,
in one run."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg

from clickstream_contract.raw_lake import format_hour
from clickstream_dagster.jobs import process_raw_hours
from clickstream_dagster.lake.due_hours import due_hours, range_run_request, recorded_fingerprints
from clickstream_dagster.lake.partitions import hour_to_partition_key
from clickstream_dagster.lake.resources import LookbackWindow, RawLakeResource
from clickstream_dagster.lake.sources import read_sources_job
from clickstream_dagster.names import TRIGGER_TAG
from clickstream_project.config import ProcessingSettings
from clickstream_project.operations_settings import ProcessingSchedule
from clickstream_project.source_settings import Source

PROCESSING_SCHEDULE_NAME = "processing_interval_schedule"
READ_SOURCES_SCHEDULE_NAME = "read_sources_schedule"
# Runs still holding a source: a tick while one of them is going is skipped.
_ACTIVE = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]


def build_processing_schedule(processing: ProcessingSettings, schedule: ProcessingSchedule) -> dg.ScheduleDefinition:
    """Ticks at ``processing.schedule_cron`` and lists the raw-hours sensor's window
    (``LookbackWindow.of(processing)``); ``schedule.enabled`` only sets the default status, so an
    operator can still start a disabled schedule from the UI."""
    cron, enabled, lookback = processing.schedule_cron, schedule.enabled, LookbackWindow.of(processing)

    @dg.schedule(
        name=PROCESSING_SCHEDULE_NAME,
        cron_schedule=cron,
        job=process_raw_hours,
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING if enabled else dg.DefaultScheduleStatus.STOPPED,
        description="Processes the raw hours that changed since they were last processed (pipeline.processing.interval_minutes/cron).",
    )
    def processing_interval_schedule(context: dg.ScheduleEvaluationContext, raw_lake: RawLakeResource):
        now = context.scheduled_execution_time or datetime.now(UTC)
        listings = raw_lake.hours(lookback.start(now), now)
        recorded = recorded_fingerprints(context.instance, [hour_to_partition_key(listing.hour) for listing in listings])
        request = range_run_request(due_hours(listings, recorded), {TRIGGER_TAG: "processing_interval"})
        return request or dg.SkipReason(f"no raw hour changed since {format_hour(lookback.start(now))}")

    return processing_interval_schedule


def build_read_sources_schedule(sources: list[Source]) -> dg.ScheduleDefinition:
    """Every minute, a run of ``read_sources`` (each source reads at most its
    ``max_seconds_per_run``, 50 s by default); running by default only when sources are
    configured. A tick is skipped while an earlier run is still going."""

    @dg.schedule(
        name=READ_SOURCES_SCHEDULE_NAME,
        cron_schedule="* * * * *",
        job=read_sources_job,
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING if sources else dg.DefaultScheduleStatus.STOPPED,
        description="Reads the configured pipeline.sources (Cognito Streams on Kinesis) into the raw lake.",
    )
    def read_sources_schedule(context: dg.ScheduleEvaluationContext):
        if not sources:
            return dg.SkipReason("no pipeline.sources configured")
        active = context.instance.get_run_records(dg.RunsFilter(job_name=read_sources_job.name, statuses=_ACTIVE), limit=1)
        if active:
            return dg.SkipReason(f"run {active[0].dagster_run.run_id} is still reading the sources")
        return dg.RunRequest()

    return read_sources_schedule
