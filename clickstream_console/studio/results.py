"""A report's charts run for one selection: rows as JSON-ready values, daily series completed,
and the newest event hour for "data up to". Queries go through the console's one result cache,
so a page, its comparison and its CSV exports run each query once per data version."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from clickstream_console.state import console_state, project
from clickstream_console.studio.model import Chart, Report
from clickstream_console.studio.selection import Selection
from clickstream_console.warehouse.cache import ResultCache
from clickstream_console.warehouse.duckdb_connections import ConnectionPool
from clickstream_console.warehouse.duckdb_warehouse import open_read_only
from clickstream_console.warehouse.factory import warehouse_for
from clickstream_console.warehouse.query import QueryResult, ReportQuery
from clickstream_project.published_warehouse import current

CACHE = "studio result cache"
CONNECTIONS = "studio DuckDB connections"
# A dashboard query answers in well under a second on the benchmark's 10M events; a minute is a
# warehouse in trouble, not a slow report.
TIMEOUT_SECONDS = 60.0
# Report charts are small by construction (top N, one row per day); the cap guards a mistake.
MAX_ROWS = 10_000


def run_chart(report: Report, chart: Chart, selection: Selection, app_id: str) -> dict[str, object]:
    """``{"columns": [...], "rows": [[...]], "truncated": bool}``, values as JSON types."""
    result = run_query(chart.query, selection.query_parameters(report), app_id)
    columns = [column.name for column in result.columns]
    rows = [[json_value(value) for value in row] for row in result.rows]
    # (A daily chart with a series gets its days from the range on the page: a day may have several rows.)
    if chart.daily and not chart.series:
        rows = _every_day(rows, columns.index(chart.x or ""), len(columns), selection)
    return {"columns": columns, "rows": rows, "truncated": result.truncated}


def data_up_to(report: Report, app_id: str) -> str | None:
    """The hour of the app's newest modeled event, ISO 8601 UTC, or None when it has none.

    On DuckDB the published snapshot's pointer records it at publish time; the cloud warehouses
    have no such record yet, so the report's freshness query asks the views.
    """
    config = project()
    if config.pipeline.modeling.engine == "duckdb":
        published = current(config.duckdb_path)
        return published.latest_event_hours.get(app_id) if published else None
    rows = run_query(report.freshness, {}, app_id).rows
    latest = rows[0][0] if rows else None
    if latest is None:
        return None
    hour = datetime.fromtimestamp(int(latest) / 1000, tz=UTC).replace(minute=0, second=0, microsecond=0)
    return hour.isoformat().replace("+00:00", "Z")


def run_query(query: ReportQuery, params: dict[str, object], app_id: str) -> QueryResult:
    """``query`` on the project's warehouse through the console's one result cache."""
    services = console_state().services
    cache = services.setdefault(CACHE, ResultCache())
    connections = services.setdefault(CONNECTIONS, ConnectionPool(open_read_only))
    # Built per call: the project file (and so the engine) may change under a running console.
    warehouse = warehouse_for(project(), duckdb_connections=connections)
    return cache.run(warehouse, query, params, app_id=app_id, timeout_seconds=TIMEOUT_SECONDS, max_rows=MAX_ROWS)


def _every_day(rows: list[list[object]], x: int, width: int, selection: Selection) -> list[list[object]]:
    """One row per day of the range; a day without events has 0 in every measure."""
    by_day = {row[x]: row for row in rows}
    days = (selection.start + timedelta(days=offset) for offset in range(selection.days))
    return [by_day.get(day.isoformat()) or [day.isoformat() if index == x else 0 for index in range(width)] for day in days]


def json_value(value: object) -> object:
    if isinstance(value, date):  # datetimes too
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value
