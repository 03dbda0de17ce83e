"""Funnel (issue 15, Explore): of the users (or sessions) who did step 1 in the range, how many
went on to do steps 2..N within the conversion window, with conversion, drop-off and the median
time between steps, per breakdown value of the first step's event, and conversion over time.

The rules, held by tests/console/test_explore_funnel.py:

- An *attempt* starts at each event of step 1 in the range (its day in the selection's zone).
  Later steps may fall up to the window after it: the scan reads UTC dates past the range's end.
- The window is measured from the attempt's step-1 timestamp and is inclusive: a step exactly
  ``window`` after step 1 counts, one millisecond later does not.
- Events are ordered by event_timestamp (not by arrival), so a late event counts where it belongs;
  events of one user (or session) in the same millisecond are ordered by event_id.
- ``ordered``: step k takes the earliest event (by timestamp, then event_id) that matches it, is at
  or after the previous step's timestamp (the same millisecond counts as in order) and is not an
  event an earlier step took (a repeated step such as A, B, A needs two A events). Other events
  may happen between steps.
- ``strict``: as ordered, and no other event of the user (or session) may have a timestamp
  strictly between two consecutive steps (events in the same millisecond as a step do not break
  it). The events considered are all those passing the global filters.
- ``any``: steps 2..N each take the earliest matching event at or after step 1's timestamp, in
  any order among themselves, all within the window (an event once per funnel, as above); step k
  counts when steps 2..k all have one.
- Global filters apply to every event; a step's own filters to its events.
- Per user (or session) the furthest step reached over all its attempts counts (PostHog's rule);
  the times between steps come from the attempt that got furthest (the earliest such attempt).
  With a breakdown (the value of the attempt's step-1 event), this holds per breakdown value: a
  user whose step-1 events have two values counts under each.
- ``count_by``: ``user`` (user_pseudo_id: users without a user_id count too) or ``session`` (the
  event's ``_session_id``, from clickstream_path_view; events without one are left out).
- Median seconds from the previous step: the exact median (the mean of the two middle values for
  an even count) over the users who reached the step; null for step 1. In ``any`` order a step's
  time is when steps 1..k were all done.
- No one doing step 1 in the range gives no rows (the pages show "no data").
- Conversion over time: per period (granularity) of step 1, the users with an attempt in it
  (entered) and those whose attempts in it reached the last step (completed).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, get_args

from clickstream_console.explore.analysis import AnalysisQuery, Drawing
from clickstream_console.explore.breakdown import breakdown_value_sql, label_sql, top_values_sql
from clickstream_console.explore.filters import BadSpec, condition_sql
from clickstream_console.explore.spec import FRAME_FIELDS, EventSelector, Frame, check_fields, event_condition_sql, parse_event, parse_frame
from clickstream_console.explore.sql_params import SqlParams
from clickstream_console.explore.timeline import period_sql
from clickstream_console.studio.model import event_day
from clickstream_console.warehouse.query import ReportQuery

KIND = "funnel"
MIN_STEPS = 2
MAX_STEPS = 10
Order = Literal["ordered", "strict", "any"]
ORDERS: tuple[str, ...] = get_args(Order)
CountBy = Literal["user", "session"]
COUNT_BY: tuple[str, ...] = get_args(CountBy)
Unit = Literal["minute", "hour", "day"]
UNIT_SECONDS: dict[str, int] = {"minute": 60, "hour": 3600, "day": 86400}
MAX_WINDOW_DAYS = 90
_FIELDS = (*FRAME_FIELDS, "steps", "window", "order", "count_by")


@dataclass(frozen=True)
class Window:
    value: int
    unit: Unit

    @property
    def milliseconds(self) -> int:
        return self.value * UNIT_SECONDS[self.unit] * 1000


@dataclass(frozen=True)
class FunnelSpec:
    frame: Frame
    steps: tuple[EventSelector, ...]
    window: Window = Window(1, "day")
    order: Order = "ordered"
    count_by: CountBy = "user"

    def to_json(self) -> dict:
        return self.frame.to_json() | {
            "steps": [step.to_json() for step in self.steps],
            "window": {"value": self.window.value, "unit": self.window.unit},
            "order": self.order,
            "count_by": self.count_by,
        }


def parse(data: Mapping, now: datetime, app_zone: str) -> FunnelSpec:
    check_fields(data, _FIELDS, "a funnel")
    frame = parse_frame(data, now, app_zone)
    steps = data.get("steps")
    if not isinstance(steps, list) or not MIN_STEPS <= len(steps) <= MAX_STEPS:
        raise BadSpec("steps", f"expected a list of {MIN_STEPS} to {MAX_STEPS} steps, got {steps!r:.80}")
    selectors = tuple(parse_event(item, f"steps[{index}]") for index, item in enumerate(steps))
    order = data.get("order", "ordered")
    if order not in ORDERS:
        raise BadSpec("order", f"{order!r} is not one of {', '.join(ORDERS)}")
    count_by = data.get("count_by", "user")
    if count_by not in COUNT_BY:
        raise BadSpec("count_by", f"{count_by!r} is not one of {', '.join(COUNT_BY)}")
    return FunnelSpec(frame, selectors, _window(data.get("window", {"value": 1, "unit": "day"})), order, count_by)


def _window(data: object) -> Window:
    if not isinstance(data, Mapping):
        raise BadSpec("window", f"expected an object with value and unit, got {type(data).__name__}")
    unknown = set(data) - {"value", "unit"}
    if unknown:
        raise BadSpec("window", f"unknown field {', '.join(sorted(unknown))} (a window has value and unit)")
    unit = data.get("unit")
    if unit not in UNIT_SECONDS:
        raise BadSpec("window.unit", f"{unit!r} is not one of {', '.join(UNIT_SECONDS)}")
    value = data.get("value")
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise BadSpec("window.value", f"expected a whole number above 0, got {value!r}")
    if value * UNIT_SECONDS[unit] > MAX_WINDOW_DAYS * UNIT_SECONDS["day"]:
        raise BadSpec("window.value", f"{value} {unit}s is longer than {MAX_WINDOW_DAYS} days")
    return Window(value, unit)


def build(spec: FunnelSpec) -> AnalysisQuery:
    params = SqlParams(event_dates=("scan_start", "funnel_scan_end"))
    frame = spec.frame
    names = [params.add(step.event_name) for step in spec.steps]
    # "2. purchase": what the chart's axis shows, so a step repeated (A, B, A) is a bar of its own.
    labels = [params.add(f"{number}. {step.event_name}") for number, step in enumerate(spec.steps, start=1)]
    shared = _attempts_sql(spec, params)
    steps_values = " union all ".join(
        f"select {number} as step, cast({name} as varchar) as event, cast({label} as varchar) as label"
        for number, (name, label) in enumerate(zip(names, labels, strict=True), start=1)
    )
    medians = "\n    union all\n    ".join(
        f"select breakdown, {number} as step, cast(done{number} - done{number - 1} as double) / 1000 as seconds from best where reached >= {number}"
        for number in range(2, len(spec.steps) + 1)
    )
    sql = f"""{shared},
