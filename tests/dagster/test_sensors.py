"""The raw-hours sensor: run requests per new or changed hour, a cursor that makes ticks idempotent."""

import gzip
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg

from clickstream_contract.raw_lake import hour_path
from clickstream_dagster.definitions import defs
from clickstream_dagster.jobs import process_raw_hours
from clickstream_dagster.lake.assets import RAW_EVENTS_KEY
from clickstream_dagster.lake.partitions import hour_to_partition_key
from clickstream_dagster.lake.resources import RawLakeResource
from clickstream_dagster.lake.sensors import decode_cursor, raw_hours_sensor
from clickstream_dagster.names import NEW_RAW_FILES_TRIGGER, TRIGGER_TAG
from clickstream_dagster.processing.assets import ODS_EVENTS_KEY
from clickstream_dagster.processing.resources import LocalSparkJobResource
from clickstream_dagster.quality.checks import quarantine_rate_check, spool_depth_check
from clickstream_dagster.resources import ProjectResource
from clickstream_project.config import CONFIG_ENV_VAR, ProjectConfig, save_config
from tests.conftest import make_config
from tests.dagster.lake_assets import ods_events, raw_events


def seal(raw_root: Path, hour: datetime, name: str, lines: int = 1) -> None:
    directory = raw_root / hour_path(hour)
    directory.mkdir(parents=True, exist_ok=True)
    with gzip.open(directory / name, "wt") as file:
        file.write('{"data": "[]"}\n' * lines)


def tick(raw_root: Path, cursor: str | None) -> dg.SensorResult:
    context = dg.build_sensor_context(
        cursor=cursor, instance=dg.DagsterInstance.ephemeral(), resources={"raw_lake": RawLakeResource(raw_root=str(raw_root))}
    )
    return raw_hours_sensor(context)


def this_hour(offset: int = 0) -> datetime:
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=offset)


def test_new_hours_are_requested_once(tmp_path: Path):
    seal(tmp_path, this_hour(2), "a.gz")
    seal(tmp_path, this_hour(1), "b.gz")
    (tmp_path / hour_path(this_hour(0))).mkdir(parents=True)  # empty hour: nothing to do

    first = tick(tmp_path, None)
    keys = [request.partition_key for request in first.run_requests]
    assert keys == [hour_to_partition_key(this_hour(2)), hour_to_partition_key(this_hour(1))]
    assert all(request.run_key.startswith(request.partition_key + ":") for request in first.run_requests)
    assert set(decode_cursor(first.cursor)) == set(keys)

    again = tick(tmp_path, first.cursor)
    assert again.run_requests == []
    assert again.cursor == first.cursor


def test_a_file_sealed_later_requests_the_hour_again(tmp_path: Path):
    seal(tmp_path, this_hour(1), "a.gz")
    first = tick(tmp_path, None)
    seal(tmp_path, this_hour(1), "late.gz")
    second = tick(tmp_path, first.cursor)
    (request,) = second.run_requests
    assert request.partition_key == hour_to_partition_key(this_hour(1))
    assert request.run_key != first.run_requests[0].run_key


def test_hours_outside_the_lookback_are_ignored_and_dropped_from_the_cursor(tmp_path: Path):
    seal(tmp_path, this_hour(24 * 10), "old.gz")
    old_key = hour_to_partition_key(this_hour(24 * 10))
    result = tick(tmp_path, f'{{"{old_key}": "abc"}}')
    assert result.run_requests == []
    assert decode_cursor(result.cursor) == {}


def test_a_corrupt_cursor_starts_over(tmp_path: Path):
    seal(tmp_path, this_hour(0), "a.gz")
    assert len(tick(tmp_path, "not json").run_requests) == 1
    assert len(tick(tmp_path, "[1, 2]").run_requests) == 1


