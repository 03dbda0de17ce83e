"""What an analysis may filter and break down by: a column of ``clickstream_ods_event_view`` (the
device, geo, traffic, app and user columns of every event), an event attribute (``event.<key>``: a
parameter of the event, from ``clickstream_ods_event_attributes_view``) or a user attribute
(``user.<key>``: the user's current custom attribute, from ``clickstream_user_attr_view``).

A property is named by the user, so only a listed column or a validated key ever reaches the SQL:
columns by name from the list below, keys as bound values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from clickstream_console.explore.sql_params import SqlParams

Kind = Literal["column", "event", "user"]
ValueType = Literal["string", "number"]
EVENT_PREFIX = "event."
USER_PREFIX = "user."
# An event parameter or user attribute key as the SDKs allow them (letters, digits, _ and -, from a
# letter or _), at most the SDKs' 50 characters.
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]{0,49}")

# clickstream_ods_event_view's columns an analysis offers, with their label and type.
COLUMNS: dict[str, tuple[str, ValueType]] = {
    "event_name": ("Event name", "string"),
    "platform": ("Platform", "string"),
    "user_id": ("User ID", "string"),
    "event_value_in_usd": ("Event value (USD)", "number"),
    "app_info_version": ("App version", "string"),
    "app_info_install_source": ("Install source", "string"),
    "device_mobile_brand_name": ("Device brand", "string"),
    "device_mobile_model_name": ("Device model", "string"),
    "device_operating_system": ("Operating system", "string"),
    "device_operating_system_version": ("OS version", "string"),
    "device_ua_browser": ("Browser", "string"),
    "device_ua_device_category": ("Device category", "string"),
    "device_screen_width": ("Screen width", "number"),
    "device_screen_height": ("Screen height", "number"),
    "device_system_language": ("Device language", "string"),
    "device_network_type": ("Network type", "string"),
    "geo_country": ("Country", "string"),
    "geo_region": ("Region", "string"),
    "geo_city": ("City", "string"),
    "geo_continent": ("Continent", "string"),
    "traffic_source_source": ("Traffic source", "string"),
    "traffic_source_medium": ("Traffic medium", "string"),
    "traffic_source_name": ("Campaign", "string"),
}


class BadProperty(ValueError):
    """A property name that is none of the above; the message says what is offered."""


@dataclass(frozen=True)
class Property:
    kind: Kind
    # The column name, or the attribute's key.
    name: str

    @property
    def label(self) -> str:
        if self.kind == "column":
            return COLUMNS[self.name][0]
        return f"{'Event' if self.kind == 'event' else 'User'} attribute {self.name}"

    @property
    def value_type(self) -> ValueType | None:
        """A column's type; attributes are text that compares as a number when the operator is one."""
        return COLUMNS[self.name][1] if self.kind == "column" else None

    def __str__(self) -> str:
        return {"column": "", "event": EVENT_PREFIX, "user": USER_PREFIX}[self.kind] + self.name


def parse_property(text: object) -> Property:
    """``geo_country``, ``event.<key>`` or ``user.<key>``; BadProperty otherwise."""
    if not isinstance(text, str) or not text:
        raise BadProperty(f"expected a property name (a column such as geo_country, event.<key> or user.<key>), got {text!r}")
    for prefix, kind in ((EVENT_PREFIX, "event"), (USER_PREFIX, "user")):
        if text.startswith(prefix):
            key = text.removeprefix(prefix)
            if not _KEY.fullmatch(key):
                raise BadProperty(f"{text!r}: an attribute key is 1-50 letters, digits, _ or -, starting with a letter or _")
            return Property(kind, key)  # type: ignore[arg-type]
    if text not in COLUMNS:
        raise BadProperty(f"{text!r} is not a property: give event.<key>, user.<key> or one of {', '.join(COLUMNS)}")
    return Property("column", text)


def value_sql(prop: Property, event_alias: str, params: SqlParams) -> str:
    """The property's value for the event row aliased ``event_alias`` of clickstream_ods_event_view,
    as an expression (null when the event or user lacks the attribute). An attribute is a scalar
    subquery: a key appears once per event (ods_events keeps one value per key) and once per user."""
    if prop.kind == "column":
        return f"{event_alias}.{prop.name}"
    key = params.add(prop.name)
    if prop.kind == "event":
        # The constant date range lets the warehouse prune the attributes view's dates before the
        # lookup (on 30 days of the benchmark, 2.2 s instead of 5 s for one attribute filter).
        dates = f" and a.event_date between :{params.event_dates[0]} and :{params.event_dates[1]}" if params.event_dates else ""
        return (
            "(select max(a.event_parameter_value) from clickstream_ods_event_attributes_view as a"
            f" where a.event_id = {event_alias}.event_id and a.event_date = {event_alias}.event_date{dates}"
            f" and a.event_parameter_key = {key})"
        )
    return (
        "(select max(u.custom_attr_value) from clickstream_user_attr_view as u"
        f" where u.user_pseudo_id = {event_alias}.user_pseudo_id and u.custom_attr_key = {key})"
    )
