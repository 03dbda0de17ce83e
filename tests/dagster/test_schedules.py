"""Schedules from the configuration: the processing interval (hours due since they were last
processed, one run per tick) and dbt selections on their own cron (dim_users, data cleanup)."""

import gzip
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest
from dagster._utils.schedules import cron_string_iterator
from dagster_dbt import DbtCliResource

from clickstream_contract.raw_lake import hour_path
from clickstream_dagster.definitions import defs
from clickstream_dagster.lake.partitions import hour_to_partition_key
from clickstream_dagster.lake.resources import RawLakeResource
from clickstream_dagster.lake.schedules import build_processing_schedule
from clickstream_dagster.modeling.assets import build_app_dbt_assets
from clickstream_dagster.modeling.project import dbt_project
from clickstream_dagster.modeling.published import PUBLISHED_WAREHOUSE_KEY
from clickstream_dagster.modeling.schedules import build_dbt_schedule
from clickstream_dagster.modeling.warehouses import WarehouseResource
from clickstream_dagster.resources import ProjectResource
from clickstream_project.config import CONFIG_ENV_VAR, ConfigError, ModelingSettings, ProcessingSettings, save_config
from clickstream_project.operations_settings import DimUsersSchedule, ProcessingSchedule
from tests.conftest import make_config
from tests.dagster.lake_assets import raw_events

NOW = datetime.now(UTC).replace(minute=7, second=0, microsecond=0)


def hour(offset: int) -> datetime:
    return NOW.replace(minute=0) - timedelta(hours=offset)


def seal(raw_root: Path, at: datetime, name: str) -> None:
    directory = raw_root / hour_path(at)
    directory.mkdir(parents=True, exist_ok=True)
    with gzip.open(directory / name, "wt") as file:
        file.write('{"data": "[]"}\n')


def next_ticks(cron: str, after: datetime, count: int = 3) -> list[datetime]:
    ticks = cron_string_iterator(after.timestamp(), cron, "UTC")
    return [next(ticks) for _ in range(count)]


# Processing interval -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("processing", "expected"),
    [
        ({"interval_minutes": 15}, ["10:15", "10:30", "10:45"]),
        ({}, ["11:00", "12:00", "13:00"]),
        ({"interval_minutes": 360}, ["12:00", "18:00", "00:00"]),
        ({"cron": "5 4 * * *"}, ["04:05", "04:05", "04:05"]),
    ],
)
def test_next_ticks_follow_the_processing_interval(tmp_path, processing, expected):
    config = make_config(tmp_path, pipeline={"processing": processing})
    schedule = build_processing_schedule(config.pipeline.processing, ProcessingSchedule(enabled=True))
    ticks = next_ticks(schedule.cron_schedule, datetime(2026, 11, 21, 10, 7, tzinfo=UTC))
    assert [f"{tick:%H:%M}" for tick in ticks] == expected
    assert all(tick.tzinfo is not None and tick.utcoffset() == timedelta(0) for tick in ticks)


def test_enabled_switch_sets_the_default_status():
    processing = ProcessingSettings()
    assert build_processing_schedule(processing, ProcessingSchedule(enabled=True)).default_status == dg.DefaultScheduleStatus.RUNNING
    assert build_processing_schedule(processing, ProcessingSchedule(enabled=False)).default_status == dg.DefaultScheduleStatus.STOPPED


@pytest.fixture
def instance():
    # Schedule contexts need a persistent instance (they pass a reference, not the object).
    with dg.instance_for_test() as instance:
        yield instance


def processing_tick(instance, raw_root: Path):
    schedule = build_processing_schedule(ProcessingSettings(interval_minutes=15), ProcessingSchedule(enabled=True))
    resources = {"raw_lake": RawLakeResource(raw_root=str(raw_root))}
    # Closed here, not whenever it is garbage-collected: the context opens its own instance,
    # whose late exit would put a deleted test instance back into Dagster's global state.
    with dg.build_schedule_context(instance=instance, scheduled_execution_time=NOW, resources=resources) as context:
        return schedule.evaluate_tick(context)


def register(instance, raw_root: Path, *hours: datetime) -> None:
    for at in hours:
        result = dg.materialize([raw_events], partition_key=hour_to_partition_key(at), instance=instance,
                                resources={"raw_lake": RawLakeResource(raw_root=str(raw_root))})  # fmt: skip
        assert result.success


def test_a_tick_processes_the_changed_hours_in_one_run(tmp_path, instance):
    seal(tmp_path, hour(5), "a.gz")
    seal(tmp_path, hour(2), "b.gz")
    register(instance, tmp_path, hour(5))  # already processed, unchanged since

    [request] = processing_tick(instance, tmp_path).run_requests
    assert request.partition_key_range == dg.PartitionKeyRange(hour_to_partition_key(hour(2)), hour_to_partition_key(hour(2)))
    assert request.tags["clickstream/trigger"] == "processing_interval"

    seal(tmp_path, hour(3), "c.gz")
    [request_after_new_hour] = processing_tick(instance, tmp_path).run_requests
    assert request_after_new_hour.partition_key_range == dg.PartitionKeyRange(
        hour_to_partition_key(hour(3)), hour_to_partition_key(hour(2))
    )
    assert request_after_new_hour.run_key != request.run_key


