"""The Cognito page: look up a Cognito identity of an app and see its datasets' current state
(latest syncCount per key, removed keys gone) and every change Cognito Streams delivered.

Needs Feature.ANALYZES (Analyst, Administrator): unlike the dashboards' aggregates, this shows
one person's stored data, so Analyst Readers, who only read reports, do not get it.
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request

from clickstream_console.access import requires
from clickstream_console.cognito.queries import HISTORY_LIMIT, lookup
from clickstream_console.identity.roles import Feature
from clickstream_console.state import project
from clickstream_console.warehouse.page_errors import render_query_failures
from clickstream_project.config import App

blueprint = Blueprint("cognito", __name__)

# The sample connector's identityId column is varchar(1024); Cognito's own ids are ~50 characters.
MAX_IDENTITY_ID = 1024


class BadIdentity(ValueError):
    field = "identity"


@blueprint.get("/studio/cognito")
@requires(Feature.ANALYZES)
def index():
    return render_template("cognito/index.html", apps=_cognito_apps())


@blueprint.get("/studio/<app_id>/cognito")
@requires(Feature.ANALYZES)
def identity(app_id: str):
    app = _app(app_id)
    text = request.args.get("identity", "")
    try:
        identity_id = _identity_id(text)
    except BadIdentity as problem:
        return render_template("cognito/identity.html", app=app, identity_text=text[:MAX_IDENTITY_ID], problem=problem, found=None), 400
    if identity_id is None:
        return render_template("cognito/identity.html", app=app, identity_text="", problem=None, found=None)
    found = lookup(app.app_id, identity_id)
    return render_template(
        "cognito/identity.html", app=app, identity_text=identity_id, problem=None, found=found, history_limit=HISTORY_LIMIT
    ), (200 if found.found else 404)


# Most often an app without Cognito models: they are built for apps fed by a Cognito source.
render_query_failures(blueprint, "cognito/unavailable.html")


def _identity_id(text: str) -> str | None:
    """The identity asked for (?identity=), None when none was, or the problem with it."""
    text = text.strip()
    if not text:
        return None
    if len(text) > MAX_IDENTITY_ID:
        raise BadIdentity(f"identity must be at most {MAX_IDENTITY_ID} characters, got {len(text)}")
    if any(ord(character) < 32 or ord(character) == 127 for character in text):
        raise BadIdentity("identity must not contain control characters")
    return text


def _cognito_apps() -> list[App]:
    """The apps a Cognito Streams source feeds (pipeline.sources), in the project's order."""
    config = project()
    fed = {source.app_id for source in config.pipeline.sources if source.type == "cognito_streams"}
    return [app for app in config.apps if app.app_id in fed]


def _app(app_id: str) -> App:
    try:
        app = project().app(app_id)
    except KeyError:
        abort(404, description=f"no app {app_id!r} in this project")
    if app not in _cognito_apps():
        abort(404, description=f"no Cognito Streams source feeds app {app_id!r} (pipeline.sources)")
    return app