def test_in_flight_files_and_foreign_names_are_not_seen(tmp_path: Path):
    (tmp_path / "_inflight").mkdir()
    (tmp_path / "_inflight" / "x.gz").write_bytes(b"partial")
    directory = tmp_path / hour_path(this_hour(0))
    directory.mkdir(parents=True)
    (directory / "notes.txt").write_text("not raw data")
    assert tick(tmp_path, None).run_requests == []


def test_requests_run_the_processing_job_with_its_quarantine_check():
    from clickstream_dagster.names import QUARANTINE_CHECK_KEY

    assert {target.job_name for target in raw_hours_sensor.targets} == {"process_raw_hours", "micro_batch"}
    job = dg.Definitions(assets=[raw_events, ods_events], asset_checks=[quarantine_rate_check, spool_depth_check], jobs=[process_raw_hours],
                         resources={"clickstream": ProjectResource(config_path="unused.yaml"), "raw_lake": RawLakeResource(raw_root="."),
                                    "spark_job": LocalSparkJobResource()}).resolve_job_def("process_raw_hours")  # fmt: skip
    assert QUARANTINE_CHECK_KEY in set().union(*(data.assets_def.check_keys for data in job.asset_layer.data))
    assert job.executor_def.name == "in_process"


def test_one_changed_hour_is_processed_and_modeled_in_one_run_a_backlog_in_parallel_runs(tmp_path: Path):
    from clickstream_dagster.lake.resources import RawLakeResource as Lake
    from clickstream_dagster.lake.sensors import plan_runs

    seal(tmp_path, this_hour(1), "a.gz")
    seal(tmp_path, this_hour(2), "b.gz")
    listings = Lake(raw_root=str(tmp_path)).hours(this_hour(3), this_hour(0))
    backlog, seen = plan_runs(listings, {}, model_in_same_run=True)
    assert [request.job_name for request in backlog] == ["process_raw_hours", "process_raw_hours"]
    seal(tmp_path, this_hour(1), "c.gz")
    listings = Lake(raw_root=str(tmp_path)).hours(this_hour(3), this_hour(0))
    (one,) = plan_runs(listings, seen, model_in_same_run=True)[0]
    assert (one.job_name, one.partition_key) == ("micro_batch", hour_to_partition_key(this_hour(1)))
    (separate,) = plan_runs(listings, seen, model_in_same_run=False)[0]
    assert separate.job_name == "process_raw_hours" and separate.run_key == one.run_key
    # The sensor's runs are micro-batches: the job then reads only the new files (plugins/slices.py).
    assert {request.tags[TRIGGER_TAG] for request in (*backlog, one, separate)} == {NEW_RAW_FILES_TRIGGER}


def test_micro_batch_job_runs_everything_from_raw_to_the_views_as_a_warehouse_writer(config_file):
    from clickstream_dagster.definitions import defs
    from clickstream_dagster.names import QUARANTINE_CHECK_KEY, SPOOL_CHECK_KEY, WAREHOUSE_TAG

    job = defs().resolve_job_def("micro_batch")
    keys = job.asset_layer.selected_asset_keys
    assert {
        dg.AssetKey(["lake", "raw_events"]),
        dg.AssetKey(["lake", "ods_events"]),
        dg.AssetKey(["shop_web", "clickstream_session_view"]),
    } <= keys
    assert QUARANTINE_CHECK_KEY in set().union(*(data.assets_def.check_keys for data in job.asset_layer.data))
    # The spool check reads the ingestion service, not the batch: it has its own schedule.
    assert not [name for name in job.graph.node_names() if SPOOL_CHECK_KEY.name in name]
    assert job.tags[WAREHOUSE_TAG] == "write" and job.executor_def.name == "in_process"


def test_micro_batch_settings_set_interval_and_status():
    from clickstream_dagster.lake.sensors import build_raw_hours_sensor
    from clickstream_project.operations_settings import MicroBatchSettings

    fast = build_raw_hours_sensor(MicroBatchSettings(minimum_interval_seconds=5, enabled=True))
    assert fast.minimum_interval_seconds == 5 and fast.default_status == dg.DefaultSensorStatus.RUNNING
    assert build_raw_hours_sensor(MicroBatchSettings(enabled=False)).default_status == dg.DefaultSensorStatus.STOPPED


