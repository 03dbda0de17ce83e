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
from clickstream_dagster.names import TRIGGER_TAG
from clickstream_project.config import ProcessingSettings
from clickstream_project.operations_settings import ProcessingSchedule

PROCESSING_SCHEDULE_NAME = "processing_interval_schedule"


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
