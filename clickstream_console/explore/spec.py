"""What every analysis shares (issue 15, "Explore"): the date range and zone (as the dashboards'
``range`` or ``start``/``end``, and ``tz``), the time granularity, the global filters and the
breakdown; and the event selector its steps are made of (an event name with its own filters).
Parsed from the analysis' JSON with the wrong field named (filters.BadSpec), and written as SQL on
``clickstream_ods_event_view`` rows with every value a bound parameter.

A saved analysis keeps ``range`` (a preset such as ``last30``) when it was given, so it reopens on
the days relative to the day it is opened; ``start``/``end`` stay fixed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from clickstream_console.explore.breakdown import Breakdown, parse_breakdown
from clickstream_console.explore.filters import BadSpec, Filter, condition_sql, parse_filters
from clickstream_console.explore.sql_params import SqlParams
from clickstream_console.explore.timeline import GRANULARITIES, Granularity
from clickstream_console.studio.model import events_in_range, utc_dates_scanned
from clickstream_console.studio.selection import BadParameter, parse_range, range_parameters

MAX_EVENT_NAME_LENGTH = 100
FRAME_FIELDS = ("range", "start", "end", "tz", "granularity", "filters", "breakdown")


def check_fields(data: object, fields: tuple[str, ...], what: str) -> Mapping:
    """``data`` as an analysis' JSON object with none but ``fields`` (BadSpec names the first
    unknown one; the analysis itself is field "")."""
    if not isinstance(data, Mapping):
        raise BadSpec("", f"expected an object, got {type(data).__name__}")
    unknown = set(data) - set(fields)
    if unknown:
        raise BadSpec(sorted(unknown)[0], f"unknown field ({what} has {', '.join(fields)})")
    return data


@dataclass(frozen=True)
class EventSelector:
    """One event of an analysis: its name and the filters its rows must pass."""

    event_name: str
    filters: tuple[Filter, ...] = ()

    def to_json(self) -> dict:
        return {"event": self.event_name, "filters": [item.to_json() for item in self.filters]}


def parse_event(data: object, field: str) -> EventSelector:
    """``{"event": "add_to_cart", "filters": [...]}``."""
    if not isinstance(data, Mapping):
        raise BadSpec(field, f"expected an object with event and filters, got {type(data).__name__}")
    unknown = set(data) - {"event", "filters"}
    if unknown:
        raise BadSpec(field, f"unknown field {', '.join(sorted(unknown))} (an event has event and filters)")
    name = data.get("event")
    if not isinstance(name, str) or not name.strip():
        raise BadSpec(f"{field}.event", f"expected an event name, got {name!r}")
    if len(name) > MAX_EVENT_NAME_LENGTH:
        raise BadSpec(f"{field}.event", f"longer than {MAX_EVENT_NAME_LENGTH} characters")
    return EventSelector(name, parse_filters(data.get("filters"), f"{field}.filters"))


def event_condition_sql(selector: EventSelector, alias: str, params: SqlParams) -> str:
    """The row aliased ``alias`` is this event and passes its filters."""
    return f"{alias}.event_name = {params.add(selector.event_name)} and {condition_sql(selector.filters, alias, params)}"


@dataclass(frozen=True)
class Frame:
    start: date
    end: date
    tz: str
    granularity: Granularity
    filters: tuple[Filter, ...]
    breakdown: Breakdown | None
    # The preset the range was given as (kept when saved), or None for fixed days.
    range_preset: str | None = None

    def range_parameters(self) -> dict[str, object]:
        """The range's bound values (``start_date``, ``end_date``, ``tz``, ``scan_start``, ``scan_end``)."""
        return range_parameters(self.start, self.end, self.tz)

    def to_json(self) -> dict:
        days = {"range": self.range_preset} if self.range_preset else {"start": self.start.isoformat(), "end": self.end.isoformat()}
        return days | {
            "tz": self.tz,
            "granularity": self.granularity,
            "filters": [item.to_json() for item in self.filters],
            "breakdown": self.breakdown.to_json() if self.breakdown else None,
        }


def parse_frame(data: Mapping, now: datetime, app_zone: str, *, default_granularity: Granularity = "day") -> Frame:
    """The shared fields of an analysis' JSON ``data`` (other fields are the analysis' own)."""
    try:
        start, end, tz = parse_range(data, now, app_zone)
    except BadParameter as error:
        raise BadSpec(error.field, error.message) from None
    granularity = data.get("granularity", default_granularity)
    if granularity not in GRANULARITIES:
        raise BadSpec("granularity", f"{granularity!r} is not one of {', '.join(GRANULARITIES)}")
    preset = data.get("range") if not (data.get("start") or data.get("end")) else None
    return Frame(
        start=start,
        end=end,
        tz=tz,
        granularity=granularity,
        filters=parse_filters(data.get("filters"), "filters"),
        breakdown=parse_breakdown(data.get("breakdown"), "breakdown"),
        range_preset=preset or ("last7" if not (data.get("start") or data.get("end")) else None),
    )


def frame_condition_sql(frame: Frame, alias: str, params: SqlParams, *, days_before: int = 0) -> str:
    """The row aliased ``alias`` (of clickstream_ods_event_view) is in the range (widened by
    ``days_before``) and passes the global filters."""
    return f"{in_range_sql(alias, days_before=days_before)} and {condition_sql(frame.filters, alias, params)}"


def in_range_sql(alias: str, *, days_before: int = 0) -> str:
    """studio.model.events_in_range on a view with ``event_date`` and ``event_timestamp``, the zone's
    day computed only for rows of the range's first and last UTC dates: a row of a UTC date strictly
    inside the range is inside it in any zone (zones are less than a day from UTC). The zone's day
    of every row was a third of a 30-day path's time on the bench (0.46 of 1.5 s of DuckDB's work)."""
    return (
        f"{utc_dates_scanned(alias, days_before=days_before)}"
        f" and ({alias}.event_date > :start_date and {alias}.event_date < :end_date or {events_in_range(alias, days_before=days_before)})"
    )