def test_a_repeated_tick_asks_for_the_same_run_and_nothing_once_processed(tmp_path, instance):
    seal(tmp_path, hour(1), "a.gz")
    first, again = processing_tick(instance, tmp_path), processing_tick(instance, tmp_path)
    assert [r.run_key for r in first.run_requests] == [r.run_key for r in again.run_requests]  # deduplicated by Dagster

    register(instance, tmp_path, hour(1))
    done = processing_tick(instance, tmp_path)
    assert done.run_requests == [] and "no raw hour changed" in done.skip_message

    seal(tmp_path, hour(1), "late.gz")
    [late] = processing_tick(instance, tmp_path).run_requests
    assert late.partition_key_range.start == hour_to_partition_key(hour(1)) and late.run_key != first.run_requests[0].run_key


# dbt selections ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def app_models():
    project = dbt_project()
    return project, [build_app_dbt_assets(app_id, project, ModelingSettings()) for app_id in ("shop_web", "shop_ios")]


def test_dbt_schedule_builds_the_selection_in_every_app(app_models):
    project, assets = app_models
    settings = DimUsersSchedule(enabled=True, cron="30 2 * * *", select="clickstream_session_view")
    schedule = build_dbt_schedule("dim_users", settings, assets, project)
    assert schedule.name == "dim_users_schedule" and schedule.default_status == dg.DefaultScheduleStatus.RUNNING

    resources = {
        "clickstream": ProjectResource(config_path="unused.yaml"),
        "dbt": DbtCliResource(project_dir=project),
        "warehouse": WarehouseResource(),
    }
    job = dg.Definitions(assets=assets, schedules=[schedule], resources=resources).resolve_job_def("dim_users_job")
    assert job.asset_layer.selected_asset_keys == {
        dg.AssetKey(["shop_web", "clickstream_session_view"]),
        dg.AssetKey(["shop_ios", "clickstream_session_view"]),
    }

    tick = schedule.evaluate_tick(dg.build_schedule_context(scheduled_execution_time=datetime(2026, 11, 21, 2, 30, tzinfo=UTC)))
    [request] = tick.run_requests
    assert request.tags["clickstream/trigger"] == "dim_users_schedule"
    assert [f"{t:%d %H:%M}" for t in next_ticks(schedule.cron_schedule, datetime(2026, 11, 21, 3, tzinfo=UTC), 2)] == [
        "22 02:30",
        "23 02:30",
    ]


def test_enabled_schedule_selecting_nothing_names_the_field(app_models):
    project, assets = app_models
    with pytest.raises(ConfigError, match=r"pipeline\.automation\.dim_users\.select: 'no_such_model' selects no dbt model"):
        build_dbt_schedule("dim_users", DimUsersSchedule(enabled=True, select="no_such_model"), assets, project)


def test_disabled_schedule_for_a_model_not_written_yet_is_left_out(app_models):
    project, assets = app_models
    assert build_dbt_schedule("dim_users", DimUsersSchedule(enabled=False, select="no_such_model"), assets, project) is None


def test_definitions_carry_the_configured_schedules(tmp_path, monkeypatch):
    path = tmp_path / "clickstream.yaml"
    automation = {"processing_schedule": {"enabled": True}, "data_cleanup": {"enabled": True, "select": "stg_ods_events"}}
    save_config(make_config(tmp_path, pipeline={"processing": {"interval_minutes": 30}, "automation": automation}), path)
    monkeypatch.setenv(CONFIG_ENV_VAR, str(path))
    definitions = defs()
    processing = definitions.get_schedule_def("processing_interval_schedule")
    assert processing.cron_schedule == "*/30 * * * *" and processing.default_status == dg.DefaultScheduleStatus.RUNNING
    cleanup = definitions.get_schedule_def("data_cleanup_schedule")
    assert cleanup.default_status == dg.DefaultScheduleStatus.RUNNING
    # Then the published snapshot (modeling/published.py), as after every warehouse build.
    assert definitions.resolve_job_def("data_cleanup_job").asset_layer.selected_asset_keys == {
        dg.AssetKey([app, "stg_ods_events"]) for app in ("shop_android", "shop_ios", "shop_web")
    } | {PUBLISHED_WAREHOUSE_KEY}
    dg.Definitions.validate_loadable(definitions)


def test_warehouse_runs_carry_the_tag_the_run_queue_limits(tmp_path, monkeypatch):
    from clickstream_dagster.names import WAREHOUSE_TAG

    path = tmp_path / "clickstream.yaml"
    save_config(
        make_config(tmp_path, pipeline={"automation": {"dim_users": {"enabled": True, "select": "clickstream_session_view"}}}), path
    )
    monkeypatch.setenv(CONFIG_ENV_VAR, str(path))
    definitions = defs()
    for job in ("build_warehouse", "dim_users_job"):
        assert definitions.resolve_job_def(job).tags[WAREHOUSE_TAG] == "write"
