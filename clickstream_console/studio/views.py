"""Analytics Studio's pages: the list of apps and their reports, a report's page (a frame the page
script fills), its data as JSON and each chart's data as CSV. The query string is the report's
state (selection.py), so every URL reopens the same report, range and filters."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from flask import Blueprint, Response, abort, jsonify, render_template, request

from clickstream_console.access import requires
from clickstream_console.identity.roles import Feature
from clickstream_console.state import project
from clickstream_console.studio.model import Report
from clickstream_console.studio.registry import REPORTS
from clickstream_console.studio.results import data_up_to, run_chart
from clickstream_console.studio.selection import DEFAULT_PRESET, PRESETS, BadParameter, Selection, carried_over, parse_selection, time_zones
from clickstream_console.warehouse.query import QueryError, QueryTimeout, WarehouseUnavailable
from clickstream_project.config import App

blueprint = Blueprint("studio", __name__)

# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@blueprint.get("/studio")
@requires(Feature.DASHBOARDS)
def index():
    return render_template("studio/index.html", apps=project().apps, reports=list(REPORTS.values()))


@blueprint.get("/studio/<app_id>/<report>")
@requires(Feature.DASHBOARDS)
def report_page(app_id: str, report: str):
    app, found = _app_and_report(app_id, report)
    error, selection = None, None
    try:
        selection = _selection(found, app)
    except BadParameter as bad:
        error = bad
    return render_template(
        "studio/report.html",
        app=app,
        report=found,
        reports=list(REPORTS.values()),
        selection=selection,
        error=error,
        args=request.args,
        presets=PRESETS,
        default_preset=DEFAULT_PRESET,
        time_zones=time_zones(app.time_zone),
        carried_over=carried_over,
    ), (400 if error else 200)


@blueprint.get("/studio/<app_id>/<report>/data")
@requires(Feature.DASHBOARDS)
def report_data(app_id: str, report: str):
    app, found = _app_and_report(app_id, report)
    selection = _selection(found, app)
    previous = selection.previous() if selection.compare else None
    charts = {}
    for chart in found.charts:
        charts[chart.name] = run_chart(found, chart, selection, app.app_id)
        if previous is not None:
            charts[chart.name]["previous"] = run_chart(found, chart, previous, app.app_id)
    return jsonify(
        report=found.name,
        app_id=app.app_id,
        range=_range_of(selection),
        previous=_range_of(previous) if previous else None,
        filters=dict(selection.filters),
        parameters=dict(selection.parameters),
        data_up_to=data_up_to(found, app.app_id),
        charts=charts,
    )


@blueprint.get("/studio/<app_id>/<report>/<chart>.csv")
@requires(Feature.DASHBOARDS)
def chart_csv(app_id: str, report: str, chart: str):
    app, found = _app_and_report(app_id, report)
    wanted = found.chart(chart)
    if wanted is None:
        abort(404, description=f"{found.title} has no chart {chart!r}")
    selection = _selection(found, app)
    data = run_chart(found, wanted, selection, app.app_id)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(data["columns"])
    writer.writerows([_csv_cell(value) for value in row] for row in data["rows"])
    filename = f"{app.app_id}-{found.name}-{wanted.name}-{selection.start}-{selection.end}.csv"
    return Response(out.getvalue(), mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@blueprint.errorhandler(BadParameter)
def _bad_parameter(error: BadParameter):
    return jsonify(error=str(error), field=error.field), 400


@blueprint.errorhandler(WarehouseUnavailable)
def _unavailable(error: WarehouseUnavailable):
    return jsonify(error=f"the warehouse is not available: {error}"), 503


@blueprint.errorhandler(QueryTimeout)
def _timeout(error: QueryTimeout):
    return jsonify(error=f"the warehouse did not answer in time: {error}"), 504


@blueprint.errorhandler(QueryError)
def _query_error(error: QueryError):
    return jsonify(error=f"the warehouse refused the report's query: {error.message}"), 502


def _app_and_report(app_id: str, report: str) -> tuple[App, Report]:
    try:
        app = project().app(app_id)
    except KeyError:
        abort(404, description=f"no app {app_id!r} in this project")
    found = REPORTS.get(report)
    if found is None:
        abort(404, description=f"no report {report!r}; reports: {', '.join(REPORTS)}")
    return app, found


def _selection(report: Report, app: App) -> Selection:
    return parse_selection(report, request.args, now=datetime.now(UTC), app_zone=app.time_zone)


def _range_of(selection: Selection) -> dict[str, object]:
    return {"start": selection.start.isoformat(), "end": selection.end.isoformat(), "days": selection.days, "tz": selection.tz}


def _csv_cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value
