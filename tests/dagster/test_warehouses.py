"""The production switch and the cloud warehouses' loading: which resources a configuration gets,
what CLICKSTREAM_ENV=production refuses, and how Redshift finds the files to COPY (S3 in moto, a
real Dagster instance as the ledger, the real dbt CLI). Redshift and Athena themselves cannot be
reached here: the COPY and the DDL are compiled and parsed in tests/modeling/test_cloud_sql.py."""

import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest
from dagster_dbt import DbtCliResource

from clickstream_dagster.definitions import defs
from clickstream_dagster.lake.resources import S3RawLakeResource
from clickstream_dagster.modeling.invocations import invocations_root
from clickstream_dagster.modeling.project import dbt_executable, dbt_project
from clickstream_dagster.modeling.warehouses import (
    LOADED_THROUGH_METADATA,
    AthenaWarehouse,
    RedshiftWarehouse,
    WarehouseResource,
    last_loaded_storage_id,
)
from clickstream_dagster.names import ODS_EVENTS_KEY
from clickstream_dagster.processing.assets import job_arguments
from clickstream_dagster.processing.emr import EmrServerlessSparkJobResource
from clickstream_project.config import CONFIG_ENV_VAR, ConfigError, load_config, parse_config, save_config
from clickstream_project.environment import ENVIRONMENT_ENV_VAR
from tests.conftest import REPO_ROOT, make_config

PRODUCTION_CONFIG = REPO_ROOT / "deploy" / "config" / "clickstream.production.yaml"
LAKE = "clickstream-lake"  # created by the s3 fixture (conftest.py)
ODS_URI = f"s3://{LAKE}/ods"
COPY_ROLE = "arn:aws:iam::123456789012:role/clickstream-redshift"
HOUR = datetime(2026, 11, 21, 10, tzinfo=UTC)


def production_data(**modeling) -> dict:
    import yaml

    data = yaml.safe_load(PRODUCTION_CONFIG.read_text())
    if modeling:
        data["pipeline"]["modeling"] = modeling
    return data


def use_config(tmp_path: Path, monkeypatch, data: dict, environment: str = "production") -> None:
    path = tmp_path / "clickstream.yaml"
    save_config(parse_config(data, base_dir=tmp_path), path)
    monkeypatch.setenv(CONFIG_ENV_VAR, str(path))
    monkeypatch.setenv(ENVIRONMENT_ENV_VAR, environment)


# The production switch -------------------------------------------------------------------------


def test_production_definitions_use_the_shared_services_of_the_configuration(monkeypatch):
    monkeypatch.setenv(CONFIG_ENV_VAR, str(PRODUCTION_CONFIG))
    monkeypatch.setenv(ENVIRONMENT_ENV_VAR, "production")
    resources = defs().resources
    assert isinstance(resources["raw_lake"], S3RawLakeResource)
    assert resources["raw_lake"].raw_root == "s3://my-clickstream-lake/clickstream/shop_prod/data/buffer"
    # The job reads the lake the sensor lists (the production file leaves raw_uri to the S3 sink).
    assert resources["spark_job"].raw_uri == resources["raw_lake"].raw_root
    assert isinstance(resources["spark_job"], EmrServerlessSparkJobResource)
    warehouse = resources["warehouse"]
    assert isinstance(warehouse, RedshiftWarehouse)
    assert (warehouse.ods_uri, warehouse.copy_iam_role_arn) == ("s3://my-clickstream-lake/ods", COPY_ROLE)
    assert isinstance(resources["dbt"], DbtCliResource) and resources["dbt"].target == "redshift"
    # The Spark job is told to write COPY manifests only where Redshift reads them.
    # Redshift loads whole hours by their file lists: its micro-batches process whole hours too.
    arguments = job_arguments(load_config(PRODUCTION_CONFIG), HOUR, HOUR, only_new=True)
    assert "--load-manifests" in arguments and "--only-new" not in arguments


def test_athena_gets_its_table_location_and_target(tmp_path, monkeypatch):
    use_config(tmp_path, monkeypatch, production_data(engine="athena"))
    resources = defs().resources
    assert isinstance(resources["warehouse"], AthenaWarehouse)
    assert resources["warehouse"].ods_uri == "s3://my-clickstream-lake/ods"
    assert resources["dbt"].target == "athena"
    assert "--load-manifests" not in job_arguments(load_config(tmp_path / "clickstream.yaml"), HOUR, HOUR)


