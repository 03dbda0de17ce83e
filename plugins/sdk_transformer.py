"""The built-in transformer: one event sent by the official Clickstream SDKs → one ``ods_events`` row.

The mapping is DATA_CONTRACT §4. It is an element transformer (plugins/base.py): plain Python over
the parsed JSON element, run inside the job's single Python pass. Every field is read on its own
(``as_string``/``as_int``/``as_float``), so one field of an unexpected type becomes null alone
instead of failing the event.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import pyarrow as pa

from plugins.arrow_columns import StructColumns, TypedKeyValues, arrow_type
from plugins.base import ElementTransformer, EventBatch
from plugins.elements import INT64_MAX, INT64_MIN, Request, as_float, as_int, as_string
from plugins.ods_schema import APP_INFO, DEVICE, ECOMMERCE, GEO, ITEM, ODS_EVENTS_SCHEMA, TRAFFIC_SOURCE, USER_LTV

TRAFFIC_SOURCE_KEYS = frozenset({"_traffic_source_source", "_traffic_source_medium", "_traffic_source_name", "_traffic_source_campaign"})
NOT_PARAMS = TRAFFIC_SOURCE_KEYS | {"_channel"}
USER_FIELDS_WITH_COLUMNS = frozenset({"_user_id", "_user_first_touch_timestamp", "_user_ltv_revenue", "_user_ltv_currency"})
PRIVACY_PREFIX = "_privacy_info_"
# Top-level event fields with no ods_events column of their own, kept in event_dimensions (the
# upstream "additional dimensions" key/value column) in this order: the event catalogue lists the
# SDK versions that send each event.
DIMENSION_KEYS = ("sdk_name", "sdk_version")
DAY_MS = 86_400_000
BUNDLE_SEQUENCE = re.compile(r"[?&]event_bundle_sequence_id=(\d{1,18})(?:&|$)")

# Device fields read straight from the event, in DEVICE order (None: filled otherwise).
_DEVICE_SOURCES = {
    "mobile_brand_name": ("brand", as_string), "mobile_model_name": ("model", as_string),
    "manufacturer": ("make", as_string), "screen_width": ("screen_width", as_int),
    "screen_height": ("screen_height", as_int), "carrier": ("carrier", as_string),
    "network_type": ("network_type", as_string), "operating_system_version": ("os_version", as_string),
    "operating_system": ("platform", as_string), "system_language": ("system_language", as_string),
    "vendor_id": ("device_id", as_string), "advertising_id": ("device_unique_id", as_string),
    "host_name": ("host_name", as_string),
}  # fmt: skip
_ZONE_OFFSET_INDEX = DEVICE.fieldNames().index("time_zone_offset_seconds")
_ITEM_READERS = [
    (field.name, {"double": as_float, "bigint": as_int}.get(field.dataType.simpleString(), as_string)) for field in ITEM.fields
]


@functools.lru_cache(maxsize=4096)
def bundle_sequence_id(uri: str | None) -> int:
    """From the request's query string (the SDKs number their requests); missing → 0."""
    match = BUNDLE_SEQUENCE.search(uri) if uri else None
    return int(match.group(1)) if match else 0


