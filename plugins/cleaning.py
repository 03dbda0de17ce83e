"""Cleaning: raw request records → one row per well-formed event, and the quarantine.

Nothing is dropped silently (DATA_CONTRACT §4): a request that cannot be decoded, a body that is
not a JSON array, an element without ``event_id``/``app_id``/``timestamp`` and an event of an
unknown app each go to the quarantine with the raw input and a reason code.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from plugins.raw import decode_body, method_column

UNDECODABLE = "undecodable"
NOT_AN_ARRAY = "not_an_array"
MISSING_FIELD = "missing_required_field"
UNKNOWN_APP = "unknown_app"
REASONS = (UNDECODABLE, NOT_AN_ARRAY, MISSING_FIELD, UNKNOWN_APP)

QUARANTINE_COLUMNS = ["ingest_hour", "reason", "rid", "app_id", "raw"]


@dataclass(frozen=True)
class Cleaned:
    events: DataFrame
    quarantine: DataFrame


def clean(raw: DataFrame, app_ids: list[str]) -> Cleaned:
    decoded = raw.withColumn("body", decode_body(F.col("data"), F.col("compression"))).withColumn(
        "elements", F.expr("try_variant_get(try_parse_json(body), '$', 'array<variant>')")
    )
    request_reason = F.when(F.col("body").isNull(), F.lit(UNDECODABLE)).when(F.col("elements").isNull(), F.lit(NOT_AN_ARRAY))
    bad_requests = decoded.where(request_reason.isNotNull()).select(
        "ingest_hour",
        request_reason.alias("reason"),
        F.col("rid"),
        F.col("appId").alias("app_id"),
        F.to_json(F.struct(*[c for c in raw.columns if c != "ingest_hour"])).alias("raw"),
    )

    exploded = decoded.where(request_reason.isNull()).select(
        "ingest_hour",
        "ingest_time",
        "uri",
        F.col("rid").alias("_rid"),
        F.col("ip").alias("_ip"),
        F.col("ua").alias("_ua"),
        method_column().alias("method"),
        F.explode("elements").alias("event"),
    )
    event_app = F.try_variant_get("event", "$.app_id", "string")
    missing = (
        F.try_variant_get("event", "$.event_id", "string").isNull()
        | event_app.isNull()
        | F.try_variant_get("event", "$.timestamp", "bigint").isNull()
    )
    event_reason = F.when(missing, F.lit(MISSING_FIELD)).when(~event_app.isin(app_ids), F.lit(UNKNOWN_APP))
    bad_events = exploded.where(event_reason.isNotNull()).select(
        "ingest_hour",
        event_reason.alias("reason"),
        F.col("_rid").alias("rid"),
        event_app.alias("app_id"),
        F.to_json("event").alias("raw"),
    )
    events = exploded.where(event_reason.isNull())
    return Cleaned(events=events, quarantine=bad_requests.unionByName(bad_events))
