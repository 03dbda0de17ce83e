"""Explore's retention analysis (issue 15, "Retention"): of the users who did a start event, how
many came back with a return event 1, 2, ... N periods later, per cohort and as a curve.

Rules (the tests in tests/console/test_explore_retention.py compute each by hand):

- Events: ``clickstream_ods_event_view`` rows in the range (days in the selection's zone), that
  pass the global filters and the start (or return) event's own filters. Users are
  ``user_pseudo_id``s: a user without ``user_id`` counts as any other.
- Cohort: the ``period`` (day; week from Monday; month; in the selection's zone) of the user's
  first start event in the range, by event time (then event id for the same millisecond): the
  order events arrived in plays no part. The breakdown is that first start event's value
  (top ``top`` values by cohort users, the rest "(other)", none "(none)").
- Period k (0..``periods``) is the k-th period from the cohort's. Period 0 is the cohort itself
  (every user, 100%, as PostHog): a return in the cohort's own period is not a return.
  ``counting`` "on": a user counts in period k (k >= 1) when they did the return event in period
  k; "on_or_after": in period k or any later period of the range.
- Only the periods a cohort has reached by the range's end are rows (a cohort of the last week
  has period 0 only); the period holding the range's last day is ``partial`` when it goes on
  after that day (a week ending after the range's Sunday, a month after its last day).
- Curve (extra "curve"): per breakdown label and k, the retained users over the cohort users of
  the cohorts that have reached period k (the weighted average), ``partial`` when any of those
  cohorts' period k is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from clickstream_console.explore.analysis import AnalysisQuery, Drawing
from clickstream_console.explore.breakdown import breakdown_value_sql, label_sql, top_values_sql
from clickstream_console.explore.filters import BadSpec
from clickstream_console.explore.spec import (
    FRAME_FIELDS,
    EventSelector,
    Frame,
    check_fields,
    event_condition_sql,
    frame_condition_sql,
    parse_event,
    parse_frame,
)
from clickstream_console.explore.sql_params import SqlParams
from clickstream_console.warehouse.query import ReportQuery

KIND = "retention"
FIELDS = (*FRAME_FIELDS, "start_event", "return_event", "period", "periods", "counting")
Period = Literal["day", "week", "month"]
Counting = Literal["on", "on_or_after"]
# About a quarter of days, half a year of weeks, a year of months: a cohort table stays readable.
MAX_PERIODS: dict[str, int] = {"day": 90, "week": 26, "month": 12}
DEFAULT_PERIODS: dict[str, int] = {"day": 14, "week": 8, "month": 6}
COUNTINGS = ("on", "on_or_after")


@dataclass(frozen=True)
class RetentionSpec:
    frame: Frame
    start_event: EventSelector
    return_event: EventSelector
    period: Period
    periods: int
    counting: Counting

    def to_json(self) -> dict:
        return self.frame.to_json() | {
            "start_event": self.start_event.to_json(),
            "return_event": self.return_event.to_json(),
            "period": self.period,
            "periods": self.periods,
            "counting": self.counting,
        }


def parse(data: Mapping, now: datetime, app_zone: str) -> RetentionSpec:
    check_fields(data, FIELDS, "a retention analysis")
    frame = parse_frame(data, now, app_zone)
    period = data.get("period", "week")
    if period not in MAX_PERIODS:
        raise BadSpec("period", f"{period!r} is not one of {', '.join(MAX_PERIODS)}")
    periods = data.get("periods", DEFAULT_PERIODS[period])
    if isinstance(periods, bool) or not isinstance(periods, int) or not 1 <= periods <= MAX_PERIODS[period]:
        raise BadSpec("periods", f"expected a whole number from 1 to {MAX_PERIODS[period]} ({period}s), got {periods!r}")
    counting = data.get("counting", "on")
    if counting not in COUNTINGS:
        raise BadSpec("counting", f"{counting!r} is not one of {', '.join(COUNTINGS)}")
    return RetentionSpec(
        frame=frame,
        start_event=parse_event(data.get("start_event"), "start_event"),
        return_event=parse_event(data.get("return_event"), "return_event"),
        period=period,
        periods=periods,
        counting=counting,
    )


def _period_index(period: Period, cohort: str, later: str) -> str:
    """How many periods ``later`` (a period's first day) is after ``cohort`` (another's)."""
    if period == "week":
        # Both are Mondays: whole weeks (date_diff('week') counts differently per warehouse).
        return f"cast(date_diff('day', {cohort}, {later}) / 7 as integer)"
    return f"date_diff('{period}', {cohort}, {later})"


def _period_start(period: Period, day: str) -> str:
    return day if period == "day" else f"cast(date_trunc('{period}', {day}) as date)"


def build(spec: RetentionSpec) -> AnalysisQuery:
    params = SqlParams(event_dates=("scan_start", "scan_end"))
    frame, period = spec.frame, spec.period
    local_day = "local_date(e.event_timestamp, :tz)"
    breakdown = frame.breakdown
    end_period = _period_start(period, "cast(:end_date as date)")
    after_end_period = _period_start(period, "cast(cast(:end_date as date) + interval '1' day as date)")
    offsets = " union all ".join(f"select {k} as k" for k in range(spec.periods + 1))
    index = _period_index(period, "c.cohort", "r.return_period")
    if spec.counting == "on":
        distinct, k, grouped, retained = "distinct ", index, "", "o.k = r.k"
    else:
        distinct, k, grouped, retained = "", f"max({index})", "group by c.cohort, c.label, c.user_pseudo_id", "o.k between 1 and r.k"
    starting = event_condition_sql(spec.start_event, "e", params)
    returning = event_condition_sql(spec.return_event, "e", params)
    names = f"{params.add(spec.start_event.event_name)}, {params.add(spec.return_event.event_name)}"
    # A column's value is read in the one scan of the events; an attribute's only for the users'
    # first start events (one a user), joined back.
    value_in_scan = breakdown is not None and breakdown.property.kind == "column"
    if breakdown is None:
        cohort_users = "cohort_users as (select user_pseudo_id, cohort, cast(null as varchar) as label from firsts)"
    else:
        if value_in_scan:
            first_values = "select user_pseudo_id, cohort, value from firsts"
        else:
            first_values = f"""select f.user_pseudo_id, f.cohort, {breakdown_value_sql(breakdown, "e", params)} as value
    from firsts as f
    join clickstream_ods_event_view as e on e.event_id = f.event_id and e.event_date = f.event_date
    where e.event_date between :scan_start and :scan_end"""
        cohort_users = f"""first_values as (
    {first_values}
),
top_values as ({top_values_sql(breakdown, "first_values", "value", "count(*)")}),
cohort_users as (
    select user_pseudo_id, cohort, {label_sql(breakdown, "value", "top_values", params)} as label from first_values
)"""
    value = f", {breakdown_value_sql(breakdown, 'e', params)} as value" if value_in_scan else ""
    ctes = f"""with events as (
    -- The start and return events in one scan (they may be the same event with other filters).
    select e.user_pseudo_id, e.event_id, e.event_date, e.event_timestamp, {starting} as is_start, {returning} as is_return{value}
    from clickstream_ods_event_view as e
    where {frame_condition_sql(frame, "e", params)} and e.event_name in ({names})
),
first_times as (
    select user_pseudo_id, min(event_timestamp) as first_time
    from events
    where is_start
    group by user_pseudo_id
),
firsts_at_that_time as (
    -- A user's start events at their first start's millisecond (one but for a tie), by event id.
    select s.*, row_number() over (partition by s.user_pseudo_id order by s.event_id) as nth
    from events as s
    join first_times as f on s.user_pseudo_id = f.user_pseudo_id and s.event_timestamp = f.first_time
    where s.is_start
),
firsts as (
    select s.user_pseudo_id, s.event_id, s.event_date{", s.value" if value_in_scan else ""},
        {_period_start(period, "local_date(s.event_timestamp, :tz)")} as cohort
    from firsts_at_that_time as s
    where s.nth = 1
),
{cohort_users},
returns as (
    -- Each user's return periods, a period once.
    select distinct e.user_pseudo_id, {_period_start(period, local_day)} as return_period
    from events as e
    where e.is_return
),
returned as (
    -- A user's periods with a return after the cohort's ("on"), or the last of them ("on_or_after":
    -- they count in every period up to it).
    select {distinct}c.cohort, c.label, c.user_pseudo_id, {k} as k
    from cohort_users as c
    join returns as r on r.user_pseudo_id = c.user_pseudo_id and r.return_period > c.cohort
    {grouped}
),
offsets as ({offsets}),
retained as (
    select r.cohort, r.label, o.k, count(*) as retained_users
    from returned as r
    join offsets as o on {retained}
    group by r.cohort, r.label, o.k
),
sizes as (
    select cohort, label, count(*) as cohort_users, {_period_index(period, "cohort", end_period)} as reached,
        {end_period} = {after_end_period} as end_period_partial
    from cohort_users
    group by cohort, label
),
table_rows as (
    select s.cohort, s.label, s.cohort_users, o.k,
        case when o.k = 0 then s.cohort_users else coalesce(r.retained_users, 0) end as retained_users,
        o.k = s.reached and s.end_period_partial as partial
    from sizes as s
    cross join offsets as o
    left join retained as r on r.cohort = s.cohort and r.k = o.k and (r.label = s.label or (r.label is null and s.label is null))
    where o.k <= s.reached
)"""
    table = ReportQuery(
        "explore_retention",
        f"""{ctes}
select cohort, label, cohort_users, k, retained_users, round(cast(retained_users as double) * 100 / cohort_users, 2) as retention, partial
from table_rows
order by cohort, label, k""",
    )
    curve = ReportQuery(
        "explore_retention_curve",
        f"""{ctes}
select label, k, sum(cohort_users) as cohort_users, sum(retained_users) as retained_users,
    round(cast(sum(retained_users) as double) * 100 / sum(cohort_users), 2) as retention, bool_or(partial) as partial
from table_rows
group by label, k
order by label, k""",
    )
    drawing = Drawing("heatmap", x="k", y=("retention",), series="cohort")
    curve_drawing = Drawing("line", x="k", y=("retention",), series="label" if breakdown else None)
    return AnalysisQuery(table, frame.range_parameters() | params.values, drawing, {"curve": (curve, curve_drawing)})
