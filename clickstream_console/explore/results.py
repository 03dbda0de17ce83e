"""An analysis run for the Explore pages: its spec parsed and built by its type, its queries run
through the console's result cache (studio.results.run_query), and the result as the dashboards'
page script draws it, with "show SQL": each query exactly as the warehouse received it (the app's
schema qualified, written in the warehouse's dialect) and the values bound to it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from types import ModuleType

from clickstream_console.explore.analysis import AnalysisQuery, Drawing
from clickstream_console.state import project
from clickstream_console.studio.model import Chart
from clickstream_console.studio.results import json_value, run_query
from clickstream_console.warehouse.dialects import transpile
from clickstream_console.warehouse.query import ReportQuery

MAIN = "result"


def built(kind: ModuleType, spec_data: Mapping, app_zone: str, now: datetime | None = None) -> tuple[object, AnalysisQuery]:
    """The parsed spec and its queries; filters.BadSpec names a wrong field."""
    spec = kind.parse(spec_data, now or datetime.now(UTC), app_zone)
    return spec, kind.build(spec)


def charts_of(kind_title: str, analysis: AnalysisQuery) -> list[Chart]:
    """The page's chart sections: the main result first, then the type's extra results."""
    named = [(MAIN, kind_title, analysis.query, analysis.drawing)]
    named += [(name, name.replace("_", " ").capitalize(), query, drawing) for name, (query, drawing) in analysis.extra.items()]
    return [_chart(name, title, query, drawing) for name, title, query, drawing in named]


def run_analysis(analysis: AnalysisQuery, app_id: str, frame_json: Mapping) -> dict[str, object]:
    """The page's data: every query's rows, and its SQL as sent with the bound values."""
    charts = {}
    for name, query in _queries(analysis):
        result = run_query(query, analysis.params, app_id)
        charts[name] = {
            "columns": [column.name for column in result.columns],
            "rows": [[json_value(value) for value in row] for row in result.rows],
            "truncated": result.truncated,
        }
    return {"range": frame_json, "previous": None, "data_up_to": None, "charts": charts, "sql": shown_sql(analysis, app_id)}


def shown_sql(analysis: AnalysisQuery, app_id: str) -> dict[str, dict[str, object]]:
    """Each query as the warehouse receives it (the project's engine) and the values bound to it."""
    dialect = project().pipeline.modeling.engine
    shown = {}
    for name, query in _queries(analysis):
        sent = transpile(query, dialect, app_id=app_id)
        shown[name] = {
            "dialect": dialect,
            "sql": sent.sql,
            "values": {key: json_value(value) for key, value in sent.bind(analysis.params).items()},
        }
    return shown


def _queries(analysis: AnalysisQuery) -> list[tuple[str, ReportQuery]]:
    return [(MAIN, analysis.query), *((name, query) for name, (query, _drawing) in analysis.extra.items())]


def _chart(name: str, title: str, query: ReportQuery, drawing: Drawing) -> Chart:
    return Chart(name, drawing.kind, title, query, x=drawing.x, y=drawing.y, series=drawing.series, event_names=drawing.event_names)
