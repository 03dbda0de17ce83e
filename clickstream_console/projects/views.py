"""Projects & apps pages: the project and its apps, registering an app, an app's SDK settings."""

from __future__ import annotations

import json

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for

from clickstream_console.access import requires
from clickstream_console.audit import record
from clickstream_console.identity.roles import Feature
from clickstream_console.projects.registration import PLATFORMS, TIME_ZONE_SUGGESTIONS, AppForm, register
from clickstream_console.state import console_state, db, project
from clickstream_project.apps import RegistrationError, amplify_configuration, collect_endpoint, web_sdk_snippet
from clickstream_project.config import App

blueprint = Blueprint("projects", __name__)

SDK_FILE_NAME = "amplifyconfiguration.json"
# An unknown id is named on the 404 page; a longer one cannot be an app id (APP_ID_PATTERN).
_SHOWN_ID_CHARS = 127


@blueprint.get("/apps")
@requires(Feature.PROJECT_MANAGEMENT)
def apps():
    return _apps_page(AppForm())


@blueprint.post("/apps")
@requires(Feature.PROJECT_MANAGEMENT)
def register_submit():
    form = AppForm.from_request(request.form)
    try:
        app = register(console_state().project, form)
    except RegistrationError as error:
        return _apps_page(form, problem=str(error)), 500
    if app is None:
        return _apps_page(form), 400
    record("app.register", app.app_id, app.model_dump(mode="json"))
    db().commit()
    flash(f"Registered app {app.app_id}: download its SDK configuration below.")
    return redirect(url_for("projects.app_detail", app_id=app.app_id))


@blueprint.get("/apps/<app_id>")
@requires(Feature.PROJECT_MANAGEMENT)
def app_detail(app_id: str):
    config = project()
    app = _registered(app_id)
    return render_template(
        "projects/app.html",
        app=app,
        sdk_config=json.dumps(amplify_configuration(config, app), indent=2),
        web_snippet=web_sdk_snippet(config, app) if "Web" in app.platforms else None,
        sdk_file_name=SDK_FILE_NAME,
    )


@blueprint.get(f"/apps/<app_id>/{SDK_FILE_NAME}")
@requires(Feature.PROJECT_MANAGEMENT)
def sdk_config(app_id: str):
    app = _registered(app_id)
    body = json.dumps(amplify_configuration(project(), app), indent=2) + "\n"
    return Response(body, mimetype="application/json", headers={"Content-Disposition": f'attachment; filename="{SDK_FILE_NAME}"'})


def _registered(app_id: str) -> App:
    config = project()
    try:
        return config.app(app_id)
    except KeyError:
        pass
    shown = app_id if len(app_id) <= _SHOWN_ID_CHARS else app_id[:_SHOWN_ID_CHARS] + "…"
    abort(404, description=f"No app {shown!r} is registered in project {config.project_id!r}.")


def _apps_page(form: AppForm, problem: str | None = None) -> str:
    config = project()
    return render_template(
        "projects/apps.html",
        config=config,
        endpoint=collect_endpoint(config),
        form=form,
        platforms=PLATFORMS,
        time_zones=TIME_ZONE_SUGGESTIONS,
        problem=problem,
    )
