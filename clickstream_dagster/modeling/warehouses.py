"""What a dbt build of one app needs around it, per warehouse: the dbt target, and getting the
processed events where the models read them.

- DuckDB reads the app's Parquet in place (``read_parquet``); the database file only needs a
  directory.
- Athena reads the same Parquet through one external table per project, created once (idempotent
  DDL) before the first build.
- Redshift reads a staging table filled by COPY from a manifest. The Spark job writes a manifest
  of the files it committed per app (plugins/load_manifests.py) and records it on the
  ``lake/ods_events`` materialization; before a build, the manifests recorded since the app's
  last load are merged into one and copied, and the load is recorded as an observation of the
  app's ``ods_events``. The Dagster event log is the ledger, so no load re-reads the lake and a
  failed COPY is simply retried by the next build. A COPY repeated after a crash (between the
  COPY and the observation) only stages rows again: ``ods_events`` appends no event_id twice.

Which class is used follows ``pipeline.modeling.engine`` (definitions.resources_for).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource

from clickstream_dagster.modeling.columns import RelationColumns, group_columns
from clickstream_dagster.modeling.invocations import dbt_target_dir
from clickstream_dagster.names import LOAD_MANIFESTS_METADATA, ODS_EVENTS_KEY, ODS_EVENTS_MODEL, app_asset_key
from clickstream_dagster.processing.emr import split_s3_uri
from clickstream_project.config import ProjectConfig

# On the app's ods_events observation: the last lake/ods_events materialization loaded.
LOADED_THROUGH_METADATA = "loaded_through_storage_id"
# Materializations read per page of the event log while collecting pending manifests.
_PAGE = 500


class WarehouseResource(dg.ConfigurableResource):
    """The embedded default: DuckDB over the local Parquet."""

    @property
    def dbt_target(self) -> str:
        return "duckdb"

    def prepare(self, context: dg.AssetExecutionContext, app_id: str, config: ProjectConfig, dbt: DbtCliResource) -> None:
        # The dbt profile reads its DuckDB path from the environment (profiles cannot use vars).
        os.environ["CLICKSTREAM_DUCKDB_PATH"] = str(config.duckdb_path)
        config.duckdb_path.parent.mkdir(parents=True, exist_ok=True)

    def relation_columns(self, context: dg.AssetExecutionContext, app_id: str, config: ProjectConfig) -> RelationColumns:
        """The columns and types of the relations in the app's schema, read after its build
        (modeling/columns.py). The run holds the warehouse tag, so no other build writes meanwhile."""
        import duckdb

        if not config.duckdb_path.exists():
            return {}
        query = (
            "select table_name, column_name, data_type from information_schema.columns "
            "where lower(table_schema) = lower(?) order by table_name, ordinal_position"
        )
        try:
            with duckdb.connect(str(config.duckdb_path), read_only=True) as connection:
                return group_columns(connection.execute(query, [app_id]).fetchall())
        except duckdb.Error as error:
            context.log.warning(f"{app_id}: column types not read from {config.duckdb_path}: {error}")
            return {}


class AthenaWarehouse(WarehouseResource):
    # s3://bucket/prefix of the job's output (emr_serverless.ods_uri): ods_events/ is below it.
    ods_uri: str

    @property
    def dbt_target(self) -> str:
        return "athena"

    def prepare(self, context, app_id, config, dbt) -> None:
        location = self.ods_uri.rstrip("/") + "/ods_events/"
        args = json.dumps({"location": location})
        context.log.info(f"ensuring the project's ods_events external table over {location}")
        run_operation(dbt, "create_ods_events_table", args)

    def relation_columns(self, context, app_id, config) -> RelationColumns:
        # Not read (a query per build through the dbt adapter): the catalog shows the types the
        # models document (data_type in dbt_project's YAML).
        return {}


def run_operation(dbt: DbtCliResource, macro: str, args: str) -> None:
    # No context: dagster-dbt would add the asset selection, which run-operation rejects.
    with dbt_target_dir(dbt.project_dir, f"operation-{macro}") as target_path:
        dbt.cli(["run-operation", macro, "--args", args], raise_on_error=True, target_path=target_path).wait()


@dataclass(frozen=True)
class LoadPlan:
    """The files of one COPY, and the last ``lake/ods_events`` materialization they cover."""

    app_id: str
    manifests: list[str]
    entries: list[dict[str, Any]]
    skipped_files: int
    through_storage_id: int


class RedshiftWarehouse(WarehouseResource):
    copy_iam_role_arn: str
    # Where the job writes (emr_serverless.ods_uri); the merged manifests go below it too.
    ods_uri: str
    region: str | None = None
    # For S3-compatible stores and tests (moto).
    endpoint_url: str | None = None

    @property
    def dbt_target(self) -> str:
        return "redshift"

    def objects(self) -> Objects:
        return Objects(region=self.region, endpoint_url=self.endpoint_url)

    def plan_load(self, instance: dg.DagsterInstance, app_id: str) -> LoadPlan | None:
        """The files named by the app's manifests recorded since its last load that still exist
        (a later run of the same hours deletes the files of an earlier one)."""
        since = last_loaded_storage_id(instance, app_id)
        manifests, through = pending_manifests(instance, app_id, since)
        if not manifests:
            return None
        objects = self.objects()
        entries: dict[str, dict[str, Any]] = {}
        for uri in manifests:
            if not objects.exists(uri):
                # Replaced by a later run over fewer hours, or deleted by hand: its files too.
                continue
            for entry in json.loads(objects.read_text(uri))["entries"]:
                entries[entry["url"]] = entry
        present = objects.existing(entries)
        kept = [entries[url] for url in sorted(entries) if url in present]
        return LoadPlan(app_id, manifests, kept, len(entries) - len(kept), through)

    def relation_columns(self, context, app_id, config) -> RelationColumns:
        # As on Athena: the documented data_type only.
        return {}

    def merged_manifest_uri(self, app_id: str, run_id: str) -> str:
        return f"{self.ods_uri.rstrip('/')}/load_manifests/partition_app={app_id}/load-{run_id}.json"

    def prepare(self, context, app_id, config, dbt) -> None:
        if app_asset_key(app_id, ODS_EVENTS_MODEL) not in context.selected_asset_keys:
            return  # a build without ods_events (the dim_users schedule) loads nothing
        plan = self.plan_load(context.instance, app_id)
        if plan is None:
            context.log.info(f"{app_id}: no new ods_events files to load")
            return
        if plan.entries:
            manifest = self.merged_manifest_uri(app_id, context.run_id)
            self.objects().write_text(manifest, json.dumps({"entries": plan.entries}, indent=1))
            context.log.info(
                f"{app_id}: COPY {len(plan.entries)} files from {len(plan.manifests)} manifests "
                f"({plan.skipped_files} replaced since) via {manifest}"
            )
            args = json.dumps({"manifest_url": manifest, "iam_role": self.copy_iam_role_arn})
            run_operation(dbt, "copy_ods_events", args)
        context.log_event(
            dg.AssetObservation(
                asset_key=app_asset_key(app_id, ODS_EVENTS_MODEL),
                metadata={LOADED_THROUGH_METADATA: plan.through_storage_id, "files_copied": len(plan.entries)},
            )
        )


def last_loaded_storage_id(instance: dg.DagsterInstance, app_id: str) -> int | None:
    records = instance.fetch_observations(app_asset_key(app_id, ODS_EVENTS_MODEL), limit=20).records
    for record in records:  # newest first; other observations (if any) carry no marker
        value = record.asset_observation.metadata.get(LOADED_THROUGH_METADATA) if record.asset_observation else None
        if value is not None:
            return int(value.value)
    return None


def pending_manifests(instance: dg.DagsterInstance, app_id: str, after_storage_id: int | None) -> tuple[list[str], int]:
    """The app's manifests on ``lake/ods_events`` materializations after the given one, oldest
    first and without repeats, and the newest materialization's storage id."""
    manifests: dict[str, None] = {}
    through = after_storage_id or 0
    cursor = None
    while True:
        result = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=ODS_EVENTS_KEY, after_storage_id=after_storage_id),
            limit=_PAGE, cursor=cursor, ascending=True,
        )  # fmt: skip
        for record in result.records:
            through = max(through, record.storage_id)
            entry = record.asset_materialization.metadata.get(LOAD_MANIFESTS_METADATA) if record.asset_materialization else None
            value = entry.value.get(app_id) if entry is not None and isinstance(entry.value, dict) else None
            # One manifest per lake that wrote the app's files (processing/reports.py); a single
            # URI in materializations recorded before sources existed.
            for uri in [value] if isinstance(value, str) else value or []:
                manifests.pop(uri, None)
                manifests[uri] = None
        if not result.has_more:
            return list(manifests), through
        cursor = result.cursor


