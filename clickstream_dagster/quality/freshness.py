"""Freshness checks on the raw lake, ``ods_events`` and every app's session view, with the
thresholds of ``pipeline.health``, and the sensor that evaluates them.

Last-update checks (a materialization newer than now − threshold) rather than Dagster's newer
``FreshnessPolicy``: policies are evaluated by a separate daemon feature and do not produce
asset-check evaluations, which is what the alert sensor and the UI's check history work from.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from datetime import timedelta

import dagster as dg

from clickstream_dagster.names import ODS_EVENTS_KEY, RAW_EVENTS_KEY, SESSION_VIEW_MODEL, app_asset_key
from clickstream_project.operations_settings import HealthSettings

FRESHNESS_SENSOR_NAME = "freshness_checks_sensor"


def build_freshness_checks(health: HealthSettings, app_ids: Sequence[str]) -> list[dg.AssetChecksDefinition]:
    """One check per stage; a stage is stale when its newest materialization (of any hour, for
    the partitioned lake assets) is older than its threshold. Severity ERROR: stale data is what
    the alarms are for."""
    stages = [
        ([RAW_EVENTS_KEY], health.raw_events_max_lag_minutes),
        ([ODS_EVENTS_KEY], health.ods_events_max_lag_minutes),
        ([app_asset_key(app_id, SESSION_VIEW_MODEL) for app_id in app_ids], health.session_view_max_lag_minutes),
    ]
    checks: list[dg.AssetChecksDefinition] = []
    # Superseded by FreshnessPolicy, deliberately not used (module docstring): without this the
    # warning is printed at every load of the definitions, in every run's log.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.SupersessionWarning)
        for keys, minutes in stages:
            if keys:
                checks += dg.build_last_update_freshness_checks(
                    assets=keys, lower_bound_delta=timedelta(minutes=minutes), severity=dg.AssetCheckSeverity.ERROR
                )
    return checks


def build_freshness_sensor(checks: Sequence[dg.AssetChecksDefinition], health: HealthSettings) -> dg.SensorDefinition:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.SupersessionWarning)
        return dg.build_sensor_for_freshness_checks(
            freshness_checks=checks,
            minimum_interval_seconds=health.freshness_interval_seconds,
            name=FRESHNESS_SENSOR_NAME,
            default_status=dg.DefaultSensorStatus.RUNNING,
        )