def test_production_refuses_data_on_one_containers_disk(tmp_path, monkeypatch):
    use_config(tmp_path, monkeypatch, make_config(tmp_path).model_dump(exclude={"base_dir"}))
    with pytest.raises(ConfigError) as error:
        defs()
    message = str(error.value)
    assert "CLICKSTREAM_ENV=production cannot use" in message and str(tmp_path / "clickstream.yaml") in message
    for field in ("pipeline.sink.type is 'local'", "pipeline.processing.engine is 'local'", "pipeline.modeling.engine is 'duckdb'"):
        assert field in message


def test_the_same_local_configuration_runs_embedded_by_default(tmp_path, monkeypatch):
    use_config(tmp_path, monkeypatch, make_config(tmp_path).model_dump(exclude={"base_dir"}), environment="local")
    resources = defs().resources
    assert type(resources["warehouse"]) is WarehouseResource and resources["dbt"].target == "duckdb"


@pytest.mark.parametrize(
    "modeling, processing_engine, message",
    [
        ({"engine": "redshift"}, "emr_serverless", "pipeline.modeling: Value error, engine 'redshift' needs a 'redshift:' block"),
        (
            {"engine": "redshift", "redshift": {"copy_iam_role_arn": "role/x"}},
            "emr_serverless",
            "pipeline.modeling.redshift.copy_iam_role_arn: must match",
        ),
        ({"engine": "athena"}, "local", "modeling.engine 'athena' reads ods_events from S3"),
    ],
)
def test_cloud_warehouse_settings_are_checked_with_the_field_named(tmp_path, modeling, processing_engine, message):
    data = production_data(**modeling)
    data["pipeline"]["processing"]["engine"] = processing_engine
    if processing_engine == "local":
        del data["pipeline"]["processing"]["emr_serverless"]
    with pytest.raises(ConfigError, match="invalid configuration") as error:
        parse_config(data, base_dir=tmp_path)
    assert message in str(error.value)


# Redshift: what to COPY -----------------------------------------------------------------------


def put_run_output(s3, hours: str, files: dict[str, list[str]]) -> dict[str, str]:
    """What one Spark run leaves in S3: its files and a manifest per app (plugins/load_manifests.py)."""
    manifests = {}
    for app_id, names in files.items():
        entries = []
        for name in names:
            key = f"ods/ods_events/partition_app={app_id}/partition_year=2026/partition_month=11/partition_day=21/{name}"
            s3.put_object(Bucket=LAKE, Key=key, Body=b"PAR1" + name.encode())
            entries.append({"url": f"s3://{LAKE}/{key}", "mandatory": True, "meta": {"content_length": 4 + len(name)}})
        key = f"ods/load_manifests/partition_app={app_id}/{hours}.json"
        s3.put_object(Bucket=LAKE, Key=key, Body=json.dumps({"entries": entries}).encode())
        manifests[app_id] = f"s3://{LAKE}/{key}"
    return manifests


def record_processing(instance: dg.DagsterInstance, manifests: dict[str, str]) -> None:
    instance.report_runless_asset_event(
        dg.AssetMaterialization(ODS_EVENTS_KEY, partition="2026-11-21-10:00", metadata={"load_manifests": dg.MetadataValue.json(manifests)})
    )


def record_load(instance: dg.DagsterInstance, app_id: str, through: int) -> None:
    instance.report_runless_asset_event(
        dg.AssetObservation(dg.AssetKey([app_id, "ods_events"]), metadata={LOADED_THROUGH_METADATA: through})
    )


def urls(plan) -> list[str]:
    return [entry["url"].rsplit("/", 1)[1] for entry in plan.entries]


