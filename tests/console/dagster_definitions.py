"""A small Dagster code location for the console's GraphQL tests: two asset jobs, a job that
fails, one asset check that fails, a sensor and a schedule (both stopped by default) and the
project's real alert sensors. The project's own definitions take far longer to load.

The check's outcome comes from a run tag, so a test decides whether it passes."""

import dagster as dg

from clickstream_dagster.alerts.sensors import build_alert_sensors
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


@dg.op
def explode() -> None:
    raise RuntimeError("the lake is unreachable")


@dg.job
def always_fails():
    explode()


load_orders = dg.define_asset_job("load_orders", selection=[raw_orders])
build_orders = dg.define_asset_job("build_orders", selection=[orders])


@dg.sensor(job=build_orders, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.STOPPED)
def orders_sensor():
    return dg.SkipReason("nothing new")


nightly_orders = dg.ScheduleDefinition(
    name="nightly_orders", job=load_orders, cron_schedule="0 3 * * *", default_status=dg.DefaultScheduleStatus.STOPPED
)

ALERT_SENSORS = build_alert_sensors(PROJECT_ID, AlertSettings())

defs = dg.Definitions(
    assets=[raw_orders, orders],
    jobs=[load_orders, build_orders, always_fails],
    sensors=[orders_sensor, *ALERT_SENSORS],
    schedules=[nightly_orders],
)
