"""The access check before every request: find the viewer (roles re-read from the database each
time), then let the request through, send it to sign in, or refuse it by the view's declared
access (access.py)."""

from __future__ import annotations

from flask import abort, current_app, g, redirect, request, url_for

from clickstream_console.access import PUBLIC, SIGNED_IN, access_of
from clickstream_console.auth.session import load_viewer
from clickstream_console.identity.roles import Feature


def gate():
    """Before every request: find the viewer, then let the request through, send it to sign in,
    or refuse it (403) by the view's declared access."""
    endpoint = request.endpoint
    if endpoint is None or endpoint == "static":
        return None  # 404/405 follow; static files are the same for everyone
    access = access_of(current_app.view_functions[endpoint])
    g.viewer = load_viewer()
    if access == PUBLIC:
        return None
    if g.viewer is None:
        if request.method in ("GET", "HEAD"):
            here = request.full_path if request.query_string else request.path
            return redirect(url_for("auth.login", next=here))
        abort(401)
    if access == SIGNED_IN:
        return None
    if not isinstance(access, Feature) or not g.viewer.may(access):
        abort(403)
    return None
