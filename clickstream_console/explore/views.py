"""Explore's pages (issue 15): an analysis builder per type whose URL (``?spec=`` the analysis'
JSON) is its permalink, its data as JSON and each result as CSV, and saved analyses. Building and
running new analyses needs Analyzes (Analyst, Administrator); opening a saved one needs Explore
(Analyst Readers too), as the roles table and the issue say."""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import ModuleType

from flask import Blueprint, abort, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from clickstream_console.access import current_viewer, requires
from clickstream_console.catalogue.names import event_choices, property_choices
from clickstream_console.db.models import SavedAnalysis
from clickstream_console.explore.filters import BadSpec
from clickstream_console.explore.forms import page_schema
from clickstream_console.explore.registry import KINDS, TITLES
from clickstream_console.explore.results import built, charts_of, run_analysis, shown_sql
from clickstream_console.explore.store import checked_name, delete_analysis, save_analysis, saved_analyses, saved_analysis
from clickstream_console.identity.roles import Feature
from clickstream_console.state import db, project
from clickstream_console.studio.query_errors import answer_query_errors
from clickstream_console.studio.selection import PRESETS, time_zones
from clickstream_console.studio.views import csv_download
from clickstream_project.config import App

blueprint = Blueprint("explore", __name__)
# A spec is a few hundred characters; this bounds what a URL or form may make the server parse.
MAX_SPEC_LENGTH = 20_000


@blueprint.errorhandler(BadSpec)
def _bad_spec(error: BadSpec):
    return jsonify(error=str(error), field=error.field), 400


answer_query_errors(blueprint)


@blueprint.get("/explore")
@requires(Feature.EXPLORE)
def index():
    apps = project().apps
    saved = {app.app_id: saved_analyses(db(), app.app_id) for app in apps}
    return render_template("explore/index.html", apps=apps, saved=saved, titles=TITLES, may_write=_may_write())


@blueprint.get("/explore/<app_id>/new/<kind>")
@requires(Feature.ANALYZES)
def builder(app_id: str, kind: str):
    app, module = _app(app_id), _kind(kind)
    return _page(app, module, request.args.get("spec"), saved=None)


@blueprint.get("/explore/<app_id>/new/<kind>/data")
@requires(Feature.ANALYZES)
def data(app_id: str, kind: str):
    app, module = _app(app_id), _kind(kind)
    return jsonify(_run(app, module, _spec_data(request.args.get("spec"))))


@blueprint.get("/explore/<app_id>/new/<kind>/<chart>.csv")
@requires(Feature.ANALYZES)
def csv_export(app_id: str, kind: str, chart: str):
    app, module = _app(app_id), _kind(kind)
    return _csv(app, module, _spec_data(request.args.get("spec")), chart, kind)


@blueprint.post("/explore/<app_id>/saved")
@requires(Feature.ANALYZES)
def save(app_id: str):
    app, module = _app(app_id), _kind(request.form.get("kind", ""))
    spec_text = request.form.get("spec")
    try:
        name = checked_name(request.form.get("name"))
        spec, _query = built(module, _spec_data(spec_text), app.time_zone)
    except BadSpec as bad:
        return _page(app, module, spec_text, saved=None, save_error=bad)
    saved = save_analysis(db(), app.app_id, name, module.KIND, spec.to_json(), actor=current_viewer().email)
    db().commit()
    return redirect(url_for("explore.saved_page", app_id=app.app_id, analysis_id=saved.id))


@blueprint.get("/explore/<app_id>/saved/<int:analysis_id>")
@requires(Feature.EXPLORE)
def saved_page(app_id: str, analysis_id: int):
    app = _app(app_id)
    saved = _saved(app, analysis_id)
    return _page(app, _kind(saved.kind), json.dumps(saved.spec), saved=saved)


@blueprint.get("/explore/<app_id>/saved/<int:analysis_id>/data")
@requires(Feature.EXPLORE)
def saved_data(app_id: str, analysis_id: int):
    app = _app(app_id)
    saved = _saved(app, analysis_id)
    return jsonify(_run(app, _kind(saved.kind), saved.spec))


@blueprint.get("/explore/<app_id>/saved/<int:analysis_id>/<chart>.csv")
@requires(Feature.EXPLORE)
def saved_csv(app_id: str, analysis_id: int, chart: str):
    app = _app(app_id)
    saved = _saved(app, analysis_id)
    return _csv(app, _kind(saved.kind), saved.spec, chart, f"saved-{saved.id}")


