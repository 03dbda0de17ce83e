"""What an analysis type gives the Explore pages: its SQL with the values it binds, and how its
result is drawn. Each type (event, funnel, path, retention) is a module of this package with

    KIND: str                                   # "event", "funnel", "path", "retention"
    def parse(data: Mapping, now: datetime, app_zone: str) -> <its spec>   # filters.BadSpec names the field
    def build(spec) -> AnalysisQuery

so the pages parse, build, run (clickstream_console/warehouse) and draw any of them the same way,
and "show SQL" shows ``query.sql`` exactly as it ran (before the dialect layer qualifies tables).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from clickstream_console.studio.model import ChartKind
from clickstream_console.warehouse.query import ReportQuery


@dataclass(frozen=True)
class Drawing:
    """How the result's columns are drawn, as studio.model.Chart describes them per kind
    (line/bar: ``x`` the period or category, each ``y`` a series, or one series per value of
    ``series``; sankey: ``x`` source, ``series`` target, ``y`` weight; heatmap: ``x`` across,
    ``series`` down, ``y`` value; table: every column)."""

    kind: ChartKind
    x: str | None
    y: tuple[str, ...]
    series: str | None = None
    # The x axis is the analysis' periods (every period of the range shown, empty ones as 0).
    periods: bool = False
    # Columns holding event names or labels made of one (studio.model.Chart.event_names).
    event_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class AnalysisQuery:
    query: ReportQuery
    # Every value the SQL binds: the range's (studio.selection.range_parameters) and the analysis'.
    params: dict[str, object]
    drawing: Drawing
    # Further results drawn beside the main one (e.g. a funnel's conversion over time), by name.
    extra: dict[str, tuple[ReportQuery, Drawing]] = field(default_factory=dict)
