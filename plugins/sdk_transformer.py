"""The built-in transformer: one cleaned SDK event (a VARIANT) → one ``ods_events`` row.

The mapping is DATA_CONTRACT §4. Every field is extracted on its own with ``try_variant_get``,
so one field of an unexpected type becomes null alone instead of failing the event.
"""

from __future__ import annotations

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
from plugins.typed_values import KV_TYPE, kv_array, user_kv_array

TRAFFIC_SOURCE_KEYS = ["_traffic_source_source", "_traffic_source_medium", "_traffic_source_name", "_traffic_source_campaign"]
USER_FIELDS_WITH_COLUMNS = ["_user_id", "_user_first_touch_timestamp", "_user_ltv_revenue", "_user_ltv_currency"]
PRIVACY_PREFIX = "_privacy_info_"


def _path(*keys: str) -> str:
    # Bracket notation: attribute names may contain spaces, dots or quotes.
    return "$" + "".join("['" + key.replace("\\", "\\\\").replace("'", "\\'") + "']" for key in keys)


def _get(event: Column, *keys: str, dtype: str = "string") -> Column:
    return F.try_variant_get(event, _path(*keys), dtype)



def _is_event_param(key: Column) -> Column:
    return ~(key.isin(["_channel", *TRAFFIC_SOURCE_KEYS]) | key.startswith(PRIVACY_PREFIX))


def _item(item: Column) -> Column:
    fields = {f.name: F.try_variant_get(item, _path(f.name), f.dataType.simpleString()) for f in ITEM.fields}
    return struct_of(ITEM, fields)


class SdkTransformer(Transformer):
    """Maps events sent by the official Clickstream SDKs (Android, Swift, Web)."""

    def __init__(self, project_id: str) -> None:
        self.project_id = project_id

    def transform(self, df: DataFrame) -> DataFrame:
        e = F.col("event")
        attributes = _get(e, "attributes", dtype="map<string,variant>")
        user = _get(e, "user", dtype="map<string,variant>")
        timestamp = _get(e, "timestamp", dtype="bigint")
        ingest_time = F.col("ingest_time")

        app_info = struct_of(
            APP_INFO,
            {
                "app_id": _get(e, "app_id"),
                "id": _get(e, "app_package_name"),
                "install_source": _get(e, "attributes", "_channel"),
                "version": _get(e, "app_version"),
            },
        )
        device = struct_of(
            DEVICE,
            {
                "mobile_brand_name": _get(e, "brand"),
                "mobile_model_name": _get(e, "model"),
                "manufacturer": _get(e, "make"),
                "screen_width": _get(e, "screen_width", dtype="bigint"),
                "screen_height": _get(e, "screen_height", dtype="bigint"),
                "carrier": _get(e, "carrier"),
                "network_type": _get(e, "network_type"),
                "operating_system_version": _get(e, "os_version"),
                "operating_system": _get(e, "platform"),
                "system_language": _get(e, "system_language"),
                # zone_offset is milliseconds; integer division keeps it exact.
                "time_zone_offset_seconds": F.floor(_get(e, "zone_offset", dtype="bigint") / 1000),
                "vendor_id": _get(e, "device_id"),
                "advertising_id": _get(e, "device_unique_id"),
                "host_name": _get(e, "host_name"),
            },
        )
        traffic_source = struct_of(
            TRAFFIC_SOURCE,
            {
                "source": _get(e, "attributes", "_traffic_source_source"),
                "medium": _get(e, "attributes", "_traffic_source_medium"),
                # The web SDK 0.12 names the campaign _traffic_source_campaign.
                "name": F.coalesce(
                    _get(e, "attributes", "_traffic_source_name"),
                    _get(e, "attributes", "_traffic_source_campaign"),
                ),
            },
        )
        items = F.transform(_get(e, "items", dtype="array<variant>"), _item)

        columns = {
            "app_info": app_info,
            "device": device,
            "ecommerce": F.lit(None).cast(ECOMMERCE),
            "event_bundle_sequence_id": F.coalesce(
                F.regexp_extract(F.col("uri"), r"[?&]event_bundle_sequence_id=(\d{1,18})(&|$)", 1).try_cast("bigint"),
                F.lit(0),
            ),
            "event_date": F.to_date(F.timestamp_millis(timestamp)),
            "event_dimensions": F.lit(None).cast(T.ArrayType(KV_TYPE)),
            "event_id": _get(e, "event_id"),
            "event_name": _get(e, "event_type"),
            "event_params": kv_array(attributes, _is_event_param),
            "event_previous_timestamp": F.lit(None),
            "event_server_timestamp_offset": ingest_time - timestamp,
            "event_timestamp": timestamp,
            "event_value_in_usd": F.lit(None),
            "geo": struct_of(GEO, {"locale": _get(e, "locale")}),
            "ingest_timestamp": ingest_time,
            "items": items,
            "platform": _get(e, "platform"),
            "privacy_info": kv_array(attributes, lambda key: key.startswith(PRIVACY_PREFIX)),
            "project_id": F.lit(self.project_id),
            "traffic_source": traffic_source,
            "user_first_touch_timestamp": _get(e, "user", "_user_first_touch_timestamp", "value", dtype="bigint"),
            "user_id": _get(e, "user", "_user_id", "value"),
            "user_ltv": struct_of(
                USER_LTV,
                {
                    "revenue": _get(e, "user", "_user_ltv_revenue", "value", dtype="double"),
                    "currency": _get(e, "user", "_user_ltv_currency", "value"),
                },
            ),
            "user_properties": user_kv_array(user, lambda key: ~key.isin(USER_FIELDS_WITH_COLUMNS)),
            "user_pseudo_id": _get(e, "unique_id"),
        }
        ods = [columns[f.name].cast(f.dataType).alias(f.name) for f in ODS_EVENTS_SCHEMA.fields]
        return df.select(*ods, *[F.col(name) for name in CONTEXT_COLUMNS])
