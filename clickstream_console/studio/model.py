"""What a report declares: the dimensions it may be filtered on, its charts and the query behind
each, and where its "data up to" comes from. The views (views.py) and the page script
(static/studio.js) work from these declarations alone, so a new report is one small module.

Every query takes the same parameters: ``:start_date`` and ``:end_date`` (the range, inclusive,
as dates in the selection's time zone), one ``:f_<dimension>`` per dimension (null when not
filtered), plus the report's own (``Report.parameters``, null when not given). The range and the
days are written with ``events_in_range``/``event_day`` on event-level views (which have the
event's timestamp, so any time zone is exact) and ``days_in_range`` on views the models aggregate
by UTC day (``Chart.utc_days``). Filters are part of the query text once, as
``(cast(:f_x as varchar) is null or x = cast(:f_x as varchar))``: the SQL never changes with the
request, only the bound values do (the casts give Redshift a type for a null parameter).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from clickstream_console.warehouse.query import ReportQuery

ChartKind = Literal["kpi", "line", "bar", "pie", "table", "heatmap", "sankey"]


@dataclass(frozen=True)
class Dimension:
    """A filter the report offers: ``f_<name>=value`` in the query string."""

    name: str
    label: str
    # The column the filter compares, as the report's queries name it (with a table alias if they join).
    column: str
    # Known values for a select box; empty means free text.
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Parameter:
    """A report's own query-string parameter, bound to its queries as text (null when not given)."""

    name: str
    label: str
    # What the empty field means, shown in it.
    placeholder: str
    # The dimension whose values (from the page's charts) the field suggests.
    suggest: str | None = None
    # The values it may take (a select box; any other is refused with the field named); empty means free text.
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Chart:
    """One chart of a report and the query behind it. What the columns mean per kind:

    - ``kpi``: one row; each ``y`` column is a tile.
    - ``line``/``bar``: ``x`` the category or date, each ``y`` a series; with ``series``, one
      series per value of that column instead (and a single ``y``), ``stacked`` stacks them.
    - ``pie``: ``x`` the slice's label, ``y`` its one measure.
    - ``heatmap``: ``x`` the column across, ``series`` the column down, ``y`` the one value.
    - ``sankey``: ``x`` a link's source, ``series`` its target, ``y`` its one weight.
    - ``table``: every column; ``x`` and ``y`` name the key and the measures.
    """

    name: str
    kind: ChartKind
    title: str
    query: ReportQuery
    # The category or date column (none for a KPI row), and the measures drawn against it.
    x: str | None
    y: tuple[str, ...]
    # A daily series gets one point per day of the range, days without data as 0.
    daily: bool = False
    # The second category column (see the kinds above).
    series: str | None = None
    stacked: bool = False
    # Its days are UTC days whatever the selection's zone: it reads a view aggregated by UTC day.
    utc_days: bool = False
    # Columns whose values are event names, or labels made of one ("2. add_to_cart",
    # "add_to_cart (2)"): the page shows the events' display names (Data Management) there.
    event_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class Report:
    name: str
    title: str
    description: str
    dimensions: tuple[Dimension, ...]
    charts: tuple[Chart, ...]
    # One row, one column: the newest event time in epoch milliseconds, for "data up to" where no
    # published snapshot records it (the cloud warehouses).
    freshness: ReportQuery
    parameters: tuple[Parameter, ...] = ()

    def chart(self, name: str) -> Chart | None:
        return next((chart for chart in self.charts if chart.name == name), None)


def filter_clause(dimensions: tuple[Dimension, ...]) -> str:
    """The filters of ``dimensions`` as one SQL condition, each inactive while its parameter is null."""
    return " and ".join(
        f"(cast(:f_{dimension.name} as varchar) is null or {dimension.column} = cast(:f_{dimension.name} as varchar))"
        for dimension in dimensions
    )


def events_in_range(alias: str, date_column: str = "event_date", timestamp_column: str = "event_timestamp", *, days_before: int = 0) -> str:
    """The selection's range on a view aliased ``alias`` with a row's UTC date and epoch-ms timestamp
    (``session_date``/``session_start_timestamp`` on the session view): the UTC dates the range
    overlaps (so the warehouse prunes by date), then the row's day in the selection's zone.
    ``days_before`` widens it to that many days before the range (a trailing window's history)."""
    return (
        f"{utc_dates_scanned(alias, date_column, days_before=days_before)}"
        f" and {event_day(alias, date_column, timestamp_column)} between {_days_before(':start_date', days_before)} and :end_date"
    )


def utc_dates_scanned(alias: str, date_column: str = "event_date", *, days_before: int = 0) -> str:
    """The first half of ``events_in_range``: only the UTC dates the range (widened by ``days_before``)
    overlaps, for a query that takes each row's day in the zone from a smaller table it joins."""
    return f"{alias}.{date_column} between {_days_before(':scan_start', days_before)} and :scan_end"


def quarter_hour_local_days(table: str, *, day_column: str = "event_date", days_before: int = 0) -> str:
    """Two CTEs for a model with quarter-hour rows (``event_date``, ``quarter_hour_timestamp``; dbt
    macro quarter_hour_start), to follow ``with``: ``quarter_hours``, those of the UTC dates the range
    (widened by ``days_before``) overlaps, and ``local_days``, each quarter hour of the range with its
    day in the selection's zone as ``day_column``. Join ``local_days`` on ``quarter_hour_timestamp``:
    the zone's day is computed once per quarter hour (a few thousand), not per row of the model
    (hundreds of thousands in 7 days of the bench), which took most of a query's time."""
    return f"""quarter_hours as (
    select distinct q.event_date, q.quarter_hour_timestamp
    from {table} as q
    where {utc_dates_scanned("q", days_before=days_before)}
),
local_days as (
    select q.quarter_hour_timestamp, {event_day("q", "event_date", "quarter_hour_timestamp")} as {day_column}
    from quarter_hours as q
    where {events_in_range("q", "event_date", "quarter_hour_timestamp", days_before=days_before)}
)"""


def _days_before(parameter: str, days: int) -> str:
    return f"cast(cast({parameter} as date) - interval '{int(days)}' day as date)" if days else parameter


def event_day(alias: str, date_column: str = "event_date", timestamp_column: str = "event_timestamp") -> str:
    """A row's day in the selection's time zone, from its timestamp (``date_column`` is taken so both
    helpers take the same columns; the zone's day needs only the instant). ``local_date`` is
    written out per warehouse by the dialect layer (clickstream_console/warehouse/dialects.py)."""
    return f"local_date({alias}.{timestamp_column}, :tz)"


def days_in_range(column: str) -> str:
    """The selection's range on a UTC date ``column`` of a view aggregated by day (its charts set ``utc_days``)."""
    return f"{column} between :start_date and :end_date"
