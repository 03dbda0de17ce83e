"""A small Dagster code location for the console's GraphQL tests: two asset jobs, a job that
fails, an asset check that fails, freshness checks (one fresh asset, one never materialized), a
sensor and a schedule (both stopped by default) and the project's real alert sensors. The
project's own definitions take far longer to load.

The check's outcome comes from a run tag, so a test decides whether it passes. The alert sensors
read the project file at $CLICKSTREAM_CONFIG when it is set, as the project's definitions do, so
an alarm switched in the console shows in their description after a reload."""

import os
import warnings
from datetime import timedelta

import dagster as dg

from clickstream_dagster.alerts.sensors import build_alert_sensors
from clickstream_project.config import CONFIG_ENV_VAR, load_config
from clickstream_project.operations_settings import AlertSettings

PROJECT_ID = "console_test"
CHECK_NAME = "orders_not_empty"
OUTCOME_TAG = "outcome"


@dg.asset
def raw_orders() -> None:
    pass


@dg.asset(deps=[raw_orders], check_specs=[dg.AssetCheckSpec(CHECK_NAME, asset="orders")])
def orders(context: dg.AssetExecutionContext):
    yield dg.MaterializeResult()
    passed = context.run.tags.get(OUTCOME_TAG) != "fail"
    yield dg.AssetCheckResult(
        check_name=CHECK_NAME, passed=passed, severity=dg.AssetCheckSeverity.WARN, description=None if passed else "no orders today"
    )


@dg.asset(deps=[orders])
def orders_archive() -> None:
    pass


with warnings.catch_warnings():
    # Superseded, but what the project uses (clickstream_dagster/quality/freshness.py).
    warnings.simplefilter("ignore", dg.SupersessionWarning)
    FRESHNESS_CHECKS = dg.build_last_update_freshness_checks(
        assets=[raw_orders, orders_archive], lower_bound_delta=timedelta(hours=1), severity=dg.AssetCheckSeverity.ERROR
    )


@dg.op
def explode() -> None:
    raise RuntimeError("the lake is unreachable")


@dg.job
def always_fails():
    explode()


load_orders = dg.define_asset_job("load_orders", selection=[raw_orders])
build_orders = dg.define_asset_job("build_orders", selection=[orders])
check_freshness = dg.define_asset_job("check_freshness", selection=dg.AssetSelection.checks(*FRESHNESS_CHECKS))


@dg.sensor(job=build_orders, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.STOPPED)
def orders_sensor():
    return dg.SkipReason("nothing new")


nightly_orders = dg.ScheduleDefinition(
    name="nightly_orders", job=load_orders, cron_schedule="0 3 * * *", default_status=dg.DefaultScheduleStatus.STOPPED
)


def alert_sensors() -> list[dg.SensorDefinition]:
    path = os.environ.get(CONFIG_ENV_VAR)
    return build_alert_sensors(PROJECT_ID, load_config(path).pipeline.alerts if path else AlertSettings())


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(
        assets=[raw_orders, orders, orders_archive],
        asset_checks=FRESHNESS_CHECKS,
        jobs=[load_orders, build_orders, check_freshness, always_fails],
        sensors=[orders_sensor, *alert_sensors()],
        schedules=[nightly_orders],
    )
