"""Event analysis (issue 15, Explore): how often one or more events happen (each with its own
filters) in the range, over time or as one total, optionally split by a breakdown.

Measures: ``total`` (events), ``unique_users`` (distinct user_pseudo_id, so users without a
user_id count too), ``per_user`` (events / unique users), ``sum`` and ``avg`` of
``measure_property`` (a number column, or an ``event.<key>`` attribute read as a number: values
that are not numbers are left out). Result columns: ``period`` (over_time only), ``event`` (the
selector's event name; a name given twice is labelled ``purchase (2)`` the second time),
``breakdown`` (the top N values by the measure, the rest as "(other)"; only with a breakdown) and
``value``. An event matching two selectors counts for both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args

from clickstream_console.explore.analysis import AnalysisQuery, Drawing
from clickstream_console.explore.breakdown import breakdown_value_sql, label_sql, top_values_sql
from clickstream_console.explore.filters import BadSpec
from clickstream_console.explore.properties import BadProperty, Property, parse_property, value_sql
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
from clickstream_console.explore.timeline import period_sql
from clickstream_console.warehouse.query import ReportQuery

KIND = "event"
MAX_EVENTS = 10
Measure = Literal["total", "unique_users", "per_user", "sum", "avg"]
MEASURES: tuple[str, ...] = get_args(Measure)
Display = Literal["over_time", "total"]
DISPLAYS: tuple[str, ...] = get_args(Display)
_FIELDS = (*FRAME_FIELDS, "events", "measure", "measure_property", "display")
# Each measure as an aggregate of the matched rows (``user_pseudo_id``, ``amount``).
_AGGREGATES: dict[str, str] = {
    "total": "count(*)",
    "unique_users": "count(distinct user_pseudo_id)",
    "per_user": "cast(count(*) as double) / count(distinct user_pseudo_id)",
    "sum": "sum(amount)",
    "avg": "avg(amount)",
}


@dataclass(frozen=True)
class EventSpec:
    frame: Frame
    events: tuple[EventSelector, ...]
    measure: Measure = "total"
    measure_property: Property | None = None
    display: Display = "over_time"

    def labels(self) -> tuple[str, ...]:
        """Each selector's label: its event name, ``name (n)`` for the n-th selector of the same name."""
        seen: dict[str, int] = {}
        labels = []
        for selector in self.events:
            seen[selector.event_name] = seen.get(selector.event_name, 0) + 1
            count = seen[selector.event_name]
            labels.append(selector.event_name if count == 1 else f"{selector.event_name} ({count})")
        return tuple(labels)

    def to_json(self) -> dict:
        return self.frame.to_json() | {
            "events": [selector.to_json() for selector in self.events],
            "measure": self.measure,
            "measure_property": str(self.measure_property) if self.measure_property else None,
            "display": self.display,
        }


def parse(data: Mapping, now: datetime, app_zone: str) -> EventSpec:
    check_fields(data, _FIELDS, "an event analysis")
    frame = parse_frame(data, now, app_zone)
    events = data.get("events")
    if not isinstance(events, list) or not 1 <= len(events) <= MAX_EVENTS:
        raise BadSpec("events", f"expected a list of 1 to {MAX_EVENTS} events, got {events!r:.80}")
    selectors = tuple(parse_event(item, f"events[{index}]") for index, item in enumerate(events))
    measure = data.get("measure", "total")
    if measure not in MEASURES:
        raise BadSpec("measure", f"{measure!r} is not one of {', '.join(MEASURES)}")
    measure_property = _measure_property(data.get("measure_property"), measure)
    display = data.get("display", "over_time")
    if display not in DISPLAYS:
        raise BadSpec("display", f"{display!r} is not one of {', '.join(DISPLAYS)}")
    return EventSpec(frame, selectors, measure, measure_property, display)


def _measure_property(text: object, measure: str) -> Property | None:
    if measure not in ("sum", "avg"):
        if text is not None:
            raise BadSpec("measure_property", f"only sum and avg take a property, not {measure}")
        return None
    try:
        prop = parse_property(text)
    except BadProperty as error:
        raise BadSpec("measure_property", str(error)) from None
    if prop.kind == "user" or prop.value_type == "string":
        raise BadSpec("measure_property", f"{prop.label} is not a number column or an event attribute")
    return prop


def build(spec: EventSpec) -> AnalysisQuery:
    params = SqlParams(event_dates=("scan_start", "scan_end"))
    frame = spec.frame
    over_time = spec.display == "over_time"
    amount = "cast(null as double)"
    if spec.measure_property is not None:
        amount = value_sql(spec.measure_property, "e", params)
        amount = f"try_cast({amount} as double)" if spec.measure_property.kind == "event" else f"cast({amount} as double)"
    flags = ",\n        ".join(
        f"case when {event_condition_sql(selector, 'e', params)} then 1 else 0 end as m{number}"
        for number, selector in enumerate(spec.events, start=1)
    )
    matched = "\n    union all\n    ".join(
        f"select cast({params.add(label)} as varchar) as event, period, value, user_pseudo_id, amount from scanned where m{number} = 1"
        for number, label in enumerate(spec.labels(), start=1)
    )
    sql = f"""with scanned as (
    select
        e.user_pseudo_id,
        {period_sql(frame.granularity, "e") if over_time else "cast(null as date)"} as period,
        {breakdown_value_sql(frame.breakdown, "e", params)} as value,
        {amount} as amount,
        {flags}
    from clickstream_ods_event_view as e
    where {frame_condition_sql(frame, "e", params)}
        and e.event_name in ({", ".join(params.add(name) for name in dict.fromkeys(s.event_name for s in spec.events))})
),
matched as (
    {matched}
),
top_values as (
    {top_values_sql(frame.breakdown, "matched", "value", _AGGREGATES[spec.measure])}
),
labelled as (
    select event, period, {label_sql(frame.breakdown, "value", "top_values", params)} as breakdown, user_pseudo_id, amount
    from matched
)
select {"period, " if over_time else ""}event, {"breakdown, " if frame.breakdown else ""}{_AGGREGATES[spec.measure]} as value
from labelled
group by {"period, " if over_time else ""}event{", breakdown" if frame.breakdown else ""}
order by {"period, " if over_time else ""}event{", breakdown" if frame.breakdown else ""}"""
    series = "breakdown" if frame.breakdown else "event"
    named = ("event",)
    if over_time:
        drawing = Drawing("line", "period", ("value",), series, periods=True, event_names=named)
    else:
        drawing = Drawing("bar", "event", ("value",), series if frame.breakdown else None, event_names=named)
    return AnalysisQuery(ReportQuery("explore_event", sql), frame.range_parameters() | params.values, drawing)