# Processed data → modeling ---------------------------------------------------------------------


def warehouse_tick(instance, cursor):
    from clickstream_dagster.modeling.sensors import build_warehouse_sensor
    from clickstream_project.operations_settings import MicroBatchSettings

    return build_warehouse_sensor(MicroBatchSettings())(dg.build_sensor_context(instance=instance, cursor=cursor))


def test_new_ods_events_request_one_warehouse_build_per_state():
    from clickstream_dagster.names import ODS_EVENTS_KEY

    instance = dg.DagsterInstance.ephemeral()
    assert warehouse_tick(instance, None).run_requests == []

    instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=ODS_EVENTS_KEY, partition="2026-11-22-01:00"))
    instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=ODS_EVENTS_KEY, partition="2026-11-22-02:00"))
    first = warehouse_tick(instance, None)
    (request,) = first.run_requests  # two processed hours, one build
    assert request.run_key == f"ods_events:{first.cursor}"

    again = warehouse_tick(instance, first.cursor)
    assert again.run_requests == [] and again.cursor == first.cursor

    instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=ODS_EVENTS_KEY, partition="2026-11-22-02:00"))
    assert len(warehouse_tick(instance, first.cursor).run_requests) == 1


def test_data_a_micro_batch_run_modeled_needs_no_build_unless_that_run_failed(config_file):
    from clickstream_dagster.definitions import defs
    from clickstream_dagster.modeling.sensors import modeled_in_its_run, plan_warehouse_build

    definitions = defs()
    with dg.instance_for_test() as instance:
        runs = {
            (job_name, status): instance.create_run_for_job(job_def=definitions.resolve_job_def(job_name), status=status).run_id
            for job_name in ("micro_batch", "process_raw_hours")
            for status in (dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE)
        }
        assert modeled_in_its_run(instance, runs["micro_batch", dg.DagsterRunStatus.SUCCESS])
        assert not modeled_in_its_run(instance, runs["micro_batch", dg.DagsterRunStatus.FAILURE])
        assert not modeled_in_its_run(instance, runs["process_raw_hours", dg.DagsterRunStatus.SUCCESS])
        assert not modeled_in_its_run(instance, "")  # a materialization reported without a run
    request, cursor, reason = plan_warehouse_build(latest_storage_id=9, cursor=5, build_active=False, modeled_in_its_run=True)
    assert request is None and cursor == 9 and "also modeled it" in reason


def test_no_second_build_while_one_is_queued():
    from clickstream_dagster.modeling.sensors import plan_warehouse_build

    request, cursor, reason = plan_warehouse_build(latest_storage_id=9, cursor=5, build_active=True)
    assert request is None and cursor == 5 and "queued or running" in reason
    request, cursor, _ = plan_warehouse_build(latest_storage_id=9, cursor=5, build_active=False)
    assert request.run_key == "ods_events:9" and cursor == 9


def test_an_hour_with_a_queued_run_gets_no_second_one(tmp_path: Path):
    from clickstream_dagster.lake.resources import RawLakeResource as Lake
    from clickstream_dagster.lake.sensors import plan_runs

    seal(tmp_path, this_hour(1), "a.gz")
    seal(tmp_path, this_hour(2), "b.gz")
    listings = Lake(raw_root=str(tmp_path)).hours(this_hour(3), this_hour(0))
    key1, key2 = hour_to_partition_key(this_hour(1)), hour_to_partition_key(this_hour(2))
    requests, seen = plan_runs(listings, {key1: "older"}, pending=frozenset({key1}))
    assert [r.partition_key for r in requests] == [key2]
    assert seen[key1] == "older"  # looked at again next tick, once the queued run has started
    requests, _ = plan_runs(listings, seen)
    assert [r.partition_key for r in requests] == [key1]


