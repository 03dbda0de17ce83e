"""What the asset catalog shows of every app's dbt models: the app's own relation in the
configured warehouse, the column descriptions and documented types of the dbt docs, and the
column types the warehouse reports after a build."""

import copy
import json
import re

import dagster as dg
import pytest
from dagster_dbt import DagsterDbtCliRuntimeError

from clickstream_dagster.definitions import defs
from clickstream_dagster.modeling.assets import build_app_dbt_assets
from clickstream_dagster.modeling.columns import drain, with_column_schemas
from clickstream_dagster.modeling.dbt_resource import ClickstreamDbtResource
from clickstream_dagster.modeling.project import dbt_executable, dbt_project
from clickstream_dagster.modeling.relations import REDSHIFT_DATABASE_ENV_VAR, REDSHIFT_DEFAULT_DATABASE, duckdb_catalog
from clickstream_dagster.modeling.translator import AppDbtTranslator
from clickstream_dagster.modeling.warehouses import WarehouseResource
from clickstream_dagster.names import COLUMN_SCHEMA_METADATA, STORAGE_KIND_METADATA, TABLE_NAME_METADATA, app_asset_key
from clickstream_dagster.resources import ProjectResource
from clickstream_project.config import CONFIG_ENV_VAR, ModelingSettings, RedshiftSettings, save_config
from tests.conftest import REPO_ROOT, make_config

TWO_APPS = [
    {"app_id": "shop_web", "name": "Shop Web", "platforms": ["Web"]},
    {"app_id": "shop_ios", "name": "Shop iOS", "platforms": ["iOS"], "package_name": "com.example.shop.ios"},
]
ODS_EVENTS_NODE = "model.clickstream.ods_events"


def test_each_apps_models_show_the_apps_relation(tmp_path, monkeypatch):
    """Not the manifest's ``clickstream.demo_app.<model>``: the app's schema in the catalog of
    the configured DuckDB file."""
    path = tmp_path / "clickstream.yaml"
    save_config(make_config(tmp_path, apps=TWO_APPS, pipeline={"modeling": {"duckdb_path": "warehouse/shop.v2.duckdb"}}), path)
    monkeypatch.setenv(CONFIG_ENV_VAR, str(path))
    graph = defs().resolve_asset_graph()
    for app_id in ("shop_web", "shop_ios"):
        for model in ("ods_events", "clickstream_session_view"):
            node = graph.get(app_asset_key(app_id, model))
            assert node.metadata[TABLE_NAME_METADATA] == f"shop.{app_id}.{model}"
            assert node.metadata[STORAGE_KIND_METADATA] == "duckdb" and node.kinds == {"dbt", "duckdb"}


@pytest.mark.parametrize(
    ("modeling", "database"),
    [
        (ModelingSettings(engine="athena"), "awsdatacatalog"),
        (
            ModelingSettings(engine="redshift", redshift=RedshiftSettings(copy_iam_role_arn="arn:aws:iam::123456789012:role/copy")),
            "analytics",
        ),
    ],
)
def test_cloud_warehouses_show_their_own_relation_and_kind(modeling, database, monkeypatch):
    monkeypatch.setenv(REDSHIFT_DATABASE_ENV_VAR, "analytics")
    assets = build_app_dbt_assets("shop_web", dbt_project(), modeling)
    spec = next(spec for spec in assets.specs if spec.key == app_asset_key("shop_web", "dim_users"))
    assert spec.metadata[TABLE_NAME_METADATA] == f"{database}.shop_web.dim_users"
    assert spec.metadata[STORAGE_KIND_METADATA] == modeling.engine and spec.kinds == {"dbt", modeling.engine}


def test_relation_rules_mirror_the_dbt_profile():
    profile = (REPO_ROOT / "dbt_project" / "profiles.yml").read_text()
    assert f"env_var('{REDSHIFT_DATABASE_ENV_VAR}', '{REDSHIFT_DEFAULT_DATABASE}')" in profile
    assert re.search(r"athena:[\s\S]*database: awsdatacatalog", profile)
    # DuckDB names its catalog after the file name up to the first dot.
    assert [duckdb_catalog(p) for p in ("var/clickstream.duckdb", "/x/shop.v2.duckdb", ".hidden.db")] == ["clickstream", "shop", "hidden"]


