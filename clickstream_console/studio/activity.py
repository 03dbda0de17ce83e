"""The Activity report (implementation guide, "Activity report"): what users did, measured by the
events they triggered. Events over time and by name from ``clickstream_event_counts_quarter_hourly``
(each user's events per quarter hour, event name, platform and app version: users counted distinct
over its rows, events summed, the same numbers as ``clickstream_ods_event_view`` in every zone), and
the detail of one event, its attributes with their top values, from
``clickstream_event_attribute_counts_quarter_hourly`` (the events per attribute value and quarter
hour, those of ``clickstream_ods_event_attributes_view`` counted ahead). Dimensions: event name,
platform, app version (the guide's "Event User Type" is a QuickSight calculated field, not offered yet)."""

from __future__ import annotations

from typing import get_args

from clickstream_console.studio.model import (
    Chart,
    Dimension,
    Parameter,
    Report,
    events_in_range,
    filter_clause,
    quarter_hour_local_days,
    utc_dates_scanned,
)
from clickstream_console.warehouse.query import ReportQuery
from clickstream_project.config import Platform

DIMENSIONS = (
    Dimension("event_name", "Event name", "e.event_name"),
    Dimension("platform", "Platform", "e.platform", choices=get_args(Platform)),
    Dimension("app_version", "App version", "e.app_info_version"),
)
_COUNTS = "clickstream_event_counts_quarter_hourly as e"
_FILTERS = filter_clause(DIMENSIONS)
TOP_EVENT_NAMES = 20
TOP_VALUES_PER_ATTRIBUTE = 5

_LOCAL_DAYS = quarter_hour_local_days("clickstream_event_counts_quarter_hourly")
# The counts of the range, filtered, each row with its day in the zone as ``l.event_date``.
_COUNTS_IN_RANGE = f"""{_COUNTS}
inner join local_days as l on l.quarter_hour_timestamp = e.quarter_hour_timestamp
where {utc_dates_scanned("e")} and {_FILTERS}"""

KPIS = ReportQuery(
    "activity_kpis",
    f"""
with {_LOCAL_DAYS}
select
    coalesce(cast(sum(e.events) as bigint), 0) as events,
    count(distinct e.user_pseudo_id) as users,
    round(cast(sum(e.events) as double) / nullif(count(distinct e.user_pseudo_id), 0), 2) as events_per_user
from {_COUNTS_IN_RANGE}
""",
)

# Each user's events per day first, so that counting users is a plain count (in DuckDB a distinct
# count next to a sum is a second aggregation joined back); by name the pairs are too many for it to pay.
EVENTS_OVER_TIME = ReportQuery(
    "activity_events_over_time",
    f"""
with {_LOCAL_DAYS},
user_days as (
    select l.event_date, e.user_pseudo_id, sum(e.events) as events
    from {_COUNTS_IN_RANGE}
    group by l.event_date, e.user_pseudo_id
)
select d.event_date, cast(sum(d.events) as bigint) as events, count(*) as users
from user_days as d
group by d.event_date
order by d.event_date
""",
)

EVENTS_BY_NAME = ReportQuery(
    "activity_events_by_name",
    f"""
with {_LOCAL_DAYS}
select e.event_name, cast(sum(e.events) as bigint) as events, count(distinct e.user_pseudo_id) as users
from {_COUNTS_IN_RANGE}
group by e.event_name
order by events desc, e.event_name
limit {TOP_EVENT_NAMES}
""",
)

# The event chosen with ``event=``, else the range's most frequent one; its attributes' top values
# in the range, the filters applied. The attribute rows take their day per row: only the chosen
# event's are read, and joining them with the quarter hours was no faster (bench).
EVENT_ATTRIBUTES = ReportQuery(
    "activity_event_attributes",
    f"""
with {_LOCAL_DAYS},
chosen as (
    select coalesce(
        cast(:event as varchar),
        (select e.event_name from {_COUNTS_IN_RANGE} group by e.event_name order by sum(e.events) desc, e.event_name limit 1)
    ) as event_name
),
counted as (
    select e.event_name, e.event_parameter_key as attribute_key, e.event_parameter_value as attribute_value, sum(e.events) as events
    from clickstream_event_attribute_counts_quarter_hourly as e
    where {events_in_range("e", "event_date", "quarter_hour_timestamp")} and {_FILTERS} and e.event_name = (select event_name from chosen)
    group by e.event_name, e.event_parameter_key, e.event_parameter_value
),
ranked as (
    select *, row_number() over (partition by attribute_key order by events desc, attribute_value) as value_rank
    from counted
)
select event_name, attribute_key, attribute_value, cast(events as bigint) as events
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
        Chart(
            "events_by_name",
            "bar",
            f"Top {TOP_EVENT_NAMES} events by name",
            EVENTS_BY_NAME,
            x="event_name",
            y=("events", "users"),
            event_names=("event_name",),
        ),
        Chart(
            "event_attributes",
            "table",
            f"Event detail: top {TOP_VALUES_PER_ATTRIBUTE} values per attribute",
            EVENT_ATTRIBUTES,
            x="attribute_key",
            y=("events",),
            event_names=("event_name",),
        ),
    ),
    freshness=FRESHNESS,
    parameters=(Parameter("event", "Event detail", placeholder="Most frequent", suggest="event_name"),),
)