def test_pending_hours_are_read_from_the_run_queue(tmp_path: Path):
    from clickstream_dagster.lake.sensors import pending_hours

    key = hour_to_partition_key(this_hour(1))
    with dg.instance_for_test() as instance:
        job = dg.Definitions(assets=[raw_events, ods_events], asset_checks=[quarantine_rate_check, spool_depth_check], jobs=[process_raw_hours],
                             resources={"clickstream": ProjectResource(config_path="unused.yaml"), "raw_lake": RawLakeResource(raw_root="."),
                                        "spark_job": LocalSparkJobResource()}).resolve_job_def("process_raw_hours")  # fmt: skip
        # NOT_STARTED: a queued run needs a code location origin this test has no server for.
        for status, partition in [(dg.DagsterRunStatus.NOT_STARTED, key), (dg.DagsterRunStatus.STARTED, "2026-01-01-00:00")]:
            instance.create_run_for_job(job_def=job, tags={"dagster/partition": partition}, status=status)
        assert pending_hours(instance) == {key}


# From the configuration --------------------------------------------------------------------------


def configured(tmp_path: Path, monkeypatch, **processing) -> tuple[ProjectConfig, dg.Definitions]:
    path = tmp_path / "clickstream.yaml"
    config = make_config(tmp_path, pipeline={"processing": processing, "automation": {"processing_schedule": {"enabled": True}}})
    save_config(config, path)
    monkeypatch.setenv(CONFIG_ENV_VAR, str(path))
    return config, defs()


def requested_hours(definitions: dg.Definitions) -> tuple[list[str], dg.PartitionKeyRange | None]:
    """The partition keys the definitions' raw-hours sensor requests, and the range their
    processing schedule requests, on a fresh instance."""
    resources = {"raw_lake": definitions.resources["raw_lake"]}
    with dg.instance_for_test() as instance:
        sensed = definitions.resolve_sensor_def("raw_hours_sensor")(dg.build_sensor_context(instance=instance, resources=resources))
        schedule = definitions.resolve_schedule_def("processing_interval_schedule")
        with dg.build_schedule_context(instance=instance, scheduled_execution_time=datetime.now(UTC), resources=resources) as context:
            scheduled = schedule.evaluate_tick(context).run_requests
    return [request.partition_key for request in sensed.run_requests], (scheduled[0].partition_key_range if scheduled else None)


def test_the_lookback_is_the_configured_event_freshness(tmp_path: Path, monkeypatch):
    config, definitions = configured(tmp_path, monkeypatch, event_freshness_hours=120)
    seal(config.raw_root, this_hour(100), "late.gz")
    seal(config.raw_root, this_hour(130), "older_than_the_window.gz")
    keys, scheduled = requested_hours(definitions)
    late = hour_to_partition_key(this_hour(100))
    assert keys == [late] and scheduled == dg.PartitionKeyRange(late, late)


def test_partitions_start_at_the_configured_date_and_no_earlier_hour_is_requested(tmp_path: Path, monkeypatch):
    start = (datetime.now(UTC) - timedelta(days=1)).date()
    config, definitions = configured(tmp_path, monkeypatch, start_date=start)
    first = datetime(start.year, start.month, start.day, tzinfo=UTC)
    partitions = definitions.resolve_assets_def(RAW_EVENTS_KEY).partitions_def
    assert definitions.resolve_assets_def(ODS_EVENTS_KEY).partitions_def == partitions
    # Yesterday's and today's hours, not two years of them.
    assert partitions.get_first_partition_key() == hour_to_partition_key(first) and len(partitions.get_partition_keys()) <= 48

    seal(config.raw_root, first - timedelta(hours=1), "before_the_start.gz")  # within the 72-hour lookback
    seal(config.raw_root, first, "first.gz")
    keys, scheduled = requested_hours(definitions)
    assert keys == [hour_to_partition_key(first)] and all(partitions.has_partition_key(key) for key in keys)
    assert scheduled == dg.PartitionKeyRange(hour_to_partition_key(first), hour_to_partition_key(first))
