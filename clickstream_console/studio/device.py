"""The Device report (implementation guide, "Device report"): the devices users used, from
``clickstream_device_view`` (device dimensions per user and UTC day, with the events seen with
them as ``usage_num``). Users by device category, make and model, operating system and version,
browser and version (from the User-Agent: web only) and screen resolution (width x height, the
guide's calculated field), and the detail of each device.

The app version is not a device dimension, so the device view has none: users by app version are
counted on ``clickstream_event_counts_quarter_hourly`` (each user's events per quarter hour with the
event view's columns) over the same UTC days, its ``device_*`` columns taking the same filters.

Dimensions (filters): platform, operating system, device category and brand. The device view has
no platform either; a ``user_pseudo_id`` is one SDK install, so it is the user's platform from
``clickstream_user_dim_view`` (users whose first visit the warehouse never saw have none, and a
platform filter leaves them out); on the event counts it is the event's own. Not offered as filters:
the guide's other device fields (model, versions, browser, resolution, carrier, network type,
language, time zone), shown as charts or detail columns instead; ``device_id``/``user_id``, which
identify rather than group; ``advertising_id``, which the report does not show at all. Values
missing from the view are drawn as "(not set)", a label no filter matches.
"""

from __future__ import annotations

from typing import get_args

from clickstream_console.studio.model import Chart, Dimension, Report, days_in_range, filter_clause
from clickstream_console.warehouse.query import ReportQuery
from clickstream_project.config import Platform

# The user's platform (clickstream_user_dim_view aliased ``u``), and the device view's own columns
# (aliased ``d``).
PLATFORM = Dimension("platform", "Platform", "u.first_platform", choices=get_args(Platform))
_DEVICE_DIMENSIONS = (
    Dimension("operating_system", "Operating system", "d.operating_system"),
    Dimension("device_category", "Device category", "d.ua_device_category"),
    Dimension("brand", "Brand", "d.mobile_brand_name"),
)
DIMENSIONS = (PLATFORM, *_DEVICE_DIMENSIONS)
# The same filters on the event view's columns (clickstream_event_counts_quarter_hourly aliased ``e``).
_EVENT_COLUMNS = {
    "platform": "e.platform",
    "operating_system": "e.device_operating_system",
    "device_category": "e.device_ua_device_category",
    "brand": "e.device_mobile_brand_name",
}
_ON_EVENT_VIEW = tuple(Dimension(dimension.name, dimension.label, _EVENT_COLUMNS[dimension.name]) for dimension in DIMENSIONS)
# The platform filter is a semi join that only runs when the filter is set: joining every device row
# with the user view (itself a join of two user tables) took half of each chart's time (bench, 7 days).
_DEVICES = f"""clickstream_device_view as d
where {days_in_range("d.event_date")} and {filter_clause(_DEVICE_DIMENSIONS)}
    and (cast(:f_{PLATFORM.name} as varchar) is null or d.user_pseudo_id in (
        select u.user_pseudo_id from clickstream_user_dim_view as u where {PLATFORM.column} = cast(:f_{PLATFORM.name} as varchar)
    ))"""
TOP_VALUES = 20
DEVICES_IN_DETAIL = 100


def _label(*columns: str, separator: str = " ") -> str:
    """The columns as one text label, "(not set)" when all are missing."""
    parts = f" || '{separator}' || ".join(f"coalesce(cast({column} as varchar), '')" for column in columns)
    return f"coalesce(nullif(trim({parts}), ''), '(not set)')"


def _resolution(alias: str) -> str:
    """Width x height, "(not set)" when either is missing."""
    width, height = f"{alias}.screen_width", f"{alias}.screen_height"
    return f"case when {width} is null or {height} is null then '(not set)' else {_label(width, height, separator=' x ')} end"


KPIS = ReportQuery(
    "device_kpis",
    f"""
select
    count(distinct d.user_pseudo_id) as users,
    count(distinct d.device_id) as devices,
    coalesce(cast(sum(d.usage_num) as bigint), 0) as events
from {_DEVICES}
""",
)


def _users_by(name: str, label: str) -> ReportQuery:
    """Users (and their events) by one label of the device view, the top values, as ``name``: each
    user's events per label first, so that counting users is a plain count (in DuckDB a distinct
    count next to a sum is a second aggregation joined back)."""
    return ReportQuery(
        f"device_users_by_{name}",
        f"""
with user_labels as (
    select {label} as {name}, d.user_pseudo_id, sum(d.usage_num) as usage_num
    from {_DEVICES}
    group by {label}, d.user_pseudo_id
)
select l.{name}, count(l.user_pseudo_id) as users, cast(sum(l.usage_num) as bigint) as events
from user_labels as l
group by l.{name}
order by users desc, l.{name}
limit {TOP_VALUES}
""",
    )


