"""Example transformer for a third-party format: AWS Cognito Sync records (as streamed to Kinesis).

One input row holds one Cognito Sync record in ``event`` (a VARIANT), as the cleaning step
produces it for each element of a JSON-array request body::

    [{"identityPoolId": "...", "identityId": "us-east-1:...", "dataSetName": "preferences",
      "operation": "replace", "payloadType": "Inline", "syncCount": 3, "lastModifiedDate": 1424801824343,
      "kinesisSyncRecords": [{"key": "theme", "value": "dark", "syncCount": 3, "op": "replace",
                              "lastModifiedDate": 1424801824343, "deviceLastModifiedDate": ...}, ...]}]

Each ``kinesisSyncRecords`` entry (one changed key of a dataset) becomes one ``ods_events`` row.
A record without inline entries (``payloadType: S3Url``, whose entries sit behind a URL a pure
transform must not fetch) yields no rows here; the cleaning step is meant to quarantine it, using
``required_fields`` below (see plugins/README.md, "Third-party formats").
"""

from __future__ import annotations

from typing import ClassVar

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from plugins.base import Transformer
from plugins.ods_schema import (
    APP_INFO,
    CONTEXT_COLUMNS,
    DEVICE,
    ECOMMERCE,
    GEO,
    ITEM,
    ODS_EVENTS_SCHEMA,
    TRAFFIC_SOURCE,
    USER_LTV,
    struct_of,
)
from plugins.typed_values import KV_TYPE, USER_KV_TYPE, kv_array

PLATFORM = "Cognito"
EVENT_NAME_PREFIX = "cognito_sync_"


def _get(variant: Column, field: str, dtype: str = "string") -> Column:
    return F.try_variant_get(variant, f"$.{field}", dtype)


class CognitoSyncTransformer(Transformer):
    """Maps Cognito Sync records of one app (Cognito carries no app id, so it is configured)."""

    # What the cleaning step checks in every element before transform() sees it (JSON path ->
    # type); the SDK format's equivalent is event_id, app_id and timestamp. A record whose
    # entries sit behind kinesisSyncRecordsURL has no inline array and is quarantined there.
    required_fields: ClassVar[dict[str, str]] = {
        "$.identityId": "string",
        "$.dataSetName": "string",
        "$.kinesisSyncRecords": "array<variant>",
    }
    # Epoch ms the freshness window is measured on.
    timestamp_path: ClassVar[str] = "$.lastModifiedDate"
    # Records carry no app id: the app is this transformer's app_id option.
    app_id_path: ClassVar[str | None] = None

    def __init__(self, project_id: str, app_id: str) -> None:
        if not app_id:
            raise ValueError("CognitoSyncTransformer: option app_id is required (the app the Cognito records belong to)")
        self.project_id = project_id
        self.app_id = app_id

    def transform(self, df: DataFrame) -> DataFrame:
        records = df.select(
            *[F.col(name) for name in ("ingest_time", *CONTEXT_COLUMNS)],
            F.col("event").alias("record"),
            # explode, not explode_outer: a record without inline entries holds no event.
            F.explode(_get(F.col("event"), "kinesisSyncRecords", "array<variant>")).alias("entry"),
        )
        record, entry = F.col("record"), F.col("entry")
        identity_id = _get(record, "identityId")
        dataset = _get(record, "dataSetName")
        key = _get(entry, "key")
        sync_count = _get(entry, "syncCount", "bigint")
        # An entry's own time is when that key changed; the record's is the fallback.
        timestamp = F.coalesce(_get(entry, "lastModifiedDate", "bigint"), _get(record, "lastModifiedDate", "bigint"))
        operation = F.lower(F.coalesce(_get(entry, "op"), _get(record, "operation")))
        ingest_time = F.col("ingest_time")

        # (identity, dataset, key, syncCount) names one change: Cognito increments syncCount on
        # every write of a key, so a replayed record gets the same id and the job's dedup drops
        # it. JSON-encoding the parts keeps "a:b"+"c" and "a"+"b:c" apart.
        event_id = F.sha2(F.to_json(F.array(identity_id, dataset, key, sync_count.cast("string"))), 256)
        # Every field of the seed connector's cognito_raw_data row travels as a param, so the
        # warehouse rebuilds it (dbt_project/models/marts/cognito_raw_data.sql); its
        # lastModifiedDate is event_timestamp. operation is the record's, op the entry's.
        params = F.create_map(
            F.lit("dataSetName"), _get(record, "dataSetName", "variant"),
            F.lit("deviceLastModifiedDate"), _get(entry, "deviceLastModifiedDate", "variant"),
            F.lit("identityPoolId"), _get(record, "identityPoolId", "variant"),
            F.lit("key"), _get(entry, "key", "variant"),
            F.lit("op"), _get(entry, "op", "variant"),
            F.lit("operation"), _get(record, "operation", "variant"),
            F.lit("syncCount"), _get(entry, "syncCount", "variant"),
            F.lit("value"), _get(entry, "value", "variant"),
        )  # fmt: skip

        columns = {
            "app_info": struct_of(APP_INFO, {"app_id": F.lit(self.app_id)}),
            # Empty structs rather than nulls, as the SDK transformer emits: UA and IP
            # enrichments fill fields of device and geo.
            "device": struct_of(DEVICE, {}),
            "ecommerce": F.lit(None).cast(ECOMMERCE),
            # Cognito has no request bundles.
            "event_bundle_sequence_id": F.lit(0),
            "event_date": F.to_date(F.timestamp_millis(timestamp)),
            "event_dimensions": F.lit(None).cast(T.ArrayType(KV_TYPE)),
            "event_id": event_id,
            "event_name": F.concat(F.lit(EVENT_NAME_PREFIX), operation),
            "event_params": kv_array(params),
            "event_previous_timestamp": F.lit(None),
            "event_server_timestamp_offset": ingest_time - timestamp,
            "event_timestamp": timestamp,
            "event_value_in_usd": F.lit(None),
            "geo": struct_of(GEO, {}),
            "ingest_timestamp": ingest_time,
            "items": F.lit(None).cast(T.ArrayType(ITEM)),
            "platform": F.lit(PLATFORM),
            "privacy_info": F.lit(None).cast(T.ArrayType(KV_TYPE)),
            "project_id": F.lit(self.project_id),
            "traffic_source": struct_of(TRAFFIC_SOURCE, {}),
            "user_first_touch_timestamp": F.lit(None),
            # A Cognito identity is a device/installation identity, not the app's user id.
            "user_id": F.lit(None),
            "user_ltv": struct_of(USER_LTV, {}),
            "user_properties": F.lit(None).cast(T.ArrayType(USER_KV_TYPE)),
            "user_pseudo_id": identity_id,
        }
        ods = [columns[f.name].cast(f.dataType).alias(f.name) for f in ODS_EVENTS_SCHEMA.fields]
        return records.select(*ods, *[F.col(name) for name in CONTEXT_COLUMNS])
