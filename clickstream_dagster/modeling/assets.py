"""dbt models per app: the same dbt project is built once per app into the app's schema."""

import json

import dagster as dg
from dagster_dbt import DbtCliResource, DbtProject, dbt_assets

from clickstream_dagster.modeling.columns import drain, with_column_schemas
from clickstream_dagster.modeling.invocations import dbt_target_dir
from clickstream_dagster.modeling.translator import AppDbtTranslator
from clickstream_dagster.modeling.warehouses import WarehouseResource
from clickstream_dagster.names import WAREHOUSE_TAG
from clickstream_dagster.resources import ProjectResource
from clickstream_project.config import ModelingSettings, ProjectConfig


def dbt_vars(app_id: str, config: ProjectConfig) -> dict[str, str | int | bool]:
    """The dbt vars of one app's build: where its Parquet is, the data range whose older hot data
    the cleanup hook deletes (dbt_project/README.md), and whether a Cognito Streams source feeds
    the app (its Cognito models hold data only then)."""
    return {
        "app_id": app_id,
        "ods_root": str(config.ods_root),
        "data_range_days": config.pipeline.modeling.data_range_days,
        "cognito_streams": any(source.type == "cognito_streams" for source in config.sources_of_app(app_id)),
    }


def build_app_dbt_assets(app_id: str, project: DbtProject, modeling: ModelingSettings) -> dg.AssetsDefinition:
    """The app's models, named after the app's relations in the ``modeling`` warehouse."""

    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        name=f"dbt_{app_id}",
        dagster_dbt_translator=AppDbtTranslator(app_id, modeling),
        op_tags={WAREHOUSE_TAG: "write"},
    )
    def _app_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, clickstream: ProjectResource, warehouse: WarehouseResource):
        config = clickstream.load()
        # Whatever the warehouse needs first: a directory for DuckDB, Athena's table, a COPY.
        warehouse.prepare(context, app_id, config, dbt)
        variables = dbt_vars(app_id, config)
        # dbt unit tests check the SQL against fixed inputs, not the data: CI runs them
        # (tests/modeling); repeating them in every micro-batch only adds latency.
        command = ["build", "--exclude-resource-type", "unit_test", "--vars", json.dumps(variables)]
        with dbt_target_dir(dbt.project_dir, f"build-{app_id}") as target_path:
            invocation = dbt.cli(command, context=context, target_path=target_path)
            events, failure = drain(invocation.stream())
            yield from with_column_schemas(events, invocation.manifest, warehouse.relation_columns(context, app_id, config))
            if failure is not None:
                raise failure

    return _app_models
