"""The sensor that replaces the product's EventBridge trigger: it notices raw hours that are new
or changed since its last tick and requests their processing.

The cursor maps each hour in the lookback window to the fingerprint last acted on; the run key
is hour + fingerprint, so a re-tick over the same files requests nothing new and a file sealed
later into an hour already processed requests that hour once more (processing is idempotent).

A tick that finds one changed hour (the steady state of micro-batches) requests ``micro_batch``,
which also builds the models; several (a backlog after downtime) get ``process_raw_hours`` runs,
which can run side by side, and the warehouse sensor builds once after them.
"""

import json
from datetime import UTC, datetime

import dagster as dg

from clickstream_dagster.jobs import PROCESSING_JOBS, micro_batch, process_raw_hours
from clickstream_dagster.lake.partitions import hour_to_partition_key
from clickstream_dagster.lake.resources import HourListing, LookbackWindow, RawLakeResource
from clickstream_dagster.names import NEW_RAW_FILES_TRIGGER, PARTITION_TAG, TRIGGER_TAG
from clickstream_project.config import ProcessingSettings
from clickstream_project.operations_settings import MicroBatchSettings


def decode_cursor(cursor: str | None) -> dict[str, str]:
    if not cursor:
        return {}
    try:
        value = json.loads(cursor)
    except json.JSONDecodeError:
        return {}
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def encode_cursor(seen: dict[str, str]) -> str:
    return json.dumps(seen, sort_keys=True, separators=(",", ":"))


def plan_runs(
    listings: list[HourListing], seen: dict[str, str], pending: frozenset[str] = frozenset(), model_in_same_run: bool = False
) -> tuple[list[dg.RunRequest], dict[str, str]]:
    """Run requests for hours whose fingerprint differs from the cursor; the new cursor keeps
    only hours still in the window, so it stays small.

    An hour with a run still waiting in the queue (``pending``) gets no second one: that run
    lists the hour's files when it starts, so it covers the new file too. Its cursor entry stays
    as it was, and the hour is looked at again on the next tick. Without this, files sealed
    faster than a Spark run takes (many ingestion instances, each sealing every minute) would
    queue runs without bound."""
    changed: list[tuple[str, str]] = []
    new_seen: dict[str, str] = {}
    for listing in listings:
        key = hour_to_partition_key(listing.hour)
        if key in pending and seen.get(key) != listing.fingerprint:
            if key in seen:
                new_seen[key] = seen[key]
            continue
        new_seen[key] = listing.fingerprint
        if seen.get(key) != listing.fingerprint:
            changed.append((key, listing.fingerprint))
    job = micro_batch if model_in_same_run and len(changed) == 1 else process_raw_hours
    requests = [
        dg.RunRequest(
            run_key=f"{key}:{fingerprint}",
            job_name=job.name,
            partition_key=key,
            tags={TRIGGER_TAG: NEW_RAW_FILES_TRIGGER},
        )
        for key, fingerprint in changed
    ]
    return requests, new_seen


PENDING_STATUSES = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED]


def pending_hours(instance: dg.DagsterInstance) -> frozenset[str]:
    """Partition keys of processing runs that have not started yet."""
    return frozenset(
        key
        for job_name in PROCESSING_JOBS
        for record in instance.get_run_records(dg.RunsFilter(job_name=job_name, statuses=PENDING_STATUSES))
        if (key := record.dagster_run.tags.get(PARTITION_TAG))
    )


def build_raw_hours_sensor(settings: MicroBatchSettings | None = None, processing: ProcessingSettings | None = None) -> dg.SensorDefinition:
    """The micro-batch trigger (``pipeline.automation.micro_batch``). The interval bounds the
    delay a sealed file waits before its hour's run is requested; ``enabled`` sets the default
    status, so the UI can still start a sensor the config leaves off. It lists the hours of
    ``LookbackWindow.of(pipeline.processing)``, as the processing schedule does."""
    settings = settings or MicroBatchSettings()
    lookback = LookbackWindow.of(processing or ProcessingSettings())
    model_in_same_run = settings.model_in_same_run

    @dg.sensor(
        name="raw_hours_sensor",
        minimum_interval_seconds=settings.minimum_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING if settings.enabled else dg.DefaultSensorStatus.STOPPED,
        # Jobs, not an asset selection: they carry the checks a batch is judged by (quarantine
        # rate) and run in one process.
        jobs=[process_raw_hours, micro_batch] if model_in_same_run else [process_raw_hours],
        description="Requests processing of raw hours that received new sealed files.",
    )
    def raw_hours_sensor(context: dg.SensorEvaluationContext, raw_lake: RawLakeResource) -> dg.SensorResult:
        now = datetime.now(UTC)
        listings = raw_lake.hours(lookback.start(now), now)
        requests, seen = plan_runs(listings, decode_cursor(context.cursor), pending_hours(context.instance), model_in_same_run)
        return dg.SensorResult(run_requests=requests, cursor=encode_cursor(seen))

    return raw_hours_sensor


raw_hours_sensor = build_raw_hours_sensor()