# From clickstream_event_counts_quarter_hourly: each user's events per quarter hour with the event
# view's platform, app version and device columns (so the same filters and UTC days), not every event.
USERS_BY_APP_VERSION = ReportQuery(
    "device_users_by_app_version",
    f"""
select coalesce(e.app_info_version, '(not set)') as app_version, count(distinct e.user_pseudo_id) as users, cast(sum(e.events) as bigint) as events
from clickstream_event_counts_quarter_hourly as e
where {days_in_range("e.event_date")} and {filter_clause(_ON_EVENT_VIEW)}
group by coalesce(e.app_info_version, '(not set)')
order by users desc, app_version
limit {TOP_VALUES}
""",
)

# One row per device and the dimensions it was seen with (an OS upgrade is a second row), its numbers
# first. Per user first, as in _users_by; a width or height missing makes both missing there, so
# the pairs that show as "(not set)" are one device row as before.
_DETAIL_COLUMNS = (
    "device_id",
    "mobile_brand_name",
    "mobile_model_name",
    "manufacturer",
    "operating_system",
    "operating_system_version",
    "ua_browser",
    "ua_browser_version",
    "ua_device_category",
    "network_type",
    "system_language",
)
_BOTH_OR_NEITHER = {
    "screen_width": "case when d.screen_height is null then null else d.screen_width end",
    "screen_height": "case when d.screen_width is null then null else d.screen_height end",
}
DEVICE_DETAIL = ReportQuery(
    "device_detail",
    f"""
with user_devices as (
    select
        {", ".join(f"d.{column}" for column in _DETAIL_COLUMNS)},
        {", ".join(f"{expression} as {column}" for column, expression in _BOTH_OR_NEITHER.items())},
        d.user_pseudo_id,
        sum(d.usage_num) as usage_num,
        max(d.event_date) as last_seen
    from {_DEVICES}
    group by {", ".join(f"d.{column}" for column in _DETAIL_COLUMNS)}, {", ".join(_BOTH_OR_NEITHER.values())}, d.user_pseudo_id
)
select
    ud.device_id,
    count(ud.user_pseudo_id) as users,
    cast(sum(ud.usage_num) as bigint) as events,
    max(ud.last_seen) as last_seen,
    ud.mobile_brand_name,
    ud.mobile_model_name,
    ud.manufacturer,
    ud.operating_system,
    ud.operating_system_version,
    ud.ua_browser,
    ud.ua_browser_version,
    ud.ua_device_category,
    {_resolution("ud")} as screen_resolution,
    ud.network_type,
    ud.system_language
from user_devices as ud
group by {", ".join(f"ud.{column}" for column in _DETAIL_COLUMNS)}, ud.screen_width, ud.screen_height
order by events desc, ud.device_id
limit {DEVICES_IN_DETAIL}
""",
)

FRESHNESS = ReportQuery("device_freshness", "select max(event_timestamp) as latest_event_timestamp from clickstream_ods_event_view")


def _by(name: str, kind: str, title: str, query: ReportQuery) -> Chart:
    """A chart ``by_<x>``: users and events by the query's column ``x``."""
    return Chart(name, kind, title, query, x=name.removeprefix("by_"), y=("users",), utc_days=True)


REPORT = Report(
    name="device",
    title="Device",
    description="The devices users used: category, make and model, operating system, browser, screen and app version.",
    dimensions=DIMENSIONS,
    charts=(
        Chart("kpis", "kpi", "Devices", KPIS, x=None, y=("users", "devices", "events"), utc_days=True),
        _by("by_device_category", "pie", "Users by device category", _users_by("device_category", _label("d.ua_device_category"))),
        _by(
            "by_device_model",
            "bar",
            "Users by make and model",
            _users_by("device_model", _label("d.mobile_brand_name", "d.mobile_model_name")),
        ),
        _by(
            "by_os_version",
            "bar",
            "Users by operating system and version",
            _users_by("os_version", _label("d.operating_system", "d.operating_system_version")),
        ),
        _by("by_browser", "bar", "Users by browser and version", _users_by("browser", _label("d.ua_browser", "d.ua_browser_version"))),
        _by("by_screen_resolution", "bar", "Users by screen resolution", _users_by("screen_resolution", _resolution("d"))),
        _by("by_app_version", "bar", "Users by app version", USERS_BY_APP_VERSION),
        Chart(
            "device_detail",
            "table",
            f"Device detail: the {DEVICES_IN_DETAIL} devices with the most events",
            DEVICE_DETAIL,
            x="device_id",
            y=("users", "events"),
            utc_days=True,
        ),
    ),
    freshness=FRESHNESS,
)