class Objects:
    """Small reads and writes of files named by URI: ``s3://`` through boto3, else local paths
    (``file:`` URIs as the job reports them)."""

    def __init__(self, region: str | None = None, endpoint_url: str | None = None) -> None:
        self._region, self._endpoint_url = region, endpoint_url
        self._client: Any = None

    def _s3(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("s3", region_name=self._region, endpoint_url=self._endpoint_url)
        return self._client

    @staticmethod
    def _local(uri: str) -> Path:
        return Path(uri.removeprefix("file://") if uri.startswith("file://") else uri.removeprefix("file:"))

    def read_text(self, uri: str) -> str:
        if uri.startswith("s3://"):
            bucket, key = split_s3_uri(uri)
            return self._s3().get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
        return self._local(uri).read_text()

    def write_text(self, uri: str, text: str) -> None:
        if uri.startswith("s3://"):
            bucket, key = split_s3_uri(uri)
            self._s3().put_object(Bucket=bucket, Key=key, Body=text.encode("utf-8"), ContentType="application/json")
            return
        path = self._local(uri)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def exists(self, uri: str) -> bool:
        return uri in self.existing([uri])

    def existing(self, uris: Iterable[str]) -> set[str]:
        """Which of ``uris`` exist: one listing per directory in S3 rather than a request per
        file (a backfill's manifests name thousands of files in a few day partitions)."""
        found: set[str] = set()
        by_directory: dict[str, list[str]] = {}
        for uri in uris:
            if uri.startswith("s3://"):
                by_directory.setdefault(uri.rsplit("/", 1)[0] + "/", []).append(uri)
            elif self._local(uri).is_file():
                found.add(uri)
        for directory, wanted in by_directory.items():
            bucket, prefix = split_s3_uri(directory)
            keys = set()
            for page in self._s3().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, Delimiter="/"):
                keys.update(item["Key"] for item in page.get("Contents", []))
            found.update(uri for uri in wanted if split_s3_uri(uri)[1] in keys)
        return found


def warehouse_for(config: ProjectConfig) -> WarehouseResource:
    modeling = config.pipeline.modeling
    emr = config.pipeline.processing.emr_serverless
    if modeling.engine == "duckdb":
        return WarehouseResource()
    # The configuration guarantees Spark runs on EMR Serverless for the cloud warehouses.
    assert emr is not None
    if modeling.engine == "athena":
        return AthenaWarehouse(ods_uri=emr.ods_uri)
    assert modeling.redshift is not None
    return RedshiftWarehouse(copy_iam_role_arn=modeling.redshift.copy_iam_role_arn, ods_uri=emr.ods_uri, region=emr.region)