@blueprint.post("/explore/<app_id>/saved/<int:analysis_id>/delete")
@requires(Feature.ANALYZES)
def delete(app_id: str, analysis_id: int):
    app = _app(app_id)
    delete_analysis(db(), _saved(app, analysis_id), actor=current_viewer().email)
    db().commit()
    return redirect(url_for("explore.index"))


def _page(
    app: App, module: ModuleType, spec_text: str | None, *, saved: SavedAnalysis | None, save_error: BadSpec | None = None
) -> ResponseReturnValue:
    """The builder with ``spec_text`` in it, and its results when it is a valid analysis."""
    error, spec, analysis = None, None, None
    if spec_text:
        try:
            spec, analysis = built(module, _spec_data(spec_text), app.time_zone)
        except BadSpec as bad:
            error = bad
    query = {"spec": json.dumps(spec.to_json())} if spec is not None else {}
    if saved is not None:
        data_url = url_for("explore.saved_data", app_id=app.app_id, analysis_id=saved.id)
        csv_url = lambda chart: url_for("explore.saved_csv", app_id=app.app_id, analysis_id=saved.id, chart=chart)  # noqa: E731
    else:
        data_url = url_for("explore.data", app_id=app.app_id, kind=module.KIND, **query)
        csv_url = lambda chart: url_for("explore.csv_export", app_id=app.app_id, kind=module.KIND, chart=chart, **query)  # noqa: E731
    return render_template(
        "explore/analysis.html",
        app=app,
        kind=module.KIND,
        title=TITLES[module.KIND],
        titles=TITLES,
        schema=page_schema(module.KIND, event_choices(app.app_id), property_choices(app.app_id)),
        spec_json=spec.to_json() if spec is not None else _spec_or_none(spec_text),
        # What Save saves: the analysis shown, as its type wrote it.
        spec_text=json.dumps(spec.to_json()) if spec is not None else "",
        error=error,
        save_error=save_error,
        saved=saved,
        charts=charts_of(TITLES[module.KIND], analysis) if analysis else [],
        sql=shown_sql(analysis, app.app_id) if analysis else {},
        data_url=data_url,
        csv_url=csv_url,
        presets=PRESETS,
        time_zones=time_zones(app.time_zone),
        may_write=_may_write(),
    ), (400 if error or save_error else 200)


def _run(app: App, module: ModuleType, spec_data: Mapping) -> dict[str, object]:
    spec, analysis = built(module, spec_data, app.time_zone)
    frame = spec.frame
    frame_json = {
        "start": frame.start.isoformat(),
        "end": frame.end.isoformat(),
        "days": (frame.end - frame.start).days + 1,
        "tz": frame.tz,
    }
    return {"kind": module.KIND, "spec": spec.to_json(), **run_analysis(analysis, app.app_id, frame_json)}


def _csv(app: App, module: ModuleType, spec_data: Mapping, chart: str, label: str) -> ResponseReturnValue:
    body = _run(app, module, spec_data)
    if chart not in body["charts"]:
        abort(404, description=f"this analysis has no result {chart!r}; it has {', '.join(body['charts'])}")
    return csv_download(body["charts"][chart], f"{app.app_id}-{label}-{chart}-{body['range']['start']}-{body['range']['end']}.csv")


def _spec_data(text: str | None) -> Mapping:
    if not text:
        raise BadSpec("spec", "missing: give the analysis as JSON in spec")
    if len(text) > MAX_SPEC_LENGTH:
        raise BadSpec("spec", f"longer than {MAX_SPEC_LENGTH} characters")
    try:
        data = json.loads(text)
    except ValueError as error:
        raise BadSpec("spec", f"not JSON: {error}") from None
    if not isinstance(data, dict):
        raise BadSpec("spec", f"expected a JSON object, got {type(data).__name__}")
    return data


def _spec_or_none(text: str | None) -> object:
    """What the form shows again after an error: the JSON as given, when it is JSON at all."""
    try:
        return json.loads(text) if text and len(text) <= MAX_SPEC_LENGTH else None
    except ValueError:
        return None


def _app(app_id: str) -> App:
    try:
        return project().app(app_id)
    except KeyError:
        abort(404, description=f"no app {app_id!r} in this project")


def _kind(kind: str) -> ModuleType:
    if kind not in KINDS:
        abort(404, description=f"no analysis type {kind!r}; types: {', '.join(KINDS)}")
    return KINDS[kind]


def _saved(app: App, analysis_id: int) -> SavedAnalysis:
    found = saved_analysis(db(), app.app_id, analysis_id)
    if found is None:
        abort(404, description=f"{app.app_id} has no saved analysis {analysis_id}")
    return found


def _may_write() -> bool:
    return current_viewer().may(Feature.ANALYZES)
