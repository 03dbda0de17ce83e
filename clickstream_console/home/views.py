"""The landing page: straight to the first area the viewer may use, or the "no access" page for a
signed-in user without a role (the product's default for new users)."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for

from clickstream_console.access import current_viewer, public, signed_in
from clickstream_console.navigation import nav_for

blueprint = Blueprint("home", __name__)


@blueprint.get("/")
@signed_in
def index():
    entries = nav_for(current_viewer())
    return redirect(url_for(entries[0].endpoint) if entries else url_for("home.no_access"))


@blueprint.get("/no-access")
@signed_in
def no_access():
    return render_template("no_access.html")


@blueprint.get("/healthz")
@public
def healthz():
    return {"status": "ok"}
