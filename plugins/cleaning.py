"""Cleaning: raw request records → one row per well-formed event, and the quarantine.

Nothing is dropped silently (DATA_CONTRACT §4): a request that cannot be decoded, a body that is
not a JSON array, an element without ``event_id``/``app_id``/``timestamp`` and an event of an
unknown app each go to the quarantine with the raw input and a reason code.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from plugins.base import Transformer
from plugins.raw import decode_body, method_column

UNDECODABLE = "undecodable"
NOT_AN_ARRAY = "not_an_array"
MISSING_FIELD = "missing_required_field"
UNKNOWN_APP = "unknown_app"
STALE_EVENT = "stale_event"
FUTURE_EVENT = "future_event"
REASONS = (UNDECODABLE, NOT_AN_ARRAY, MISSING_FIELD, UNKNOWN_APP, STALE_EVENT, FUTURE_EVENT)
# Event-level reasons: the element was decoded, so it counts as read.
EVENT_REASONS = (MISSING_FIELD, UNKNOWN_APP, STALE_EVENT, FUTURE_EVENT)

HOUR_MS = 3_600_000
MINUTE_MS = 60_000

QUARANTINE_COLUMNS = ["ingest_hour", "reason", "rid", "app_id", "raw"]


@dataclass(frozen=True)
class Cleaned:
    events: DataFrame
    quarantine: DataFrame


@dataclass(frozen=True)
class Freshness:
    """How far an event's client time may lie before (stale) or after (future) its arrival.

    The SDKs keep unsent events for days, so old events are normal up to a point; the
    product's default window is 72 hours. Clocks of phones drift, hence a tolerance the other
    way. Events outside go to the quarantine, never silently away.
    """

    window_hours: int = 72
    future_tolerance_minutes: int = 15


def decode(raw: DataFrame) -> DataFrame:
    """Raw records plus `body` (the decoded JSON text) and `elements` (its array, parsed once
    into VARIANTs). Both outputs of `clean` read it: the runner persists it in between."""
    return raw.withColumn("body", decode_body(F.col("data"), F.col("compression"))).withColumn(
        "elements", F.expr("try_variant_get(try_parse_json(body), '$', 'array<variant>')")
    )


def clean(
    raw: DataFrame,
    app_ids: list[str],
    freshness: Freshness = Freshness(),
    transformer: Transformer | type[Transformer] = Transformer,
    *,
    decoded: DataFrame | None = None,
) -> Cleaned:
    """``transformer`` says what an element must hold (its ``required_fields``, ``app_id_path``,
    ``timestamp_path``); the default is the SDK format."""
    raw_columns = raw.columns
    decoded = decode(raw) if decoded is None else decoded
    request_reason = F.when(F.col("body").isNull(), F.lit(UNDECODABLE)).when(F.col("elements").isNull(), F.lit(NOT_AN_ARRAY))
    bad_requests = decoded.where(request_reason.isNotNull()).select(
        "ingest_hour",
        request_reason.alias("reason"),
        F.col("rid"),
        F.col("appId").alias("app_id"),
        F.to_json(F.struct(*[c for c in raw_columns if c != "ingest_hour"])).alias("raw"),
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
    if transformer.app_id_path is not None:
        event_app = F.try_variant_get("event", transformer.app_id_path, "string")
    else:
        event_app = F.lit(transformer.app_id).cast("string")
    event_time = F.try_variant_get("event", transformer.timestamp_path, "bigint")
    missing = event_app.isNull() | event_time.isNull()
    for path, dtype in transformer.required_fields.items():
        missing = missing | F.try_variant_get("event", path, dtype).isNull()
    age_ms = F.col("ingest_time") - event_time
    event_reason = (
        F.when(missing, F.lit(MISSING_FIELD))
        .when(~event_app.isin(app_ids), F.lit(UNKNOWN_APP))
        .when(age_ms > F.lit(freshness.window_hours * HOUR_MS), F.lit(STALE_EVENT))
        .when(-age_ms > F.lit(freshness.future_tolerance_minutes * MINUTE_MS), F.lit(FUTURE_EVENT))
    )
    bad_events = exploded.where(event_reason.isNotNull()).select(
        "ingest_hour",
        event_reason.alias("reason"),
        F.col("_rid").alias("rid"),
        event_app.alias("app_id"),
        F.to_json("event").alias("raw"),
    )
    events = exploded.where(event_reason.isNull())
    return Cleaned(events=events, quarantine=bad_requests.unionByName(bad_events))
