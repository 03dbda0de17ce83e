"""Health checks computed from what the pipeline reports: the share of a processed batch that
went to the quarantine (``lake/ods_events`` materialization metadata) and the depth of the
ingestion spool (the service's Prometheus ``/metrics``)."""

import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass

import dagster as dg
from prometheus_client.parser import text_string_to_metric_families

from clickstream_dagster.names import (
    EVENTS_READ_METADATA,
    INGESTION_HEALTH_JOB,
    ODS_EVENTS_KEY,
    QUARANTINE_CHECK_NAME,
    QUARANTINED_BY_REASON_METADATA,
    QUARANTINED_METADATA,
    RAW_EVENTS_KEY,
    SPOOL_CHECK_KEY,
    SPOOL_CHECK_NAME,
)
from clickstream_dagster.resources import ProjectResource
from clickstream_project.config import ProjectConfig
from clickstream_project.operations_settings import HealthSettings

SPOOL_BYTES_METRIC = "clickstream_spool_bytes"  # ingestion/metrics.py
METRICS_TIMEOUT_SECONDS = 5
MIB = 1024 * 1024


# Quarantine rate -----------------------------------------------------------------------------


def quarantine_verdict(events_read: int, quarantined: int, max_ratio: float, min_events: int) -> tuple[bool, float, str]:
    """(passed, ratio, description). ``events_read`` counts good and quarantined events alike
    (plugins/job.py), so the ratio is the share of the batch that was quarantined."""
    ratio = quarantined / events_read if events_read else 0.0
    if events_read < min_events:
        return True, ratio, f"{events_read} event(s) read, below the {min_events} needed to judge the quarantine rate"
    passed = ratio <= max_ratio
    verdict = "within" if passed else "above"
    return passed, ratio, f"{quarantined} of {events_read} events quarantined ({ratio:.1%}), {verdict} the {max_ratio:.1%} limit"


@dg.asset_check(
    asset=ODS_EVENTS_KEY,
    name=QUARANTINE_CHECK_NAME,
    description="Fails when the latest processed batch quarantined more than pipeline.health.quarantine_max_ratio of its events.",
)
def quarantine_rate_check(context: dg.AssetCheckExecutionContext, clickstream: ProjectResource) -> dg.AssetCheckResult:
    health = clickstream.load().pipeline.health
    event = context.instance.get_latest_materialization_event(ODS_EVENTS_KEY)
    materialization = event.asset_materialization if event else None
    if materialization is None:
        return dg.AssetCheckResult(passed=True, description="no processed batch yet")
    metadata = materialization.metadata
    events_read = int(metadata[EVENTS_READ_METADATA].value) if EVENTS_READ_METADATA in metadata else 0
    quarantined = int(metadata[QUARANTINED_METADATA].value) if QUARANTINED_METADATA in metadata else 0
    passed, ratio, description = quarantine_verdict(events_read, quarantined, health.quarantine_max_ratio, health.quarantine_min_events)
    by_reason = metadata.get(QUARANTINED_BY_REASON_METADATA)
    return dg.AssetCheckResult(
        passed=passed,
        description=description,
        metadata={
            "ratio": ratio,
            "events_read": events_read,
            "quarantined": quarantined,
            "quarantined_by_reason": dg.MetadataValue.json(by_reason.value if by_reason else {}),
            "partition": materialization.partition or "",
            "run_id": event.run_id,
        },
    )


# Spool depth ---------------------------------------------------------------------------------


def metrics_urls(config: ProjectConfig) -> list[str]:
    """The configured /metrics endpoints, else the one of the local ingestion service."""
    health, ingestion = config.pipeline.health, config.pipeline.ingestion
    if health.ingestion_metrics_urls:
        return list(health.ingestion_metrics_urls)
    return [f"http://{ingestion.bind}/metrics"] if ingestion.metrics else []


def spool_bytes(exposition: str) -> float:
    """The spool depth in an ingestion /metrics page; a page without it is an error (metrics of
    some other service, or an ingestion version that does not report its spool)."""
    for family in text_string_to_metric_families(exposition):
        if family.name == SPOOL_BYTES_METRIC:
            return sum(sample.value for sample in family.samples if sample.name == SPOOL_BYTES_METRIC)
    raise ValueError(f"no {SPOOL_BYTES_METRIC} metric in the page")


@dataclass(frozen=True)
class SpoolReading:
    url: str
    bytes: float | None
    error: str | None = None


def read_spools(urls: Sequence[str]) -> list[SpoolReading]:
    readings = []
    for url in urls:
        try:
            with urllib.request.urlopen(url, timeout=METRICS_TIMEOUT_SECONDS) as response:
                readings.append(SpoolReading(url, spool_bytes(response.read().decode())))
        except (urllib.error.URLError, OSError, ValueError) as error:
            readings.append(SpoolReading(url, None, f"{type(error).__name__}: {getattr(error, 'reason', error)}"))
    return readings


def spool_verdict(readings: Sequence[SpoolReading], max_mib: float) -> tuple[bool, str]:
    """Fails when any instance's spool is above the limit or its metrics cannot be read (an
    instance that does not answer may be the one whose spool fills)."""
    if not readings:
        return True, "no ingestion metrics endpoint configured (pipeline.health.ingestion_metrics_urls)"
    problems = [f"{r.url}: unreadable ({r.error})" for r in readings if r.error]
    problems += [f"{r.url}: {r.bytes / MIB:.1f} MiB" for r in readings if r.bytes is not None and r.bytes > max_mib * MIB]
    if problems:
        return False, f"spool above {max_mib:g} MiB or unreadable on {len(problems)} of {len(readings)} instance(s): " + "; ".join(problems)
    deepest = max(r.bytes or 0.0 for r in readings)
    return True, f"deepest spool {deepest / MIB:.1f} MiB of {len(readings)} instance(s), limit {max_mib:g} MiB"


@dg.asset_check(
    asset=RAW_EVENTS_KEY,
    name=SPOOL_CHECK_NAME,
    description="Fails when an ingestion instance's spool holds more than pipeline.health.spool_max_mib (the sink is not keeping up) or its /metrics cannot be read.",
)
def spool_depth_check(context: dg.AssetCheckExecutionContext, clickstream: ProjectResource) -> dg.AssetCheckResult:
    config = clickstream.load()
    readings = read_spools(metrics_urls(config))
    passed, description = spool_verdict(readings, config.pipeline.health.spool_max_mib)
    return dg.AssetCheckResult(
        passed=passed,
        description=description,
        metadata={"spool_bytes": dg.MetadataValue.json({r.url: r.bytes for r in readings}), "instances": len(readings)},
    )


# When the spool is read ----------------------------------------------------------------------

ingestion_health_job = dg.define_asset_job(
    name=INGESTION_HEALTH_JOB,
    selection=dg.AssetSelection.checks(SPOOL_CHECK_KEY),
    description="Reads every ingestion instance's spool depth.",
    # One HTTP read per instance: a step process of its own would cost more than the check.
    executor_def=dg.in_process_executor,
)


def build_spool_schedule(health: HealthSettings) -> dg.ScheduleDefinition:
    return dg.ScheduleDefinition(
        name="ingestion_health_schedule",
        cron_schedule=health.spool_check_cron,
        execution_timezone="UTC",
        job=ingestion_health_job,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Runs the spool depth check (pipeline.health.spool_check_cron).",
    )
