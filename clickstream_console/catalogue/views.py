"""Data Management pages: an app's events (display name, description, first/last seen, 30-day
events and users, platforms, SDK versions, "new" and "undocumented" badges), an event's page (its parameters
with types and top values; Analysts edit its display name and description) and the user attributes.

Viewing needs Feature.DATA_MANAGEMENT (Administrator, Analyst, Analyst Reader); editing needs
Feature.ANALYZES (Analyst, Administrator). The numbers come from the dbt catalogue models.
"""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, abort, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from clickstream_console.access import current_viewer, requires
from clickstream_console.catalogue.names import page_display_names
from clickstream_console.catalogue.queries import catalogue_event, catalogue_events, event_parameters, user_attributes
from clickstream_console.catalogue.store import (
    MAX_DESCRIPTION,
    MAX_DISPLAY_NAME,
    BadField,
    definitions,
    parse_documentation,
    save_documentation,
)
from clickstream_console.identity.roles import Feature
from clickstream_console.state import db, project
from clickstream_console.warehouse.page_errors import render_query_failures
from clickstream_project.config import App

blueprint = Blueprint("catalogue", __name__)
# Every page that draws charts names events by their display names (templates/studio/_event_names.html).
blueprint.add_app_template_global(page_display_names, "event_display_names")

# An event first seen within this many days of the newest event date is "new" unless the page
# asks for another date (?new_since=YYYY-MM-DD): a week covers a release's rollout.
NEW_DAYS = 7


@blueprint.get("/studio/catalogue")
@requires(Feature.DATA_MANAGEMENT)
def index():
    return render_template("catalogue/index.html", apps=project().apps)


@blueprint.get("/studio/<app_id>/catalogue")
@requires(Feature.DATA_MANAGEMENT)
def events(app_id: str):
    app = _app(app_id)
    found = catalogue_events(app.app_id)
    newest = max((event.newest for event in found), default=None)
    new_since, problem = _new_since(newest)
    return render_template(
        "catalogue/events.html",
        app=app,
        events=found,
        documented=definitions(db(), app.app_id),
        newest=newest,
        new_since=new_since,
        problem=problem,
    ), (400 if problem else 200)


@blueprint.get("/studio/<app_id>/catalogue/event")
@requires(Feature.DATA_MANAGEMENT)
def event_page(app_id: str):
    app = _app(app_id)
    return _render_event(app, request.args.get("name", ""), None, None)


@blueprint.post("/studio/<app_id>/catalogue/event")
@requires(Feature.ANALYZES)
def edit_event(app_id: str):
    app = _app(app_id)
    name = request.args.get("name", "")
    _known_event(app, name)
    try:
        documentation = parse_documentation(request.form)
    except BadField as bad:
        return _render_event(app, name, bad, request.form)
    save_documentation(db(), app.app_id, name, documentation, actor=current_viewer().email)
    db().commit()
    return redirect(url_for("catalogue.event_page", app_id=app.app_id, name=name))


@blueprint.get("/studio/<app_id>/catalogue/user-attributes")
@requires(Feature.DATA_MANAGEMENT)
def attributes(app_id: str):
    app = _app(app_id)
    return render_template("catalogue/user_attributes.html", app=app, attributes=user_attributes(app.app_id))


# Most often a warehouse built before the catalogue models: the next build adds them.
render_query_failures(blueprint, "catalogue/unavailable.html")


def _render_event(app: App, name: str, problem: BadField | None, form: MultiDict[str, str] | None):
    event = _known_event(app, name)
    saved = definitions(db(), app.app_id).get(name)
    if form is None:
        form = MultiDict({"display_name": saved.display_name or "", "description": saved.description or ""} if saved else {})
    return render_template(
        "catalogue/event.html",
        app=app,
        event=event,
        saved=saved,
        parameters=event_parameters(app.app_id, name),
        may_write=current_viewer().may(Feature.ANALYZES),
        form=form,
        problem=problem,
        max_display_name=MAX_DISPLAY_NAME,
        max_description=MAX_DESCRIPTION,
    ), (400 if problem else 200)


def _known_event(app: App, name: str):
    event = catalogue_event(app.app_id, name) if name else None
    if event is None:
        abort(404, description=f"{app.app_id} has no event {name!r} in its catalogue (the events seen in its data range)")
    return event


def _new_since(newest: date | None) -> tuple[date | None, BadField | None]:
    """The date from which an event counts as new (?new_since, default NEW_DAYS before the
    newest event date), or the problem with the parameter."""
    text = request.args.get("new_since", "").strip()
    if not text:
        return (newest - timedelta(days=NEW_DAYS) if newest else None), None
    try:
        return date.fromisoformat(text), None
    except ValueError:
        return None, BadField("new_since", f"new_since must be a date written YYYY-MM-DD, got {text!r}")


def _app(app_id: str) -> App:
    try:
        return project().app(app_id)
    except KeyError:
        abort(404, description=f"no app {app_id!r} in this project")
