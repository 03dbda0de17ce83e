"""Custom reports' pages: an app's saved reports, the editor (Preview runs the SQL for a range and
fills the column pickers from its result; Save checks the chart's columns against that result),
a report's page drawn by the dashboards' page script from its /data, its CSV, and delete.

Analyst Readers view (Feature.DASHBOARDS); Analysts write (Feature.ANALYZES). The SQL runs through
the dashboards' query layer (studio/results.py): the same warehouse, cache, timeout and row cap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, abort, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import MultiDict

from clickstream_console.access import current_viewer, requires
from clickstream_console.db.models import SavedReport
from clickstream_console.identity.roles import Feature
from clickstream_console.state import db, project
from clickstream_console.studio.custom.definition import (
    CHART,
    KIND_LABELS,
    MAX_SQL_LENGTH,
    BadField,
    Definition,
    parse_definition,
    parse_sql,
)
from clickstream_console.studio.custom.errors import ErrorMark, error_mark
from clickstream_console.studio.custom.store import definition_of, delete_report, save_report, saved_report, saved_reports
from clickstream_console.studio.model import Chart, Report, events_in_range
from clickstream_console.studio.query_errors import answer_query_errors
from clickstream_console.studio.results import MAX_ROWS, data_up_to, run_chart
from clickstream_console.studio.selection import DEFAULT_PRESET, PRESETS, BadParameter, Selection, carried_over, parse_selection, time_zones
from clickstream_console.studio.views import csv_download
from clickstream_console.warehouse.query import QueryError, QueryTimeout, WarehouseUnavailable
from clickstream_project.config import App

blueprint = Blueprint("studio_custom", __name__)

# Every custom report: one chart, no dimensions.
_UNFILTERED = Definition("", "", "table", None, None, ()).report()
# Rows of a preview drawn on the editor page; the report's page draws them all (up to MAX_ROWS).
PREVIEW_ROWS = 100
# A new report starts from a query that shows the way: the range as the preset reports write it
# (model.py's helpers: the UTC dates to scan, then each event's day in the selection's zone).
_NEW_REPORT = MultiDict(
    {
        "chart_kind": "table",
        "sql": f"select e.event_name, count(*) as events\nfrom clickstream_ods_event_view as e\nwhere {events_in_range('e')}\n"
        "group by e.event_name\norder by events desc",
    }
)


@blueprint.get("/studio/<app_id>/custom")
@requires(Feature.DASHBOARDS)
def report_list(app_id: str):
    app = _app(app_id)
    return render_template(
        "studio/custom_list.html",
        app=app,
        saved=saved_reports(db(), app.app_id),
        kinds=KIND_LABELS,
        may_write=_may_write(),
        carried=_carried(),
    )


@blueprint.route("/studio/<app_id>/custom/new", methods=["GET", "POST"])
@requires(Feature.ANALYZES)
def new_report(app_id: str):
    return _editor(_app(app_id), None)


@blueprint.route("/studio/<app_id>/custom/<int:report_id>/edit", methods=["GET", "POST"])
@requires(Feature.ANALYZES)
def edit_report(app_id: str, report_id: int):
    app = _app(app_id)
    return _editor(app, _saved(app, report_id))


@blueprint.get("/studio/<app_id>/custom/<int:report_id>")
@requires(Feature.DASHBOARDS)
def report_page(app_id: str, report_id: int):
    app = _app(app_id)
    saved = _saved(app, report_id)
    report = definition_of(saved).report(str(saved.id))
    error, selection = None, None
    try:
        selection = _selection(report, request.args, app)
    except BadParameter as bad:
        error = bad
    return render_template(
        "studio/custom_report.html",
        app=app,
        saved=saved,
        report=report,
        chart=report.charts[0],
        may_write=_may_write(),
        carried=_carried(),
        selection=selection,
        error=error,
        args=request.args,
        presets=PRESETS,
        default_preset=DEFAULT_PRESET,
        time_zones=time_zones(app.time_zone),
    ), (400 if error else 200)


@blueprint.get("/studio/<app_id>/custom/<int:report_id>/data")
@requires(Feature.DASHBOARDS)
def report_data(app_id: str, report_id: int):
    app = _app(app_id)
    saved = _saved(app, report_id)
    report = definition_of(saved).report(str(saved.id))
    selection = _selection(report, request.args, app)
    previous = selection.previous() if selection.compare else None
    try:
        chart = run_chart(report, report.charts[0], selection, app.app_id)
        if previous is not None:
            chart["previous"] = run_chart(report, report.charts[0], previous, app.app_id)
    except QueryError as error:
        # A saved query can stop working (a view changed): the page shows where, as the editor does.
        mark = error_mark(error, saved.sql)
        where = f" (line {mark.line}, column {mark.column})" if mark else ""
        return jsonify(error=f"the warehouse refused the report's query: {error.message}{where}"), 502
    return jsonify(
        report=report.name,
        name=saved.name,
        app_id=app.app_id,
        range=_range_of(selection),
        previous=_range_of(previous) if previous else None,
        data_up_to=data_up_to(report, app.app_id),
        charts={CHART: chart},
    )


@blueprint.get("/studio/<app_id>/custom/<int:report_id>/data.csv")
@requires(Feature.DASHBOARDS)
def report_csv(app_id: str, report_id: int):
    app = _app(app_id)
    saved = _saved(app, report_id)
    report = definition_of(saved).report(str(saved.id))
    selection = _selection(report, request.args, app)
    data = run_chart(report, report.charts[0], selection, app.app_id)
    return csv_download(data, f"{app.app_id}-custom-{saved.id}-{selection.start}-{selection.end}.csv")


@blueprint.post("/studio/<app_id>/custom/<int:report_id>/delete")
@requires(Feature.ANALYZES)
def remove_report(app_id: str, report_id: int):
    app = _app(app_id)
    delete_report(db(), _saved(app, report_id), actor=current_viewer().email)
    db().commit()
    return redirect(url_for("studio_custom.report_list", app_id=app.app_id))


answer_query_errors(blueprint)


@dataclass
class _Editing:
    """What the editor shows after a Preview or a refused Save."""

    preview: dict[str, Any] | None = None
    # The preview drawn as the chosen chart (its kind is not a table), or why it is not.
    drawn: Chart | None = None
    drawn_data: dict[str, Any] | None = None
    not_drawn: BadField | None = None
    problem: BadField | BadParameter | None = None
    failure: str | None = None
    mark: ErrorMark | None = None
    status: int = 200


def _editor(app: App, saved: SavedReport | None) -> ResponseReturnValue:
    """GET: the form (a saved report's values, or a starting query). POST: Preview or Save."""
    if request.method == "GET":
        return _render_editor(app, saved, _initial_form(saved), _Editing())
    form, editing = request.form, _Editing()
    try:
        saved_now = _preview_or_save(app, saved, form, editing)
    except (BadField, BadParameter) as bad:
        editing.problem, editing.status = bad, 400
    except QueryError as error:
        editing.failure, editing.mark, editing.status = error.message, error_mark(error, (form.get("sql") or "").strip()), 400
    except QueryTimeout as error:
        editing.failure, editing.status = f"the warehouse did not answer in time: {error}", 504
    except WarehouseUnavailable as error:
        editing.failure, editing.status = f"the warehouse is not available: {error}", 503
    else:
        if saved_now is not None:
            return redirect(url_for("studio_custom.report_page", app_id=app.app_id, report_id=saved_now.id, **_range_args(form)))
    return _render_editor(app, saved, form, editing)


def _preview_or_save(app: App, saved: SavedReport | None, form: MultiDict[str, str], editing: _Editing) -> SavedReport | None:
    """Run the form's SQL for its range (the preview); on Save, also check the chart against the
    result and store it. The saved report, or None for a preview."""
    definition = parse_definition(form) if form.get("action") == "save" else None
    draft = definition or Definition("", parse_sql(form), "table", None, None, ())
    report = draft.report(str(saved.id) if saved else "draft")
    selection = _selection(report, form, app)
    editing.preview = run_chart(report, report.charts[0], selection, app.app_id)
    if definition is None:
        _draw_preview(form, editing, selection)
        return None
    checked = definition.with_columns(editing.preview["columns"])
    kept = save_report(db(), app.app_id, checked, actor=current_viewer().email, existing=saved)
    try:
        db().commit()
    except IntegrityError:
        # Another Analyst saved the same name since the check above.
        db().rollback()
        raise BadField("name", f"{app.app_id} already has a report named {definition.name!r}") from None
    return kept


def _draw_preview(form: MultiDict[str, str], editing: _Editing, selection: Selection) -> None:
    """The preview as the chart the form chooses, from the rows already read (the table below
    it shows them too); a choice that does not fit the result says why instead."""
    assert editing.preview is not None
    try:
        chosen = parse_definition(form, named=False).with_columns(editing.preview["columns"])
    except BadField as bad:
        editing.not_drawn = bad
        return
    if chosen.chart_kind == "table":
        return
    editing.drawn = chosen.report().charts[0]
    editing.drawn_data = {"range": _range_of(selection), "previous": None, "data_up_to": None, "charts": {CHART: editing.preview}}


def _render_editor(app: App, saved: SavedReport | None, form: MultiDict[str, str], editing: _Editing) -> ResponseReturnValue:
    preview = editing.preview
    columns = list(preview["columns"]) if preview else []
    chosen = [form.get("x_column"), form.get("series_column"), *form.getlist("y_columns")]
    return render_template(
        "studio/custom_edit.html",
        app=app,
        saved=saved,
        form=form,
        editing=editing,
        preview=preview,
        preview_rows=(preview["rows"][:PREVIEW_ROWS] if preview else []),
        preview_limit=PREVIEW_ROWS,
        max_rows=MAX_ROWS,
        # The preview's columns, then any chosen one it lacks (so the form shows what was chosen).
        columns=columns + [name for name in dict.fromkeys(chosen) if name and name not in columns],
        kinds=KIND_LABELS,
        max_sql=MAX_SQL_LENGTH,
        presets=PRESETS,
        default_preset=DEFAULT_PRESET,
        time_zones=time_zones(app.time_zone),
    ), editing.status


def _initial_form(saved: SavedReport | None) -> MultiDict[str, str]:
    form = _form_of(definition_of(saved)) if saved else _NEW_REPORT.copy()
    # The range of the page the editor was opened from (its Edit link carries it).
    for name in ("range", "start", "end", "tz"):
        if request.args.get(name):
            form[name] = request.args[name]
    return form


def _form_of(definition: Definition) -> MultiDict[str, str]:
    values = [("name", definition.name), ("sql", definition.sql), ("chart_kind", definition.chart_kind)]
    values += [("x_column", definition.x_column or ""), ("series_column", definition.series_column or "")]
    values += [("y_columns", name) for name in definition.y_columns]
    return MultiDict(values + ([("stacked", "1")] if definition.stacked else []))


def _range_args(form: MultiDict[str, str]) -> dict[str, str]:
    return {name: form[name] for name in ("range", "start", "end", "tz") if form.get(name)}


def _app(app_id: str) -> App:
    try:
        return project().app(app_id)
    except KeyError:
        abort(404, description=f"no app {app_id!r} in this project")


def _saved(app: App, report_id: int) -> SavedReport:
    found = saved_report(db(), app.app_id, report_id)
    if found is None:
        abort(404, description=f"{app.app_id} has no custom report {report_id}")
    return found


def _selection(report: Report, args: MultiDict[str, str], app: App) -> Selection:
    return parse_selection(report, args, now=datetime.now(UTC), app_zone=app.time_zone)


def _carried() -> dict[str, str]:
    """What links from a custom report page keep of its query string: the range, zone and
    comparison (custom reports have no filters; the preset report a list was opened from may)."""
    return carried_over(request.args, _UNFILTERED)


def _may_write() -> bool:
    return current_viewer().may(Feature.ANALYZES)


def _range_of(selection: Selection) -> dict[str, object]:
    return {"start": selection.start.isoformat(), "end": selection.end.isoformat(), "days": selection.days, "tz": selection.tz}
