"""What a custom report is made of, checked field by field: its name, its SQL (DuckDB dialect over
the app's views, unqualified, with ``:start_date``/``:end_date`` for the page's range) and the chart
that draws its result, whose columns must be columns of that result.

Nothing here looks at what the SQL does: a write is refused by the warehouse's read-only connection
(warehouse/), which gives its own message, not by this module guessing from words.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from werkzeug.datastructures import MultiDict

from clickstream_console.studio.activity import FRESHNESS
from clickstream_console.studio.model import Chart, Report
from clickstream_console.warehouse.query import ReportQuery

MAX_SQL_LENGTH = 20_000
MAX_NAME_LENGTH = 200
CHART = "result"
KIND_LABELS = {
    "table": "Table",
    "line": "Line",
    "bar": "Bar",
    "pie": "Pie",
    "sankey": "Sankey",
    "heatmap": "Heatmap",
    "kpi": "KPI tiles",
}


class BadField(ValueError):
    """A field of the report's form is wrong: ``field`` is its form name."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class KindRule:
    """The columns a chart kind draws (model.Chart says what each means for the kind)."""

    x: bool
    series: bool
    # "one" measure, "many" (at least one), or "any" (none means every column: a table).
    y: str
    series_optional: bool = False


# Every kind the page script draws (model.ChartKind); a test keeps the two the same.
KIND_RULES: dict[str, KindRule] = {
    "kpi": KindRule(x=False, series=False, y="many"),
    "line": KindRule(x=True, series=True, y="many", series_optional=True),
    "bar": KindRule(x=True, series=True, y="many", series_optional=True),
    "pie": KindRule(x=True, series=False, y="one"),
    "heatmap": KindRule(x=True, series=True, y="one"),
    "sankey": KindRule(x=True, series=True, y="one"),
    "table": KindRule(x=False, series=False, y="any"),
}


@dataclass(frozen=True)
class Definition:
    name: str
    sql: str
    chart_kind: str
    x_column: str | None
    series_column: str | None
    y_columns: tuple[str, ...]
    stacked: bool = False

    def report(self, key: str = "draft") -> Report:
        """The report the dashboards' machinery runs and draws (results.py, studio.js): one chart."""
        chart = Chart(
            CHART,
            self.chart_kind,  # a KIND_RULES key: parse_definition checked it
            self.name or "Preview",
            ReportQuery(f"custom_{key}", self.sql),
            x=self.x_column,
            y=self.y_columns,
            series=self.series_column,
            stacked=self.stacked,
        )
        return Report(name=f"custom-{key}", title=self.name, description="", dimensions=(), charts=(chart,), freshness=FRESHNESS)

    def with_columns(self, columns: Sequence[str]) -> Definition:
        """This definition checked against the result's ``columns``; a table without chosen
        measures shows every column."""
        rule = KIND_RULES[self.chart_kind]
        for field, value in (("x_column", self.x_column), ("series_column", self.series_column)):
            if value is not None and value not in columns:
                raise BadField(field, f"{value!r} is not a column of the result ({', '.join(columns)})")
        missing = [name for name in self.y_columns if name not in columns]
        if missing:
            raise BadField("y_columns", f"{', '.join(map(repr, missing))} not a column of the result ({', '.join(columns)})")
        if rule.y == "any" and not self.y_columns:
            return replace(self, y_columns=tuple(columns))
        return self


def parse_sql(form: MultiDict[str, str]) -> str:
    """The form's SQL (what a preview needs), or BadField("sql")."""
    sql = (form.get("sql") or "").strip()
    if not sql:
        raise BadField("sql", "write the SQL query the report runs")
    if len(sql) > MAX_SQL_LENGTH:
        raise BadField("sql", f"{len(sql):,} characters; at most {MAX_SQL_LENGTH:,}")
    return sql


def parse_definition(form: MultiDict[str, str], *, named: bool = True) -> Definition:
    """The form's report, or BadField naming the first wrong field (a preview's chart need not
    be ``named`` yet). The columns a kind does not draw are dropped (a kind changed in the
    editor leaves its old choices behind)."""
    name = (form.get("name") or "").strip()
    if not name and named:
        raise BadField("name", "give the report a name")
    if len(name) > MAX_NAME_LENGTH:
        raise BadField("name", f"longer than {MAX_NAME_LENGTH} characters")
    sql = parse_sql(form)
    kind = form.get("chart_kind") or ""
    if kind not in KIND_RULES:
        raise BadField("chart_kind", f"{kind!r} is not a chart kind ({', '.join(KIND_RULES)})")
    rule = KIND_RULES[kind]
    x = _column(form, "x_column") if rule.x else None
    series = _column(form, "series_column") if rule.series else None
    y = tuple(dict.fromkeys(value.strip() for value in form.getlist("y_columns") if value.strip()))
    if rule.x and x is None:
        raise BadField("x_column", f"a {KIND_LABELS[kind]} chart needs its x column")
    if rule.series and series is None and not rule.series_optional:
        raise BadField("series_column", f"a {KIND_LABELS[kind]} chart needs its series column")
    if (rule.y == "one" or (rule.y == "many" and series is not None)) and len(y) != 1:
        raise BadField("y_columns", f"choose exactly one measure for this {KIND_LABELS[kind]} chart")
    if rule.y == "many" and not y:
        raise BadField("y_columns", f"choose at least one measure for the {KIND_LABELS[kind]} chart")
    # Stacking means something only for the series of a line or bar chart.
    stacked = form.get("stacked") == "1" and rule.series_optional and series is not None
    return Definition(name, sql, kind, x, series, y, stacked)


def _column(form: MultiDict[str, str], field: str) -> str | None:
    value = (form.get(field) or "").strip()
    if len(value) > MAX_NAME_LENGTH:
        raise BadField(field, f"longer than {MAX_NAME_LENGTH} characters")
    return value or None