def test_column_descriptions_and_documented_types_come_from_the_dbt_docs():
    manifest = copy.deepcopy(json.loads(dbt_project().manifest_path.read_text()))
    columns = manifest["nodes"][ODS_EVENTS_NODE]["columns"]
    columns["event_id"].update(description="Unique id of the event.", data_type="varchar")
    spec = AppDbtTranslator("shop_web", ModelingSettings()).get_asset_spec(manifest, ODS_EVENTS_NODE, None)
    [event_id] = [column for column in spec.metadata[COLUMN_SCHEMA_METADATA].columns if column.name == "event_id"]
    assert (event_id.type, event_id.description) == ("varchar", "Unique id of the event.")


def test_a_failed_build_still_reports_the_models_built_before_the_failure():
    def stream():
        yield "first model"
        raise DagsterDbtCliRuntimeError("dbt build failed")

    events, failure = drain(stream())
    assert events == ["first model"] and isinstance(failure, DagsterDbtCliRuntimeError)
    assert drain(iter(["a", "b"])) == (["a", "b"], None)


def test_only_model_outputs_with_a_read_relation_get_a_column_schema():
    manifest = {"nodes": {ODS_EVENTS_NODE: {"alias": "ods_events"}, "model.clickstream.dim_users": {"alias": "dim_users"}}}
    events = [
        dg.Output(None, "ods_events", metadata={"unique_id": ODS_EVENTS_NODE}),
        dg.Output(None, "dim_users", metadata={"unique_id": "model.clickstream.dim_users"}),
        dg.AssetCheckResult(passed=True, asset_key=app_asset_key("shop_web", "ods_events"), check_name="unique_ods_events_event_id"),
    ]
    ods, dim_users, check = with_column_schemas(events, manifest, {"ods_events": [("event_id", "VARCHAR")]})
    assert ods.metadata[COLUMN_SCHEMA_METADATA].schema == dg.TableSchema(columns=[dg.TableColumn("event_id", "VARCHAR")])
    assert COLUMN_SCHEMA_METADATA not in dim_users.metadata and check is events[2]


def test_materializations_carry_the_column_types_of_the_warehouse(tmp_path):
    """A real dbt build of one app on DuckDB: every model's materialization lists all of its
    columns with the types DuckDB reports (the definition lists only the documented ones)."""
    from tests.modeling.ods_files import ods_event, write_ods_events

    config = make_config(tmp_path, apps=TWO_APPS)
    path = tmp_path / "clickstream.yaml"
    save_config(config, path)
    write_ods_events(config.ods_root, "shop_web", [ods_event("e1", "u1", 1_795_000_000_000, "_page_view", app_id="shop_web", session="s1")])
    project = dbt_project()
    resources = {
        "dbt": ClickstreamDbtResource(project_dir=project, dbt_executable=dbt_executable(), target="duckdb"),
        "clickstream": ProjectResource(config_path=str(path)),
        "warehouse": WarehouseResource(),
    }
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [build_app_dbt_assets("shop_web", project, config.pipeline.modeling)], resources=resources, instance=instance
        )
    schemas = {
        event.asset_key: event.materialization.metadata[COLUMN_SCHEMA_METADATA].schema
        for event in result.get_asset_materialization_events()
    }
    ods = {column.name: column.type for column in schemas[app_asset_key("shop_web", "ods_events")].columns}
    assert ods["event_id"] == "VARCHAR" and ods["event_timestamp"] == "BIGINT" and len(ods) > 20
    sessions = {column.name: column.type for column in schemas[app_asset_key("shop_web", "clickstream_session_view")].columns}
    assert sessions["session_id"] == "VARCHAR" and "session_duration" in sessions
    # Every model the build materialized got its columns.
    assert len(schemas) == len(result.get_asset_materialization_events())
