"""The ``ods_events`` contract (DATA_CONTRACT §4): 25 columns, in this order."""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql import types as T

from plugins.typed_values import KV_TYPE, USER_KV_TYPE

S, L, D = T.StringType(), T.LongType(), T.DoubleType()


def _struct(*fields: tuple[str, T.DataType]) -> T.StructType:
    return T.StructType([T.StructField(name, dtype) for name, dtype in fields])


APP_INFO = _struct(("app_id", S), ("id", S), ("install_source", S), ("version", S))
DEVICE = _struct(
    ("mobile_brand_name", S), ("mobile_model_name", S), ("manufacturer", S),
    ("screen_width", L), ("screen_height", L), ("carrier", S), ("network_type", S),
    ("operating_system_version", S), ("operating_system", S), ("ua_browser", S),
    ("ua_browser_version", S), ("ua_os", S), ("ua_os_version", S), ("ua_device", S),
    ("ua_device_category", S), ("system_language", S), ("time_zone_offset_seconds", L),
    ("vendor_id", S), ("advertising_id", S), ("host_name", S),
)  # fmt: skip
ECOMMERCE = _struct(
    ("total_item_quantity", L), ("purchase_revenue_in_usd", D), ("purchase_revenue", D),
    ("refund_value_in_usd", D), ("refund_value", D), ("shipping_value_in_usd", D),
    ("shipping_value", D), ("tax_value_in_usd", D), ("tax_value", D), ("transaction_id", S),
    ("unique_items", L),
)  # fmt: skip
GEO = _struct(
    ("city", S), ("continent", S), ("country", S), ("metro", S), ("region", S),
    ("sub_continent", S), ("locale", S),
)  # fmt: skip
ITEM = _struct(
    ("id", S), ("name", S), ("brand", S), ("category", S), ("category2", S), ("category3", S),
    ("category4", S), ("category5", S), ("price", D), ("quantity", L), ("currency", S),
    ("creative_name", S), ("creative_slot", S), ("location_id", S),
)  # fmt: skip
TRAFFIC_SOURCE = _struct(("medium", S), ("name", S), ("source", S))
USER_LTV = _struct(("revenue", D), ("currency", S))

ODS_EVENTS_SCHEMA = T.StructType(
    [
        T.StructField("app_info", APP_INFO),
        T.StructField("device", DEVICE),
        T.StructField("ecommerce", ECOMMERCE),
        T.StructField("event_bundle_sequence_id", L),
        T.StructField("event_date", T.DateType()),
        T.StructField("event_dimensions", T.ArrayType(KV_TYPE)),
        T.StructField("event_id", S),
        T.StructField("event_name", S),
        T.StructField("event_params", T.ArrayType(KV_TYPE)),
        T.StructField("event_previous_timestamp", L),
        T.StructField("event_server_timestamp_offset", L),
        T.StructField("event_timestamp", L),
        T.StructField("event_value_in_usd", D),
        T.StructField("geo", GEO),
        T.StructField("ingest_timestamp", L),
        T.StructField("items", T.ArrayType(ITEM)),
        T.StructField("platform", S),
        T.StructField("privacy_info", T.ArrayType(KV_TYPE)),
        T.StructField("project_id", S),
        T.StructField("traffic_source", TRAFFIC_SOURCE),
        T.StructField("user_first_touch_timestamp", L),
        T.StructField("user_id", S),
        T.StructField("user_ltv", USER_LTV),
        T.StructField("user_properties", T.ArrayType(USER_KV_TYPE)),
        T.StructField("user_pseudo_id", S),
    ]
)
ODS_COLUMNS = [field.name for field in ODS_EVENTS_SCHEMA.fields]


def struct_of(schema: T.StructType, values: dict[str, Column]) -> Column:
    """A struct column of `schema` from the given field values; missing fields are typed nulls."""
    return F.struct(*[values.get(f.name, F.lit(None)).cast(f.dataType).alias(f.name) for f in schema.fields])


# Columns the transformer passes on for enrichments and the runner; never written.
CONTEXT_COLUMNS = ["ingest_hour", "_rid", "_ip", "_ua"]