def test_load_plan_takes_every_manifest_since_the_last_load(s3):
    warehouse = RedshiftWarehouse(copy_iam_role_arn=COPY_ROLE, ods_uri=ODS_URI, region="eu-west-1")
    with dg.instance_for_test() as instance:
        assert warehouse.plan_load(instance, "shop_web") is None  # nothing processed yet

        record_processing(
            instance,
            put_run_output(s3, "h2026112110-h2026112110", {"shop_web": ["h2026112110-a.parquet"], "shop_ios": ["h2026112110-i.parquet"]}),
        )
        record_processing(
            instance, put_run_output(s3, "h2026112111-h2026112111", {"shop_web": ["h2026112111-a.parquet", "h2026112111-b.parquet"]})
        )
        plan = warehouse.plan_load(instance, "shop_web")
        assert urls(plan) == ["h2026112110-a.parquet", "h2026112111-a.parquet", "h2026112111-b.parquet"]
        assert [entry["meta"]["content_length"] for entry in plan.entries] == [25, 25, 25]
        assert len(plan.manifests) == 2 and plan.skipped_files == 0
        # Other apps' manifests are theirs.
        assert urls(warehouse.plan_load(instance, "shop_ios")) == ["h2026112110-i.parquet"]

        # Loaded: nothing pending until the next run.
        record_load(instance, "shop_web", plan.through_storage_id)
        assert last_loaded_storage_id(instance, "shop_web") == plan.through_storage_id
        assert warehouse.plan_load(instance, "shop_web") is None
        record_processing(instance, put_run_output(s3, "h2026112112-h2026112112", {"shop_web": ["h2026112112-a.parquet"]}))
        assert urls(warehouse.plan_load(instance, "shop_web")) == ["h2026112112-a.parquet"]


def test_load_plan_takes_the_manifests_of_the_sdk_job_and_a_sources_job_of_one_run(s3):
    """An ods_events run with a source's job too records one manifest per lake for an app
    (processing/reports.py): the load takes both."""
    warehouse = RedshiftWarehouse(copy_iam_role_arn=COPY_ROLE, ods_uri=ODS_URI, region="eu-west-1")
    with dg.instance_for_test() as instance:
        sdk = put_run_output(s3, "h2026112110-h2026112110", {"shop_web": ["h2026112110-a.parquet"]})
        source = put_run_output(s3, "prefs.h2026112110-h2026112110", {"shop_web": ["prefs.h2026112110-c.parquet"]})
        record_processing(instance, {"shop_web": [sdk["shop_web"], source["shop_web"]]})
        plan = warehouse.plan_load(instance, "shop_web")
        assert urls(plan) == ["h2026112110-a.parquet", "prefs.h2026112110-c.parquet"] and len(plan.manifests) == 2


def test_a_rerun_of_the_same_hours_replaces_what_is_copied(s3):
    """A backfill of hours 10-11 deletes the files of the earlier runs of hour 10 and 11: the
    load takes the new files once, not the gone ones (COPY would fail on a missing file)."""
    warehouse = RedshiftWarehouse(copy_iam_role_arn=COPY_ROLE, ods_uri=ODS_URI, region="eu-west-1")
    with dg.instance_for_test() as instance:
        first = put_run_output(s3, "h2026112110-h2026112110", {"shop_web": ["h2026112110-old.parquet"]})
        record_processing(instance, first)
        s3.delete_object(
            Bucket=LAKE,
            Key="ods/ods_events/partition_app=shop_web/partition_year=2026/partition_month=11/partition_day=21/h2026112110-old.parquet",
        )
        record_processing(
            instance, put_run_output(s3, "h2026112110-h2026112111", {"shop_web": ["h2026112110-new.parquet", "h2026112111-new.parquet"]})
        )
        # The same range again: same manifest name, rewritten.
        record_processing(
            instance, put_run_output(s3, "h2026112110-h2026112111", {"shop_web": ["h2026112110-new.parquet", "h2026112111-new.parquet"]})
        )
        plan = warehouse.plan_load(instance, "shop_web")
        assert urls(plan) == ["h2026112110-new.parquet", "h2026112111-new.parquet"]
        assert plan.skipped_files == 1 and len(plan.manifests) == 2


