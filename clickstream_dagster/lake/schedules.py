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
from clickstream_dagster.lake.resources import DEFAULT_LOOKBACK, LookbackWindow, RawLakeResource

PROCESSING_SCHEDULE_NAME = "processing_interval_schedule"


def build_processing_schedule(cron: str, enabled: bool, lookback: LookbackWindow = DEFAULT_LOOKBACK) -> dg.ScheduleDefinition:
    """``cron`` is ``pipeline.processing.schedule_cron``; ``enabled`` only sets the default status,
    so an operator can still start a disabled schedule from the UI; ``lookback`` is the raw-hours
    sensor's (``LookbackWindow.of(pipeline.processing)``)."""

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
        request = range_run_request(due_hours(listings, recorded), {"clickstream/trigger": "processing_interval"})
        return request or dg.SkipReason(f"no raw hour changed since {format_hour(lookback.start(now))}")

    return processing_interval_schedule
