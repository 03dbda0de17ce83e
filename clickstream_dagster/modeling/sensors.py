"""Processed data → modeling: a new ``lake/ods_events`` materialization requests one
``build_warehouse`` run, so micro-batches reach every app's session view without anyone
materializing by hand.

A sensor rather than an eager automation condition on the dbt assets: the models depend on *all*
hourly partitions of ``ods_events``, most of which never exist (hours without data, hours before
the project started), and an eager condition waits for missing parents forever.

Many processed hours in quick succession become one build: while a build is queued or running
the sensor waits, and the next build covers everything processed meanwhile (dbt rebuilds the
views whole; incremental models pick up every new row).

A ``micro_batch`` run builds the models itself, after its own processing: when the newest
``ods_events`` materialization comes from such a run and that run succeeded, everything
processed up to then is modeled and no build is requested. If it failed, a build is.
"""

from __future__ import annotations

import dagster as dg

from clickstream_dagster.jobs import WAREHOUSE_JOBS, build_warehouse, micro_batch
from clickstream_dagster.names import ODS_EVENTS_KEY, TRIGGER_TAG
from clickstream_project.operations_settings import MicroBatchSettings

ACTIVE_STATUSES = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def plan_warehouse_build(
    latest_storage_id: int | None, cursor: int, build_active: bool, modeled_in_its_run: bool = False
) -> tuple[dg.RunRequest | None, int, str]:
    """(run request or None, new cursor, reason). The cursor is the storage id of the newest
    ``ods_events`` materialization a build was requested for (or that a micro_batch run
    modeled); the run key is that id, so a repeated tick never launches the same build twice."""
    if latest_storage_id is None or latest_storage_id <= cursor:
        return None, cursor, "no new ods_events materialization"
    if build_active:
        return None, cursor, "a run building the warehouse is queued or running; the next build will cover this data"
    if modeled_in_its_run:
        return None, latest_storage_id, "the micro_batch run that processed the newest data also modeled it"
    request = dg.RunRequest(run_key=f"ods_events:{latest_storage_id}", tags={TRIGGER_TAG: "ods_events_updated"})
    return request, latest_storage_id, ""


def modeled_in_its_run(instance: dg.DagsterInstance, run_id: str) -> bool:
    run = instance.get_run_by_id(run_id) if run_id else None
    return run is not None and run.job_name == micro_batch.name and run.status == dg.DagsterRunStatus.SUCCESS


def build_warehouse_sensor(settings: MicroBatchSettings) -> dg.SensorDefinition:
    """Part of micro-batch mode (``pipeline.automation.micro_batch``): same interval and default
    status as the raw-hours sensor."""

    @dg.sensor(
        name="warehouse_after_processing_sensor",
        job=build_warehouse,
        minimum_interval_seconds=settings.minimum_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING if settings.enabled else dg.DefaultSensorStatus.STOPPED,
        description="Builds every app's dbt models after new ods_events data (micro-batch mode).",
    )
    def warehouse_after_processing_sensor(context: dg.SensorEvaluationContext):
        cursor = int(context.cursor) if context.cursor else 0
        instance = context.instance
        latest = instance.fetch_materializations(ODS_EVENTS_KEY, limit=1).records
        active = any(
            instance.get_run_records(dg.RunsFilter(job_name=job_name, statuses=ACTIVE_STATUSES), limit=1) for job_name in WAREHOUSE_JOBS
        )
        request, new_cursor, reason = plan_warehouse_build(
            latest[0].storage_id if latest else None, cursor, active, bool(latest) and modeled_in_its_run(instance, latest[0].run_id)
        )
        if request is None:
            return dg.SensorResult(skip_reason=reason, cursor=str(new_cursor))
        return dg.SensorResult(run_requests=[request], cursor=str(new_cursor))

    return warehouse_after_processing_sensor