best as (
    select * from (
        select a.*, row_number() over (partition by actor, breakdown order by reached desc, t1, p1) as attempt_rank
        from attempts as a
    ) as ranked_attempts
    where attempt_rank = 1
),
counts as (
    -- best has one row per actor and breakdown value: counting rows counts actors.
    select breakdown, s.step, s.event, s.label, count(case when b.reached >= s.step then 1 end) as users
    from best as b cross join ({steps_values}) as s
    group by breakdown, s.step, s.event, s.label
),
durations as (
    {medians}
),
ordered_durations as (
    select breakdown, step, seconds,
        row_number() over (partition by breakdown, step order by seconds) as position,
        count(*) over (partition by breakdown, step) as total
    from durations
),
medians as (
    select breakdown, step, avg(seconds) as median_seconds
    from ordered_durations
    where position in (floor((total + 1) / 2.0), ceil((total + 1) / 2.0))
    group by breakdown, step
)
select
    c.step,
    c.event,
    c.breakdown,
    c.users as count,
    100.0 * c.users / nullif(first_value(c.users) over (partition by c.breakdown order by c.step rows unbounded preceding), 0) as conversion_from_first,
    100.0 * c.users / nullif(lag(c.users) over (partition by c.breakdown order by c.step), 0) as conversion_from_previous,
    lag(c.users) over (partition by c.breakdown order by c.step) - c.users as dropoff,
    m.median_seconds,
    c.label
