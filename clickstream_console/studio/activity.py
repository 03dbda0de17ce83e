"""The Activity report (implementation guide, "Activity report"): what users did, measured by the
events they triggered. Events over time and by name from ``clickstream_ods_event_view``, and the
detail of one event, its attributes with their top values, from
``clickstream_ods_event_attributes_view``. Dimensions: event name, platform, app version (the
guide's "Event User Type" is a QuickSight calculated field, not offered yet)."""

from __future__ import annotations

from typing import get_args

from clickstream_console.studio.model import Chart, Dimension, Parameter, Report, event_day, events_in_range, filter_clause
from clickstream_console.warehouse.query import ReportQuery
from clickstream_project.config import Platform

DIMENSIONS = (
    Dimension("event_name", "Event name", "e.event_name"),
    Dimension("platform", "Platform", "e.platform", choices=get_args(Platform)),
    Dimension("app_version", "App version", "e.app_info_version"),
)
# The range and the filters, on the event view aliased ``e``.
_EVENTS_IN_RANGE = f"{events_in_range('e')} and {filter_clause(DIMENSIONS)}"
TOP_EVENT_NAMES = 20
TOP_VALUES_PER_ATTRIBUTE = 5

KPIS = ReportQuery(
    "activity_kpis",
    f"""
select
    count(*) as events,
    count(distinct e.user_pseudo_id) as users,
    round(cast(count(*) as double) / nullif(count(distinct e.user_pseudo_id), 0), 2) as events_per_user
from clickstream_ods_event_view as e
where {_EVENTS_IN_RANGE}
""",
)

EVENTS_OVER_TIME = ReportQuery(
    "activity_events_over_time",
    f"""
select {event_day("e")} as event_date, count(*) as events, count(distinct e.user_pseudo_id) as users
from clickstream_ods_event_view as e
where {_EVENTS_IN_RANGE}
group by 1
order by 1
""",
)

EVENTS_BY_NAME = ReportQuery(
    "activity_events_by_name",
    f"""
select e.event_name, count(*) as events, count(distinct e.user_pseudo_id) as users
from clickstream_ods_event_view as e
where {_EVENTS_IN_RANGE}
group by e.event_name
order by events desc, e.event_name
limit {TOP_EVENT_NAMES}
""",
)

# The event chosen with ``event=``, else the range's most frequent one; the attributes of its
# events in the range (filters applied through the event view), top values per attribute.
EVENT_ATTRIBUTES = ReportQuery(
    "activity_event_attributes",
    f"""
with events as (
    select e.event_id, e.event_date, e.event_name
    from clickstream_ods_event_view as e
    where {_EVENTS_IN_RANGE}
),
chosen as (
    select coalesce(
        cast(:event as varchar),
        (select event_name from events group by event_name order by count(*) desc, event_name limit 1)
    ) as event_name
),
counted as (
    select a.event_name, a.event_parameter_key as attribute_key, a.event_parameter_value as attribute_value, count(*) as events
    from clickstream_ods_event_attributes_view as a
    join events as e on a.event_id = e.event_id and a.event_date = e.event_date
    where a.event_name = (select event_name from chosen)
    group by a.event_name, a.event_parameter_key, a.event_parameter_value
),
ranked as (
    select *, row_number() over (partition by attribute_key order by events desc, attribute_value) as value_rank
    from counted
)
select event_name, attribute_key, attribute_value, events
from ranked
where value_rank <= {TOP_VALUES_PER_ATTRIBUTE}
order by attribute_key, events desc, attribute_value
""",
)

FRESHNESS = ReportQuery("activity_freshness", "select max(event_timestamp) as latest_event_timestamp from clickstream_ods_event_view")

REPORT = Report(
    name="activity",
    title="Activity",
    description="What users did: the events they triggered, over time and by name, and the attributes of each event.",
    dimensions=DIMENSIONS,
    charts=(
        Chart("kpis", "kpi", "Summary", KPIS, x=None, y=("events", "users", "events_per_user")),
        Chart("events_over_time", "line", "Events over time", EVENTS_OVER_TIME, x="event_date", y=("events", "users"), daily=True),
        Chart("events_by_name", "bar", f"Top {TOP_EVENT_NAMES} events by name", EVENTS_BY_NAME, x="event_name", y=("events", "users")),
        Chart(
            "event_attributes",
            "table",
            f"Event detail: top {TOP_VALUES_PER_ATTRIBUTE} values per attribute",
            EVENT_ATTRIBUTES,
            x="attribute_key",
            y=("events",),
        ),
    ),
    freshness=FRESHNESS,
    parameters=(Parameter("event", "Event detail", placeholder="Most frequent", suggest="event_name"),),
)
