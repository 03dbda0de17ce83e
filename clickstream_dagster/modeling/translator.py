"""Asset keys for dbt models: one set per app, ``<app_id>/<model name>``, grouped by app.

Keys come from the manifest (model name) and the app the run is for, never from a list of
model names, so a new model appears in the graph without touching Python. Sources keep the key
set in their ``meta.dagster.asset_key`` (``lake/ods_events``), which wires the lineage to Spark.

No automation condition: the warehouse sensor and the micro_batch job build the models
(modeling/sensors.py says why an eager condition would never fire).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtProject

from clickstream_dagster.modeling.relations import relation_name, warehouse_database
from clickstream_dagster.names import STORAGE_KIND_METADATA, TABLE_NAME_METADATA, app_asset_key, app_group_name
from clickstream_project.config import ModelingSettings


class AppDbtTranslator(DagsterDbtTranslator):
    def __init__(self, app_id: str, modeling: ModelingSettings) -> None:
        super().__init__(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))
        self.app_id = app_id
        self.engine = modeling.engine
        self.database = warehouse_database(modeling)

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return super().get_asset_key(dbt_resource_props)
        return app_asset_key(self.app_id, dbt_resource_props["name"])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return app_group_name(self.app_id)

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None) -> dg.AssetSpec:
        # The manifest's relation and adapter are those of its parse (DuckDB, app demo_app): the
        # catalog shows the app's relation in the configured warehouse instead.
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props["resource_type"] == "source":
            return spec
        return spec.replace_attributes(
            kinds=(spec.kinds - {manifest["metadata"]["adapter_type"]}) | {self.engine},
            metadata={
                **spec.metadata,
                TABLE_NAME_METADATA: relation_name(self.database, props, self.app_id),
                STORAGE_KIND_METADATA: self.engine,
            },
        )
