"""The product's "data processing interval" as a schedule: for users who prefer batches to
micro-batches, every tick processes the raw hours that changed since they were last processed,
in one run."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg

from clickstream_dagster.jobs import process_raw_hours
from clickstream_dagster.lake.due_hours import due_hours, range_run_request, recorded_fingerprints
from clickstream_dagster.lake.partitions import hour_to_partition_key
from clickstream_dagster.lake.resources import RawLakeResource, lookback_start
from clickstream_dagster.lake.sensors import LOOKBACK_HOURS
from clickstream_dagster.names import TRIGGER_TAG

PROCESSING_SCHEDULE_NAME = "processing_interval_schedule"


def build_processing_schedule(cron: str, enabled: bool) -> dg.ScheduleDefinition:
    """``cron`` is ``pipeline.processing.schedule_cron``; ``enabled`` only sets the default status,
    so an operator can still start a disabled schedule from the UI."""

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
        listings = raw_lake.hours(lookback_start(now, LOOKBACK_HOURS), now)
        recorded = recorded_fingerprints(context.instance, [hour_to_partition_key(listing.hour) for listing in listings])
        request = range_run_request(due_hours(listings, recorded), {TRIGGER_TAG: "processing_interval"})
        return request or dg.SkipReason(f"no raw hour changed in the last {LOOKBACK_HOURS} hours")

    return processing_interval_schedule
