"""An analysis' time axis: the period (hour, day, week, month) each event falls in, in the
selection's time zone (``:tz``, bound with the range by studio.selection.range_parameters).
Weeks start on Monday in all three warehouses (ISO weeks)."""

from __future__ import annotations

from typing import Literal, get_args

Granularity = Literal["hour", "day", "week", "month"]
GRANULARITIES: tuple[str, ...] = get_args(Granularity)


def period_sql(granularity: Granularity, alias: str, timestamp_column: str = "event_timestamp") -> str:
    """The start of the period the row aliased ``alias`` falls in: a timestamp for hours, a date
    for the others (local_timestamp/local_date are written out per warehouse by the dialect layer)."""
    if granularity == "hour":
        return f"date_trunc('hour', local_timestamp({alias}.{timestamp_column}, :tz))"
    day = f"local_date({alias}.{timestamp_column}, :tz)"
    if granularity == "day":
        return day
    return f"cast(date_trunc('{granularity}', {day}) as date)"
