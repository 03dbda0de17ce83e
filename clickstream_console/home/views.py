"""The landing page: what the viewer may use (their roles, the features those grant, and the
pages of each), or the "no access" page for a signed-in user without a role (the product's default
for new users)."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for

from clickstream_console.access import current_viewer, public, signed_in
from clickstream_console.identity.roles import Feature
from clickstream_console.navigation import nav_for

blueprint = Blueprint("home", __name__)


@blueprint.get("/")
@signed_in
def index():
    viewer = current_viewer()
    if not viewer.roles:
        return redirect(url_for("home.no_access"))
    entries = nav_for(viewer)
    features = [(feature, [entry for entry in entries if entry.feature == feature]) for feature in Feature if viewer.may(feature)]
    return render_template("home.html", features=features)


@blueprint.get("/no-access")
@signed_in
def no_access():
    return render_template("no_access.html")


@blueprint.get("/healthz")
@public
def healthz():
    return {"status": "ok"}