class SdkEventBatch(EventBatch):
    def __init__(self, project_id: str) -> None:
        self.project_id = project_id
        self.rows = 0
        self.app_info = StructColumns(APP_INFO)
        self.device = StructColumns(DEVICE)
        self.geo = StructColumns(GEO)
        self.traffic_source = StructColumns(TRAFFIC_SOURCE)
        self.user_ltv = StructColumns(USER_LTV)
        self.item_fields = list(arrow_type(ITEM))
        self.item_columns: list[list] = [[] for _ in _ITEM_READERS]
        self.item_valid: list[bool] = []
        self.items_offsets = [0]
        self.items_valid: list[bool] = []
        self.event_dimensions = TypedKeyValues(ODS_EVENTS_SCHEMA["event_dimensions"].dataType)
        self.event_params = TypedKeyValues(ODS_EVENTS_SCHEMA["event_params"].dataType)
        self.privacy_info = TypedKeyValues(ODS_EVENTS_SCHEMA["privacy_info"].dataType)
        self.user_properties = TypedKeyValues(ODS_EVENTS_SCHEMA["user_properties"].dataType)
        self.plain: dict[str, list] = {
            name: []
            for name in (
                "event_bundle_sequence_id", "event_date", "event_id", "event_name", "event_server_timestamp_offset",
                "event_timestamp", "ingest_timestamp", "platform", "user_first_touch_timestamp", "user_id", "user_pseudo_id",
            )
        }  # fmt: skip
        # Plans of plain reads, event key → output list, so `add` is one loop per value type.
        device = dict(zip(DEVICE.fieldNames(), self.device.columns))
        app_info = self.app_info.columns
        self._string_reads = [(source, device[name]) for name, (source, read) in _DEVICE_SOURCES.items() if read is as_string] + [
            ("app_id", app_info[0]), ("app_package_name", app_info[1]), ("app_version", app_info[3]),
            ("event_id", self.plain["event_id"]), ("event_type", self.plain["event_name"]),
            ("platform", self.plain["platform"]), ("unique_id", self.plain["user_pseudo_id"]),
            ("locale", self.geo.columns[GEO.fieldNames().index("locale")]),
        ]  # fmt: skip
        self._int_reads = [(source, device[name]) for name, (source, read) in _DEVICE_SOURCES.items() if read is as_int]
        self._zone_offsets = device["time_zone_offset_seconds"]
        self._install_sources = app_info[2]

    def __len__(self) -> int:
        return self.rows

    def add(self, event: dict, request: Request) -> None:
        get = event.get
        attributes = get("attributes")
        attributes = attributes if type(attributes) is dict else None
        user = get("user")
        user = user if type(user) is dict else None
        attribute = attributes.get if attributes is not None else _nothing
        timestamp = as_int(get("timestamp"))
        ingest_time = request.ingest_time
        plain = self.plain

        for key, column in self._string_reads:
            value = get(key)
            column.append(value if type(value) is str else as_string(value))
        for key, column in self._int_reads:
            column.append(as_int(get(key)))
        zone_offset = as_int(get("zone_offset"))
        # zone_offset is milliseconds; floor division keeps it exact (and floors negatives, as SQL floor does).
        self._zone_offsets.append(None if zone_offset is None else zone_offset // 1000)
        self._install_sources.append(as_string(attribute("_channel")))
        # The web SDK 0.12 names the campaign _traffic_source_campaign.
        name = as_string(attribute("_traffic_source_name"))
        self.traffic_source.add(
            as_string(attribute("_traffic_source_medium")),
            name if name is not None else as_string(attribute("_traffic_source_campaign")),
            as_string(attribute("_traffic_source_source")),
        )
        if user is None:
            ltv_revenue = ltv_currency = first_touch = user_id = None
        else:
            ltv_revenue = _value_of(user.get("_user_ltv_revenue"))
            ltv_currency = _value_of(user.get("_user_ltv_currency"))
            first_touch = _value_of(user.get("_user_first_touch_timestamp"))
            user_id = _value_of(user.get("_user_id"))
        self.user_ltv.add(as_float(ltv_revenue), as_string(ltv_currency))

        plain["event_bundle_sequence_id"].append(bundle_sequence_id(request.uri))
        plain["event_date"].append(None if timestamp is None else timestamp // DAY_MS)
        plain["event_server_timestamp_offset"].append(None if timestamp is None or ingest_time is None else ingest_time - timestamp)
        plain["event_timestamp"].append(timestamp)
        plain["ingest_timestamp"].append(ingest_time)
        plain["user_first_touch_timestamp"].append(as_int(first_touch))
        plain["user_id"].append(user_id if type(user_id) is str else as_string(user_id))

        # Typed like every key/value column (a number sent as sdk_version stays a number, as
        # DATA_CONTRACT §4's value typing says). An event without either key gets an empty array,
        # not null: as privacy_info, null means the source object was missing, and the event
        # object itself is always there.
        dimension_keys, dimension_values = self.event_dimensions.keys, self.event_dimensions.values
        for key in DIMENSION_KEYS:
            dimension = get(key)
            if dimension is not None:
                dimension_keys.append(key)
                dimension_values.append(dimension)
        self.event_dimensions.end_row()

        # Sorted by key: output rows are identical across runs whatever order the client
        # serialised its object in.
        if attributes is None:
            self.event_params.null_row()
            self.privacy_info.null_row()
        else:
            param_keys, param_values = self.event_params.keys, self.event_params.values
            for key in sorted(attributes):
                if key.startswith(PRIVACY_PREFIX):
                    self.privacy_info.add(key, attributes[key])
                elif key not in NOT_PARAMS:
                    param_keys.append(key)
                    param_values.append(attributes[key])
            self.event_params.end_row()
            self.privacy_info.end_row()
        if user is None:
            self.user_properties.null_row()
        else:
            for key in sorted(user):
                if key in USER_FIELDS_WITH_COLUMNS:
                    continue
                entry = user[key]
                if type(entry) is dict:
                    # User attributes are {"value": v, "set_timestamp": ms}; micros = ms × 1000.
                    set_ms = as_int(entry.get("set_timestamp"))
                    micros = None if set_ms is None else set_ms * 1000
                    if micros is not None and not INT64_MIN <= micros <= INT64_MAX:
                        micros = None  # past ±292,000 years: no bigint of microseconds, null alone
                    self.user_properties.add(key, entry.get("value"), micros)
                else:
                    self.user_properties.add(key, None)
            self.user_properties.end_row()
        self._add_items(get("items"))
        self.rows += 1

    def _add_items(self, items: Any) -> None:
        if type(items) is not list:
            self.items_offsets.append(self.items_offsets[-1])
            self.items_valid.append(False)
            return
        for item in items:
            is_object = type(item) is dict
            for column, (name, read) in zip(self.item_columns, _ITEM_READERS):
                column.append(read(item.get(name)) if is_object else None)
        self.items_offsets.append(self.items_offsets[-1] + len(items))
        self.items_valid.append(True)

    def arrays(self) -> list[pa.Array]:
        plain, rows = self.plain, self.rows
        items = pa.StructArray.from_arrays(
            [pa.array(column, field.type) for column, field in zip(self.item_columns, self.item_fields)], fields=self.item_fields
        )
        columns = {
            "app_info": self.app_info.array(rows),
            "device": self.device.array(rows),
            "ecommerce": pa.nulls(rows, arrow_type(ECOMMERCE)),
            "event_dimensions": self.event_dimensions.array(),
            "event_params": self.event_params.array(),
            "event_previous_timestamp": pa.nulls(rows, pa.int64()),
            "event_value_in_usd": pa.nulls(rows, pa.float64()),
            "geo": self.geo.array(rows),
            "items": pa.ListArray.from_arrays(
                pa.array(self.items_offsets, pa.int32()),
                items,
                type=arrow_type(ODS_EVENTS_SCHEMA["items"].dataType),
                mask=None if all(self.items_valid) else pa.array([not valid for valid in self.items_valid]),
            ),
            "privacy_info": self.privacy_info.array(),
            "project_id": pa.array([self.project_id] * rows, pa.string()),
            "traffic_source": self.traffic_source.array(rows),
            "user_ltv": self.user_ltv.array(rows),
            "user_properties": self.user_properties.array(),
        }
        for name, values in plain.items():
            columns[name] = pa.array(values, arrow_type(ODS_EVENTS_SCHEMA[name].dataType))
        return [columns[field.name] for field in ODS_EVENTS_SCHEMA.fields]


def _nothing(key: str) -> None:
    return None


def _value_of(entry: Any) -> Any:
    return entry.get("value") if type(entry) is dict else None


class SdkTransformer(ElementTransformer):
    """Maps events sent by the official Clickstream SDKs (Android, Swift, Web)."""

    def __init__(self, project_id: str) -> None:
        self.project_id = project_id

    def batch(self) -> SdkEventBatch:
        return SdkEventBatch(self.project_id)