def test_a_failed_copy_records_no_load_so_the_next_build_retries(s3, tmp_path, monkeypatch):
    """The real dbt CLI against a Redshift target nobody listens on: the COPY fails, the merged
    manifest stays for inspection, and no load is recorded."""
    monkeypatch.setenv("CLICKSTREAM_REDSHIFT_HOST", "127.0.0.1")
    monkeypatch.setenv("CLICKSTREAM_REDSHIFT_PORT", "9")  # discard: connection refused
    warehouse = RedshiftWarehouse(copy_iam_role_arn=COPY_ROLE, ods_uri=ODS_URI, region="eu-west-1")
    dbt = DbtCliResource(project_dir=dbt_project(), dbt_executable=dbt_executable(), target="redshift")

    @dg.asset(key=["shop_web", "ods_events"])
    def app_ods_events(context: dg.AssetExecutionContext):
        warehouse.prepare(context, "shop_web", make_config(tmp_path), dbt)

    with dg.instance_for_test() as instance:
        record_processing(instance, put_run_output(s3, "h2026112110-h2026112110", {"shop_web": ["h2026112110-a.parquet"]}))
        result = dg.materialize([app_ods_events], instance=instance, raise_on_error=False)
        assert not result.success
        failure = result.get_step_failure_events()[0].event_specific_data.error
        # It got as far as connecting: the macro and its arguments were accepted.
        assert "run-operation copy_ods_events" in failure.message and "Connection refused" in failure.message
        assert last_loaded_storage_id(instance, "shop_web") is None
        merged = s3.list_objects_v2(Bucket=LAKE, Prefix="ods/load_manifests/partition_app=shop_web/load-")["Contents"]
        entries = json.loads(s3.get_object(Bucket=LAKE, Key=merged[0]["Key"])["Body"].read())["entries"]
        assert [entry["url"].rsplit("/", 1)[1] for entry in entries] == ["h2026112110-a.parquet"]
        assert warehouse.plan_load(instance, "shop_web") is not None  # still pending
    # The failed invocation's directory stays for its dbt.log (named in the error).
    kept = [path for path in invocations_root(Path(dbt.project_dir)).glob("operation-copy_ods_events-*") if path.name in failure.message]
    assert len(kept) == 1 and "Connection refused" in (kept[0] / "dbt.log").read_text()
    shutil.rmtree(kept[0])


def test_builds_without_ods_events_load_nothing(s3, tmp_path):
    warehouse = RedshiftWarehouse(copy_iam_role_arn=COPY_ROLE, ods_uri=ODS_URI, region="eu-west-1")

    @dg.asset(key=["shop_web", "dim_users"])
    def dim_users(context: dg.AssetExecutionContext):
        warehouse.prepare(context, "shop_web", make_config(tmp_path), dbt=None)  # would fail if used

    with dg.instance_for_test() as instance:
        record_processing(instance, put_run_output(s3, "h2026112110-h2026112110", {"shop_web": ["h2026112110-a.parquet"]}))
        assert dg.materialize([dim_users], instance=instance).success
        assert "Contents" not in s3.list_objects_v2(Bucket=LAKE, Prefix="ods/load_manifests/partition_app=shop_web/load-")


def test_local_manifests_as_the_job_writes_them_are_read_too(tmp_path):
    """Locally the job reports file: URIs; the same planning reads them from disk."""
    files = [tmp_path / "ods" / "ods_events" / "partition_app=shop_web" / f"h2026112110-{n}.parquet" for n in "ab"]
    for file in files:
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_bytes(b"PAR1")
    manifest = tmp_path / "ods" / "load_manifests" / "partition_app=shop_web" / "h2026112110-h2026112110.json"
    manifest.parent.mkdir(parents=True)
    manifest.write_text(json.dumps({"entries": [{"url": f"file:{f}", "mandatory": True, "meta": {"content_length": 4}} for f in files]}))
    files[1].unlink()
    warehouse = RedshiftWarehouse(copy_iam_role_arn=COPY_ROLE, ods_uri=str(tmp_path / "ods"))
    with dg.instance_for_test() as instance:
        record_processing(instance, {"shop_web": f"file:{manifest}"})
        plan = warehouse.plan_load(instance, "shop_web")
    assert [entry["url"] for entry in plan.entries] == [f"file:{files[0]}"] and plan.skipped_files == 1
    assert os.path.basename(warehouse.merged_manifest_uri("shop_web", "run1")) == "load-run1.json"