from counts as c
left join medians as m on coalesce(m.breakdown, '') = coalesce(c.breakdown, '') and m.step = c.step
order by c.breakdown, c.step"""
    last = len(spec.steps)
    over_time_sql = f"""{shared},
per_period as (
    select period, actor, max(reached) as reached
    from attempts
    group by period, actor
)
select period, count(*) as entered, count(case when reached >= {last} then 1 end) as completed,
    100.0 * count(case when reached >= {last} then 1 end) / count(*) as conversion
from per_period
group by period
order by period"""
    values = frame.range_parameters() | params.values | _scan_parameters(spec)
    drawing = Drawing("bar", "label", ("count",), "breakdown" if frame.breakdown else None, event_names=("label", "event"))
    over_time = (ReportQuery("explore_funnel_over_time", over_time_sql), Drawing("line", "period", ("conversion",), periods=True))
    return AnalysisQuery(ReportQuery("explore_funnel", sql), values, drawing, {"conversion_over_time": over_time})


def _scan_parameters(spec: FunnelSpec) -> dict[str, object]:
    """``funnel_scan_end``: the last UTC date a later step may fall on (the range's scan end plus
    the window, whole days up); ``window_ms``: the window."""
    scan_end = spec.frame.range_parameters()["scan_end"]
    extra_days = -(-spec.window.milliseconds // (UNIT_SECONDS["day"] * 1000))
    return {"funnel_scan_end": scan_end + timedelta(days=extra_days), "window_ms": spec.window.milliseconds}


def _attempts_sql(spec: FunnelSpec, params: SqlParams) -> str:
    """``with ...`` up to ``attempts``: one row per step-1 event in the range (``actor``, ``t1``,
    ``p1``, ``period``, ``breakdown``) with ``reached`` (the last step it got to) and ``done<k>``
    (when step k was done: its timestamp; null when not reached)."""
    frame = spec.frame
    count = len(spec.steps)
    flags = ",\n        ".join(
        f"case when {event_condition_sql(step, 'e', params)} then 1 else 0 end as m{number}"
        for number, step in enumerate(spec.steps, start=1)
    )
    step_names = ", ".join(params.add(name) for name in dict.fromkeys(step.event_name for step in spec.steps))
    # Strict order looks at every event of the actor; the others only at the steps' events.
    only_steps = "" if spec.order == "strict" else f"and e.event_name in ({step_names})"
    session_join = ""
    actor = "e.user_pseudo_id"
    if spec.count_by == "session":
        session_join = (
            "join clickstream_path_view as s on s.event_id = e.event_id and s.event_date = e.event_date"
            " and s.event_date between :scan_start and :funnel_scan_end"
        )
        actor = "e.user_pseudo_id || ':' || s.session_id"
    # The rows of one actor in order of timestamp, then event_id: ``position``; ``ms_start``, the
    # position of the first row of its millisecond; before<k>, how many events matching step k come
    # before the row, so the n-th such event has index<k> = n. A step's event is then found by its
    # index: the first at or after a row's millisecond is the one after those before the
    # millisecond's first row. ``heads`` holds the first rows of milliseconds with several rows of
    # one actor (few), the only rows whose counts differ from a row's own. All of it is one window
    # sort; on 30 days of the benchmark, windows partitioned by millisecond instead took 1.8 s of
    # a 2.5 s funnel, and a second sort for the next events' positions 0.8 s.
    window = "over (partition by actor order by ts, event_id"
    before_columns = "".join(
        f",\n        sum(m{number}) {window} rows between unbounded preceding and current row) - m{number} as before{number}"
        for number in range(2, count + 1)
    )
    index_columns = "".join(
        f",\n        case when m{number} = 1 then before{number} + 1 end as index{number}" for number in range(2, count + 1)
    )
    head_columns = "".join(f", before{number}" for number in range(2, count + 1))
    joins, step_columns = [], []
    taken: dict[str, list[str]] = {spec.steps[0].event_name: ["a.position"]}
    previous = "a"
    for number in range(2, count + 1):
        start = "a" if spec.order == "any" else previous
        joins.append(f"left join heads as h{number} on h{number}.actor = a.actor and h{number}.position = {start}.ms_start")
        alias = f"s{number}_0"
        matching = f"(select * from marked where m{number} = 1)"
        joins.append(
            f"left join {matching} as {alias} on {alias}.actor = a.actor"
            f" and {alias}.index{number} = coalesce(h{number}.before{number}, {start}.before{number}) + 1"
        )
        # An event an earlier step of the same name took is skipped: at most one skip per such step.
        same_name = taken.setdefault(spec.steps[number - 1].event_name, [])
        for skip in range(1, len(same_name) + 1):
            before, alias = alias, f"s{number}_{skip}"
            joins.append(
                f"left join {matching} as {alias} on {alias}.actor = a.actor and {alias}.index{number} ="
                f" case when {before}.position in ({', '.join(same_name)}) then {before}.index{number} + 1 else {before}.index{number} end"
            )
        same_name.append(f"{alias}.position")
        condition = f"{alias}.ts <= a.ts + :window_ms"
        if spec.order == "strict":
            # The latest timestamp before the step's millisecond: the previous row's, or the one
            # before the first row of the millisecond when it has several.
            joins.append(f"left join heads as b{number} on b{number}.actor = a.actor and b{number}.position = {alias}.ms_start")
            before_ms = f"case when b{number}.position is null then {alias}.previous_ts else b{number}.previous_ts end"
            condition += f" and ({before_ms} is null or {before_ms} <= {previous}.ts)"
        step_columns.append(f"{alias}.ts as ts{number},\n        case when {condition} then 1 else 0 end as ok{number}")
        previous = alias
    step_sql = ",\n        ".join(step_columns)
    joins_sql = "\n    ".join(joins)
    reached = " ".join(f"when ok{number} = 0 then {number - 1}" for number in range(2, count + 1))
    # In order the steps' timestamps only grow; in any order step k is done when the last of 1..k is.
    done_sql = ",\n        ".join(
        f"case when reached >= {number} then greatest({', '.join(f'ts{each}' for each in range(1, number + 1))}) end as done{number}"
        for number in range(2, count + 1)
    )
    return f"""with scanned as (
    select
        {actor} as actor,
        e.event_id,
        e.event_timestamp as ts,
        {flags},
        case when e.event_name = {params.add(spec.steps[0].event_name)} then {breakdown_value_sql(frame.breakdown, "e", params)} end as value,
        case when e.event_name = {params.add(spec.steps[0].event_name)} and {event_day("e")} between :start_date and :end_date
            then {period_sql(frame.granularity, "e")} end as period
    from clickstream_ods_event_view as e
    {session_join}
    where e.event_date between :scan_start and :funnel_scan_end
        {only_steps}
        and {condition_sql(frame.filters, "e", params)}
),
positioned as (
    select *,
        row_number() {window}) as position,
        rank() over (partition by actor order by ts) as ms_start,
        lag(ts) {window}) as previous_ts,
        lead(ts) {window}) as next_ts{before_columns}
    from scanned
),
marked as (
    select *{index_columns}
    from positioned
),
heads as (
    select actor, position, previous_ts{head_columns}
    from marked
    where position = ms_start and next_ts = ts
),
first_steps as (
    select * from marked where m1 = 1 and period is not null
),
top_values as (
    {top_values_sql(frame.breakdown, "first_steps", "value", "count(distinct actor)")}
),
attempts_steps as (
    select
        a.actor,
        a.ts as t1,
        a.position as p1,
        a.period,
        {label_sql(frame.breakdown, "a.value", "top_values", params)} as breakdown,
        a.ts as ts1,
        {step_sql}
    from first_steps as a
    {joins_sql}
),
attempts_reached as (
    select *, case {reached} else {count} end as reached from attempts_steps
),
attempts as (
    select actor, t1, p1, period, breakdown, reached, ts1 as done1,
        {done_sql}
    from attempts_reached
)"""
